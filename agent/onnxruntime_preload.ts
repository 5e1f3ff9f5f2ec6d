import { basename, dirname, join } from "node:path";

/**
 * A `deno compile`d fraudstream extracts the onnxruntime-node addon alone into a temp dir, where
 * its RUNPATH ($ORIGIN) cannot find libonnxruntime.so.1 (denoland/deno#36626). The release ships
 * the library beside the executable; opening it here first, before the addon loads, makes the
 * loader reuse it, so no LD_LIBRARY_PATH is needed. Run from source (`deno run`) nothing happens.
 */
const exe = Deno.execPath();
if (!/^deno(\.exe)?$/.test(basename(exe))) {
  const lib = join(dirname(exe), "libonnxruntime.so.1");
  try {
    Deno.statSync(lib);
    Deno.dlopen(lib, {});
  } catch {
    // Not shipped beside it: the addon's own lookup (or LD_LIBRARY_PATH) decides.
  }
}
