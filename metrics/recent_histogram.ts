import type { LatencyBuckets } from "./latency_buckets.ts";
import { LatencyHistogram, type PercentileSummary } from "./latency_histogram.ts";

/**
 * Percentiles over the recent past rather than since start: observations go into the current
 * period's histogram; a reading merges the current and the previous period, so it always covers
 * between one and two periods (60-120 s by default). Given `sinceStart` buckets, every
 * observation is also counted there, for a Prometheus histogram on /metrics.
 */
export class RecentHistogram {
  #current = new LatencyHistogram();
  #previous = new LatencyHistogram();
  #periodStart: number;
  readonly #periodMs: number;
  readonly #now: () => number;
  readonly #sinceStart: LatencyBuckets | undefined;
  /** Every observation since start. */
  total = 0;

  constructor(
    options: { periodMs?: number; now?: () => number; sinceStart?: LatencyBuckets } = {},
  ) {
    this.#periodMs = options.periodMs ?? 60_000;
    this.#now = options.now ?? Date.now;
    this.#sinceStart = options.sinceStart;
    this.#periodStart = this.#now();
  }

  observe(ms: number, times = 1): void {
    this.#rotate();
    this.#current.observe(ms, times);
    this.#sinceStart?.observe(ms, times);
    this.total += times;
  }

  /** Observes every value of a batch, with one clock reading for all of them. */
  observeAll(values: ArrayLike<number>): void {
    this.#rotate();
    const sinceStart = this.#sinceStart;
    for (let i = 0; i < values.length; i++) {
      this.#current.observe(values[i]);
      sinceStart?.observe(values[i]);
    }
    this.total += values.length;
  }

  summary(): PercentileSummary {
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
