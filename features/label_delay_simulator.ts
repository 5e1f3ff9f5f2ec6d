import type { Transaction } from "../transactions/transaction.ts";
import { DAY_MS, type FeatureEngine } from "./feature_engine.ts";

/**
 * Replays history through the feature engine the way production sees it: before a transaction is
 * scored, every label it may use has been applied (applyLabel, as from the `labels` topic): the
 * labels of the days before its label cutoff day (FeatureEngine.labelCutoffDay), the same rule
 * the agent's label join enforces online. The training export uses this, so the model is trained
 * on exactly the terminal features the agent computes online.
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

  /** Delivers the labels tx needs, scores tx into out[offset..], then queues tx's own label. */
  process(tx: Transaction, out: Float32Array, offset: number): void {
    const cutoff = this.#engine.labelCutoffDay(tx.eventTimeMs);
    this.deliverBefore(cutoff);
    // Input is in event-time order: no later row reads the days this one does not.
    this.#engine.releaseTerminalDaysBefore(cutoff);
    this.#engine.process(tx, out, offset);
    this.#enqueue(tx.terminalId, tx.eventTimeMs, tx.fraud);
  }

  /** Applies every queued label of a transaction before day `cutoffDay`. */
  deliverBefore(cutoffDay: number): void {
    const due = cutoffDay * DAY_MS;
    while (this.#head < this.#tail && this.#times[this.#head] < due) {
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
