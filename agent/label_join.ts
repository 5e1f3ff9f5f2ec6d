import { DAY_MS, type FeatureEngine } from "../features/feature_engine.ts";

/**
 * Days of terminal state kept before the label feed stops fetching from the partitions nobody
 * waits on (8 bytes per terminal a day: 10,000 terminals hold 80 KB a day). A labels topic far
 * ahead of the transactions, as for an agent started on a long backlog, then cannot grow memory
 * without bound.
 */
export const DEFAULT_MAX_HELD_DAYS = 400;

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
 * - and the engine still holds those days. Labels are applied as they arrive (terminal state is
 *   kept by day, so labels of later days change nothing a window reads); days are released only
 *   below the slowest assigned partition's position, so no transaction still to come loses them.
 * A partition handed over far behind the days released (its last owner stalled, then the group
 * moved it) has the feed read the labels again from the start (rewind) before it is scored. A
 * transaction scored without both (its partition waited --label-wait in vain) is stale: counted,
 * and marked in its prediction.
 *
 * Leakage cannot happen either way: the windows never read the cutoff day or later.
 */
export class LabelJoin {
  readonly #engine: FeatureEngine;
  readonly #maxHeldDays: number;
  readonly #partitionWatermarks = new Map<number, number>();
  #watermark = -Infinity;
  /**
   * Per assigned transactions partition, the lowest label cutoff day its next transaction can
   * have (its latest scored one, in event-time order); -Infinity while a partition with a
   * backlog has not told yet. Partitions without a position constrain nothing.
   */
  readonly #positions = new Map<number, number>();
  /** The highest watermark any transaction seen so far needed, for the label lag. */
  #highestNeed = -Infinity;
  #waiters: Waiter[] = [];
  /** Called when held label partitions may fetch again (the feed resumes them). */
  onRelief: () => void = () => {};
  applied = 0;
  /** Labels at or below the watermark when they arrived: the publisher broke its promise. */
  late = 0;
  /** Labels of a day already released: ignored. */
  dropped = 0;
  /** Transactions scored without every label their features read (see the class comment). */
  staleScores = 0;
  /** Largest event-time gap between what a stale transaction needed and the watermark, ms. */
  maxStaleGapMs = 0;
  /** Times the labels were read again from the start (see rewind). */
  rewinds = 0;

  constructor(engine: FeatureEngine, maxHeldDays = DEFAULT_MAX_HELD_DAYS) {
    this.#engine = engine;
    this.#maxHeldDays = maxHeldDays;
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
    return this.#highestNeed === -Infinity ? 0 : Math.max(0, this.#highestNeed - this.#watermark);
  }

  addLabel(terminalId: number, eventTimeMs: number, fraud: number): void {
    if (!this.#engine.applyLabel(terminalId, eventTimeMs, fraud)) {
      this.dropped++;
      return;
    }
    this.applied++;
    if (eventTimeMs <= this.#watermark) this.late++;
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
   * Whether a transaction with this cutoff day, about to be scored now, reads every label it
   * should; counts it (and the gap) when it does not.
   */
  exact(cutoffDay: number): boolean {
    const needMs = this.neededWatermarkMs(cutoffDay);
    this.#noteNeed(needMs);
    if (this.#watermark >= needMs && this.#engine.terminalWindowsHeld(cutoffDay)) return true;
    this.staleScores++;
    const gap = Math.max(0, needMs - this.#watermark);
    if (gap > this.maxStaleGapMs && Number.isFinite(gap)) this.maxStaleGapMs = gap;
    return false;
  }

  /**
   * A new assignment: the position of each partition (see #positions), from the history the
   * agent replayed; `behind` are the partitions with messages left to score.
   */
  setAssigned(positions: ReadonlyMap<number, number>, behind: readonly number[]): void {
    this.#positions.clear();
    for (const p of behind) this.#positions.set(p, -Infinity);
    for (const [p, cutoff] of positions) this.#positions.set(p, cutoff);
  }

  /**
   * A chunk of `partition` whose lowest cutoff day is this was fetched: until it is scored, the
   * days it reads stay held, even while it waits for its watermark.
   */
  fetched(partition: number, cutoffDay: number): void {
    const known = this.#positions.get(partition);
    if (known === undefined || cutoffDay < known) this.#positions.set(partition, cutoffDay);
  }

  /** A chunk of `partition` up to this cutoff day was scored: releases what nobody reads. */
  scored(partition: number, cutoffDay: number): void {
    if (!(cutoffDay > (this.#positions.get(partition) ?? -Infinity))) return;
    this.#positions.set(partition, cutoffDay);
    let slowest = Infinity;
    for (const cutoff of this.#positions.values()) if (cutoff < slowest) slowest = cutoff;
    if (!Number.isFinite(slowest)) return;
    const held = this.#engine.terminalDaysHeld;
    this.#engine.releaseTerminalDaysBefore(slowest);
    if (held > this.#maxHeldDays && this.#engine.terminalDaysHeld <= this.#maxHeldDays) {
      this.onRelief();
    }
  }

  /**
   * Whether the label feed should stop fetching this partition for now: too many days of labels
   * are held, and no transaction waits on a watermark this partition has not reached yet.
   */
  shouldHold(partition: number): boolean {
    if (this.#engine.terminalDaysHeld <= this.#maxHeldDays) return false;
    const mark = this.#partitionWatermarks.get(partition) ?? -Infinity;
    return this.#waiters.every((w) => mark >= w.needMs);
  }

  /**
   * Whether the days a transaction with this cutoff day reads were released: only reading the
   * labels again from the start (rewind) can score it exactly.
   */
  released(cutoffDay: number): boolean {
    return !this.#engine.terminalWindowsHeld(cutoffDay);
  }

  /**
   * Forgets every label and watermark read, for a feed about to read the labels topic again from
   * the start: nothing is ready until its watermarks come back. Waiters keep waiting.
   */
  rewind(): void {
    this.#engine.dropTerminalDays();
    for (const p of this.#partitionWatermarks.keys()) this.#partitionWatermarks.set(p, -Infinity);
    this.#watermark = -Infinity;
    this.rewinds++;
  }

  /** Releases every waiter (the agent is stopping). */
  close(): void {
    for (const w of this.#waiters.splice(0)) {
      clearTimeout(w.timer);
      w.resolve();
    }
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
