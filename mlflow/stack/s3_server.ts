import { ensureMavenJars } from "../../java/maven_jars.ts";
import { answersHttp, freePort, spawnLogged, waitReady } from "./local_process.ts";

/**
 * A throwaway S3-compatible server: s3proxy (pinned in pom.xml beside this file) with its
 * filesystem backend under `dir`, on a free port of 127.0.0.1, with one bucket and signed
 * requests only (AWS signature v2 or v4, the given key pair).
 */
export interface LocalS3 {
  readonly endpoint: string;
  readonly bucket: string;
  stop(): Promise<void>;
}

export interface S3Credentials {
  accessKeyId: string;
  secretAccessKey: string;
}

const POM = new URL("./pom.xml", import.meta.url).pathname;
const LOGBACK = new URL("./logback.xml", import.meta.url).pathname;

export async function startS3Server(
  dir: string,
  bucket: string,
  credentials: S3Credentials,
): Promise<LocalS3> {
  const libs = await ensureMavenJars(POM, "s3proxy", "the MLflow stack's S3 server");
  const port = freePort();
  const endpoint = `http://127.0.0.1:${port}`;
  // The filesystem backend maps a bucket to a directory of its base directory.
  await Deno.mkdir(`${dir}/s3/${bucket}`, { recursive: true });
  const properties = `${dir}/s3proxy.properties`;
  await Deno.writeTextFile(
    properties,
    [
      `s3proxy.endpoint=${endpoint}`,
      "s3proxy.authorization=aws-v2-or-v4",
      `s3proxy.identity=${credentials.accessKeyId}`,
      `s3proxy.credential=${credentials.secretAccessKey}`,
      "jclouds.provider=filesystem",
      `jclouds.filesystem.basedir=${dir}/s3`,
    ].join("\n") + "\n",
    { mode: 0o600 },
  );
  const proc = await spawnLogged("s3proxy", "java", [
    `-Dlogback.configurationFile=${LOGBACK}`,
    "-cp",
    `${libs}/*`,
    "org.gaul.s3proxy.Main",
    "--properties",
    properties,
  ], `${dir}/s3proxy.log`);
  try {
    await waitReady(proc, () => answersHttp(`${endpoint}/`), 60_000);
  } catch (err) {
    await proc.stop();
    throw err;
  }
  return { endpoint, bucket, stop: () => proc.stop() };
}
