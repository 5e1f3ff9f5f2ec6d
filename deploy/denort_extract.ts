/**
 * The denort runtime inside a `deno compile` output. Such an executable is the unchanged denort
 * ELF file with the program appended after it (the "d3n0l4nd" payload and a trailer); denort
 * itself ends with its section header table, which the ELF header locates. Cutting there gives
 * back denort byte for byte, which the caller then checks against a pinned sha256.
 */

const PAYLOAD_MAGIC = new TextEncoder().encode("d3n0l4nd");

export function denortFromCompiled(compiled: Uint8Array): Uint8Array {
  const view = new DataView(compiled.buffer, compiled.byteOffset, compiled.byteLength);
  if (
    compiled.length < 64 || view.getUint32(0) !== 0x7f454c46 || compiled[4] !== 2 ||
    compiled[5] !== 1
  ) {
    throw new Error("not a 64-bit little-endian ELF file");
  }
  const sectionHeaders = Number(view.getBigUint64(0x28, true));
  const entrySize = view.getUint16(0x3a, true);
  const entries = view.getUint16(0x3c, true);
  const end = sectionHeaders + entrySize * entries;
  if (end <= 64 || end >= compiled.length) {
    throw new Error("no program appended after the ELF sections: not a deno compile output");
  }
  const next = compiled.subarray(end, end + PAYLOAD_MAGIC.length);
  if (!next.every((b, i) => b === PAYLOAD_MAGIC[i])) {
    throw new Error("the bytes after the ELF sections are not a deno compile payload");
  }
  return compiled.subarray(0, end);
}
