/**
 * The records that cross the Kafka boundary, in the project's own types: byte views, offsets as
 * bigint (Kafka's int64), times as epoch milliseconds. No client's types appear here.
 */

/** Where a value lies in the array that holds it: bytes [start, end). */
export interface ByteRange {
  start: number;
  end: number;
}

/** valueIn for a client whose values are views of their own: the whole view. */
export function wholeValue(value: Uint8Array | null, range: ByteRange): Uint8Array | null {
  if (value === null) return null;
  range.start = 0;
  range.end = value.length;
  return value;
}

/** Header values as they arrive: raw bytes (decode what you need). */
export type InputHeaders = Readonly<Record<string, Uint8Array | undefined>>;

/**
 * One fetched batch of one partition, read by index so that a client can hand over the records it
 * decoded without one wrapper object per record. Records are in offset order; `offset(i)` may
 * allocate (a bigint), so the hot path asks for it only where it needs one (the last record, a
 * reject).
 */
export interface InputBatch {
  readonly topic: string;
  readonly partition: number;
  /** Records in the batch. */
  readonly length: number;
  /** The partition's end offset when it was fetched: lag = highWatermark - next offset. */
  readonly highWatermark: bigint;
  key(i: number): Uint8Array | null;
  value(i: number): Uint8Array | null;
  /**
   * Record i's value read in place: the array that holds it, possibly with other records around
   * it (read only [range.start, range.end)), or null for a null value. Unlike `value`, it makes no
   * view per record: the hot path (transactions, labels) reads this way.
   */
  valueIn(i: number, range: ByteRange): Uint8Array | null;
  headers(i: number): InputHeaders;
  offset(i: number): bigint;
  /** The record's timestamp (CreateTime as the producer set it), epoch ms. */
  timestampMs(i: number): number;
}

/** Header values to send: strings are sent as UTF-8. */
export type OutputHeaders = Readonly<Record<string, string | Uint8Array>>;

/** A record to send; without a partition, a key picks it as the Java client does (murmur2). */
export interface OutputRecord {
  key: Uint8Array | string | null;
  value: Uint8Array | string | null;
  headers?: OutputHeaders;
  partition?: number;
  /** Epoch ms; the client's clock when absent. */
  timestampMs?: number;
}

/** Records for one topic: a send takes several (predictions and DLQ go out together). */
export interface TopicRecords {
  topic: string;
  records: readonly OutputRecord[];
}
