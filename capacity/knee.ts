import { linearFit } from "./linear_fit.ts";
import type { LagSample } from "./sample.ts";

/**
 * A step is bounded when its lag slope is not significantly above zero:
 * slope - 2 * SE <= SLOPE_TOLERANCE * input rate. The tolerance absorbs the lag the agents
 * carry in flight (a batch per partition), which grows with the rate without being a backlog.
 */
export const SLOPE_TOLERANCE = 0.02;
export const SE_FACTOR = 2;

export interface StepResult {
  index: number;
  targetRate: number;
  /** Measured input rate (least-squares slope of the end offsets after settling), msg/s. */
  inputRate: number;
  /** Consumption rate (slope of the committed offsets after settling), msg/s. */
  throughput: number;
  /** Least-squares slope of the lag after settling, msg/s, and its standard error. */
  lagSlope: number;
  lagSlopeSe: number;
  /** The bound the slope was held to: SLOPE_TOLERANCE * inputRate. */
  tolerance: number;
  lagStart: number;
  lagEnd: number;
  lagMax: number;
  /** Samples the fit used (those after the settling time). */
  samples: number;
  bounded: boolean;
}

/** Fits one step's samples (in time order) after dropping the first settleSeconds. */
export function analyseStep(
  index: number,
  targetRate: number,
  samples: readonly LagSample[],
  settleSeconds: number,
): StepResult {
  const t0 = samples.length ? samples[0].t : 0;
  const used = samples.filter((s) => s.t - t0 >= settleSeconds);
  const ts = used.map((s) => s.t);
  const input = linearFit(ts, used.map((s) => s.end));
  const consumed = linearFit(ts, used.map((s) => s.committed));
  const lag = linearFit(ts, used.map((s) => s.lag));
  const inputRate = finiteOr(input.slope, 0);
  const lagSlope = finiteOr(lag.slope, 0);
  const lagSlopeSe = finiteOr(lag.slopeSe, 0);
  const tolerance = SLOPE_TOLERANCE * inputRate;
  return {
    index,
    targetRate,
    inputRate,
    throughput: finiteOr(consumed.slope, 0),
    lagSlope,
    lagSlopeSe,
    tolerance,
    lagStart: used[0]?.lag ?? 0,
    lagEnd: used.at(-1)?.lag ?? 0,
    lagMax: used.reduce((m, s) => Math.max(m, s.lag), 0),
    samples: used.length,
    bounded: lagSlope - SE_FACTOR * lagSlopeSe <= tolerance,
  };
}

/**
 * Bounded only because its fit is loose: the lag's slope is above the tolerance, but within
 * SE_FACTOR standard errors of it. A CPU-throttled agent commits in bursts, so one step's fit can
 * be too wide to tell a lag growing by several percent of the input from a flat one.
 */
export function isLoose(step: StepResult): boolean {
  return step.bounded && step.lagSlope > step.tolerance;
}

export type KneeStatus =
  /** A bounded step with an unbounded one above it: the knee lies in [rate, upper). */
  | "found"
  /** Every step was bounded: capacity is at least `rate`. */
  | "not_reached"
  /** Every step was unbounded: capacity is below `upper`. */
  | "below_range";

export interface Knee {
  status: KneeStatus;
  /** Highest bounded measured input rate (msg/s); null when no step was bounded. */
  rate: number | null;
  /** Lowest unbounded input rate above `rate`; null when none was. */
  upper: number | null;
  /** Mean consumption rate over the unbounded steps: what the agents did when overloaded. */
  saturatedThroughput: number | null;
  /** Unbounded steps below the knee: transients (a rebalance, a pause) worth a look. */
  inconsistent: number[];
}

/**
 * The knee: the highest measured rate at which lag stayed bounded, bracketed by the lowest
 * unbounded rate above it. A bounded step is direct evidence that the agents kept up with that
 * rate for the whole step, so an unbounded step below it is reported, not taken as the knee.
 */
export function findKnee(steps: readonly StepResult[]): Knee {
  const bounded = steps.filter((s) => s.bounded);
  const unbounded = steps.filter((s) => !s.bounded);
  const saturatedThroughput = unbounded.length
    ? unbounded.reduce((sum, s) => sum + s.throughput, 0) / unbounded.length
    : null;
  if (bounded.length === 0) {
    const upper = unbounded.length ? Math.min(...unbounded.map((s) => s.inputRate)) : null;
    return { status: "below_range", rate: null, upper, saturatedThroughput, inconsistent: [] };
  }
  const rate = Math.max(...bounded.map((s) => s.inputRate));
  const above = unbounded.filter((s) => s.inputRate > rate).map((s) => s.inputRate);
  const inconsistent = unbounded.filter((s) => s.inputRate <= rate).map((s) => s.index);
  return {
    status: above.length ? "found" : "not_reached",
    rate,
    upper: above.length ? Math.min(...above) : null,
    saturatedThroughput,
    inconsistent,
  };
}

function finiteOr(x: number, fallback: number): number {
  return Number.isFinite(x) ? x : fallback;
}
