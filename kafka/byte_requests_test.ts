import assert from "node:assert/strict";
import { cutByBytes, recordBytes } from "./byte_requests.ts";
import type { OutputRecord } from "./boundary/records.ts";

const record = (valueBytes: number): OutputRecord => ({
  key: "k",
  value: new Uint8Array(valueBytes),
});

Deno.test("recordBytes counts key, value, headers and framing, UTF-8 for strings", () => {
  assert.equal(recordBytes({ key: null, value: null }), 40);
  assert.equal(recordBytes({ key: "é", value: new Uint8Array(10) }), 40 + 2 + 10);
  assert.equal(recordBytes({ key: null, value: "v", headers: { reason: "x" } }), 40 + 1 + 10 + 7);
});

Deno.test("a send that fits is one request, the groups untouched", () => {
  const groups = [{ topic: "a", records: [record(10), record(10)] }];
  const requests = cutByBytes(groups, 1_000);
  assert.equal(requests.length, 1);
  assert.equal(requests[0], groups);
});

Deno.test("records are cut by bytes, in order, across topics, none over the limit", () => {
  const a = Array.from({ length: 25 }, () => record(59)); // 100 bytes each
  const b = Array.from({ length: 5 }, () => record(59));
  const requests = cutByBytes([{ topic: "a", records: a }, { topic: "b", records: b }], 1_000);
  assert.deepEqual(
    requests.map((r) => r.map((g) => `${g.topic}:${g.records.length}`).join(" ")),
    ["a:10", "a:10", "a:5 b:5"],
  );
  for (const r of requests) {
    const bytes = r.flatMap((g) => g.records).reduce((s, x) => s + recordBytes(x), 0);
    assert.ok(bytes <= 1_000);
  }
  assert.deepEqual(requests.flat().filter((g) => g.topic === "a").flatMap((g) => g.records), a);
});

Deno.test("a record larger than the limit goes alone", () => {
  const big = record(5_000);
  const requests = cutByBytes([{ topic: "a", records: [record(1), big, record(1)] }], 1_000);
  assert.deepEqual(requests.map((r) => r[0].records.length), [1, 1, 1]);
  assert.equal(requests[1][0].records[0], big);
});

Deno.test("empty groups are left out, and a send of nothing is no request", () => {
  assert.deepEqual(cutByBytes([{ topic: "a", records: [] }], 1_000), []);
  const b = [record(1)];
  assert.deepEqual(cutByBytes([{ topic: "a", records: [] }, { topic: "b", records: b }], 1_000), [
    [{ topic: "b", records: b }],
  ]);
});
