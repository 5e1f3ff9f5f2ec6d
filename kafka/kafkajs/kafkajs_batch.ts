import type { KafkaMessage } from "kafkajs";
import {
  type ByteRange,
  type InputBatch,
  type InputHeaders,
  wholeValue,
} from "../boundary/records.ts";
import { FetchedRecord } from "./record_codec.ts";

const NO_HEADERS: InputHeaders = Object.freeze({});

/**
 * InputBatch over the messages kafkajs decoded, read in place: values are already Buffers
 * (Uint8Arrays), so nothing is copied or wrapped per record; the patched decoder's records slice a
 * key or a value only when it is read, and `valueIn` reads theirs where it lies.
 */
export class KafkajsBatch implements InputBatch {
  readonly topic: string;
  readonly partition: number;
  readonly highWatermark: bigint;
  readonly #messages: KafkaMessage[];

  constructor(topic: string, partition: number, messages: KafkaMessage[], highWatermark: string) {
    this.topic = topic;
    this.partition = partition;
    this.#messages = messages;
    this.highWatermark = BigInt(highWatermark);
  }

  get length(): number {
    return this.#messages.length;
  }

  key(i: number): Uint8Array | null {
    return this.#messages[i].key ?? null;
  }

  value(i: number): Uint8Array | null {
    return this.#messages[i].value;
  }

  valueIn(i: number, range: ByteRange): Uint8Array | null {
    const m = this.#messages[i];
    return m instanceof FetchedRecord ? m.valueIn(range) : wholeValue(m.value, range);
  }

  headers(i: number): InputHeaders {
    // kafkajs decodes header values as Buffers (an array of them for a repeated name, which
    // the project never sends).
    return (this.#messages[i].headers as InputHeaders | undefined) ?? NO_HEADERS;
  }

  // The patched decoder's records hold both as numbers (kafka/kafkajs/record_codec.ts).
  offset(i: number): bigint {
    const m = this.#messages[i];
    return m instanceof FetchedRecord ? BigInt(m.offsetNumber) : BigInt(m.offset);
  }

  timestampMs(i: number): number {
    const m = this.#messages[i];
    return m instanceof FetchedRecord ? m.timestampMs : Number(m.timestamp);
  }
}
