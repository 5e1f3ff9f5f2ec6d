import type { Consumer, EachBatchPayload, Kafka } from "kafkajs";
import type {
  BatchControl,
  BatchHandler,
  InputListener,
  InputSettings,
  KafkaInput,
} from "../boundary/input.ts";
import { CommitCoalescer } from "../commit_coalescer.ts";
import { REQUEST_RETRY } from "./config.ts";
import { KafkajsBatch } from "./kafkajs_batch.ts";

/**
 * KafkaInput on a kafkajs consumer group member. Offsets are resolved by hand
 * (eachBatchAutoResolve off): a batch whose partition was paused, revoked or whose handler threw
 * is fetched again from the first record not acknowledged.
 */
export class KafkajsInput implements KafkaInput {
  readonly group: string;
  readonly topic: string;
  readonly #kafka: Kafka;
  readonly #settings: InputSettings;
  readonly #listener: InputListener;
  readonly #paused = new Set<number>();
  readonly #commits: CommitCoalescer;
  #consumer?: Consumer;
  /**
   * Whether kafkajs has a consumer group to pause and resume on. It has none between a crash and
   * its restart, nor after stop: there its pause and resume throw. #paused is applied again
   * whenever a group joins, since a restarted consumer starts with nothing paused.
   */
  #groupLive = false;
  #assigned: number[] = [];
  /** Set by stop(): handlers return at their next chunk, no new batch is handed over. */
  #stopping = false;
  #inFlight = 0;
  #idle: (() => void)[] = [];
  lastContactMs = 0;
  #fail!: (err: Error) => void;
  readonly failed: Promise<never> = new Promise((_, reject) => (this.#fail = reject));

  constructor(kafka: Kafka, settings: InputSettings, listener: InputListener = {}) {
    this.#kafka = kafka;
    this.#settings = settings;
    this.#listener = listener;
    this.group = settings.group;
    this.topic = settings.topic;
    // Read by whoever runs the input once it started; a failure before that must not go unhandled.
    this.failed.catch(() => {});
    this.#commits = new CommitCoalescer(
      (offsets) =>
        this.#consumer!.commitOffsets(
          offsets.map((o) => ({
            topic: this.topic,
            partition: o.partition,
            offset: String(o.nextOffset),
          })),
        ),
      (err, offsets) =>
        listener.commitFailed?.(err instanceof Error ? err : new Error(String(err)), offsets),
      { owns: (partition) => this.#assigned.includes(partition) },
    );
  }

  async start(handler: BatchHandler): Promise<void> {
    const s = this.#settings;
    const consumer = this.#kafka.consumer({
      groupId: s.group,
      maxBytes: s.maxBytes,
      maxBytesPerPartition: s.maxBytesPerPartition,
      sessionTimeout: s.sessionTimeoutMs,
      heartbeatInterval: s.heartbeatIntervalMs,
      maxWaitTimeInMs: s.maxWaitMs,
      readUncommitted: s.isolation !== "read_committed",
      retry: REQUEST_RETRY,
    });
    this.#consumer = consumer;
    const contact = () => (this.lastContactMs = Date.now());
    consumer.on(consumer.events.CONNECT, contact);
    consumer.on(consumer.events.FETCH, contact);
    consumer.on(consumer.events.HEARTBEAT, contact);
    consumer.on(consumer.events.GROUP_JOIN, (e) => {
      contact();
      this.#groupLive = true;
      if (this.#paused.size) consumer.pause([{ topic: this.topic, partitions: [...this.#paused] }]);
      const partitions = [...(e.payload.memberAssignment[this.topic] ?? [])].sort((a, b) => a - b);
      const revoked = this.#assigned.filter((p) => !partitions.includes(p));
      this.#assigned = partitions;
      if (revoked.length) this.#listener.revoked?.(revoked);
      this.#listener.assigned?.(partitions, e.payload.isLeader);
    });
    consumer.on(consumer.events.CRASH, (e) => {
      this.#groupLive = false;
      this.#listener.crashed?.(e.payload.error, e.payload.restart);
      if (!e.payload.restart) this.#fail(e.payload.error);
    });
    await consumer.connect();
    await consumer.subscribe({ topic: this.topic, fromBeginning: s.start === "earliest" });
    await consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently: s.concurrency ?? 1,
      eachBatch: (payload) => this.#onBatch(payload, handler),
    });
  }

  async #onBatch(payload: EachBatchPayload, handler: BatchHandler): Promise<void> {
    const { batch, resolveOffset, heartbeat, isRunning, isStale } = payload;
    if (batch.messages.length === 0 || this.#stopping) return;
    const partition = batch.partition;
    const commits = this.#settings.commit === "coalesced" ? this.#commits : null;
    const stopping = () => this.#stopping;
    const control: BatchControl = {
      ack(nextOffset: bigint) {
        resolveOffset(String(nextOffset - 1n));
        commits?.schedule(partition, nextOffset);
      },
      get active() {
        return isRunning() && !isStale() && !stopping();
      },
      // kafkajs' Batch keeps the offset it fetched from (a string) without declaring it.
      fetchedFrom: BigInt((batch as typeof batch & { fetchedOffset: string }).fetchedOffset),
      heartbeat,
    };
    this.#inFlight++;
    try {
      await handler(
        new KafkajsBatch(batch.topic, partition, batch.messages, batch.highWatermark),
        control,
      );
      if (!this.#paused.has(partition) && control.active) resolveOffset(batch.lastOffset());
    } finally {
      if (--this.#inFlight === 0) { for (const resolve of this.#idle.splice(0)) resolve(); }
    }
  }

  pause(partition: number): void {
    this.#paused.add(partition);
    if (this.#groupLive) this.#consumer!.pause([{ topic: this.topic, partitions: [partition] }]);
  }

  resume(partition: number): void {
    // kafkajs keeps a pause across rebalances: resumed even when revoked meanwhile.
    this.#paused.delete(partition);
    if (this.#groupLive) this.#consumer!.resume([{ topic: this.topic, partitions: [partition] }]);
  }

  commitsDone(): Promise<void> {
    return this.#commits.done();
  }

  /**
   * Stops fetching, lets the handlers in flight finish, commits what they acknowledged, then
   * leaves the group. The commits go out before kafkajs' own stop: once stopped, kafkajs drops
   * every commit without a word (its runner returns early when not running).
   */
  async stop(): Promise<void> {
    this.#stopping = true;
    if (this.#groupLive && this.#assigned.length) {
      this.#consumer!.pause([{ topic: this.topic, partitions: this.#assigned }]);
    }
    if (this.#inFlight > 0) await new Promise<void>((resolve) => this.#idle.push(resolve));
    this.#commits.close();
    await this.#commits.done();
    this.#groupLive = false;
    await this.#consumer?.stop();
    await this.#consumer?.disconnect();
  }
}
