import assert from "node:assert/strict";
import { PendingScores } from "./pending_scores.ts";

/** A Map with the same contract, evicting the oldest first id: the reference. */
class ReferenceScores {
  readonly map = new Map<number, number>();
  readonly order: number[] = [];
  constructor(readonly limit: number) {}
  set(id: number, score: number) {
    if (this.map.has(id)) return void this.map.set(id, score);
    if (this.order.length === this.limit) this.map.delete(this.order.shift()!);
    this.map.set(id, score);
    this.order.push(id);
  }
  take(id: number) {
    const score = this.map.get(id);
    this.map.delete(id);
    return score === undefined ? NaN : score;
  }
}

Deno.test("a score is taken once, by its transaction id", () => {
  const pending = new PendingScores(10);
  pending.set(42, 0.25);
  pending.set(7, 0.5);
  assert.equal(pending.take(42), 0.25);
  assert.ok(Number.isNaN(pending.take(42)));
  assert.ok(Number.isNaN(pending.take(8)));
  assert.equal(pending.size, 1);
});

Deno.test("ids that are not row ids are not kept", () => {
  const pending = new PendingScores(10);
  pending.set(-1, 0.5);
  pending.set(NaN, 0.5);
  assert.equal(pending.size, 0);
  assert.ok(Number.isNaN(pending.take(-1)));
});

Deno.test("past the limit the oldest scores are forgotten first", () => {
  const pending = new PendingScores(3);
  for (const id of [1, 2, 3, 4]) pending.set(id, id / 10);
  assert.ok(Number.isNaN(pending.take(1)));
  assert.equal(pending.take(2), Math.fround(0.2));
  assert.equal(pending.take(4), Math.fround(0.4));
  assert.equal(pending.size, 1);
});

Deno.test("matches a Map under a long random mix of sets and takes, through growth and eviction", () => {
  let seed = 12345;
  const random = () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32;
  for (const limit of [1, 5, 1000, 50_000]) {
    const pending = new PendingScores(limit);
    const reference = new ReferenceScores(limit);
    for (let step = 0; step < 200_000; step++) {
      // Ids mostly recent and sequential, some far apart (up to 2^40), like reused file ids.
      const id = random() < 0.9
        ? Math.max(0, Math.floor(step - random() * 3 * limit))
        : Math.floor(random() * 2 ** 40);
      if (random() < 0.6) {
        const score = Math.fround(random());
        pending.set(id, score);
        reference.set(id, score);
      } else {
        assert.equal(pending.take(id), reference.take(id), `take(${id}) at step ${step}`);
      }
    }
    assert.equal(pending.size, reference.map.size, `size at limit ${limit}`);
    for (const [id, score] of reference.map) assert.equal(pending.take(id), score);
    assert.equal(pending.size, 0);
  }
});
