import type { ByteRange, KafkaClient, KafkaInput } from "../kafka/boundary.ts";
import {
  type LabelRecord,
  newLabelRecord,
  readLabelMessage,
} from "../transactions/label_record.ts";
import type { LabelJoin } from "./label_join.ts";
import type { OnlineQuality } from "./online_quality.ts";

/**
 * Reads the whole `labels` topic, from the beginning, into the label join (terminal state and
 * watermark) and the online quality tracker. Every agent reads all of it (a group of its own,
 * never committed), so every agent holds the same terminal state whatever partitions it owns.
 * A partition the join holds (too many days of labels held, nobody waiting on it) is paused until
 * the join has released enough of them.
 */
export class LabelFeed {
  readonly #client: KafkaClient;
  readonly #topic: string;
  readonly #join: LabelJoin;
  readonly #quality: OnlineQuality;
  readonly #held = new Set<number>();
  /** Every record is read into this one: the feed allocates nothing per label. */
  readonly #record: LabelRecord = newLabelRecord();
  /** Where the label being read lies (InputBatch.valueIn). */
  readonly #range: ByteRange = { start: 0, end: 0 };
  #input?: KafkaInput;
  #fail!: (err: Error) => void;
  /** Rejects when the reader stopped for good on an error: without labels no score is exact. */
  readonly failed: Promise<never> = new Promise((_, reject) => (this.#fail = reject));
  #groupId = "";
  /** Counts rewinds: a batch of an older reader is ignored. */
  #generation = 0;
  /** The rewinds under way, in order. */
  #opening: Promise<void> = Promise.resolve();
  #stopped = false;
  labels = 0;
  watermarks = 0;
  invalid = 0;

  constructor(client: KafkaClient, topic: string, join: LabelJoin, quality: OnlineQuality) {
    this.#client = client;
    this.#topic = topic;
    this.#join = join;
    this.#quality = quality;
    join.onRelief = () => this.#release();
    this.failed.catch(() => {});
  }

  async start(groupId: string): Promise<void> {
    const admin = await this.#client.admin();
    try {
      this.#join.setPartitions((await admin.partitionOffsets(this.#topic)).map((p) => p.partition));
    } finally {
      await admin.close();
    }
    this.#groupId = groupId;
    await this.#open(this.#generation);
  }

  /**
   * Reads the topic again from the start into a rewound join (LabelJoin.rewind): for a partition
   * handed over behind the days already released. Records still arriving from the reader being
   * replaced are ignored from this call on.
   */
  rewind(): Promise<void> {
    const generation = ++this.#generation;
    this.#join.rewind();
    this.#held.clear();
    const reopening = this.#opening.then(async () => {
      // A later rewind (or stop) superseded this one: opening here too would read every label
      // twice into the join, or leave a reader running after stop.
      if (generation !== this.#generation || this.#stopped) return;
      await this.#input?.stop();
      await this.#open(generation);
    });
    // A failed reopening is the caller's to report; the next rewind still runs after it.
    this.#opening = reopening.catch(() => {});
    return reopening;
  }

  /** Starts a reader of the whole topic; its group is new, so it starts at the earliest offset. */
  async #open(generation: number): Promise<void> {
    const input = this.#client.input({
      group: `${this.#groupId}.${generation}`,
      topic: this.#topic,
      start: "earliest",
      commit: "none",
      maxBytes: 8 << 20,
      maxWaitMs: 1_000,
    });
    this.#input = input;
    input.failed.catch((err) => {
      if (generation === this.#generation) this.#fail(err);
    });
    await input.start((batch, control) => {
      if (generation !== this.#generation) return Promise.resolve();
      const partition = batch.partition;
      const l = this.#record;
      const range = this.#range;
      for (let i = 0; i < batch.length; i++) {
        const bytes = batch.valueIn(i, range);
        const kind = bytes ? readLabelMessage(bytes, range.start, range.end, l) : null;
        if (kind === "label") {
          this.#join.addLabel(l.terminalId, l.eventTimeMs, l.fraud);
          this.#quality.labelled(l.transactionId, l.fraud);
          this.labels++;
        } else if (kind === "watermark") {
          this.#join.setWatermark(partition, l.eventTimeMs);
          this.watermarks++;
        } else {
          this.invalid++;
        }
      }
      // Read, so not delivered again when a hold below is released.
      control.ack(batch.offset(batch.length - 1) + 1n);
      if (this.#join.shouldHold(partition)) {
        this.#held.add(partition);
        input.pause(partition);
      }
      return Promise.resolve();
    });
  }

  /** Resumes the held partitions the join no longer needs held. */
  #release(): void {
    const input = this.#input;
    if (!input) return;
    for (const partition of this.#held) {
      if (this.#join.shouldHold(partition)) continue;
      this.#held.delete(partition);
      input.resume(partition);
    }
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    this.#join.close();
    await this.#opening;
    await this.#input?.stop();
  }
}
