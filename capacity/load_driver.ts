import { UserFacingError } from "../cli/usage_error.ts";
import type { KafkaClient, KafkaOutput } from "../kafka/boundary.ts";
import { type TopicNames, topicPartitions } from "../kafka/topics.ts";
import { LabelFeedback } from "../producer/label_feedback.ts";
import { createPacer } from "../producer/rate_pacer.ts";
import { RowSender } from "../producer/row_sender.ts";
import { type LoopedBatch, loopRows } from "./looping_rows.ts";
import { RowValues } from "./row_values.ts";

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
 * at a rate the planner sets per phase, through the same pacer and the same sender (with label
 * feedback) as `fraudstream produce`. Successive runs continue
 * where the previous one stopped; the files are looped as long as needed.
 */
export class LoadDriver {
  /** The rate aimed at right now: null while idle or sending as fast as possible. */
  target: number | null = null;
  readonly #opts: LoadDriverOptions;
  readonly #client: KafkaClient;
  #output: KafkaOutput | undefined;
  #sender: RowSender | undefined;
  readonly #rows: AsyncGenerator<LoopedBatch>;
  readonly #values = new RowValues();
  #current: LoopedBatch | undefined;
  #index = 0;

  constructor(client: KafkaClient, opts: LoadDriverOptions) {
    this.#opts = opts;
    this.#client = client;
    this.#rows = loopRows(opts.files, opts.maxSend ?? 5000);
  }

  get sent(): number {
    return this.#sender?.sent ?? 0;
  }

  get labelsPublished(): number {
    return this.#sender?.labels?.published ?? 0;
  }

  async connect(): Promise<void> {
    const output = await this.#client.output();
    this.#output = output;
    const sender = new RowSender(output, this.#opts.topics);
    this.#sender = sender;
    const { labelDelayMs, topics } = this.#opts;
    if (labelDelayMs !== null) {
      sender.labels = new LabelFeedback(
        labelDelayMs,
        (records) => sender.publish(topics.labels, records),
        { partitions: await topicPartitions(this.#client, topics.labels) },
      );
    }
  }

  async close(): Promise<void> {
    await this.#rows.return(undefined);
    await this.#output?.close().catch(() => {});
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
        const { batch: rows, pass } = this.#current!;
        const values = this.#values;
        await this.#sender!.send(rows, this.#index, this.#index + n, {
          value: (b, i) => values.of(b, i, pass),
        });
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
}
