import type { Logger } from "../cli/json_log.ts";
import type {
  BatchControl,
  InputBatch,
  KafkaClient,
  KafkaInput,
  KafkaOutput,
  OutputRecord,
  PartitionOffsets,
  TopicRecords,
  TransactionalOutput,
} from "../kafka/boundary.ts";
import { errorText } from "../kafka/connection.ts";
import type { FeatureEngine } from "../features/feature_engine.ts";
import type { TopicNames } from "../kafka/topics.ts";
import { DuplicateWindow } from "../transactions/duplicate_window.ts";
import { RowState } from "../transactions/row_fields.ts";
import { AgentStats } from "./agent_stats.ts";
import type { AgentLabelsState, AgentStatsDocument } from "./stats_document.ts";
import { LabelFeed } from "./label_feed.ts";
import { LabelJoin } from "./label_join.ts";
import { OnlineQuality } from "./online_quality.ts";
import { dlqRecord } from "./dlq_records.ts";
import type { ModelSlot } from "./model_slot.ts";
import { ScoringLoop } from "./scoring_loop.ts";
import { StateSnapshots } from "./state_snapshots.ts";

export interface AgentConfig {
  group: string;
  topics: TopicNames;
  instanceId: string;
  /** Join the group as a static member named by instanceId (KIP-345), where the client can. */
  staticMembership: boolean;
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
  /** Least time between two state snapshots of a partition; 0 writes none (and loads none). */
  snapshotIntervalMs: number;
  /** Testing only: a fixed sleep per scored chunk, to make an agent of known capacity. */
  testBatchCostMs: number;
  log: Logger;
}

const BROKER_SILENCE_MS = 5_000;
/** Pause before a rebuild that failed on an unreachable broker is tried again. */
const RESTORE_RETRY_MS = 1_000;
/** Records read from the start of each partition to find a complete row (#learnOrigin). */
const ORIGIN_PROBE_RECORDS = 100n;

/**
 * The scoring agent: a consumer-group member on `transactions` that scores each fetched batch
 * and produces predictions (and DLQ records) before committing its offsets, so every input
 * message ends as exactly one of the two (at-least-once; with exactlyOnce, the predictions and
 * the offsets commit in one Kafka transaction).
 *
 * Customer state is rebuilt whenever the assignment changes (or a batch fails after touching
 * it): state and duplicate window are cleared, each assigned partition's newest state snapshot
 * (agent/state_snapshots.ts) is loaded, then its history after the snapshot up to the committed
 * offset is replayed through the same parsing and feature code before any new batch is scored.
 * An uninterrupted run and a restarted one therefore compute the same features.
 */
export class Agent {
  readonly stats: AgentStats;
  readonly #client: KafkaClient;
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
  #input?: KafkaInput;
  /** Where predictions and DLQ records go: one of the two, by exactlyOnce. */
  #output?: KafkaOutput;
  #transactional?: TransactionalOutput;
  #assigned: number[] = [];
  /** Per partition, the highest label cutoff day scored or replayed: its label join position. */
  readonly #positions = new Map<number, number>();
  /** Per partition, the next offset after the last chunk delivered (what a snapshot covers). */
  readonly #delivered = new Map<number, bigint>();
  /**
   * Per partition, where the state rebuilt by the last restore ends, until the partition's first
   * batch after it was checked against it (#align).
   */
  readonly #rebuiltTo = new Map<number, bigint>();
  /**
   * The partitions assigned by the last restore whose first chunk was not checked against the
   * label days released yet (#labelsReady): only a hand-over puts a partition behind them.
   */
  readonly #handedOver = new Set<number>();
  readonly #snapshots: StateSnapshots | null;
  #snapshotsOn = false;
  #restoring: Promise<void> = Promise.resolve();
  #restored = false;
  #inFlight = 0;
  #drained: (() => void)[] = [];
  #restorePending = false;
  #stopping = false;
  #fail!: (err: Error) => void;
  /** Rejects when the consumer crashed for good: the process should exit and be restarted. */
  readonly failed: Promise<never> = new Promise((_, reject) => (this.#fail = reject));

  constructor(client: KafkaClient, config: AgentConfig, engine: FeatureEngine, model: ModelSlot) {
    this.#client = client;
    this.#config = config;
    this.#engine = engine;
    // Read by the command once the agent runs; a failure before that must not go unhandled.
    this.failed.catch(() => {});
    this.#duplicates = new DuplicateWindow(config.dedupCapacity);
    this.#snapshots = config.snapshotIntervalMs > 0
      ? new StateSnapshots(
        config.topics.state,
        config.snapshotIntervalMs,
        engine,
        this.#duplicates,
        config.log,
      )
      : null;
    const quality = new OnlineQuality(model.threshold);
    this.#join = new LabelJoin(engine);
    this.#labels = new LabelFeed(client, config.topics.labels, this.#join, quality);
    // The origin a missing tx_datetime is derived from belongs to the stream, not to one loop: a
    // loop that had parsed no complete row yet rejected such a row that the others repair.
    const rowState = new RowState();
    this.#loops = Array.from(
      { length: config.concurrency },
      () => new ScoringLoop(engine, model, this.#duplicates, this.#join, rowState),
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
      broker_connected: Date.now() - (this.#input?.lastContactMs ?? 0) < BROKER_SILENCE_MS,
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
      snapshots: this.#snapshots && this.#snapshotsOn
        ? {
          interval_ms: this.#config.snapshotIntervalMs,
          sent: this.#snapshots.sent,
          last_error: this.#snapshots.lastError,
        }
        : null,
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
      rewinds: join.rewinds,
      stale_scores: join.staleScores,
      max_stale_gap_ms: join.maxStaleGapMs,
    };
  }

  metricsText(): string {
    return this.stats.toPrometheus(this.#assigned, this.#engine.counters, this.#join);
  }

  async start(): Promise<void> {
    const { group, instanceId, topics, log } = this.#config;
    if (this.#config.exactlyOnce) {
      this.#transactional = await this.#client.transactionalOutput({
        transactionalId: `${group}.${instanceId}`,
      });
    } else {
      this.#output = await this.#client.output();
    }
    await this.#labels.start(`${group}.labels.${instanceId}.${crypto.randomUUID().slice(0, 8)}`);
    this.#labels.failed.catch((err) => {
      log.log("error", "labels_failed", { error: errorText(err) });
      this.#fail(err);
    });
    if (this.#snapshots) {
      const admin = await this.#client.admin();
      try {
        this.#snapshotsOn = await this.#snapshots.start(this.#client, admin);
      } finally {
        await admin.close();
      }
      if (!this.#snapshotsOn) {
        log.log("warn", "snapshots_off", {
          reason:
            `no topic ${topics.state}: restores replay whole partitions (create it with fraudstream topics)`,
        });
      }
    }
    const input = this.#client.input({
      group,
      topic: topics.transactions,
      start: "earliest",
      // Exactly-once: the offsets commit inside each transaction, with its predictions.
      commit: this.#config.exactlyOnce ? "none" : "coalesced",
      concurrency: this.#config.concurrency,
      maxBytes: 8 << 20,
      maxBytesPerPartition: 1 << 20,
      sessionTimeoutMs: this.#config.sessionTimeoutMs,
      // A member learns of a rebalance from a heartbeat's answer: once a second keeps the whole
      // group's pause short (and is well under a third of any allowed session timeout).
      heartbeatIntervalMs: 1_000,
      // An idle fetch returns after this long; it bounds how long SIGTERM waits for one.
      maxWaitMs: 1_000,
      instanceId: this.#config.staticMembership ? instanceId : undefined,
    }, {
      assigned: (partitions, leader) => {
        log.log("info", "assignment", { partitions, leader });
        for (const p of this.#waitingSince.keys()) {
          if (!partitions.includes(p)) this.#waitingSince.delete(p);
        }
        if (partitions.join() !== this.#assigned.join() || !this.#restored) {
          this.#assigned = [...partitions];
          this.#requestRestore();
        }
      },
      crashed: (error, restarting) => {
        this.stats.errors++;
        log.log("error", "consumer_crash", { error: error.message, restart: restarting });
        if (!restarting) this.#fail(error);
      },
      commitFailed: (error, offsets) => {
        // The input tries the offsets of partitions it still owns again; given up, they mean
        // re-scoring after a crash or rebalance (at-least-once).
        this.stats.errors++;
        log.log("warn", "commit_failed", {
          offsets: offsets.map((o) => ({ partition: o.partition, offset: String(o.nextOffset) })),
          error: errorText(error),
        });
      },
    });
    this.#input = input;
    await input.start((batch, control) => this.#onBatch(batch, control));
  }

  /**
   * Finishes the batches in flight, commits them, leaves the group; then snapshots every partition
   * it scored, so that whoever takes them next replays nothing of what was done here.
   */
  async stop(): Promise<void> {
    this.#stopping = true;
    // Leaving the group may report an empty assignment: what was scored here is known before.
    const scored = this.#restored ? [...this.#assigned] : [];
    await Promise.all([this.#input?.stop(), this.#labels.stop()]);
    if (this.#snapshotsOn) {
      for (const partition of scored) this.#snapshot(partition, Infinity);
    }
    await Promise.all([
      this.#output?.close(),
      this.#transactional?.close(),
      this.#snapshots?.close(),
    ]);
  }

  /** Captures the partition's state if a snapshot is due (always when `now` is Infinity). */
  #snapshot(partition: number, now: number): void {
    const next = this.#delivered.get(partition);
    if (next === undefined || !this.#snapshots!.due(partition, now)) return;
    this.#snapshots!.capture(
      partition,
      next,
      this.#positions.get(partition) ?? -Infinity,
      now,
      () => this.#input?.commitsDone() ?? Promise.resolve(),
    );
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
   * the watermark arrives or the wait is over; the input then delivers it again from the first
   * record not acknowledged, i.e. this chunk. `cutoffDay` is the chunk's highest label cutoff
   * day, `minCutoffDay` its lowest.
   */
  #labelsReady(partition: number, cutoffDay: number, minCutoffDay: number): boolean {
    // Handed over behind the days released here: read the labels again before scoring it. The
    // rewound join has no watermark, so the partition waits below like any other. Only its first
    // chunk is checked: an owned partition holds the days it reads, so later on only a row far
    // out of order reads released days, and it is scored stale rather than re-reading every label.
    if (this.#handedOver.delete(partition) && this.#join.released(minCutoffDay)) {
      this.#config.log.log("info", "labels_rewind", { partition, cutoff_day: minCutoffDay });
      this.#labels.rewind().catch((err) => {
        const error = err instanceof Error ? err : new Error(String(err));
        this.#config.log.log("error", "labels_rewind_failed", { error: error.message });
        this.#fail(error);
      });
    }
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
    const input = this.#input!;
    input.pause(partition);
    this.#join.whenReady(need, left).then(() => input.resume(partition));
    return false;
  }

  /**
   * Waits for a state rebuild in progress, heartbeating meanwhile: a client may heartbeat only
   * between batches, and a restore of a long history outlasts a short session timeout, which would
   * evict this member and start the rebuild over on the next assignment.
   */
  async #restoreDone(control: BatchControl): Promise<void> {
    // Until a rebuild succeeded: one that failed on a broker failing over is tried again.
    while (!this.#restored && control.active) {
      let done = false;
      const restoring = this.#restoring.then(() => (done = true));
      await Promise.race([restoring, new Promise((r) => setTimeout(r, 1_000))]);
      if (!done) await control.heartbeat();
    }
  }

  async #onBatch(batch: InputBatch, control: BatchControl): Promise<void> {
    await this.#restoreDone(control);
    if (!control.active || !this.#restored || batch.length === 0) return;
    const loop = this.#loops.pop()!;
    this.#inFlight++;
    const partition = batch.partition;
    let from = 0;
    try {
      const rebuiltTo = this.#rebuiltTo.get(partition);
      if (rebuiltTo !== undefined) {
        this.#rebuiltTo.delete(partition);
        from = await this.#align(batch, control, rebuiltTo, loop);
      }
      const max = this.#config.maxBatch;
      for (; from < batch.length; from += max) {
        if (!control.active) return;
        const to = Math.min(batch.length, from + max);
        const started = performance.now();
        const cutoffDay = loop.prepare(batch, from, to);
        this.#join.fetched(partition, loop.preparedMinCutoffDay);
        if (!this.#labelsReady(partition, cutoffDay, loop.preparedMinCutoffDay)) return;
        const out = await loop.score(batch, from, to);
        this.#join.scored(partition, cutoffDay);
        if (cutoffDay > (this.#positions.get(partition) ?? -Infinity)) {
          this.#positions.set(partition, cutoffDay);
        }
        if (this.#config.testBatchCostMs > 0) {
          await new Promise((r) => setTimeout(r, this.#config.testBatchCostMs));
        }
        const next = batch.offset(to - 1) + 1n;
        const dlq = out.rejects.map((r) => dlqRecord(batch, r.index, r.reason));
        await this.#deliver(batch.partition, next, out.predictions, dlq, control);
        this.#delivered.set(partition, next);
        if (this.#snapshotsOn) this.#snapshot(partition, performance.now());
        const stats = this.stats;
        stats.consumed.add(to - from);
        stats.scored.add(out.rows);
        stats.dlq.add(dlq.length);
        for (const r of out.rejects) stats.recordDlq(r.reason);
        stats.batches++;
        stats.batchSize.observe(to - from);
        stats.batchLatencyMs.observe(performance.now() - started);
        stats.e2eLatencyMs.observeAll(out.latenciesMs);
        for (let r = 0; r < out.rows; r++) {
          stats.quality.scored(out.transactionIds[r], out.scores[r]);
        }
        stats.lag.set(partition, Math.max(0, Number(batch.highWatermark - next)));
        await control.heartbeat();
      }
    } catch (err) {
      // A rebalance interrupting a batch is expected whenever agents come and go: logged as what
      // it is, not counted as an error. Either way the batch is fetched again and state rebuilt.
      const rebalance = this.#client.isRebalance(err);
      if (!rebalance) this.stats.errors++;
      this.#config.log.log(
        rebalance ? "info" : "error",
        rebalance ? "batch_rebalanced" : "batch_failed",
        {
          partition,
          first_offset: String(batch.offset(Math.min(from, batch.length - 1))),
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

  /**
   * Makes the first batch after a restore start where the rebuilt state ends; returns the index of
   * the first record to score. The restore reads the group's committed offset, the input its own
   * position, at different times: a commit landing in between (a former owner's late one, or a
   * refused one that left the committed offset behind what this member read) leaves the two
   * apart. State behind the batch is caught up from the partition's history; records the state
   * already holds (committed, so scored before) are skipped rather than counted twice. Either way
   * every score is the one an uninterrupted run computes.
   */
  async #align(
    batch: InputBatch,
    control: BatchControl,
    rebuiltTo: bigint,
    loop: ScoringLoop,
  ): Promise<number> {
    const partition = batch.partition;
    const fetchedFrom = control.fetchedFrom;
    if (fetchedFrom > rebuiltTo) {
      let cutoff = this.#positions.get(partition) ?? -Infinity;
      const messages = await this.#client.readHistory(
        this.#config.topics.transactions,
        new Map([[partition, fetchedFrom]]),
        (history) => (cutoff = Math.max(cutoff, loop.replay(history))),
        new Map([[partition, rebuiltTo]]),
      );
      this.#positions.set(partition, cutoff);
      this.#join.scored(partition, cutoff);
      this.#config.log.log("info", "state_caught_up", {
        partition,
        from: String(rebuiltTo),
        to: String(fetchedFrom),
        messages,
      });
      return 0;
    }
    let first = 0;
    while (first < batch.length && batch.offset(first) < rebuiltTo) first++;
    if (first > 0) {
      // Delivered again (after a label wait, say) from here, not from the records skipped.
      control.ack(rebuiltTo);
      this.#config.log.log("info", "records_skipped", {
        partition,
        from: String(fetchedFrom),
        to: String(rebuiltTo),
        messages: first,
      });
    }
    return first;
  }

  /**
   * Sends a chunk's predictions and DLQ records, then acknowledges its input: at-least-once, the
   * ack schedules a coalesced commit once the records are acknowledged; exactly-once, the
   * offsets commit in the same transaction as the records.
   */
  async #deliver(
    partition: number,
    nextOffset: bigint,
    predictions: OutputRecord[],
    dlq: OutputRecord[],
    control: BatchControl,
  ): Promise<void> {
    const groups: TopicRecords[] = [];
    if (predictions.length) {
      groups.push({ topic: this.#config.topics.predictions, records: predictions });
    }
    if (dlq.length) groups.push({ topic: this.#config.topics.dlq, records: dlq });
    if (this.#transactional) {
      await this.#transactional.sendWithOffsets(groups, {
        input: this.#input!,
        partition,
        nextOffset,
      });
    } else if (groups.length) {
      await this.#output!.send(groups);
    }
    control.ack(nextOffset);
  }

  /**
   * Schedules a rebuild of the current assignment's state. Requests made while one is waiting
   * for in-flight batches to finish share it: its reset comes after all of them anyway.
   */
  #requestRestore(): void {
    this.#restored = false;
    if (this.#restorePending) return;
    this.#restorePending = true;
    this.#restoring = this.#restoring.then(() => this.#restore()).catch(async (err) => {
      const error = err instanceof Error ? err.message : String(err);
      // A broker failing over answers no reads for a while: the rebuild is tried again, the
      // batches keep waiting for it, as the consumer rides out the same outage.
      if (!this.#stopping && this.#client.isTransient(err)) {
        this.#config.log.log("warn", "restore_retry", { error });
        await new Promise((r) => setTimeout(r, RESTORE_RETRY_MS));
        this.#restorePending = false;
        if (!this.#stopping) this.#requestRestore();
        return;
      }
      this.#config.log.log("error", "restore_failed", { error });
      this.#fail(err instanceof Error ? err : new Error(String(err)));
    });
  }

  async #restore(): Promise<void> {
    await this.#waitForDrain();
    await this.#input?.commitsDone();
    this.#restorePending = false;
    const partitions = this.#assigned;
    const started = performance.now();
    const { group, topics, log } = this.#config;
    this.#engine.dropCustomers(() => true);
    this.#duplicates.clear();
    const ends = new Map<number, bigint>();
    const behind: number[] = [];
    const positions = new Map<number, number>();
    const starts = new Map<number, bigint>();
    let transactionOffsets: PartitionOffsets[] = [];
    const admin = await this.#client.admin();
    try {
      for (const [partition, offset] of await admin.committedOffsets(group, topics.transactions)) {
        if (partitions.includes(partition) && offset > 0n) ends.set(partition, offset);
      }
      this.#rebuiltTo.clear();
      this.#handedOver.clear();
      transactionOffsets = await admin.partitionOffsets(topics.transactions);
      for (const p of transactionOffsets) {
        const from = ends.get(p.partition) ?? 0n;
        const start = from > p.earliest ? from : p.earliest;
        if (!partitions.includes(p.partition)) continue;
        if (p.latest > start) behind.push(p.partition);
        this.#rebuiltTo.set(p.partition, start);
        this.#handedOver.add(p.partition);
      }
      if (this.#snapshotsOn) {
        for (
          const [partition, snapshot] of await this.#snapshots!.load(this.#client, admin, ends)
        ) {
          this.#snapshots!.apply(snapshot);
          positions.set(partition, snapshot.position);
          starts.set(partition, snapshot.nextOffset);
        }
      }
    } finally {
      await admin.close();
    }
    const loop = this.#loops[0];
    // Every partition, not only the assigned ones: each agent then learns it from the same rows,
    // and one whose partitions start with undated rows still learns it.
    await this.#learnOrigin(loop, transactionOffsets);
    const messages = await this.#client.readHistory(topics.transactions, ends, (batch) => {
      const cutoff = loop.replay(batch);
      if (cutoff > (positions.get(batch.partition) ?? -Infinity)) {
        positions.set(batch.partition, cutoff);
      }
    }, starts);
    this.#join.setAssigned(positions, behind);
    this.#positions.clear();
    this.#delivered.clear();
    for (const [partition, position] of positions) this.#positions.set(partition, position);
    for (const [partition, end] of ends) this.#delivered.set(partition, end);
    const ms = Math.round(performance.now() - started);
    const fromSnapshot = [...starts.keys()].sort((a, b) => a - b);
    this.stats.lastRestore = { partitions, messages, ms, from_snapshot: fromSnapshot };
    this.stats.restores++;
    this.#restored = !this.#restorePending;
    log.log("info", "restore", { partitions, messages, ms, from_snapshot: fromSnapshot });
  }

  /**
   * Learns the origin tx_time_seconds counts from (RowState) from the first records of the
   * partitions, once, before anything is replayed or scored. The export learns it from the first
   * row of the files; an agent that learnt it from the first complete row it met rejected, as
   * missing_datetime, an undated row met before that (a replay from a snapshot starts mid-stream),
   * which the export repairs, and the customer's later scores differed.
   */
  async #learnOrigin(loop: ScoringLoop, offsets: readonly PartitionOffsets[]): Promise<void> {
    if (loop.originKnown) return;
    const starts = new Map<number, bigint>();
    const ends = new Map<number, bigint>();
    for (const p of offsets) {
      if (p.latest <= p.earliest) continue;
      starts.set(p.partition, p.earliest);
      const end = p.earliest + ORIGIN_PROBE_RECORDS;
      ends.set(p.partition, end < p.latest ? end : p.latest);
    }
    if (ends.size > 0) {
      await this.#client.readHistory(this.#config.topics.transactions, ends, (batch) => {
        loop.learnOrigin(batch);
      }, starts);
    }
  }

  #waitForDrain(): Promise<void> {
    if (this.#inFlight === 0) return Promise.resolve();
    return new Promise((resolve) => this.#drained.push(resolve));
  }
}
