import assert from "node:assert/strict";
import { denortFromCompiled } from "./denort_extract.ts";

/** An ELF64 header whose section header table (2 entries of 64 bytes) starts at byte 100. */
function elf(tail: Uint8Array): Uint8Array {
  const bytes = new Uint8Array(228 + tail.length);
  bytes.set([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1]);
  const view = new DataView(bytes.buffer);
  view.setBigUint64(0x28, 100n, true);
  view.setUint16(0x3a, 64, true);
  view.setUint16(0x3c, 2, true);
  bytes.fill(7, 64, 228);
  bytes.set(tail, 228);
  return bytes;
}

Deno.test("denort is the ELF file up to its section headers, before the d3n0l4nd payload", () => {
  const compiled = elf(new TextEncoder().encode("d3n0l4nd and the program"));
  const denort = denortFromCompiled(compiled);
  assert.equal(denort.length, 228);
  assert.deepEqual(denort, compiled.subarray(0, 228));
});

Deno.test("denortFromCompiled refuses what is not a deno compile output", () => {
  assert.throws(() => denortFromCompiled(new Uint8Array(300)), /not a 64-bit little-endian ELF/);
  assert.throws(() => denortFromCompiled(elf(new Uint8Array(0))), /no program appended/);
  assert.throws(
    () => denortFromCompiled(elf(new TextEncoder().encode("something else"))),
    /not a deno compile payload/,
  );
});
