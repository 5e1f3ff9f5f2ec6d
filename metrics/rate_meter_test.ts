import assert from "node:assert/strict";
import { RateMeter } from "./rate_meter.ts";

Deno.test("rates cover complete seconds and forget old ones", () => {
  let now = 1_000_000;
  const meter = new RateMeter(() => now);
  for (let s = 0; s < 10; s++) {
    meter.add(50);
    now += 1000;
  }
  assert.equal(meter.rate(1), 50);
  assert.equal(meter.rate(10), 50);
  assert.equal(meter.rate(60), 500 / 60);
  now += 61_000;
  assert.equal(meter.rate(60), 0);
  assert.equal(meter.total, 500);
});
