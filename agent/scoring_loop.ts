import type { ByteRange, InputBatch, OutputRecord } from "../kafka/boundary.ts";
import type { FeatureEngine } from "../features/feature_engine.ts";
import { parseRow } from "../transactions/parse_row.ts";
import type { RowState } from "../transactions/row_fields.ts";
import type { DuplicateWindow } from "../transactions/duplicate_window.ts";
import { newTransaction } from "../transactions/transaction.ts";
import type { ServingModel } from "./model_slot.ts";
import type { DlqReason } from "./dlq_records.ts";
import { PredictionEncoder } from "./prediction_records.ts";

/**
 * A transaction row is about 60 bytes; anything past this is not one, and parsing it would only
 * cost time. DLQ'd as line_too_long, like the file reader's over-long lines.
 */
export const MAX_MESSAGE_BYTES = 4096;

/** What the scoring loop needs from a model: one call per batch. */
export interface BatchScorer {
  readonly name: string;
  readonly version: string;
  readonly threshold: number;
  scoreBatch(features: Float32Array, rows: number, out: Float32Array): Promise<Float32Array>;
}

/** An input record that is not scored: its index in the batch, and why. */
export interface Reject {
  index: number;
  reason: DlqReason;
}

export interface ScoredBatch {
  predictions: OutputRecord[];
  rejects: Reject[];
  /** Per prediction: transaction id and score, for online quality. */
  transactionIds: Float64Array;
  scores: Float32Array;
  /** End-to-end latencies (ms) of the predictions: prediction time minus input timestamp. */
  latenciesMs: Float64Array;
  rows: number;
}

/** What the scoring loop asks the label join (agent/label_join.ts), per transaction. */
export interface LabelGate {
  exact(cutoffDay: number): boolean;
}

/**
 * The agent's processor: records of one partition in, prediction records and typed rejects out,
 * for one chunk (records [from, to) of a fetched batch) in two steps. `prepare` parses every
 * record into typed columns and tells which labels the chunk needs (its highest label cutoff day),
 * so the agent can wait for them before anything changes state. `score` then sets rejects and
 * duplicates aside, runs the feature engine into one Float32Array, scores it with ONE model call,
 * and builds the prediction records. No Kafka I/O: the agent (agent/agent.ts) reads, sends and
 * commits, so this runs the same in tests and benchmarks.
 */
export class ScoringLoop {
  readonly #engine: FeatureEngine;
  readonly #models: ServingModel;
  /** The model #predictions labels records with; rebuilt when a swap changed the model. */
  #encoded: BatchScorer;
  readonly #duplicates: DuplicateWindow;
  readonly #labels: LabelGate;
  readonly #tx = newTransaction();
  /** Where the record being parsed lies (InputBatch.valueIn). */
  readonly #range: ByteRange = { start: 0, end: 0 };
  readonly #rowState: RowState;
  #predictions: PredictionEncoder;
  /** Per prepared message: why it is rejected, or null when it parsed. */
  #reasons: (DlqReason | null)[] = [];
  #prepared = 0;
  /** Parsed messages, by message index. */
  #inTxIds = new Float64Array(0);
  #inCustomers = new Float64Array(0);
  #inTerminals = new Float64Array(0);
  #inEventTimes = new Float64Array(0);
  #inAmounts = new Float64Array(0);
  #inCutoffs = new Float64Array(0);
  /** Scored rows, by row index. */
  #features = new Float32Array(0);
  #txIds = new Float64Array(0);
  #customers = new Float64Array(0);
  #eventTimes = new Float64Array(0);
  #inputTimes = new Float64Array(0);
  #latencies = new Float64Array(0);
  #complete = new Uint8Array(0);
  #scores = new Float32Array(0);

  constructor(
    engine: FeatureEngine,
    models: ServingModel,
    duplicates: DuplicateWindow,
    labels: LabelGate,
    rowState: RowState,
  ) {
    this.#engine = engine;
    this.#rowState = rowState;
    this.#models = models;
    this.#encoded = models.current;
    this.#duplicates = duplicates;
    this.#labels = labels;
    this.#predictions = encoderFor(this.#encoded);
  }

  /** The lowest label cutoff day among the transactions of the latest `prepare` (or Infinity). */
  preparedMinCutoffDay = Infinity;

  /**
   * Parses records [from, to) of the batch (nothing else changes); returns the highest label
   * cutoff day of the transactions among them (FeatureEngine.labelCutoffDay), -Infinity when there
   * are none.
   */
  prepare(batch: InputBatch, from: number, to: number): number {
    const n = to - from;
    this.#ensureCapacity(n);
    const tx = this.#tx;
    let maxCutoff = -Infinity;
    let minCutoff = Infinity;
    for (let m = 0; m < n; m++) {
      const reason = this.#parse(batch, from + m);
      this.#reasons[m] = reason;
      if (reason !== null) continue;
      this.#inTxIds[m] = tx.transactionId;
      this.#inCustomers[m] = tx.customerId;
      this.#inTerminals[m] = tx.terminalId;
      this.#inEventTimes[m] = tx.eventTimeMs;
      this.#inAmounts[m] = tx.amount;
      const cutoff = this.#engine.labelCutoffDay(tx.eventTimeMs);
      this.#inCutoffs[m] = cutoff;
      if (cutoff > maxCutoff) maxCutoff = cutoff;
      if (cutoff < minCutoff) minCutoff = cutoff;
    }
    this.#prepared = n;
    this.preparedMinCutoffDay = minCutoff;
    return maxCutoff;
  }

  /** Scores records [from, to) of the batch, given to the latest `prepare`. */
  async score(
    batch: InputBatch,
    from: number,
    to: number,
    now: () => number = Date.now,
  ): Promise<ScoredBatch> {
    const n = to - from;
    if (this.#prepared !== n) throw new Error("score: prepare these records first");
    this.#prepared = 0;
    const width = this.#engine.width;
    const labels = this.#labels;
    const tx = this.#tx;
    const rejects: Reject[] = [];
    let rows = 0;
    // Customers are tagged with their partition (for state snapshots); no await until the last
    // process() below, so another partition's batch cannot change the tag in between.
    this.#engine.ownerTag = batch.partition;
    for (let m = 0; m < n; m++) {
      let reason = this.#reasons[m];
      if (reason === null) {
        tx.transactionId = this.#inTxIds[m];
        tx.customerId = this.#inCustomers[m];
        if (this.#duplicates.seen(tx.transactionId, tx.customerId)) {
          reason = "duplicate_transaction_id";
        }
      }
      if (reason !== null) {
        rejects.push({ index: from + m, reason });
        continue;
      }
      tx.terminalId = this.#inTerminals[m];
      tx.eventTimeMs = this.#inEventTimes[m];
      tx.amount = this.#inAmounts[m];
      this.#engine.process(tx, this.#features, rows * width);
      this.#complete[rows] = labels.exact(this.#inCutoffs[m]) ? 1 : 0;
      this.#txIds[rows] = tx.transactionId;
      this.#customers[rows] = tx.customerId;
      this.#eventTimes[rows] = tx.eventTimeMs;
      this.#inputTimes[rows] = batch.timestampMs(from + m);
      rows++;
    }
    // One model for the whole batch: a hot swap takes effect at the next one.
    const model = this.#models.current;
    if (model !== this.#encoded) {
      this.#encoded = model;
      this.#predictions = encoderFor(model);
    }
    const scores = await model.scoreBatch(this.#features, rows, this.#scores);
    const at = now();
    for (let r = 0; r < rows; r++) this.#latencies[r] = at - this.#inputTimes[r];
    const predictions = this.#predictions.encode({
      transactionIds: this.#txIds,
      customerIds: this.#customers,
      scores,
      eventTimesMs: this.#eventTimes,
      latenciesMs: this.#latencies,
      labelsComplete: this.#complete,
    }, rows);
    return {
      predictions,
      rejects,
      transactionIds: this.#txIds.subarray(0, rows),
      scores,
      latenciesMs: this.#latencies.subarray(0, rows),
      rows,
    };
  }

  /**
   * Replays already-scored history into customer state (after a rebalance or restart) with the
   * same parsing and duplicate rules as scoring, so the state equals an uninterrupted run's.
   * Returns the highest label cutoff day replayed (-Infinity when none).
   */
  replay(batch: InputBatch): number {
    let maxCutoff = -Infinity;
    this.#engine.ownerTag = batch.partition;
    for (let i = 0; i < batch.length; i++) {
      if (this.#parse(batch, i) !== null) continue;
      if (this.#duplicates.seen(this.#tx.transactionId, this.#tx.customerId)) continue;
      this.#engine.updateCustomer(this.#tx);
      const cutoff = this.#engine.labelCutoffDay(this.#tx.eventTimeMs);
      if (cutoff > maxCutoff) maxCutoff = cutoff;
    }
    return maxCutoff;
  }

  /** Whether the row state knows the origin a missing tx_datetime is derived from. */
  get originKnown(): boolean {
    return !Number.isNaN(this.#rowState.originMs);
  }

  /** Parses the batch's records, changing no state but the row state's origin, until it is known. */
  learnOrigin(batch: InputBatch): void {
    for (let i = 0; i < batch.length && !this.originKnown; i++) this.#parse(batch, i);
  }

  /** Parses into #tx; null when it is a scoreable transaction (duplicates are checked later). */
  #parse(batch: InputBatch, i: number): DlqReason | null {
    const range = this.#range;
    const bytes = batch.valueIn(i, range);
    if (bytes === null || range.end === range.start) return "empty_line";
    if (range.end - range.start > MAX_MESSAGE_BYTES) return "line_too_long";
    return parseRow(bytes, range.start, range.end, this.#tx, this.#rowState);
  }

  #ensureCapacity(n: number): void {
    if (this.#txIds.length >= n) return;
    const cap = Math.max(n, this.#txIds.length * 2, 256);
    this.#inTxIds = new Float64Array(cap);
    this.#inCustomers = new Float64Array(cap);
    this.#inTerminals = new Float64Array(cap);
    this.#inEventTimes = new Float64Array(cap);
    this.#inAmounts = new Float64Array(cap);
    this.#inCutoffs = new Float64Array(cap);
    this.#features = new Float32Array(cap * this.#engine.width);
    this.#txIds = new Float64Array(cap);
    this.#customers = new Float64Array(cap);
    this.#eventTimes = new Float64Array(cap);
    this.#inputTimes = new Float64Array(cap);
    this.#latencies = new Float64Array(cap);
    this.#complete = new Uint8Array(cap);
    this.#scores = new Float32Array(cap);
  }
}

function encoderFor(model: BatchScorer): PredictionEncoder {
  return new PredictionEncoder(model.name, model.version, model.threshold);
}
