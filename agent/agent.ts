import type { Batch, Consumer, Kafka, Producer, TopicMessages } from "kafkajs";
import type { Logger } from "../cli/json_log.ts";
import { errorText } from "../kafka/connection.ts";
import { isRebalance } from "../kafka/rebalance.ts";
import type { FeatureEngine } from "../features/feature_engine.ts";
import type { TopicNames } from "../kafka/topics.ts";
import { DuplicateWindow } from "../transactions/duplicate_window.ts";
import { AgentStats } from "./agent_stats.ts";
import type { AgentLabelsState, AgentStatsDocument } from "./stats_document.ts";
import { LabelFeed } from "./label_feed.ts";
import { LabelJoin } from "./label_join.ts";
import { OnlineQuality } from "./online_quality.ts";
import { readPartitionHistory } from "./partition_history.ts";
import type { ModelSlot } from "./model_slot.ts";
import { ScoringLoop } from "./scoring_loop.ts";
import { PRODUCER_OPTIONS } from "../kafka/producer_options.ts";

export interface AgentConfig {
  group: string;
  topics: TopicNames;
  instanceId: string;
  exactlyOnce: boolean;
  /** Most rows per model run; a fetched batch is scored in chunks of this size. */
  maxBatch: number;
  /** Partitions scored at the same time (one ScoringLoop each). */
  concurrency: number;
  dedupCapacity: number;
  /**
   * Longest a partition waits for the label watermark its next transactions need before they are
   * scored with the labels at hand (and marked stale); 0 never waits.
   */
  labelWaitMs: number;
  /**
   * Heartbeat silence after which the group reassigns this member's partitions. A crashed agent's
   * partitions score nothing until then; a live agent that cannot heartbeat for that long (a
   * starved VM, a long pause) is evicted and its last batches are scored again.
   */
  sessionTimeoutMs: number;
  /** Testing only: a fixed sleep per scored chunk, to make an agent of known capacity. */
  testBatchCostMs: number;
  log: Logger;
}

const BROKER_SILENCE_MS = 5_000;

type BatchPayload = {
  batch: Batch;
  pause: () => () => void;
  resolveOffset: (offset: string) => void;
  heartbeat: () => Promise<void>;
  isRunning: () => boolean;
  isStale: () => boolean;
};

/**
 * The scoring agent: a consumer-group member on `transactions` that scores each fetched batch
 * and produces predictions (and DLQ records) before committing its offsets, so every input
 * message ends as exactly one of the two (at-least-once; with exactlyOnce, the predictions and
 * the offsets commit in one Kafka transaction).
 *
 * Customer state is rebuilt whenever the assignment changes (or a batch fails after touching
 * it): state and duplicate window are cleared, then the assigned partitions' history up to the
 * committed offsets is replayed through the same parsing and feature code before any new batch
 * is scored. An uninterrupted run and a restarted one therefore compute the same features.
 */
export class Agent {
  readonly stats: AgentStats;
  readonly #kafka: Kafka;
  readonly #config: AgentConfig;
  readonly #engine: FeatureEngine;
  readonly #duplicates: DuplicateWindow;
  readonly #join: LabelJoin;
  readonly #labels: LabelFeed;
  /** Since when (performance.now()) each partition has waited for the label watermark. */
  readonly #waitingSince = new Map<number, number>();
  /** Times a partition was paused to wait for the label watermark. */
  #labelWaits = 0;
  readonly #loops: ScoringLoop[];
  #consumer?: Consumer;
  #producer?: Producer;
  #assigned: number[] = [];
  #restoring: Promise<void> = Promise.resolve();
  #restored = false;
  /** Last answer from the brokers to the consumer (fetch or heartbeat), for readiness. */
  #lastBrokerContact = 0;
  #inFlight = 0;
  #drained: (() => void)[] = [];
  /** A producer runs one transaction at a time: exactly-once deliveries queue here. */
  #transactionQueue: Promise<void> = Promise.resolve();
  #restorePending = false;
  /** Next offset to commit per partition, and the one commit request in flight. */
  readonly #toCommit = new Map<number, string>();
  #committing: Promise<void> | null = null;
  #fail!: (err: Error) => void;
  /** Rejects when the consumer crashed for good: the process should exit and be restarted. */
  readonly failed: Promise<never> = new Promise((_, reject) => (this.#fail = reject));

  constructor(kafka: Kafka, config: AgentConfig, engine: FeatureEngine, model: ModelSlot) {
    this.#kafka = kafka;
    this.#config = config;
    this.#engine = engine;
    // Read by the command once the agent runs; a failure before that must not go unhandled.
    this.failed.catch(() => {});
    this.#duplicates = new DuplicateWindow(config.dedupCapacity);
    const quality = new OnlineQuality(model.threshold);
    this.#join = new LabelJoin(engine);
    this.#labels = new LabelFeed(kafka, config.topics.labels, this.#join, quality);
    this.#loops = Array.from(
      { length: config.concurrency },
      () => new ScoringLoop(engine, model, this.#duplicates, this.#join),
    );
    this.stats = new AgentStats(
      config.instanceId,
      config.group,
      config.topics.transactions,
      model,
      quality,
    );
  }

  get assigned(): number[] {
    return this.#assigned;
  }

  readiness(): Record<string, boolean> {
    return {
      // Idle fetches return every second (maxWaitTimeInMs), so silence means the brokers are away.
      broker_connected: Date.now() - this.#lastBrokerContact < BROKER_SILENCE_MS,
      model_loaded: true,
      // No partition is past its label wait: what it scores now reads every label it should.
      labels_caught_up: !this.#labelWaitExpired(),
      partitions_assigned: this.#assigned.length > 0,
      state_restored: this.#restored,
    };
  }

  statsJson(): AgentStatsDocument {
    return this.stats.toJson({
      assigned: this.#assigned,
      labels: this.labelsJson(),
      exactlyOnce: this.#config.exactlyOnce,
      engine: this.#engine.counters,
      topics: this.#config.topics,
    });
  }

  /** The label join's state, for /stats and /readyz. */
  labelsJson(): AgentLabelsState {
    const join = this.#join;
    const watermark = join.watermarkMs;
    return {
      watermark: Number.isFinite(watermark) ? new Date(watermark).toISOString() : null,
      lag_ms: Number.isFinite(join.lagMs) ? join.lagMs : null,
      waiting_partitions: [...this.#waitingSince.keys()].sort((a, b) => a - b),
      waits: this.#labelWaits,
      wait_ms: this.#config.labelWaitMs,
      read: this.#labels.labels,
      watermarks_read: this.#labels.watermarks,
      invalid: this.#labels.invalid,
      applied: join.applied,
      late: join.late,
      dropped: join.dropped,
      terminal_days_held: this.#engine.terminalDaysHeld,
      stale_scores: join.staleScores,
      max_stale_gap_ms: join.maxStaleGapMs,
    };
  }

  metricsText(): string {
    return this.stats.toPrometheus(this.#assigned, this.#engine.counters, this.#join);
  }

  async start(): Promise<void> {
    const { group, instanceId, topics, log } = this.#config;
    const producer = this.#kafka.producer(
      this.#config.exactlyOnce
        ? {
          ...PRODUCER_OPTIONS,
          transactionalId: `${group}.${instanceId}`,
          idempotent: true,
          maxInFlightRequests: 1,
        }
        : PRODUCER_OPTIONS,
    );
    this.#producer = producer;
    await producer.connect();
    await this.#labels.start(`${group}.labels.${instanceId}.${crypto.randomUUID().slice(0, 8)}`);

    const consumer = this.#kafka.consumer({
      groupId: group,
      maxBytes: 8 << 20,
      maxBytesPerPartition: 1 << 20,
      sessionTimeout: this.#config.sessionTimeoutMs,
      // A member learns of a rebalance from a heartbeat's answer: once a second keeps the whole
      // group's pause short (and is well under a third of any allowed session timeout).
      heartbeatInterval: 1_000,
      // An idle fetch returns after this long; it bounds how long SIGTERM waits for one.
      maxWaitTimeInMs: 1_000,
    });
    this.#consumer = consumer;
    const contact = () => (this.#lastBrokerContact = Date.now());
    consumer.on(consumer.events.CONNECT, contact);
    consumer.on(consumer.events.FETCH, contact);
    consumer.on(consumer.events.HEARTBEAT, contact);
    consumer.on(consumer.events.GROUP_JOIN, (e) => {
      const partitions = [...(e.payload.memberAssignment[topics.transactions] ?? [])].sort((a, b) =>
        a - b
      );
      log.log("info", "assignment", { partitions, leader: e.payload.isLeader });
      for (const p of this.#waitingSince.keys()) {
        if (!partitions.includes(p)) this.#waitingSince.delete(p);
      }
      if (partitions.join() !== this.#assigned.join() || !this.#restored) {
        this.#assigned = partitions;
        this.#requestRestore();
      }
    });
    consumer.on(consumer.events.CRASH, (e) => {
      this.stats.errors++;
      log.log("error", "consumer_crash", {
        error: e.payload.error.message,
        restart: e.payload.restart,
      });
      if (!e.payload.restart) this.#fail(e.payload.error);
    });
    await consumer.connect();
    await consumer.subscribe({ topic: topics.transactions, fromBeginning: true });
    await consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently: this.#config.concurrency,
      eachBatch: (payload) => this.#onBatch(payload),
    });
  }

  /** Finishes the batches in flight, commits them, leaves the group. */
  async stop(): Promise<void> {
    await this.#consumer?.stop();
    await this.#commitsDone();
    await Promise.all([this.#consumer?.disconnect(), this.#labels.stop()]);
    await this.#producer?.disconnect();
  }

  #labelWaitExpired(): boolean {
    const now = performance.now();
    for (const since of this.#waitingSince.values()) {
      if (now - since >= this.#config.labelWaitMs) return true;
    }
    return false;
  }

  /**
   * Whether the chunk's transactions may be scored now: the label watermark covers what they
   * need, or their partition has waited --label-wait for it. Otherwise pauses the partition until
   * the watermark arrives or the wait is over; kafkajs then fetches it again from the first
   * offset not resolved, i.e. this chunk.
   */
  #labelsReady(partition: number, cutoffDay: number, pause: () => () => void): boolean {
    const need = this.#join.neededWatermarkMs(cutoffDay);
    if (this.#join.isReady(need)) {
      this.#waitingSince.delete(partition);
      return true;
    }
    const now = performance.now();
    const since = this.#waitingSince.get(partition) ?? now;
    const left = since + this.#config.labelWaitMs - now;
    if (left <= 0) return true;
    this.#waitingSince.set(partition, since);
    this.#labelWaits++;
    const resume = pause();
    this.#join.whenReady(need, left).then(resume);
    return false;
  }

  /**
   * Waits for a state rebuild in progress, heartbeating meanwhile: kafkajs heartbeats only between
   * batches, and a restore of a long history outlasts a short session timeout, which would evict
   * this member and start the rebuild over on the next assignment.
   */
  async #restoreDone(heartbeat: () => Promise<void>): Promise<void> {
    let done = false;
    const restoring = this.#restoring.then(() => (done = true));
    while (!done) {
      await Promise.race([restoring, new Promise((r) => setTimeout(r, 1_000))]);
      if (!done) await heartbeat();
    }
  }

  async #onBatch(
    { batch, pause, resolveOffset, heartbeat, isRunning, isStale }: BatchPayload,
  ): Promise<void> {
    await this.#restoreDone(heartbeat);
    if (!isRunning() || isStale() || batch.messages.length === 0) return;
    const loop = this.#loops.pop()!;
    this.#inFlight++;
    try {
      const { topic, partition, messages } = batch;
      const max = this.#config.maxBatch;
      for (let i = 0; i < messages.length; i += max) {
        if (!isRunning() || isStale()) return;
        const chunk = messages.length <= max ? messages : messages.slice(i, i + max);
        const started = performance.now();
        const cutoffDay = loop.prepare(chunk);
        this.#join.fetched(partition, loop.preparedMinCutoffDay);
        if (!this.#labelsReady(partition, cutoffDay, pause)) return;
        const out = await loop.score(topic, partition, chunk);
        this.#join.scored(partition, cutoffDay);
        if (this.#config.testBatchCostMs > 0) {
          await new Promise((r) => setTimeout(r, this.#config.testBatchCostMs));
        }
        const last = chunk[chunk.length - 1].offset;
        const next = String(Number(last) + 1);
        await this.#deliver(topic, partition, next, out.predictions, out.dlq);
        resolveOffset(last);
        const stats = this.stats;
        stats.consumed.add(chunk.length);
        stats.scored.add(out.rows);
        stats.dlq.add(out.dlq.length);
        for (const d of out.dlq) stats.recordDlq(String(d.headers!["fraudstream.reason"]));
        stats.batches++;
        stats.batchSize.observe(chunk.length);
        stats.batchLatencyMs.observe(performance.now() - started);
        stats.e2eLatencyMs.observeAll(out.latenciesMs);
        for (let r = 0; r < out.rows; r++) {
          stats.quality.scored(out.transactionIds[r], out.scores[r]);
        }
        stats.lag.set(partition, Math.max(0, Number(batch.highWatermark) - Number(next)));
        await heartbeat();
      }
    } catch (err) {
      // A rebalance interrupting a batch is expected whenever agents come and go: logged as what
      // it is, not counted as an error. Either way the batch is fetched again and state rebuilt.
      const rebalance = isRebalance(err);
      if (!rebalance) this.stats.errors++;
      this.#config.log.log(
        rebalance ? "info" : "error",
        rebalance ? "batch_rebalanced" : "batch_failed",
        {
          partition: batch.partition,
          first_offset: batch.firstOffset(),
          error: err instanceof Error ? err.message : String(err),
        },
      );
      // The failed batch already went through the feature engine; rebuild before its retry.
      this.#requestRestore();
      throw err;
    } finally {
      this.#loops.push(loop);
      if (--this.#inFlight === 0) { for (const resolve of this.#drained.splice(0)) resolve(); }
    }
  }

  async #deliver(
    topic: string,
    partition: number,
    nextOffset: string,
    predictions: TopicMessages["messages"],
    dlq: TopicMessages["messages"],
  ): Promise<void> {
    const topicMessages: TopicMessages[] = [];
    if (predictions.length) {
      topicMessages.push({ topic: this.#config.topics.predictions, messages: predictions });
    }
    if (dlq.length) topicMessages.push({ topic: this.#config.topics.dlq, messages: dlq });
    const producer = this.#producer!;
    if (this.#config.exactlyOnce) {
      const run = this.#transactionQueue.then(async () => {
        const tx = await producer.transaction();
        try {
          if (topicMessages.length) await tx.sendBatch({ topicMessages });
          await tx.sendOffsets({
            consumerGroupId: this.#config.group,
            topics: [{ topic, partitions: [{ partition, offset: nextOffset }] }],
          });
          await tx.commit();
        } catch (err) {
          await tx.abort().catch(() => {});
          throw err;
        }
      });
      this.#transactionQueue = run.catch(() => {});
      return await run;
    }
    if (topicMessages.length) await producer.sendBatch({ topicMessages, acks: -1 });
    // The predictions are acknowledged, so the offset may be committed; the next batch does not
    // wait for that round trip. Offsets due meanwhile are merged into the next commit.
    this.#scheduleCommit(topic, partition, nextOffset);
  }

  /**
   * Schedules a rebuild of the current assignment's state. Requests made while one is waiting
   * for in-flight batches to finish share it: its reset comes after all of them anyway.
   */
  #requestRestore(): void {
    this.#restored = false;
    if (this.#restorePending) return;
    this.#restorePending = true;
    this.#restoring = this.#restoring.then(() => this.#restore()).catch((err) => {
      this.#config.log.log("error", "restore_failed", {
        error: err instanceof Error ? err.message : String(err),
      });
      this.#fail(err instanceof Error ? err : new Error(String(err)));
    });
  }

  async #restore(): Promise<void> {
    await this.#waitForDrain();
    await this.#commitsDone();
    this.#restorePending = false;
    const partitions = this.#assigned;
    const started = performance.now();
    const { group, instanceId, topics, log } = this.#config;
    this.#engine.dropCustomers(() => true);
    this.#duplicates.clear();
    const admin = this.#kafka.admin();
    await admin.connect();
    const ends = new Map<number, number>();
    const behind: number[] = [];
    try {
      const [committed] = await admin.fetchOffsets({
        groupId: group,
        topics: [topics.transactions],
      });
      for (const p of committed?.partitions ?? []) {
        if (partitions.includes(p.partition) && Number(p.offset) > 0) {
          ends.set(p.partition, Number(p.offset));
        }
      }
      for (const p of await admin.fetchTopicOffsets(topics.transactions)) {
        const from = Math.max(ends.get(p.partition) ?? 0, Number(p.low));
        if (partitions.includes(p.partition) && Number(p.high) > from) behind.push(p.partition);
      }
    } finally {
      await admin.disconnect();
    }
    const loop = this.#loops[0];
    const positions = new Map<number, number>();
    const messages = await readPartitionHistory(
      this.#kafka,
      topics.transactions,
      ends,
      `${group}.restore.${instanceId}.${crypto.randomUUID().slice(0, 8)}`,
      (partition, batch) => {
        const cutoff = loop.replay(batch);
        if (cutoff > (positions.get(partition) ?? -Infinity)) positions.set(partition, cutoff);
      },
    );
    this.#join.setAssigned(positions, behind);
    const ms = Math.round(performance.now() - started);
    this.stats.lastRestore = { partitions, messages, ms };
    this.stats.restores++;
    this.#restored = !this.#restorePending;
    log.log("info", "restore", { partitions, messages, ms });
  }

  /**
   * One OffsetCommit request at a time, each carrying the latest offset of every partition that
   * advanced since the last: commits keep up with any batch rate, and they stay in order. A
   * failed commit only means re-scoring after a crash or rebalance (at-least-once).
   */
  #scheduleCommit(topic: string, partition: number, nextOffset: string): void {
    this.#toCommit.set(partition, nextOffset);
    this.#committing ??= this.#flushCommits(topic);
  }

  async #flushCommits(topic: string): Promise<void> {
    try {
      while (this.#toCommit.size > 0) {
        const offsets = [...this.#toCommit].map(([partition, offset]) => ({
          topic,
          partition,
          offset,
        }));
        this.#toCommit.clear();
        try {
          await this.#consumer!.commitOffsets(offsets);
        } catch (err) {
          this.stats.errors++;
          this.#config.log.log("warn", "commit_failed", { offsets, error: errorText(err) });
        }
      }
    } finally {
      this.#committing = null;
    }
  }

  async #commitsDone(): Promise<void> {
    while (this.#committing) await this.#committing;
  }

  #waitForDrain(): Promise<void> {
    if (this.#inFlight === 0) return Promise.resolve();
    return new Promise((resolve) => this.#drained.push(resolve));
  }
}
