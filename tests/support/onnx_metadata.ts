/**
 * An ONNX model's bytes with more metadata_props entries (ModelProto field 14) appended: protobuf
 * keeps the last value of a repeated key, so this overrides entries without re-serialising the
 * graph. The loader tests and the hot-swap test make their mismatched models with it.
 */
export function withOnnxMetadata(
  bytes: Uint8Array,
  entries: Record<string, string>,
): Uint8Array<ArrayBuffer> {
  const enc = new TextEncoder();
  const field = (tag: number, payload: Uint8Array) => [tag, ...varint(payload.length), ...payload];
  const appended: number[] = [];
  for (const [key, value] of Object.entries(entries)) {
    const entry = [...field(0x0a, enc.encode(key)), ...field(0x12, enc.encode(value))];
    // Field 14, length-delimited: tag (14 << 3) | 2.
    appended.push(...field(114, Uint8Array.from(entry)));
  }
  const out = new Uint8Array(bytes.length + appended.length);
  out.set(bytes);
  out.set(appended, bytes.length);
  return out;
}

function varint(n: number): number[] {
  const out = [];
  while (n >= 0x80) {
    out.push((n & 0x7f) | 0x80);
    n >>>= 7;
  }
  out.push(n);
  return out;
}
