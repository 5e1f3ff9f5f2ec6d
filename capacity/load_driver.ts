import { Buffer } from "node:buffer";
import type { Kafka, Message, Producer } from "kafkajs";
import { UserFacingError } from "../cli/usage_error.ts";
import { errorText } from "../kafka/connection.ts";
import { type TopicNames, topicPartitions } from "../kafka/topics.ts";
import { LabelFeedback } from "../producer/label_feedback.ts";
import { createPacer } from "../producer/rate_pacer.ts";
import { type LoopedBatch, loopRows, rowValue } from "./looping_rows.ts";
import { PRODUCER_OPTIONS } from "../kafka/producer_options.ts";

export interface LoadDriverOptions {
  topics: TopicNames;
  files: readonly string[];
  /** Publish each transaction's label once the stream's event time passes it + this delay. */
  labelDelayMs: number | null;
  /** Most messages per send call. */
  maxSend?: number;
}

export interface RunResult {
  sent: number;
  seconds: number;
}

/**
 * The capacity planner's producer, in process: the day files' lines into the transactions topic
 * (key = customer id, as the bank's feed) at a rate the planner sets per phase, through the
 * same pacer as `fraudstream produce`, with the same label feedback. Successive runs continue
 * where the previous one stopped; the files are looped as long as needed.
 */
export class LoadDriver {
  sent = 0;
  /** The rate aimed at right now: null while idle or sending as fast as possible. */
  target: number | null = null;
  readonly #producer: Producer;
  readonly #opts: LoadDriverOptions;
  readonly #kafka: Kafka;
  #labels: LabelFeedback | undefined;
  readonly #rows: AsyncGenerator<LoopedBatch>;
  #current: LoopedBatch | undefined;
  #index = 0;
  #eventTimeMs = NaN;

  constructor(kafka: Kafka, opts: LoadDriverOptions) {
    this.#opts = opts;
    this.#kafka = kafka;
    this.#producer = kafka.producer(PRODUCER_OPTIONS);
    this.#rows = loopRows(opts.files, opts.maxSend ?? 5000);
  }

  get labelsPublished(): number {
    return this.#labels?.published ?? 0;
  }

  async connect(): Promise<void> {
    await this.#producer.connect();
    const { labelDelayMs, topics } = this.#opts;
    if (labelDelayMs !== null) {
      this.#labels = new LabelFeedback(labelDelayMs, (m) => this.#send(topics.labels, m), {
        partitions: await topicPartitions(this.#kafka, topics.labels),
      });
    }
  }

  async close(): Promise<void> {
    await this.#rows.return(undefined);
    await this.#producer.disconnect().catch(() => {});
  }

  /**
   * Sends at `rate` messages/s (null: as fast as the broker takes them) until `count` messages
   * are sent, `durationMs` has passed or `signal` aborts, whichever comes first.
   */
  async run(
    rate: number | null,
    limits: { count?: number; durationMs?: number; signal?: AbortSignal },
  ): Promise<RunResult> {
    const pacer = createPacer(rate === null ? { kind: "unlimited" } : { kind: "constant", rate });
    const started = performance.now();
    const deadline = started + (limits.durationMs ?? Infinity);
    const count = limits.count ?? Infinity;
    const maxSend = this.#opts.maxSend ?? 5000;
    let sent = 0;
    this.target = rate;
    try {
      while (sent < count && performance.now() < deadline && !limits.signal?.aborted) {
        const batch = await this.#batch();
        const room = Math.min(batch.count - this.#index, count - sent, maxSend);
        const n = pacer.allow(room, batch.eventTimeMs, this.#index);
        if (n === 0) {
          const wait = Math.min(pacer.waitMs(NaN), deadline - performance.now());
          await new Promise((r) => setTimeout(r, Math.max(1, wait)));
          continue;
        }
        await this.#sendRows(this.#current!, this.#index, this.#index + n);
        this.#index += n;
        sent += n;
      }
    } finally {
      this.target = null;
    }
    return { sent, seconds: (performance.now() - started) / 1000 };
  }

  async #batch() {
    while (this.#current === undefined || this.#index >= this.#current.batch.count) {
      const next = await this.#rows.next();
      if (next.done) throw new UserFacingError("the load driver ran out of rows");
      this.#current = next.value;
      this.#index = 0;
    }
    return this.#current.batch;
  }

  async #sendRows({ batch, pass }: LoopedBatch, from: number, to: number): Promise<void> {
    const timestamp = String(Date.now());
    const messages: Message[] = new Array(to - from);
    for (let i = from; i < to; i++) {
      const good = batch.reason[i] === null;
      messages[i - from] = {
        key: good ? String(batch.customerId[i]) : null,
        value: asBuffer(rowValue(batch, i, pass)),
        timestamp,
      };
      if (good && !(batch.eventTimeMs[i] <= this.#eventTimeMs)) {
        this.#eventTimeMs = batch.eventTimeMs[i];
      }
    }
    // Labels due by these rows' event time first, as `produce` does: agents never wait for them.
    if (this.#labels) {
      this.#labels.enqueue(batch, from, to);
      if (!Number.isNaN(this.#eventTimeMs)) await this.#labels.publishDue(this.#eventTimeMs);
    }
    await this.#send(this.#opts.topics.transactions, messages);
    this.sent += messages.length;
  }

  async #send(topic: string, messages: Message[]): Promise<void> {
    try {
      await this.#producer.send({ topic, acks: -1, messages });
    } catch (err) {
      throw new UserFacingError(`cannot send to ${topic}: ${errorText(err)}`);
    }
  }
}

function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}
