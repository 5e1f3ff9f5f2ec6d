import { UserFacingError } from "../../cli/usage_error.ts";
import { ROOT } from "../compile.ts";

/** The release tarball the VMs get, and which kind it is. */
export interface VmRelease {
  tarball: string;
  /** "compiled": the `deno task compile` executable; "deno run": main.ts run by a shipped deno. */
  kind: "compiled" | "deno run";
}

/**
 * Packs a release into outDir with `deno task release`: the compiled executable when
 * `deno task compile` has left one at dist/<target>/fraudstream, else a --deno-run release
 * (this machine has no denort runtime to compile with).
 */
export async function releaseForVms(outDir: string): Promise<VmRelease> {
  const compiled = `${ROOT}dist/${Deno.build.target}/fraudstream`;
  const kind = await Deno.stat(compiled).then((s) => s.isFile, () => false)
    ? "compiled"
    : "deno run";
  const res = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      `${ROOT}deploy/release.ts`,
      "--out-dir",
      outDir,
      ...(kind === "compiled" ? ["--executable", compiled] : ["--deno-run"]),
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
  return { tarball, kind };
}
