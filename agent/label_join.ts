import { DAY_MS, type FeatureEngine, TERMINAL_LEAD_DAYS } from "../features/feature_engine.ts";

/**
 * Labels held before they are applied: 9 bytes each. At this many the label feed stops fetching
 * from the partitions nobody waits on (about 36 MB), so a labels topic far ahead of the
 * transactions (an agent started on a long backlog) cannot grow memory without bound.
 */
export const DEFAULT_MAX_PENDING_LABELS = 4_000_000;

/** The labels of one day that wait to be applied, column by column. */
class DayLabels {
  terminals = new Float64Array(256);
  frauds = new Uint8Array(256);
  count = 0;

  push(terminalId: number, fraud: number): void {
    if (this.count === this.terminals.length) {
      const terminals = new Float64Array(this.count * 2);
      const frauds = new Uint8Array(this.count * 2);
      terminals.set(this.terminals);
      frauds.set(this.frauds);
      this.terminals = terminals;
      this.frauds = frauds;
    }
    this.terminals[this.count] = terminalId;
    this.frauds[this.count++] = fraud;
  }
}

interface Waiter {
  needMs: number;
  resolve: () => void;
  timer: ReturnType<typeof setTimeout>;
}

/**
 * The event-time join of the transactions stream with the labels stream, so that a score never
 * depends on timing.
 *
 * A transaction's terminal features read the labels of the days before its label cutoff day
 * (FeatureEngine.labelCutoffDay). It is scored exactly once
 * - the label watermark covers those days: every labels partition has said, with a watermark
 *   record, that all labels up to the end of the day before the cutoff are in it, and the agent
 *   has read up to that record;
 * - and the engine's terminal ring still holds those days: labels are applied to the engine
 *   only up to the highest cutoff a scored batch needed (later ones wait here, by day), so they
 *   run ahead of a transaction only by the spread of event time across the agent's partitions,
 *   which must stay within TERMINAL_LEAD_DAYS.
 * A transaction that is scored without both (its partition waited --label-wait in vain, or it
 * came from a partition far behind the others) is stale: counted, and marked in its prediction.
 *
 * Leakage cannot happen either way: the windows never read the cutoff day or later, so a label
 * applied early is never read by a transaction it could describe.
 */
export class LabelJoin {
  readonly #engine: FeatureEngine;
  readonly #maxPending: number;
  readonly #partitionWatermarks = new Map<number, number>();
  #watermark = -Infinity;
  readonly #pending = new Map<number, DayLabels>();
  #pendingCount = 0;
  /** Every pending label's day is at or after this: the labels of earlier days are applied. */
  #appliedBefore = -Infinity;
  #newestApplied = -Infinity;
  /** The highest watermark any transaction seen so far needed, for the label lag. */
  #highestNeed = -Infinity;
  #waiters: Waiter[] = [];
  /** Called when held label partitions may fetch again (the feed resumes them). */
  onRelief: () => void = () => {};
  applied = 0;
  /** Labels whose day had already been applied when they arrived: after their watermark. */
  late = 0;
  /** Transactions scored without every label their features read (see the class comment). */
  staleScores = 0;
  /** Largest event-time gap between what a stale transaction needed and the watermark, ms. */
  maxStaleGapMs = 0;

  constructor(engine: FeatureEngine, maxPending = DEFAULT_MAX_PENDING_LABELS) {
    this.#engine = engine;
    this.#maxPending = maxPending;
  }

  /** The labels topic's partitions: each must report a watermark before the join has one. */
  setPartitions(partitions: readonly number[]): void {
    for (const p of partitions) {
      if (!this.#partitionWatermarks.has(p)) this.#partitionWatermarks.set(p, -Infinity);
    }
    this.#recompute();
  }

  /** Every label of a transaction at or before this event time has been read (ms; -Infinity). */
  get watermarkMs(): number {
    return this.#watermark;
  }

  /** How far, in event time, the watermark trails what the transactions seen so far need. */
  get lagMs(): number {
    return Math.max(0, this.#highestNeed - this.#watermark);
  }

  get pending(): number {
    return this.#pendingCount;
  }

  addLabel(terminalId: number, eventTimeMs: number, fraud: number): void {
    const day = Math.floor(eventTimeMs / DAY_MS);
    if (!(day >= this.#appliedBefore)) {
      if (!Number.isFinite(day)) return;
      this.late++;
      this.#apply(terminalId, eventTimeMs, fraud, day);
      return;
    }
    let bucket = this.#pending.get(day);
    if (bucket === undefined) this.#pending.set(day, bucket = new DayLabels());
    bucket.push(terminalId, fraud);
    this.#pendingCount++;
  }

  setWatermark(partition: number, eventTimeMs: number): void {
    const before = this.#partitionWatermarks.get(partition) ?? -Infinity;
    if (eventTimeMs <= before) return;
    this.#partitionWatermarks.set(partition, eventTimeMs);
    this.#recompute();
  }

  /** The watermark a transaction with this label cutoff day needs before it is scored. */
  neededWatermarkMs(cutoffDay: number): number {
    return cutoffDay * DAY_MS - 1;
  }

  isReady(needMs: number): boolean {
    return this.#watermark >= needMs;
  }

  /** Resolves once the watermark reaches needMs, or after timeoutMs, whichever is first. */
  whenReady(needMs: number, timeoutMs: number): Promise<void> {
    this.#noteNeed(needMs);
    if (this.isReady(needMs)) return Promise.resolve();
    return new Promise((resolve) => {
      const waiter: Waiter = {
        needMs,
        resolve,
        timer: setTimeout(() => this.#release(waiter), Math.max(0, timeoutMs)),
      };
      this.#waiters.push(waiter);
      this.onRelief();
    });
  }

  /**
   * Applies the waiting labels of every day before cutoffDay: call it with the highest cutoff
   * day of a batch before computing the batch's features.
   */
  applyBefore(cutoffDay: number): void {
    if (!(cutoffDay > this.#appliedBefore)) return;
    this.#appliedBefore = cutoffDay;
    const days = [...this.#pending.keys()].filter((d) => d < cutoffDay).sort((a, b) => a - b);
    for (const day of days) {
      const bucket = this.#pending.get(day)!;
      const eventTimeMs = day * DAY_MS;
      for (let i = 0; i < bucket.count; i++) {
        this.#apply(bucket.terminals[i], eventTimeMs, bucket.frauds[i], day);
      }
      this.#pendingCount -= bucket.count;
      this.#pending.delete(day);
    }
    if (days.length > 0 && this.#pendingCount <= this.#maxPending / 2) this.onRelief();
  }

  /**
   * Whether a transaction with this cutoff day, about to be scored now, reads every label it
   * should; counts it (and the gap) when it does not.
   */
  exact(cutoffDay: number): boolean {
    const needMs = this.neededWatermarkMs(cutoffDay);
    this.#noteNeed(needMs);
    if (this.#watermark >= needMs && this.#newestApplied <= cutoffDay + TERMINAL_LEAD_DAYS) {
      return true;
    }
    this.staleScores++;
    const gap = Math.max(0, needMs - this.#watermark);
    if (gap > this.maxStaleGapMs && Number.isFinite(gap)) this.maxStaleGapMs = gap;
    return false;
  }

  /**
   * Whether the label feed should stop fetching this partition for now: too many labels wait
   * here, and no transaction waits on a watermark this partition has not reached yet.
   */
  shouldHold(partition: number): boolean {
    if (this.#pendingCount <= this.#maxPending) return false;
    const mark = this.#partitionWatermarks.get(partition) ?? -Infinity;
    return this.#waiters.every((w) => mark >= w.needMs);
  }

  /** Releases every waiter (the agent is stopping). */
  close(): void {
    for (const w of this.#waiters.splice(0)) {
      clearTimeout(w.timer);
      w.resolve();
    }
  }

  #apply(terminalId: number, eventTimeMs: number, fraud: number, day: number): void {
    this.#engine.applyLabel(terminalId, eventTimeMs, fraud);
    if (day > this.#newestApplied) this.#newestApplied = day;
    this.applied++;
  }

  #noteNeed(needMs: number): void {
    if (needMs > this.#highestNeed) this.#highestNeed = needMs;
  }

  #recompute(): void {
    let low = Infinity;
    for (const w of this.#partitionWatermarks.values()) if (w < low) low = w;
    this.#watermark = this.#partitionWatermarks.size === 0 ? -Infinity : low;
    if (this.#waiters.length === 0) return;
    for (const w of this.#waiters.filter((w) => this.#watermark >= w.needMs)) this.#release(w);
  }

  #release(waiter: Waiter): void {
    const i = this.#waiters.indexOf(waiter);
    if (i < 0) return;
    this.#waiters.splice(i, 1);
    clearTimeout(waiter.timer);
    waiter.resolve();
  }
}
