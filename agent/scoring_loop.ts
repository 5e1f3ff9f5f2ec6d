import type { IHeaders, KafkaMessage, Message } from "kafkajs";
import type { Buffer } from "node:buffer";
import type { FeatureEngine } from "../features/feature_engine.ts";
import { parseRow } from "../transactions/parse_row.ts";
import { HEADER, RowState } from "../transactions/row_fields.ts";
import type { DuplicateWindow } from "../transactions/duplicate_window.ts";
import { newTransaction } from "../transactions/transaction.ts";
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

/** Why an input message became a DLQ record instead of a prediction. */
export type DlqReason = string;

export interface ScoredBatch {
  predictions: Message[];
  dlq: Message[];
  /** Per prediction: transaction id and score, for online quality. */
  transactionIds: Float64Array;
  scores: Float32Array;
  /** End-to-end latencies (ms) of the predictions: prediction time minus input timestamp. */
  latenciesMs: Float64Array;
  rows: number;
}

/**
 * The agent's hot path for one fetched batch of one partition: parse every message into a
 * reused Transaction, route rejects and duplicates to the DLQ, run the feature engine into one
 * Float32Array, score it with ONE model call, and build the prediction records. Kafka I/O stays
 * outside (agent/agent.ts), so this runs the same in tests and benchmarks.
 */
export class ScoringLoop {
  readonly #engine: FeatureEngine;
  readonly #model: BatchScorer;
  readonly #duplicates: DuplicateWindow;
  readonly #tx = newTransaction();
  readonly #rowState = new RowState();
  readonly #predictions: PredictionEncoder;
  #features = new Float32Array(0);
  #txIds = new Float64Array(0);
  #customers = new Float64Array(0);
  #eventTimes = new Float64Array(0);
  #inputTimes = new Float64Array(0);
  #latencies = new Float64Array(0);
  #scores = new Float32Array(0);

  constructor(engine: FeatureEngine, model: BatchScorer, duplicates: DuplicateWindow) {
    this.#engine = engine;
    this.#model = model;
    this.#duplicates = duplicates;
    this.#predictions = new PredictionEncoder(model.name, model.version, model.threshold);
  }

  async score(
    topic: string,
    partition: number,
    messages: KafkaMessage[],
    now: () => number = Date.now,
  ): Promise<ScoredBatch> {
    this.#ensureCapacity(messages.length);
    const width = this.#engine.width;
    const dlq: Message[] = [];
    let rows = 0;
    for (let m = 0; m < messages.length; m++) {
      const msg = messages[m];
      const reason = this.#read(msg.value);
      if (reason !== null) {
        dlq.push(dlqRecord(msg, reason, topic, partition));
        continue;
      }
      const tx = this.#tx;
      this.#engine.process(tx, this.#features, rows * width);
      this.#txIds[rows] = tx.transactionId;
      this.#customers[rows] = tx.customerId;
      this.#eventTimes[rows] = tx.eventTimeMs;
      this.#inputTimes[rows] = Number(msg.timestamp);
      rows++;
    }
    const scores = await this.#model.scoreBatch(this.#features, rows, this.#scores);
    const at = now();
    for (let r = 0; r < rows; r++) this.#latencies[r] = at - this.#inputTimes[r];
    const predictions = this.#predictions.encode({
      transactionIds: this.#txIds,
      customerIds: this.#customers,
      scores,
      eventTimesMs: this.#eventTimes,
      latenciesMs: this.#latencies,
    }, rows);
    return {
      predictions,
      dlq,
      transactionIds: this.#txIds.subarray(0, rows),
      scores,
      latenciesMs: this.#latencies.subarray(0, rows),
      rows,
    };
  }

  /**
   * Replays already-scored history into customer state (after a rebalance or restart) with the
   * same parsing and duplicate rules as scoring, so the state equals an uninterrupted run's.
   */
  replay(messages: KafkaMessage[]): number {
    let applied = 0;
    for (const msg of messages) {
      if (this.#read(msg.value) !== null) continue;
      this.#engine.updateCustomer(this.#tx);
      applied++;
    }
    return applied;
  }

  /** Parses into #tx; null when it is a scoreable, first-seen transaction. */
  #read(value: Buffer | null): DlqReason | null {
    if (value === null || value.length === 0) return "empty_message";
    if (value.length > MAX_MESSAGE_BYTES) return "line_too_long";
    const outcome = parseRow(value, 0, value.length, this.#tx, this.#rowState);
    if (outcome === HEADER) return "header_line";
    if (outcome !== null) return outcome;
    if (this.#duplicates.seen(this.#tx.transactionId, this.#tx.customerId)) {
      return "duplicate_transaction_id";
    }
    return null;
  }

  #ensureCapacity(n: number): void {
    if (this.#txIds.length >= n) return;
    const cap = Math.max(n, this.#txIds.length * 2, 256);
    this.#features = new Float32Array(cap * this.#engine.width);
    this.#txIds = new Float64Array(cap);
    this.#customers = new Float64Array(cap);
    this.#eventTimes = new Float64Array(cap);
    this.#inputTimes = new Float64Array(cap);
    this.#latencies = new Float64Array(cap);
    this.#scores = new Float32Array(cap);
  }
}

/** DLQ record: the original key and bytes untouched; why and where from in headers. */
export function dlqRecord(
  msg: KafkaMessage,
  reason: DlqReason,
  topic: string,
  partition: number,
): Message {
  const headers: IHeaders = {
    "fraudstream.reason": reason,
    "fraudstream.source": `${topic}/${partition}/${msg.offset}`,
    "fraudstream.source.topic": topic,
    "fraudstream.source.partition": String(partition),
    "fraudstream.source.offset": msg.offset,
  };
  return { key: msg.key, value: msg.value, headers };
}
