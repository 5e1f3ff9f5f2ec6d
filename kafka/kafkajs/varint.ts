/**
 * Kafka's varints (unsigned LEB128, signed ones zigzag-encoded first) for 32-bit values, as the
 * kafkajs patches write them straight into a buffer.
 */

/** The zigzag form of a 32-bit integer, unsigned: small magnitudes get small numbers. */
export function zigzag32(value: number): number {
  return ((value << 1) ^ (value >> 31)) >>> 0;
}

/** Bytes of an unsigned 32-bit varint (1 to 5). */
export function uVarIntSize(value: number): number {
  return value < 0x80 ? 1 : value < 0x4000 ? 2 : value < 0x200000 ? 3 : value < 0x10000000 ? 4 : 5;
}

/** Writes an unsigned 32-bit varint at buf[at..]; returns the offset after it. */
export function putUVarInt(buf: Uint8Array, at: number, value: number): number {
  while ((value & 0xffffff80) !== 0) {
    buf[at++] = (value & 0x7f) | 0x80;
    value >>>= 7;
  }
  buf[at++] = value & 0x7f;
  return at;
}

/** Whether a value is a 32-bit integer: then its varlong has the bytes of its varint. */
export function isInt32(value: unknown): value is number {
  return typeof value === "number" && Number.isInteger(value) && value >= -0x80000000 &&
    value <= 0x7fffffff;
}
