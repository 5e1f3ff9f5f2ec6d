/**
 * The upper bounds (seconds) of every latency histogram on /metrics, 0.5 ms to 10 s. One fixed
 * list for every process and version: Prometheus can add bucket counts across a fleet
 * (`sum by (le)`) only when every member counts into the same buckets.
 */
export const LATENCY_BUCKETS_S: readonly number[] = [
  0.0005,
  0.001,
  0.0025,
  0.005,
  0.01,
  0.025,
  0.05,
  0.1,
  0.25,
  0.5,
  1,
  2.5,
  5,
  10,
];

const BOUNDS_MS = Float64Array.from(LATENCY_BUCKETS_S, (s) => s * 1000);

/**
 * Every latency observed since start, counted into LATENCY_BUCKETS_S (plus +Inf), for a
 * Prometheus histogram. Recording is a scan of 14 bounds and two additions: no allocation.
 */
export class LatencyBuckets {
  /** Count per bucket, not cumulative; the last slot is above the highest bound (+Inf). */
  readonly #counts = new Float64Array(BOUNDS_MS.length + 1);
  #sumMs = 0;
  #count = 0;

  get count(): number {
    return this.#count;
  }

  /** Sum of every observation, seconds. */
  get sumSeconds(): number {
    return this.#sumMs / 1000;
  }

  observe(ms: number, times = 1): void {
    let i = 0;
    // Prometheus' le is inclusive: a value equal to a bound belongs to that bound's bucket.
    while (i < BOUNDS_MS.length && ms > BOUNDS_MS[i]) i++;
    this.#counts[i] += times;
    this.#count += times;
    this.#sumMs += ms * times;
  }

  /** Cumulative counts, one per bound of LATENCY_BUCKETS_S then +Inf (what `_bucket` shows). */
  cumulative(): number[] {
    let seen = 0;
    return Array.from(this.#counts, (n) => (seen += n));
  }
}
