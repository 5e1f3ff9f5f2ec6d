/**
 * The Linux targets fraudstream ships for, and where each one's ONNX Runtime lives in the
 * onnxruntime-node package. The compile leaves every platform's native files out of the
 * executable except the target's addon, and the release ships the target's libonnxruntime.so.1
 * beside it (see agent/onnxruntime_preload.ts for why beside, not inside).
 */

/** ELF e_machine values and the onnxruntime-node folder for each target we ship. */
export const TARGETS = {
  "x86_64-unknown-linux-gnu": { elfMachine: 62, ortArch: "x64" },
  "aarch64-unknown-linux-gnu": { elfMachine: 183, ortArch: "arm64" },
} as const;
export type Target = keyof typeof TARGETS;
export const TARGET_NAMES = Object.keys(TARGETS) as Target[];

/** onnxruntime-node's prebuilt native files, one folder per OS and CPU (relative to a root). */
export const ORT_NATIVE_DIR =
  "node_modules/.deno/onnxruntime-node@1.30.0/node_modules/onnxruntime-node/bin/napi-v6";

export const ORT_LIBRARY = "libonnxruntime.so.1";

/** The target's ONNX Runtime library, relative to the checkout. */
export function ortLibrary(target: Target): string {
  return `${ORT_NATIVE_DIR}/linux/${TARGETS[target].ortArch}/${ORT_LIBRARY}`;
}

/**
 * What `deno compile --exclude` must leave out for `target`: every other OS and CPU, and the
 * target's own library, which ships beside the executable instead. `present` lists the folders
 * that exist under ORT_NATIVE_DIR as "os/arch".
 */
export function ortExcludes(target: Target, present: string[]): string[] {
  const keep = `linux/${TARGETS[target].ortArch}`;
  return [
    ...present.filter((dir) => dir !== keep).map((dir) => `${ORT_NATIVE_DIR}/${dir}`),
    ortLibrary(target),
  ];
}
