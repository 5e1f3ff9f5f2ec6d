/**
 * Reads the metadata_props of an ONNX file (ModelProto field 14, key/value string pairs).
 * onnxruntime-node exposes input and output shapes but not these, and they carry what the agent
 * must check before trusting a model: the feature-list version and names it was trained on.
 *
 * Only the top level of the protobuf is walked; the graph (the bulk of the file) is skipped by
 * its length, so this costs microseconds even for large models.
 */

const METADATA_PROPS = 14;
const WIRE_VARINT = 0;
const WIRE_I64 = 1;
const WIRE_LEN = 2;
const WIRE_I32 = 5;

export class NotOnnxError extends Error {
  override name = "NotOnnxError";
}

/** Key/value metadata of an ONNX model; a repeated key keeps its last value, as protobuf maps do. */
export function readOnnxMetadata(bytes: Uint8Array): Map<string, string> {
  const props = new Map<string, string>();
  const decoder = new TextDecoder("utf-8", { fatal: true });
  const r = new Reader(bytes, 0, bytes.length);
  while (!r.done()) {
    const tag = r.varint();
    const field = Math.floor(tag / 8);
    const wire = tag % 8;
    if (field === METADATA_PROPS && wire === WIRE_LEN) {
      const len = r.varint();
      const entry = new Reader(bytes, r.pos, r.pos + len);
      r.skip(len);
      let key = "";
      let value = "";
      while (!entry.done()) {
        const t = entry.varint();
        if (t % 8 !== WIRE_LEN) {
          entry.skipValue(t % 8);
          continue;
        }
        const n = entry.varint();
        const text = decoder.decode(bytes.subarray(entry.pos, entry.pos + n));
        entry.skip(n);
        if (Math.floor(t / 8) === 1) key = text;
        else if (Math.floor(t / 8) === 2) value = text;
      }
      props.set(key, value);
    } else {
      r.skipValue(wire);
    }
  }
  return props;
}

class Reader {
  pos: number;
  constructor(readonly bytes: Uint8Array, start: number, readonly end: number) {
    if (end > bytes.length) throw new NotOnnxError("truncated protobuf");
    this.pos = start;
  }

  done(): boolean {
    return this.pos >= this.end;
  }

  varint(): number {
    let n = 0;
    let scale = 1;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.end) throw new NotOnnxError("truncated protobuf varint");
      const b = this.bytes[this.pos++];
      n += (b & 0x7f) * scale;
      if (b < 0x80) return n;
      scale *= 128;
    }
    throw new NotOnnxError("malformed protobuf varint");
  }

  skip(n: number): void {
    if (this.pos + n > this.end) throw new NotOnnxError("truncated protobuf field");
    this.pos += n;
  }

  skipValue(wire: number): void {
    if (wire === WIRE_VARINT) this.varint();
    else if (wire === WIRE_I64) this.skip(8);
    else if (wire === WIRE_LEN) this.skip(this.varint());
    else if (wire === WIRE_I32) this.skip(4);
    else throw new NotOnnxError(`unexpected protobuf wire type ${wire}`);
  }
}
