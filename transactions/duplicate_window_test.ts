import assert from "node:assert/strict";
import { DuplicateWindow } from "./duplicate_window.ts";

Deno.test("the same transaction again is a duplicate while it is recent", () => {
  const w = new DuplicateWindow(100);
  assert.equal(w.seen(7, 1), false);
  assert.equal(w.seen(7, 1), true);
  for (let id = 1000; id < 1049; id++) assert.equal(w.seen(id, 2), false);
  assert.equal(w.seen(7, 1), true, "still within the last capacity/2 ids");
  for (let id = 2000; id < 2200; id++) w.seen(id, 2);
  assert.equal(w.seen(7, 1), false, "forgotten after more than capacity new ids");
  assert.ok(w.size <= 100);
});

Deno.test("an id reused by another customer is another transaction", () => {
  const w = new DuplicateWindow(100);
  assert.equal(w.seen(7, 1), false);
  assert.equal(w.seen(7, 2), false);
  assert.equal(w.seen(7, 2), true);
});

Deno.test("a partition's share of the window, exported and imported, still catches its duplicates", () => {
  const w = new DuplicateWindow(100);
  for (let tx = 0; tx < 30; tx++) w.seen(tx, tx % 3);
  const partition1 = w.export((customer) => customer === 1);
  assert.deepEqual([...partition1], [
    1,
    1,
    4,
    1,
    7,
    1,
    10,
    1,
    13,
    1,
    16,
    1,
    19,
    1,
    22,
    1,
    25,
    1,
    28,
    1,
  ]);
  const restored = new DuplicateWindow(100);
  restored.import(partition1);
  assert.equal(restored.seen(7, 1), true, "a duplicate of partition 1");
  assert.equal(restored.seen(8, 2), false, "partition 2 was not exported");
  assert.equal(restored.size, 11);
});

Deno.test("an id reused by another customer in between does not hide the first one's duplicate", () => {
  // The offline export sees the three in file order; an agent may see only the first and third
  // (the other customer is on another partition): both call the third a duplicate.
  const w = new DuplicateWindow(100);
  assert.equal(w.seen(7, 1), false);
  assert.equal(w.seen(7, 2), false);
  assert.equal(w.seen(7, 1), true);
  assert.equal(w.seen(7, 2), true);
  assert.equal(w.seen(7, 3), false);
  assert.equal(w.size, 3);
  // Across the generation change too: customer 1's pair is in the old one, 4's in the young one.
  for (let id = 1000; id < 1047; id++) w.seen(id, 9);
  assert.equal(w.seen(7, 4), false);
  assert.equal(w.seen(7, 1), true);
  assert.deepEqual([...w.export((c) => c !== 9)], [7, 1, 7, 2, 7, 3, 7, 4]);
});
