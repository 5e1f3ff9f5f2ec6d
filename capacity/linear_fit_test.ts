import assert from "node:assert/strict";
import { linearFit } from "./linear_fit.ts";

Deno.test("least squares: slope, intercept and the slope's standard error", () => {
  const exact = linearFit([0, 1, 2, 3], [1, 3, 5, 7]);
  assert.equal(exact.slope, 2);
  assert.equal(exact.intercept, 1);
  assert.equal(exact.slopeSe, 0);
  // y = 1, 2, 2, 4 over x = 0..3: slope 0.9, residual SS 0.7, Sxx 5 -> SE sqrt(0.35 / 5).
  const noisy = linearFit([0, 1, 2, 3], [1, 2, 2, 4]);
  assert.ok(Math.abs(noisy.slope - 0.9) < 1e-12);
  assert.ok(Math.abs(noisy.slopeSe - Math.sqrt(0.35 / 5)) < 1e-12);
  assert.ok(Number.isNaN(linearFit([1], [1]).slope));
  assert.ok(Number.isNaN(linearFit([2, 2], [1, 3]).slope));
  assert.ok(Number.isNaN(linearFit([0, 1], [0, 1]).slopeSe));
});
