import { requireTool } from "./local_kafka.ts";
import { UserFacingError } from "../../cli/usage_error.ts";

const POM = new URL("./pom.xml", import.meta.url).pathname;

/** Where downloaded jars are cached: FRAUDSTREAM_CACHE_DIR, else .cache/ in the repo. */
export function cacheDir(): string {
  return Deno.env.get("FRAUDSTREAM_CACHE_DIR") ??
    new URL("../../.cache", import.meta.url).pathname;
}

/**
 * Returns a directory holding the Kafka broker's jars, fetching them with Maven on first use.
 * The directory name includes a hash of the pom, so changing the pinned version refetches.
 */
export async function ensureKafkaJars(): Promise<string> {
  const pom = await Deno.readFile(POM);
  const hash = Array.from(new Uint8Array(await crypto.subtle.digest("SHA-256", pom)).slice(0, 6))
    .map((b) => b.toString(16).padStart(2, "0")).join("");
  const libs = `${cacheDir()}/kafka-${hash}/libs`;
  try {
    await Deno.stat(`${libs}/.complete`);
    return libs;
  } catch { /* not cached yet */ }
  await requireTool("mvn", ["-v"], "Maven (mvn) and a JDK 17+");
  const staging = `${libs}.partial-${Deno.pid}`;
  await Deno.mkdir(staging, { recursive: true });
  const out = await new Deno.Command("mvn", {
    args: ["-q", "-B", "-f", POM, "dependency:copy-dependencies", `-DoutputDirectory=${staging}`],
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!out.success) {
    await Deno.remove(staging, { recursive: true }).catch(() => {});
    const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
    const error = text.split("\n").find((l) => l.includes("ERROR")) ?? text.trim().split("\n")[0];
    throw new UserFacingError(`could not fetch the Kafka jars with mvn: ${error}`);
  }
  await Deno.writeTextFile(`${staging}/.complete`, new Date().toISOString() + "\n");
  await Deno.remove(libs, { recursive: true }).catch(() => {});
  await Deno.rename(staging, libs);
  return libs;
}

/** `deno run -A kafka/local/kafka_jars.ts` prints the jars' directory (deploy/vmlab's broker VM). */
if (import.meta.main) {
  try {
    console.log(await ensureKafkaJars());
  } catch (err) {
    console.error(`kafka jars: ${err instanceof Error ? err.message : err}`);
    Deno.exit(1);
  }
}
