import assert from "node:assert/strict";
import { CommitCoalescer, type PartitionOffset } from "./commit_coalescer.ts";

Deno.test("offsets due while a commit is in flight go out together in the next one", async () => {
  const requests: PartitionOffset[][] = [];
  let release!: () => void;
  const first = new Promise<void>((r) => (release = r));
  const commits = new CommitCoalescer(
    (offsets) => {
      requests.push(offsets);
      return requests.length === 1 ? first : Promise.resolve();
    },
    () => assert.fail("no commit fails"),
    { refreshMs: 0 },
  );
  commits.schedule(0, 10n);
  commits.schedule(1, 5n);
  commits.schedule(0, 20n);
  commits.schedule(1, 7n);
  release();
  await commits.done();
  assert.deepEqual(requests, [
    [{ partition: 0, nextOffset: 10n }],
    [{ partition: 1, nextOffset: 7n }, { partition: 0, nextOffset: 20n }],
  ]);
});

Deno.test("a failed commit is reported, and its offsets committed by the next try", async () => {
  const failures: PartitionOffset[][] = [];
  const requests: PartitionOffset[][] = [];
  const commits = new CommitCoalescer(
    (offsets) => {
      requests.push(offsets);
      return requests.length === 1
        ? Promise.reject(new Error("coordinator moved"))
        : Promise.resolve();
    },
    (_err, offsets) => failures.push(offsets),
    { delayMs: 1, refreshMs: 0 },
  );
  commits.schedule(3, 1n);
  await commits.done();
  assert.deepEqual(failures, [[{ partition: 3, nextOffset: 1n }]]);
  assert.deepEqual(requests, [[{ partition: 3, nextOffset: 1n }], [{
    partition: 3,
    nextOffset: 1n,
  }]]);
});

Deno.test("a refused commit goes out again for the partitions still owned, unless overtaken", async () => {
  const requests: PartitionOffset[][] = [];
  const owned = new Set([0, 1]);
  const commits = new CommitCoalescer(
    (offsets) => {
      requests.push(offsets);
      return requests.length === 1
        ? Promise.reject(new Error("REBALANCE_IN_PROGRESS"))
        : Promise.resolve();
    },
    () => {},
    { owns: (p) => owned.has(p), delayMs: 1, refreshMs: 0 },
  );
  commits.schedule(0, 10n);
  commits.schedule(1, 20n);
  commits.schedule(2, 30n);
  // While the first request is out: partition 2 is revoked, partition 1 moves on.
  owned.delete(2);
  commits.schedule(1, 25n);
  await commits.done();
  assert.deepEqual(requests, [
    [{ partition: 0, nextOffset: 10n }],
    [{ partition: 1, nextOffset: 25n }, { partition: 2, nextOffset: 30n }, {
      partition: 0,
      nextOffset: 10n,
    }],
  ]);
});

Deno.test("offsets are given up after the allowed failures in a row: done() resolves", async () => {
  let calls = 0;
  const commits = new CommitCoalescer(
    () => {
      calls++;
      return Promise.reject(new Error("coordinator gone"));
    },
    () => {},
    { delayMs: 1, attempts: 3, refreshMs: 0 },
  );
  commits.schedule(0, 1n);
  await commits.done();
  assert.equal(calls, 3);
});

Deno.test("the newest offsets of owned partitions are committed again, changed or not", async () => {
  const requests: PartitionOffset[][] = [];
  const owned = new Set([0, 1]);
  const commits = new CommitCoalescer(
    (offsets) => {
      requests.push(offsets);
      return Promise.resolve();
    },
    () => assert.fail("no commit fails"),
    { owns: (p) => owned.has(p), refreshMs: 20 },
  );
  commits.schedule(0, 10n);
  commits.schedule(1, 20n);
  await commits.done();
  // Partition 1 is revoked: only partition 0's offset is committed again.
  owned.delete(1);
  await new Promise((r) => setTimeout(r, 30));
  await commits.done();
  commits.close();
  assert.deepEqual(requests[0], [{ partition: 0, nextOffset: 10n }]);
  assert.deepEqual(requests[requests.length - 1], [{ partition: 0, nextOffset: 10n }]);
  assert.ok(requests.length >= 3, `${requests.length} requests`);
});

Deno.test("a commit left unanswered counts as failed, and the next one goes out", async () => {
  const requests: PartitionOffset[][] = [];
  const failures: string[] = [];
  const commits = new CommitCoalescer(
    (offsets) => {
      requests.push(offsets);
      // The first never settles, as a commit held inside a rejoin that never ends.
      return requests.length === 1 ? new Promise<void>(() => {}) : Promise.resolve();
    },
    (err) => failures.push((err as Error).message),
    { delayMs: 1, refreshMs: 0, timeoutMs: 20 },
  );
  commits.schedule(4, 192n);
  commits.schedule(4, 3_899n);
  await commits.done();
  assert.deepEqual(failures, ["commit not answered within 20 ms"]);
  assert.deepEqual(requests, [
    [{ partition: 4, nextOffset: 192n }],
    [{ partition: 4, nextOffset: 3_899n }],
  ]);
});
