import assert from "node:assert/strict";
import { analyseStep, findKnee, isLoose, type StepResult } from "./knee.ts";
import { drainRate } from "./drain.ts";
import type { LagSample } from "./sample.ts";

/**
 * Simulated samples: input at `rate`, an agent of capacity `capacity` that consumes in batches
 * (a sawtooth of in-flight messages), deterministic noise from a small LCG.
 */
function simulate(
  rate: number,
  capacity: number,
  seconds: number,
  opts: { startLag?: number; t0?: number; noise?: number } = {},
): LagSample[] {
  let seed = 12345;
  const rnd = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31) - 0.5;
  const samples: LagSample[] = [];
  let end = 10_000;
  let committed = end - (opts.startLag ?? 0);
  for (let i = 0; i <= seconds; i++) {
    const t = (opts.t0 ?? 0) + i;
    const written = rate * (1 + (opts.noise ?? 0.05) * rnd());
    end += written;
    const backlog = end - committed;
    const done = Math.min(backlog * 0.8, capacity * (1 + 0.05 * rnd()));
    committed += done;
    samples.push({
      t,
      end,
      committed,
      lag: end - committed,
      partitionLag: [],
      inputRate: written,
      throughput: done,
      phase: "step",
      agents: 1,
      targetRate: rate,
    });
  }
  return samples;
}

Deno.test("a rate well below capacity is bounded, above it is not", () => {
  const below = analyseStep(0, 300, simulate(300, 500, 20), 3);
  assert.equal(below.bounded, true);
  assert.ok(Math.abs(below.inputRate - 300) < 15, `input ${below.inputRate}`);
  assert.ok(Math.abs(below.throughput - 300) < 15, `throughput ${below.throughput}`);
  const above = analyseStep(1, 600, simulate(600, 500, 20), 3);
  assert.equal(above.bounded, false);
  assert.ok(Math.abs(above.lagSlope - 100) < 15, `slope ${above.lagSlope}`);
  assert.ok(Math.abs(above.throughput - 500) < 15, `throughput ${above.throughput}`);
});

Deno.test("a backlog carried in from the previous step that shrinks is bounded", () => {
  const step = analyseStep(2, 400, simulate(400, 500, 20, { startLag: 3000 }), 3);
  assert.equal(step.bounded, true);
  assert.ok(step.lagSlope < 0);
});

Deno.test("settling time is excluded from the fit", () => {
  const samples = simulate(300, 500, 20);
  // A burst of lag in the first seconds (agents catching up after a rate change).
  for (let i = 0; i < 3; i++) {
    samples[i] = { ...samples[i], lag: samples[i].lag + 5000 - i * 2000 };
  }
  assert.equal(analyseStep(0, 300, samples, 3).bounded, true);
  assert.equal(analyseStep(0, 300, samples, 3).samples, 18);
});

Deno.test("the 2% tolerance absorbs a slow creep of in-flight messages", () => {
  const samples = simulate(1000, 5000, 20, { noise: 0 }).map((s) => ({
    ...s,
    lag: s.lag + s.t * 5,
  }));
  const step = analyseStep(0, 1000, samples, 3);
  assert.ok(step.lagSlope > 4 && step.lagSlope < 6);
  assert.equal(step.bounded, true);
});

function step(
  index: number,
  inputRate: number,
  bounded: boolean,
  throughput = inputRate,
): StepResult {
  return {
    index,
    targetRate: inputRate,
    inputRate,
    throughput,
    lagSlope: bounded ? 0 : 50,
    lagSlopeSe: 1,
    tolerance: 0.02 * inputRate,
    lagStart: 0,
    lagEnd: 0,
    lagMax: 0,
    samples: 10,
    bounded,
  };
}

Deno.test("the knee is the highest bounded rate, bracketed by the next unbounded one", () => {
  const knee = findKnee([
    step(0, 250, true),
    step(1, 350, true),
    step(2, 450, true),
    step(3, 520, false, 480),
    step(4, 600, false, 470),
  ]);
  assert.equal(knee.status, "found");
  assert.equal(knee.rate, 450);
  assert.equal(knee.upper, 520);
  assert.equal(knee.saturatedThroughput, 475);
  assert.deepEqual(knee.inconsistent, []);
});

Deno.test("an unbounded step below a bounded one is reported, not taken as the knee", () => {
  const knee = findKnee([
    step(0, 250, true),
    step(1, 350, false),
    step(2, 450, true),
    step(3, 550, false),
  ]);
  assert.equal(knee.rate, 450);
  assert.equal(knee.upper, 550);
  assert.deepEqual(knee.inconsistent, [1]);
});

Deno.test("all bounded: the knee is a lower bound; all unbounded: an upper bound", () => {
  const up = findKnee([step(0, 100, true), step(1, 200, true)]);
  assert.equal(up.status, "not_reached");
  assert.equal(up.rate, 200);
  assert.equal(up.upper, null);
  assert.equal(up.saturatedThroughput, null);
  const down = findKnee([step(0, 300, false), step(1, 400, false)]);
  assert.equal(down.status, "below_range");
  assert.equal(down.rate, null);
  assert.equal(down.upper, 300);
});

Deno.test("drain rate is the consumption slope while the backlog is high", () => {
  const samples: LagSample[] = [];
  let lag = 0;
  let committed = 0;
  for (let t = 0; t < 40; t++) {
    // Backlog written at t=1..2, then drained at 500/s with a slow tail.
    if (t === 1 || t === 2) lag += 5000;
    const done = Math.min(lag, lag > 2500 ? 500 : 200);
    if (t > 2) {
      lag -= done;
      committed += done;
    }
    samples.push({
      t,
      end: committed + lag,
      committed,
      lag,
      partitionLag: [],
      inputRate: 0,
      throughput: 0,
      phase: "drain",
      agents: 1,
      targetRate: null,
    });
  }
  const d = drainRate(samples)!;
  assert.equal(d.peakLag, 10_000);
  assert.ok(Math.abs(d.rate - 500) < 1, `rate ${d.rate}`);
  assert.equal(drainRate(samples.slice(0, 3)), null);
});

Deno.test("drain rate starts at the first commit, not while the agents are starting", () => {
  const samples: LagSample[] = [];
  let committed = 0;
  for (let t = 0; t < 30; t++) {
    // Backlog of 8000 written by t=1; agents start consuming only after t=4.
    const end = t >= 1 ? 8000 : 0;
    if (t > 4) committed = Math.min(end, committed + 400);
    samples.push({
      t,
      end,
      committed,
      lag: end - committed,
      partitionLag: [],
      inputRate: 0,
      throughput: 0,
      phase: "drain",
      agents: 1,
      targetRate: null,
    });
  }
  const d = drainRate(samples)!;
  assert.equal(d.fromT, 5);
  assert.ok(Math.abs(d.rate - 400) < 1e-9, `rate ${d.rate}`);
});

/** An agent throttled to its CPU quota: it commits what it did only every `every` seconds. */
function bursty(rate: number, capacity: number, seconds: number, every: number): LagSample[] {
  let end = 0;
  let committed = 0;
  let done = 0;
  return Array.from({ length: seconds + 1 }, (_, t) => {
    end += rate;
    done = Math.min(end, done + capacity);
    if (t % every === 0) committed = done;
    return {
      t,
      end,
      committed,
      lag: end - committed,
      partitionLag: [],
      inputRate: rate,
      throughput: capacity,
      phase: "step",
      agents: 1,
      targetRate: rate,
    };
  });
}

Deno.test("a lag growing by 7% of the input through bursty commits: loose over 20 s, growing over 40 s", () => {
  const short = analyseStep(0, 8_000, bursty(8_000, 7_440, 20, 4), 3);
  assert.equal(short.bounded, true, `slope ${short.lagSlope} ± ${short.lagSlopeSe}`);
  assert.equal(isLoose(short), true);
  const held = analyseStep(0, 8_000, bursty(8_000, 7_440, 40, 4), 3);
  assert.equal(held.bounded, false, `slope ${held.lagSlope} ± ${held.lagSlopeSe}`);
  const flat = analyseStep(0, 6_000, bursty(6_000, 7_440, 20, 4), 3);
  assert.equal(flat.bounded, true);
  assert.equal(isLoose(flat), false, `slope ${flat.lagSlope} ± ${flat.lagSlopeSe}`);
});
