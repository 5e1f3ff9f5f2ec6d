import assert from "node:assert/strict";
import { CommitCoalescer, type PartitionOffset } from "./commit_coalescer.ts";

Deno.test("offsets due while a commit is in flight go out together in the next one", async () => {
  const requests: PartitionOffset[][] = [];
  let release!: () => void;
  const first = new Promise<void>((r) => (release = r));
  const commits = new CommitCoalescer((offsets) => {
    requests.push(offsets);
    return requests.length === 1 ? first : Promise.resolve();
  }, () => assert.fail("no commit fails"));
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

Deno.test("a failed commit is reported and the next offsets are still committed", async () => {
  const failures: PartitionOffset[][] = [];
  let calls = 0;
  const commits = new CommitCoalescer(
    () => ++calls === 1 ? Promise.reject(new Error("coordinator moved")) : Promise.resolve(),
    (_err, offsets) => failures.push(offsets),
  );
  commits.schedule(3, 1n);
  await commits.done();
  commits.schedule(3, 2n);
  await commits.done();
  assert.deepEqual(failures, [[{ partition: 3, nextOffset: 1n }]]);
  assert.equal(calls, 2);
});
