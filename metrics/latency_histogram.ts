/**
 * Latency percentiles from log-spaced buckets (about 4% wide, 10 µs to ~17 min): fixed memory,
 * no allocation per observation, and mergeable. Values are milliseconds.
 */
const MIN_MS = 0.01;
const GROWTH = 1.04;
const BUCKETS = 480;
const LOG_GROWTH = Math.log(GROWTH);

/** Count, mean, percentiles and maximum of what a histogram saw, rounded to 0.001. */
export interface PercentileSummary {
  count: number;
  mean: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
}

export class LatencyHistogram {
  #counts = new Float64Array(BUCKETS);
  #count = 0;
  #sum = 0;
  #max = 0;

  get count(): number {
    return this.#count;
  }

  observe(ms: number, times = 1): void {
    const v = ms > MIN_MS ? ms : MIN_MS;
    let i = Math.floor(Math.log(v / MIN_MS) / LOG_GROWTH);
    if (i >= BUCKETS) i = BUCKETS - 1;
    this.#counts[i] += times;
    this.#count += times;
    this.#sum += ms * times;
    if (ms > this.#max) this.#max = ms;
  }

  /** The upper edge of the bucket holding the q-quantile (q in 0..1); 0 when empty. */
  quantile(q: number): number {
    if (this.#count === 0) return 0;
    const target = q * this.#count;
    let seen = 0;
    for (let i = 0; i < BUCKETS; i++) {
      seen += this.#counts[i];
      if (seen >= target && this.#counts[i] > 0) {
        return Math.min(MIN_MS * GROWTH ** (i + 1), this.#max);
      }
    }
    return this.#max;
  }

  summary(): PercentileSummary {
    const r = (x: number) => Math.round(x * 1000) / 1000;
    return {
      count: this.#count,
      mean: r(this.#count ? this.#sum / this.#count : 0),
      p50: r(this.quantile(0.5)),
      p95: r(this.quantile(0.95)),
      p99: r(this.quantile(0.99)),
      max: r(this.#max),
    };
  }

  /** Adds every observation of other into this one. */
  merge(other: LatencyHistogram): void {
    for (let i = 0; i < BUCKETS; i++) this.#counts[i] += other.#counts[i];
    this.#count += other.#count;
    this.#sum += other.#sum;
    if (other.#max > this.#max) this.#max = other.#max;
  }

  reset(): void {
    this.#counts.fill(0);
    this.#count = 0;
    this.#sum = 0;
    this.#max = 0;
  }
}
