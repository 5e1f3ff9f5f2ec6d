import { gitCommit } from "../cli/build_info.ts";
import { compileExecutable, ROOT } from "./compile.ts";
import type { Target } from "./targets.ts";
import { sha256Hex, TOOLCHAIN_DENO_VERSION } from "./toolchain.ts";

/**
 * A compiled executable kept under .cache/build/<target>/ with the fingerprint of what it was
 * built from, so that tests and benches that need "the binary of this checkout" compile only
 * when a source file, the lock file, the commit or the toolchain changed.
 */

/** sha256 over the commit, the toolchain, the target and every file git would track. */
async function sourceFingerprint(target: Target): Promise<string | null> {
  const out = await new Deno.Command("git", {
    args: ["ls-files", "-z", "--cached", "--others", "--exclude-standard"],
    cwd: ROOT,
    stdout: "piped",
    stderr: "null",
  }).output().catch(() => null);
  if (!out?.success) return null; // not a git checkout: always build
  const files = new TextDecoder().decode(out.stdout).split("\0").filter(Boolean).sort();
  const parts = [await gitCommit(ROOT), TOOLCHAIN_DENO_VERSION, target];
  for (const file of files) {
    try {
      parts.push(`${file} ${await sha256Hex(await Deno.readFile(`${ROOT}${file}`))}`);
    } catch {
      parts.push(`${file} deleted`); // listed by git, gone from the work tree
    }
  }
  return await sha256Hex(new TextEncoder().encode(parts.join("\n")));
}

/** The path of an executable built from the current sources, compiling only when needed. */
export async function cachedExecutable(
  target: Target,
  log: (line: string) => void,
): Promise<string> {
  const dir = `${ROOT}.cache/build/${target}`;
  const executable = `${dir}/fraudstream`;
  const stamp = `${dir}/fingerprint`;
  const fingerprint = await sourceFingerprint(target);
  const previous = await Deno.readTextFile(stamp).catch(() => null);
  const exists = await Deno.stat(executable).then(() => true, () => false);
  if (fingerprint !== null && previous === fingerprint && exists) {
    log(`reusing ${executable}: sources unchanged since it was built`);
    return executable;
  }
  await Deno.remove(stamp).catch(() => {});
  await compileExecutable({ target, output: executable, log });
  if (fingerprint !== null) await Deno.writeTextFile(stamp, fingerprint);
  return executable;
}
