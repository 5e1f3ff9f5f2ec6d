import type { Consumer, Kafka } from "kafkajs";
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
  readonly #kafka: Kafka;
  readonly #topic: string;
  readonly #join: LabelJoin;
  readonly #quality: OnlineQuality;
  readonly #held = new Set<number>();
  /** Every record is read into this one: the feed allocates nothing per label. */
  readonly #record: LabelRecord = newLabelRecord();
  #consumer?: Consumer;
  labels = 0;
  watermarks = 0;
  invalid = 0;

  constructor(kafka: Kafka, topic: string, join: LabelJoin, quality: OnlineQuality) {
    this.#kafka = kafka;
    this.#topic = topic;
    this.#join = join;
    this.#quality = quality;
    join.onRelief = () => this.#release();
  }

  async start(groupId: string): Promise<void> {
    const admin = this.#kafka.admin();
    await admin.connect();
    try {
      this.#join.setPartitions(
        (await admin.fetchTopicOffsets(this.#topic)).map((p) => p.partition),
      );
    } finally {
      await admin.disconnect();
    }
    const consumer = this.#kafka.consumer({ groupId, maxBytes: 8 << 20, maxWaitTimeInMs: 1_000 });
    this.#consumer = consumer;
    await consumer.connect();
    await consumer.subscribe({ topic: this.#topic, fromBeginning: true });
    await consumer.run({
      autoCommit: false,
      eachBatch: ({ batch, pause }) => {
        const partition = batch.partition;
        const l = this.#record;
        for (const m of batch.messages) {
          const kind = m.value ? readLabelMessage(m.value, l) : null;
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
        if (this.#join.shouldHold(partition)) {
          pause();
          this.#held.add(partition);
        }
        return Promise.resolve();
      },
    });
  }

  /** Resumes the held partitions the join no longer needs held. */
  #release(): void {
    const consumer = this.#consumer;
    if (!consumer) return;
    for (const partition of this.#held) {
      if (this.#join.shouldHold(partition)) continue;
      this.#held.delete(partition);
      consumer.resume([{ topic: this.#topic, partitions: [partition] }]);
    }
  }

  async stop(): Promise<void> {
    this.#join.close();
    await this.#consumer?.disconnect();
  }
}
