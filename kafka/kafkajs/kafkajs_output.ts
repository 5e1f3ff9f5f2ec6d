import { Buffer } from "node:buffer";
import type { Message, Producer, TopicMessages, Transaction } from "kafkajs";
import {
  DEFAULT_MAX_REQUEST_BYTES,
  type InputOffsets,
  type KafkaOutput,
  type OutputSettings,
  type TransactionalOutput,
} from "../boundary/output.ts";
import type { OutputRecord, TopicRecords } from "../boundary/records.ts";
import { cutByBytes } from "../byte_requests.ts";

/**
 * An OutputRecord as kafkajs takes it. The common record (Buffer or string key and value, no
 * timestamp) already has kafkajs' shape and goes as it is: no object per record on the hot path.
 */
function toMessage(r: OutputRecord): Message {
  if (r.timestampMs === undefined && !isPlainBytes(r.key) && !isPlainBytes(r.value)) {
    return r as Message;
  }
  return {
    key: asKafkajs(r.key),
    value: asKafkajs(r.value),
    headers: r.headers as Message["headers"],
    partition: r.partition,
    timestamp: r.timestampMs === undefined ? undefined : String(r.timestampMs),
  };
}

/** A Uint8Array that is not a Buffer: kafkajs would copy it (Buffer.from); a view does not. */
function isPlainBytes(data: Uint8Array | string | null): data is Uint8Array {
  return data instanceof Uint8Array && !Buffer.isBuffer(data);
}

function asKafkajs(data: Uint8Array | string | null): Buffer | string | null {
  return isPlainBytes(data) ? Buffer.from(data.buffer, data.byteOffset, data.byteLength) : data;
}

function topicMessages(request: readonly TopicRecords[]): TopicMessages[] {
  return request.map(({ topic, records }) => ({ topic, messages: records.map(toMessage) }));
}

/**
 * KafkaOutput on a connected kafkajs producer made with the send retry budget
 * (kafka/kafkajs/config.ts sendRetry): kafkajs retries each request itself.
 */
export class KafkajsOutput implements KafkaOutput {
  readonly #producer: Producer;
  readonly #maxBytes: number;

  constructor(producer: Producer, settings: OutputSettings = {}) {
    this.#producer = producer;
    this.#maxBytes = settings.maxRequestBytes ?? DEFAULT_MAX_REQUEST_BYTES;
  }

  async send(groups: readonly TopicRecords[]): Promise<void> {
    // One request after the other: requests sent at once may land in either order.
    for (const request of cutByBytes(groups, this.#maxBytes)) {
      await this.#producer.sendBatch({ topicMessages: topicMessages(request), acks: -1 });
    }
  }

  async close(): Promise<void> {
    await this.#producer.disconnect();
  }
}

/**
 * TransactionalOutput on a kafkajs transactional producer. kafkajs runs one transaction per
 * producer at a time, so calls queue here in order.
 */
export class KafkajsTransactionalOutput implements TransactionalOutput {
  readonly #producer: Producer;
  readonly #maxBytes: number;
  #queue: Promise<void> = Promise.resolve();

  constructor(producer: Producer, settings: OutputSettings = {}) {
    this.#producer = producer;
    this.#maxBytes = settings.maxRequestBytes ?? DEFAULT_MAX_REQUEST_BYTES;
  }

  sendWithOffsets(groups: readonly TopicRecords[], offsets: InputOffsets): Promise<void> {
    const run = this.#queue.then(async () => {
      const tx = await this.#producer.transaction();
      try {
        await this.#fill(tx, groups);
        await tx.sendOffsets({
          consumerGroupId: offsets.input.group,
          topics: [{
            topic: offsets.input.topic,
            partitions: [{ partition: offsets.partition, offset: String(offsets.nextOffset) }],
          }],
        });
        await tx.commit();
      } catch (err) {
        await tx.abort().catch(() => {});
        throw err;
      }
    });
    this.#queue = run.catch(() => {});
    return run;
  }

  async #fill(tx: Transaction, groups: readonly TopicRecords[]): Promise<void> {
    for (const request of cutByBytes(groups, this.#maxBytes)) {
      const messages = topicMessages(request);
      if (messages.length) await tx.sendBatch({ topicMessages: messages });
    }
  }

  async close(): Promise<void> {
    await this.#queue;
    await this.#producer.disconnect();
  }
}
