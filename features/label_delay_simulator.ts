import type { Transaction } from "../transactions/transaction.ts";
import type { FeatureEngine } from "./feature_engine.ts";

/**
 * Replays history through the feature engine the way production sees it: a transaction's label
 * reaches the engine (applyLabel, as from the `labels` topic) only once the stream has passed
 * its event time + the label delay. The training export uses this, so the model is trained on
 * exactly the terminal features the agent computes online.
 *
 * Input must be in event-time order (the export sorts each file). Pending labels sit in a FIFO
 * of typed arrays, so memory is bounded by the number of transactions within one label delay.
 */
export class LabelDelaySimulator {
  readonly #engine: FeatureEngine;
  #times = new Float64Array(1 << 14);
  #terminals = new Float64Array(1 << 14);
  #frauds = new Uint8Array(1 << 14);
  #head = 0;
  #tail = 0;
  labelsApplied = 0;

  constructor(engine: FeatureEngine) {
    this.#engine = engine;
  }

  /** Delivers due labels, scores tx into out[offset..], then queues tx's own label. */
  process(tx: Transaction, out: Float32Array, offset: number): void {
    this.deliverUntil(tx.eventTimeMs);
    this.#engine.process(tx, out, offset);
    this.#enqueue(tx.terminalId, tx.eventTimeMs, tx.fraud);
  }

  /** Applies every queued label whose event time + delay is at or before nowMs. */
  deliverUntil(nowMs: number): void {
    const due = nowMs - this.#engine.labelDelayMs;
    while (this.#head < this.#tail && this.#times[this.#head] <= due) {
      this.#engine.applyLabel(
        this.#terminals[this.#head],
        this.#times[this.#head],
        this.#frauds[this.#head],
      );
      this.#head++;
      this.labelsApplied++;
    }
  }

  get pending(): number {
    return this.#tail - this.#head;
  }

  #enqueue(terminalId: number, eventTimeMs: number, fraud: number): void {
    if (this.#tail === this.#times.length) this.#compactOrGrow();
    this.#times[this.#tail] = eventTimeMs;
    this.#terminals[this.#tail] = terminalId;
    this.#frauds[this.#tail] = fraud;
    this.#tail++;
  }

  #compactOrGrow(): void {
    const live = this.#tail - this.#head;
    const size = live * 2 > this.#times.length ? this.#times.length * 2 : this.#times.length;
    const times = new Float64Array(size);
    const terminals = new Float64Array(size);
    const frauds = new Uint8Array(size);
    times.set(this.#times.subarray(this.#head, this.#tail));
    terminals.set(this.#terminals.subarray(this.#head, this.#tail));
    frauds.set(this.#frauds.subarray(this.#head, this.#tail));
    this.#times = times;
    this.#terminals = terminals;
    this.#frauds = frauds;
    this.#head = 0;
    this.#tail = live;
  }
}
