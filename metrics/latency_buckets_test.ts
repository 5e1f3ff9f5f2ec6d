import assert from "node:assert/strict";
import { LATENCY_BUCKETS_S, LatencyBuckets } from "./latency_buckets.ts";

Deno.test("a latency counts in the first bucket whose bound it does not exceed", () => {
  const b = new LatencyBuckets();
  b.observe(0.1); // below 0.5 ms
  b.observe(0.5); // exactly on the first bound: le is inclusive
  b.observe(0.51);
  b.observe(10_000, 2); // exactly 10 s, twice
  b.observe(60_000); // above every bound: only +Inf
  const cumulative = b.cumulative();
  assert.equal(cumulative.length, LATENCY_BUCKETS_S.length + 1);
  assert.deepEqual(cumulative.slice(0, 2), [2, 3]);
  assert.deepEqual(cumulative.slice(-2), [5, 6]);
  assert.equal(b.count, 6);
  assert.equal(b.sumSeconds, (0.1 + 0.5 + 0.51 + 20_000 + 60_000) / 1000);
});
