import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { Partitioners } from "kafkajs";
import { KeyHashPartitioner, murmur2 } from "./key_partitioner.ts";

const utf8 = new TextEncoder();
const partitionMetadata = Array.from({ length: 12 }, (_, partitionId) => ({
  partitionErrorCode: 0,
  partitionId,
  leader: 1,
  replicas: [1],
  isr: [1],
}));

Deno.test("murmur2 gives the Java client's hashes (Kafka's UtilsTest vectors)", () => {
  const vectors: [string, number][] = [
    ["21", -973932308],
    ["foobar", -790332482],
    ["a-little-bit-long-string", -985981536],
    ["a-little-bit-longer-string", -1486304829],
    ["lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8", -58897971],
    ["abc", 479470107],
  ];
  for (const [key, hash] of vectors) assert.equal(murmur2(utf8.encode(key)), hash, key);
});

Deno.test("keyed records land where kafkajs' default partitioner puts them", () => {
  const ours = KeyHashPartitioner();
  const kafkajs = Partitioners.DefaultPartitioner();
  for (let i = 0; i < 20_000; i++) {
    const text = i % 3 === 0 ? `customer-${i}-é` : String(i * 7919);
    for (const key of [text, Buffer.from(text)]) {
      const args = { topic: "t", partitionMetadata, message: { key, value: "v" } };
      assert.equal(ours(args), kafkajs(args), `key ${text}`);
    }
  }
});

Deno.test("an explicit partition wins, and unkeyed records still spread", () => {
  const partition = KeyHashPartitioner();
  assert.equal(
    partition({ topic: "t", partitionMetadata, message: { key: "1", value: "v", partition: 5 } }),
    5,
  );
  const seen = new Set<number>();
  for (let i = 0; i < 24; i++) {
    seen.add(partition({ topic: "t", partitionMetadata, message: { value: "v" } }));
  }
  assert.ok(seen.size > 1, "unkeyed records all went to one partition");
});
