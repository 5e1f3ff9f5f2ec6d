import { UserFacingError } from "../cli/usage_error.ts";

/**
 * The Java programs the project runs on this machine (the local Kafka broker, the S3 server of
 * the MLflow stack) are pinned in a pom.xml each and fetched from Maven Central on first use.
 */

/** Where downloaded jars are cached: FRAUDSTREAM_CACHE_DIR, else .cache/ in the repo. */
export function cacheDir(): string {
  return Deno.env.get("FRAUDSTREAM_CACHE_DIR") ??
    new URL("../.cache", import.meta.url).pathname;
}

/**
 * Returns a directory holding the jars of `pom` and their dependencies, fetched with Maven on
 * first use into `<cache>/<name>-<pom hash>/libs`: changing a pinned version refetches.
 */
export async function ensureMavenJars(pom: string, name: string, what: string): Promise<string> {
  const bytes = await Deno.readFile(pom);
  const hash = Array.from(new Uint8Array(await crypto.subtle.digest("SHA-256", bytes)).slice(0, 6))
    .map((b) => b.toString(16).padStart(2, "0")).join("");
  const libs = `${cacheDir()}/${name}-${hash}/libs`;
  try {
    await Deno.stat(`${libs}/.complete`);
    return libs;
  } catch { /* not cached yet */ }
  const staging = `${libs}.partial-${Deno.pid}`;
  await Deno.mkdir(staging, { recursive: true });
  let out: Deno.CommandOutput;
  try {
    out = await new Deno.Command("mvn", {
      args: ["-q", "-B", "-f", pom, "dependency:copy-dependencies", `-DoutputDirectory=${staging}`],
      stdout: "piped",
      stderr: "piped",
    }).output();
  } catch (err) {
    await Deno.remove(staging, { recursive: true }).catch(() => {});
    if (!(err instanceof Deno.errors.NotFound)) throw err;
    throw new UserFacingError(
      `${what} needs Maven (mvn) and a JDK 17+ on PATH (Debian: apt install openjdk-17-jdk-headless maven)`,
    );
  }
  if (!out.success) {
    await Deno.remove(staging, { recursive: true }).catch(() => {});
    const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
    const error = text.split("\n").find((l) => l.includes("ERROR")) ?? text.trim().split("\n")[0];
    throw new UserFacingError(`could not fetch the jars of ${what} with mvn: ${error}`);
  }
  await Deno.writeTextFile(`${staging}/.complete`, new Date().toISOString() + "\n");
  await Deno.remove(libs, { recursive: true }).catch(() => {});
  await Deno.rename(staging, libs);
  return libs;
}
