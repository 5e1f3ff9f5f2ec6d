import type { KafkaRecord, RecordsBatch } from "@platformatic/kafka";
import type { InputBatch, InputHeaders } from "../boundary/records.ts";

const NO_HEADERS: InputHeaders = Object.freeze({});
/** Record batch attribute bit of transaction markers (commit/abort), which carry no data. */
const IS_CONTROL = 1 << 5;

/**
 * InputBatch over the record batches @platformatic/kafka decoded for one partition, read in place:
 * its keys and values are already Buffers (Uint8Arrays) sliced from the response, so nothing is
 * copied or wrapped per record. Transaction markers and records before `from` (a fetch returns
 * whole record batches, which may start before the offset asked for) are left out.
 */
export class PlatformaticBatch implements InputBatch {
  readonly topic: string;
  readonly partition: number;
  readonly highWatermark: bigint;
  readonly #records: KafkaRecord[] = [];
  /** The record batch each record came from: its base offset and timestamp. */
  readonly #owners: RecordsBatch[] = [];

  constructor(
    topic: string,
    partition: number,
    batches: readonly RecordsBatch[],
    from: bigint,
    highWatermark: bigint,
  ) {
    this.topic = topic;
    this.partition = partition;
    this.highWatermark = highWatermark;
    for (const batch of batches) {
      if (batch.attributes & IS_CONTROL) continue;
      const skip = from - batch.firstOffset;
      for (const record of batch.records) {
        if (skip > 0n && BigInt(record.offsetDelta) < skip) continue;
        this.#records.push(record);
        this.#owners.push(batch);
      }
    }
  }

  get length(): number {
    return this.#records.length;
  }

  key(i: number): Uint8Array | null {
    return this.#records[i].key;
  }

  value(i: number): Uint8Array | null {
    return this.#records[i].value;
  }

  headers(i: number): InputHeaders {
    const raw = this.#records[i].headers;
    if (raw.length === 0) return NO_HEADERS;
    const headers: Record<string, Uint8Array | undefined> = {};
    for (const [name, value] of raw) {
      if (name) headers[name.toString()] = value ?? undefined;
    }
    return headers;
  }

  offset(i: number): bigint {
    return this.#owners[i].firstOffset + BigInt(this.#records[i].offsetDelta);
  }

  timestampMs(i: number): number {
    return Number(this.#owners[i].firstTimestamp + this.#records[i].timestampDelta);
  }
}
