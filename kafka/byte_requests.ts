import { Buffer } from "node:buffer";
import type { OutputHeaders, OutputRecord, TopicRecords } from "./boundary/records.ts";

/**
 * Most bytes of framing per record in a v2 record batch: the varints of length, attributes,
 * timestamp delta, offset delta, key and value lengths and header count.
 */
const RECORD_FRAMING = 40;
/** Framing per header: key and value length varints. */
const HEADER_FRAMING = 10;

function byteLength(data: Uint8Array | string | null): number {
  if (data === null) return 0;
  return typeof data === "string" ? Buffer.byteLength(data) : data.length;
}

function headerBytes(headers: OutputHeaders): number {
  let n = 0;
  for (const name in headers) {
    n += HEADER_FRAMING + Buffer.byteLength(name) + byteLength(headers[name]);
  }
  return n;
}

/** An upper bound of the bytes a record takes in an uncompressed record batch. */
export function recordBytes(r: OutputRecord): number {
  return RECORD_FRAMING + byteLength(r.key) + byteLength(r.value) +
    (r.headers === undefined ? 0 : headerBytes(r.headers));
}

/**
 * Cuts a send into requests of at most `maxBytes` of records each, keeping the records' order
 * (a record larger than that goes alone, and the broker judges it). A request's batch for any one
 * partition is then at most `maxBytes` plus the batch header, whatever the partitioner does, so
 * the broker's message.max.bytes is respected without knowing where records land.
 */
export function cutByBytes(
  groups: readonly TopicRecords[],
  maxBytes: number,
): (readonly TopicRecords[])[] {
  const requests: TopicRecords[][] = [];
  let current: TopicRecords[] = [];
  let bytes = 0;
  let cut = false;
  for (const { topic, records } of groups) {
    let from = 0;
    for (let i = 0; i < records.length; i++) {
      const size = recordBytes(records[i]);
      if (bytes + size > maxBytes && bytes > 0) {
        if (i > from) current.push({ topic, records: slice(records, from, i) });
        requests.push(current);
        cut = true;
        current = [];
        bytes = 0;
        from = i;
      }
      bytes += size;
    }
    if (records.length > from) {
      current.push({ topic, records: slice(records, from, records.length) });
    }
  }
  // Uncut and without empty groups, the caller's array goes as it is.
  if (!cut && current.length === groups.length) return [groups];
  if (current.length > 0) requests.push(current);
  return requests;
}

function slice(records: readonly OutputRecord[], from: number, to: number) {
  return from === 0 && to === records.length ? records : records.slice(from, to);
}
