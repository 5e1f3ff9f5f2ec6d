import assert from "node:assert/strict";
import { OnlineQuality } from "./online_quality.ts";

Deno.test("quality is computed from scores whose labels came back", () => {
  const q = new OnlineQuality(0.5);
  const scores = [0.9, 0.8, 0.3, 0.6, 0.1, 0.2];
  const labels = [1, 1, 1, 0, 0, 0];
  scores.forEach((s, i) => q.scored(i, s));
  q.labelled(99, 1); // never scored here: ignored
  labels.forEach((l, i) => q.labelled(i, l));
  const s = q.summary();
  assert.equal(s.labelled, 6);
  assert.equal(s.frauds, 3);
  assert.equal(s.precision, 0.6667);
  assert.equal(s.recall, 0.6667);
  // pairs (pos, neg) ranked correctly: 0.9,0.8 beat all 3 negatives; 0.3 beats 0.1 and 0.2
  assert.equal(s.roc_auc, Math.round((8 / 9) * 10_000) / 10_000);
});

Deno.test("no labels yet means no quality figures, not zeros", () => {
  const q = new OnlineQuality(0.5);
  q.scored(1, 0.7);
  assert.deepEqual(q.summary(), {
    labelled: 0,
    frauds: 0,
    precision: null,
    recall: null,
    roc_auc: null,
  });
});
