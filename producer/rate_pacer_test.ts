import assert from "node:assert/strict";
import {
  CATCH_UP_MS,
  createPacer,
  type Pacer,
  type PaceSpec,
  SEND_INTERVAL_MS,
} from "./rate_pacer.ts";

/** Drives a pacer with a fake clock the way the producer does; returns messages sent per second. */
function run(spec: PaceSpec, seconds: number, eventTimes?: Float64Array): number[] {
  let now = 1_000_000;
  const pacer: Pacer = createPacer(spec, () => now);
  const total = eventTimes?.length ?? Infinity;
  const perSecond = new Array(seconds).fill(0);
  const times = eventTimes ?? new Float64Array(1);
  let sent = 0;
  const end = now + seconds * 1000;
  while (now < end && sent < total && !pacer.finished()) {
    const offset = eventTimes ? sent : 0;
    const max = eventTimes ? Math.min(1000, total - sent) : 1000;
    const n = pacer.allow(max, times, offset);
    if (n > 0) {
      perSecond[Math.floor((now - (end - seconds * 1000)) / 1000)] += n;
      sent += n;
      now += 1; // sending takes a moment
    } else {
      now += pacer.waitMs(eventTimes ? times[offset] : NaN);
    }
  }
  return perSecond;
}

/** Messages in one send group at this rate: the most a second may be off by. */
const group = (rate: number) => Math.max(1, rate * SEND_INTERVAL_MS / 1000);

Deno.test("pacer: constant rate holds every second within one send group", () => {
  for (const rate of [1, 50, 400, 5000, 12_345]) {
    const perSecond = run({ kind: "constant", rate }, 10);
    for (const n of perSecond) {
      assert.ok(Math.abs(n - rate) <= group(rate) + 1, `${rate}: ${perSecond}`);
    }
    const total = perSecond.reduce((a, b) => a + b, 0);
    assert.ok(Math.abs(total - rate * 10) <= group(rate) + 1, `${total}`);
  }
});

Deno.test("pacer: sends are batched, one send group at a time", () => {
  let now = 0;
  const pacer = createPacer({ kind: "constant", rate: 5000 }, () => now);
  const sizes: number[] = [];
  while (now < 1000) {
    const n = pacer.allow(1_000_000, new Float64Array(1), 0);
    if (n > 0) sizes.push(n);
    else now += pacer.waitMs(NaN);
  }
  assert.ok(sizes.every((n) => n >= group(5000)), `${sizes}`);
  assert.ok(sizes.length <= 1000 / SEND_INTERVAL_MS + 1, `${sizes.length} sends`);
  // The end of a file or of --limit asks for fewer: they go once that many are due.
  now += 1;
  assert.equal(pacer.allow(3, new Float64Array(3), 0), 3);
});

Deno.test("pacer: a stall is caught up to one second's worth, a longer one is lost", () => {
  for (const stallMs of [300, 3000]) {
    let now = 0;
    const pacer = createPacer({ kind: "constant", rate: 1000 }, () => now);
    let sent = pacer.allow(1_000_000, new Float64Array(1), 0);
    now += stallMs;
    sent += pacer.allow(1_000_000, new Float64Array(1), 0);
    const owed = Math.min(stallMs, CATCH_UP_MS);
    assert.equal(sent, group(1000) + owed, `stall ${stallMs} ms`);
  }
});

Deno.test("pacer: fractional rates send one message every 1/rate seconds", () => {
  assert.deepEqual(run({ kind: "constant", rate: 0.5 }, 6), [1, 0, 1, 0, 1, 0]);
});

Deno.test("pacer: a ramp steps through its rates and then finishes", () => {
  const perSecond = run({ kind: "ramp", rates: [100, 200, 400], stepMs: 2000 }, 10);
  const near = (n: number, rate: number) => Math.abs(n - rate) <= group(rate) + 1;
  assert.ok(
    near(perSecond[1], 100) && near(perSecond[3], 200) && near(perSecond[5], 400),
    `${perSecond}`,
  );
  assert.deepEqual(perSecond.slice(6), [0, 0, 0, 0]);
  let now = 0;
  const pacer = createPacer({ kind: "ramp", rates: [10], stepMs: 1000 }, () => now);
  assert.equal(pacer.finished(), false);
  pacer.allow(5, new Float64Array(5), 0);
  assert.equal(pacer.targetRate(), 10);
  now = 1000;
  assert.equal(pacer.finished(), true);
  assert.equal(pacer.allow(5, new Float64Array(5), 0), 0);
});

Deno.test("pacer: unlimited allows everything", () => {
  const pacer = createPacer({ kind: "unlimited" });
  assert.equal(pacer.allow(123_456, new Float64Array(1), 0), 123_456);
  assert.ok(Number.isNaN(pacer.targetRate()));
});

Deno.test("pacer: replay follows event time at the given speed, untimed lines go along", () => {
  // One message per event-time minute for an hour, at speed 600: one per 100 ms of wall time,
  // so 10 per second; the untimed line 30 leaves with line 29 (second 2), and the 61st message
  // is due at exactly 6 s.
  const times = new Float64Array(61);
  for (let i = 0; i < times.length; i++) times[i] = 5_000_000 + i * 60_000;
  times[30] = NaN;
  const perSecond = run({ kind: "replay", speed: 600 }, 8, times);
  assert.deepEqual(perSecond, [10, 10, 11, 9, 10, 10, 1, 0]);
  // A gap in event time is a gap on the wall clock.
  const gap = new Float64Array([0, 1000, 10_000, 10_001]);
  assert.deepEqual(run({ kind: "replay", speed: 1 }, 12, gap), [
    1,
    1,
    0,
    0,
    0,
    0,
    0,
    0,
    0,
    0,
    2,
    0,
  ]);
});
