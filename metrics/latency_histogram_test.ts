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
