import { linearFit } from "./linear_fit.ts";
import type { LagSample } from "./sample.ts";

/**
 * The drain phase is fitted only while the backlog is above this share of its peak: towards the
 * end some partitions are empty and their agents idle, which would understate the fleet's rate.
 */
export const DRAIN_FLOOR = 0.25;

export interface DrainResult {
  /** Least-squares slope of the committed offsets while draining, msg/s. */
  rate: number;
  peakLag: number;
  /** Samples the fit used. */
  samples: number;
  fromT: number;
  toT: number;
}

/**
 * Drain rate from the samples taken once the backlog was written (time order): from the first
 * consumption after the peak lag until the lag falls below DRAIN_FLOOR of the peak. Null with
 * fewer than 3 such samples.
 */
export function drainRate(samples: readonly LagSample[]): DrainResult | null {
  if (samples.length === 0) return null;
  let peakAt = 0;
  for (let i = 1; i < samples.length; i++) if (samples[i].lag > samples[peakAt].lag) peakAt = i;
  const peakLag = samples[peakAt].lag;
  // Agents started after the backlog was written take a moment to join: fit from the first
  // sample that shows consumption.
  let from = peakAt;
  while (from < samples.length && samples[from].committed === samples[peakAt].committed) from++;
  const used: LagSample[] = [];
  for (let i = from; i < samples.length && samples[i].lag >= DRAIN_FLOOR * peakLag; i++) {
    used.push(samples[i]);
  }
  if (used.length < 3 || peakLag <= 0) return null;
  const fit = linearFit(used.map((s) => s.t), used.map((s) => s.committed));
  if (!(fit.slope > 0)) return null;
  return {
    rate: fit.slope,
    peakLag,
    samples: used.length,
    fromT: used[0].t,
    toT: used[used.length - 1].t,
  };
}
