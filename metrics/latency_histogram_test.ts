import assert from "node:assert/strict";
import { LatencyHistogram } from "./latency_histogram.ts";

Deno.test("percentiles are within one bucket (4%) of the exact ones", () => {
  const h = new LatencyHistogram();
  const values = Array.from({ length: 10_000 }, (_, i) => (i + 1) / 10);
  for (const v of values) h.observe(v);
  for (const q of [0.5, 0.95, 0.99]) {
    const exact = values[Math.ceil(q * values.length) - 1];
    const got = h.quantile(q);
    assert.ok(Math.abs(got - exact) / exact < 0.05, `q${q}: ${got} vs ${exact}`);
  }
  assert.equal(h.summary().max, 1000);
  h.reset();
  assert.equal(h.quantile(0.5), 0);
});

Deno.test("recent percentiles forget what is older than two periods", async () => {
  const { RecentHistogram } = await import("./recent_histogram.ts");
  let now = 0;
  const h = new RecentHistogram({ periodMs: 1000, now: () => now });
  h.observe(500, 100);
  now = 1500;
  h.observe(5);
  assert.equal(h.summary().max, 500, "previous period still counts");
  now = 4000;
  h.observe(7);
  assert.equal(h.summary().max, 7);
  assert.equal(h.total, 102);
  h.observeAll(Float64Array.of(3, 9));
  assert.equal(h.summary().max, 9);
  assert.equal(h.total, 104);
});
