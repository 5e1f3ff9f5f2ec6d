import { UserFacingError } from "../../cli/usage_error.ts";
import { cachedExecutable } from "../build_cache.ts";
import { ROOT } from "../compile.ts";
import { hostTarget } from "../toolchain.ts";

/**
 * Packs the release the VMs get into outDir with `deno task release --executable`: this
 * checkout's compiled executable, built with the pinned toolchain or reused from .cache/build/
 * (the same build `deno task test:binary` uses). Returns the tarball's path.
 */
export async function releaseForVms(
  outDir: string,
  log: (line: string) => void = () => {},
): Promise<string> {
  const executable = await cachedExecutable(hostTarget(), log);
  const res = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      `${ROOT}deploy/release.ts`,
      "--out-dir",
      outDir,
      "--executable",
      executable,
    ],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const out = new TextDecoder().decode(res.stdout);
  const tarball = /^packed (\S+)/m.exec(out)?.[1];
  if (!res.success || !tarball) {
    throw new UserFacingError(
      `deno task release failed: ${new TextDecoder().decode(res.stderr).trim() || out}`,
    );
  }
  return tarball;
}

// `deno run -A deploy/vmlab/release_for_vms.ts OUT_DIR` prints the tarball's path, for tools
// outside Deno (the Airflow DAG in deploy/airflow/).
if (import.meta.main) {
  if (Deno.args.length !== 1) {
    console.error("usage: release_for_vms.ts OUT_DIR");
    Deno.exit(2);
  }
  try {
    console.log(await releaseForVms(Deno.args[0], (line) => console.error(line)));
  } catch (e) {
    console.error(`release_for_vms: ${e instanceof Error ? e.message : e}`);
    Deno.exit(1);
  }
}
