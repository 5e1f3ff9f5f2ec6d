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
