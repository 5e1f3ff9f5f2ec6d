import { dirname, join } from "node:path";
import { UserFacingError } from "../cli/usage_error.ts";

/**
 * A `deno compile`d fraudstream extracts the onnxruntime-node addon alone into $TMPDIR, where
 * its RUNPATH ($ORIGIN) cannot find libonnxruntime.so.1, and the executable does not carry the
 * library (the release ships it beside the executable instead, see deploy/targets.ts). Opening
 * the library here, before the addon loads, makes the dynamic loader reuse it by its soname, so
 * no LD_LIBRARY_PATH is needed. Run from source (`deno run`) the addon finds its library in
 * node_modules and nothing happens here.
 */
export function preloadOnnxRuntime(executable: string): void {
  const beside = join(dirname(executable), "libonnxruntime.so.1");
  try {
    Deno.dlopen(beside, {});
    return;
  } catch (err) {
    if (!(err instanceof Error) || !/No such file|cannot open shared object/.test(err.message)) {
      throw new UserFacingError(`cannot load ${beside}: ${String(err).split("\n")[0]}`);
    }
  }
  try {
    // A packager may have put it where the loader searches anyway (LD_LIBRARY_PATH, ld.so.conf).
    Deno.dlopen("libonnxruntime.so.1", {});
  } catch {
    throw new UserFacingError(
      `${beside} is missing: the ONNX Runtime library must sit beside the executable`,
    );
  }
}

if (Deno.build.standalone) preloadOnnxRuntime(Deno.execPath());
