import { LatencyHistogram } from "./latency_histogram.ts";

/**
 * Percentiles over the recent past rather than since start: observations go into the current
 * period's histogram; a reading merges the current and the previous period, so it always covers
 * between one and two periods (60-120 s by default).
 */
export class RecentHistogram {
  #current = new LatencyHistogram();
  #previous = new LatencyHistogram();
  #periodStart: number;
  readonly #periodMs: number;
  readonly #now: () => number;
  /** Every observation since start, for Prometheus' _count. */
  total = 0;

  constructor(periodMs = 60_000, now: () => number = Date.now) {
    this.#periodMs = periodMs;
    this.#now = now;
    this.#periodStart = now();
  }

  observe(ms: number, times = 1): void {
    this.#rotate();
    this.#current.observe(ms, times);
    this.total += times;
  }

  /** Observes every value of a batch, with one clock reading for all of them. */
  observeAll(values: ArrayLike<number>): void {
    this.#rotate();
    for (let i = 0; i < values.length; i++) this.#current.observe(values[i]);
    this.total += values.length;
  }

  summary(): ReturnType<LatencyHistogram["summary"]> {
    this.#rotate();
    const merged = new LatencyHistogram();
    merged.merge(this.#previous);
    merged.merge(this.#current);
    return merged.summary();
  }

  #rotate(): void {
    const now = this.#now();
    if (now - this.#periodStart < this.#periodMs) return;
    const stale = now - this.#periodStart >= 2 * this.#periodMs;
    const old = this.#previous;
    this.#previous = this.#current;
    this.#current = old;
    this.#current.reset();
    if (stale) this.#previous.reset();
    this.#periodStart = now;
  }
}
