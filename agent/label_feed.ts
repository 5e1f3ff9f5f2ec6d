import type { Consumer, Kafka } from "kafkajs";
import type { FeatureEngine } from "../features/feature_engine.ts";
import { decodeLabel } from "../transactions/label_record.ts";
import type { OnlineQuality } from "./online_quality.ts";

/**
 * Reads the whole `labels` topic, from the beginning, into the feature engine's terminal state
 * and the online quality tracker. Every agent reads all of it (a group of its own, never
 * committed), so every agent holds the same terminal state whatever partitions it owns.
 */
export class LabelFeed {
  readonly #kafka: Kafka;
  readonly #topic: string;
  readonly #engine: FeatureEngine;
  readonly #quality: OnlineQuality;
  #consumer?: Consumer;
  #startEnds = new Map<number, number>();
  #done = new Map<number, number>();
  #caughtUp = false;
  #resolveCaughtUp!: () => void;
  /** Resolves once every label present at start has been applied. */
  readonly caughtUp: Promise<void> = new Promise((r) => (this.#resolveCaughtUp = r));
  applied = 0;
  invalid = 0;

  constructor(kafka: Kafka, topic: string, engine: FeatureEngine, quality: OnlineQuality) {
    this.#kafka = kafka;
    this.#topic = topic;
    this.#engine = engine;
    this.#quality = quality;
  }

  get isCaughtUp(): boolean {
    return this.#caughtUp;
  }

  async start(groupId: string): Promise<void> {
    const admin = this.#kafka.admin();
    await admin.connect();
    try {
      for (const p of await admin.fetchTopicOffsets(this.#topic)) {
        if (Number(p.high) > Number(p.low)) this.#startEnds.set(p.partition, Number(p.high));
      }
    } finally {
      await admin.disconnect();
    }
    this.#checkCaughtUp();
    const consumer = this.#kafka.consumer({ groupId, maxBytes: 8 << 20, maxWaitTimeInMs: 1_000 });
    this.#consumer = consumer;
    await consumer.connect();
    await consumer.subscribe({ topic: this.#topic, fromBeginning: true });
    await consumer.run({
      autoCommit: false,
      eachBatch: ({ batch }) => {
        for (const m of batch.messages) {
          const label = m.value ? decodeLabel(m.value.toString()) : null;
          if (label === null) {
            this.invalid++;
            continue;
          }
          this.#engine.applyLabel(label.terminalId, label.eventTimeMs, label.fraud);
          this.#quality.labelled(label.transactionId, label.fraud);
          this.applied++;
        }
        const last = batch.lastOffset();
        this.#done.set(batch.partition, Number(last) + 1);
        this.#checkCaughtUp();
        return Promise.resolve();
      },
    });
  }

  #checkCaughtUp(): void {
    if (this.#caughtUp) return;
    for (const [p, end] of this.#startEnds) if ((this.#done.get(p) ?? 0) < end) return;
    this.#caughtUp = true;
    this.#resolveCaughtUp();
  }

  async stop(): Promise<void> {
    await this.#consumer?.disconnect();
  }
}
