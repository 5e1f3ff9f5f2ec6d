import assert from "node:assert/strict";
import { ORT_NATIVE_DIR, ortExcludes } from "./targets.ts";

const PRESENT = ["darwin/arm64", "linux/arm64", "linux/x64", "win32/arm64", "win32/x64"];

Deno.test("the executable keeps only its own platform's addon; the library ships beside it", () => {
  assert.deepEqual(ortExcludes("x86_64-unknown-linux-gnu", PRESENT), [
    `${ORT_NATIVE_DIR}/darwin/arm64`,
    `${ORT_NATIVE_DIR}/linux/arm64`,
    `${ORT_NATIVE_DIR}/win32/arm64`,
    `${ORT_NATIVE_DIR}/win32/x64`,
    `${ORT_NATIVE_DIR}/linux/x64/libonnxruntime.so.1`,
  ]);
  assert.deepEqual(ortExcludes("aarch64-unknown-linux-gnu", PRESENT).slice(1, 3), [
    `${ORT_NATIVE_DIR}/linux/x64`,
    `${ORT_NATIVE_DIR}/win32/arm64`,
  ]);
  assert.equal(
    ortExcludes("aarch64-unknown-linux-gnu", PRESENT).at(-1),
    `${ORT_NATIVE_DIR}/linux/arm64/libonnxruntime.so.1`,
  );
});
