import {
  type ByteRange,
  type InputBatch,
  type InputHeaders,
  wholeValue,
} from "./boundary/records.ts";

/** One record of an ArrayBatch. */
export interface ArrayRecord {
  key?: Uint8Array | null;
  value: Uint8Array | null;
  headers?: InputHeaders;
  offset: bigint;
  timestampMs: number;
}

const NO_HEADERS: InputHeaders = Object.freeze({});

/**
 * An InputBatch over records held in memory: what a processor sees from Kafka, without a broker
 * (processor tests, benchmarks of the hot path).
 */
export class ArrayBatch implements InputBatch {
  readonly topic: string;
  readonly partition: number;
  readonly highWatermark: bigint;
  readonly #records: readonly ArrayRecord[];

  constructor(topic: string, partition: number, records: readonly ArrayRecord[]) {
    this.topic = topic;
    this.partition = partition;
    this.#records = records;
    this.highWatermark = records.length ? records[records.length - 1].offset + 1n : 0n;
  }

  get length(): number {
    return this.#records.length;
  }

  key(i: number): Uint8Array | null {
    return this.#records[i].key ?? null;
  }

  value(i: number): Uint8Array | null {
    return this.#records[i].value;
  }

  valueIn(i: number, range: ByteRange): Uint8Array | null {
    return wholeValue(this.#records[i].value, range);
  }

  headers(i: number): InputHeaders {
    return this.#records[i].headers ?? NO_HEADERS;
  }

  offset(i: number): bigint {
    return this.#records[i].offset;
  }

  timestampMs(i: number): number {
    return this.#records[i].timestampMs;
  }
}
