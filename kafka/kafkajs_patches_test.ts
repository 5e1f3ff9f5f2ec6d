import { crc32c, kafkajsPatchesInstalled } from "./kafkajs_patches.ts";
import { createSendMessages, groupMessagesPerPartition } from "./kafkajs/send_messages.ts";
import assert from "node:assert/strict";
import { createRequire } from "node:module";
import { Buffer } from "node:buffer";
import { type Message, Partitioners } from "kafkajs";

const partitionMetadata = Array.from({ length: 6 }, (_, partitionId) => ({
  partitionErrorCode: 0,
  partitionId,
  leader: 1,
  replicas: [1],
  isr: [1],
}));

const require = createRequire(import.meta.url);
const Encoder = require("kafkajs/src/protocol/encoder.js");

Deno.test("imported before kafkajs, the replacements are what kafkajs' producer loads", () => {
  assert.equal(kafkajsPatchesInstalled, true);
  assert.equal(require("kafkajs/src/producer/sendMessages.js"), createSendMessages);
  assert.equal(require("kafkajs/src/protocol/recordBatch/crc32C/index.js"), crc32c);
  // The `import "kafkajs"` above loaded its producer through this same module cache, after the
  // replacements: so that producer holds them.
  assert.ok(require.cache[require.resolve("kafkajs/src/producer/messageProducer.js")]);
});

Deno.test("the CRC-32C is the standard one and kafkajs' own, at every length and alignment", () => {
  const ascii = new TextEncoder();
  // RFC 3720 (iSCSI) B.4 check values.
  assert.equal(crc32c(ascii.encode("123456789")), 0xe3069283);
  assert.equal(crc32c(new Uint8Array(32)), 0x8a9136aa);
  assert.equal(crc32c(new Uint8Array(32).fill(0xff)), 0x62a8ab43);
  assert.equal(crc32c(new Uint8Array(0)), 0);
  const kafkajsCrc: (b: Uint8Array) => number = require(
    "kafkajs/src/protocol/recordBatch/crc32C/crc32C.js",
  );
  const bytes = Uint8Array.from({ length: 4099 }, (_, i) => (i * 2654435761) >>> 24);
  for (let start = 0; start < 9; start++) {
    for (const length of [1, 7, 8, 9, 15, 16, 17, 255, 4090]) {
      const view = bytes.subarray(start, start + length);
      assert.equal(crc32c(view), kafkajsCrc(view), `start ${start}, length ${length}`);
    }
  }
});

Deno.test("every message goes to the default partitioner's partition, in send order", () => {
  const partitioner = Partitioners.DefaultPartitioner();
  const messages: Message[] = Array.from({ length: 5000 }, (_, i) => ({
    key: i % 7 === 0 ? Buffer.from(String(i)) : String(i),
    value: String(i),
    ...(i % 11 === 0 ? { partition: i % 6 } : {}),
  }));
  const grouped = groupMessagesPerPartition({
    topic: "t",
    partitionMetadata,
    messages,
    partitioner,
  });
  const expected: Record<number, Message[]> = {};
  for (const message of messages) {
    const p = partitioner({ topic: "t", partitionMetadata, message });
    (expected[p] ??= []).push(message);
  }
  assert.deepEqual(grouped, expected);
  assert.equal(Object.values(grouped).flat().length, messages.length);
  assert.deepEqual(Object.keys(grouped).sort(), ["0", "1", "2", "3", "4", "5"]);
});

Deno.test("a topic without partition metadata groups nothing, like kafkajs", () => {
  const grouped = groupMessagesPerPartition({
    topic: "t",
    partitionMetadata: [],
    messages: [{ value: "x" }],
    partitioner: () => 0,
  });
  assert.deepEqual(grouped, {});
});

/** Zigzag + LEB128 as the Kafka protocol defines varlongs, on BigInt: the reference. */
function varlong(value: bigint): number[] {
  let zigzag = BigInt.asUintN(64, (value << 1n) ^ (value >> 63n));
  const bytes: number[] = [];
  while (zigzag >= 0x80n) {
    bytes.push(Number(zigzag & 0x7fn) | 0x80);
    zigzag >>= 7n;
  }
  bytes.push(Number(zigzag));
  return bytes;
}

const NewEncoder = Encoder as unknown as new () => {
  writeVarInt(v: number): unknown;
  writeVarLong(v: unknown): unknown;
  writeUVarInt(v: number): unknown;
  buffer: Uint8Array;
};
const VALUES = [
  0,
  1,
  -1,
  63,
  64,
  -64,
  -65,
  127,
  128,
  8191,
  8192,
  2 ** 20,
  -(2 ** 20),
  2 ** 27,
  2 ** 30,
  2 ** 31 - 1,
  -(2 ** 31),
  2 ** 31,
  -(2 ** 31) - 1,
  2 ** 40,
  Date.now(),
  -Date.now(),
];

Deno.test("varlongs are the protocol's bytes and sizes, in and out of the 32-bit fast path", () => {
  for (const value of VALUES) {
    const expected = varlong(BigInt(value));
    const written = new NewEncoder();
    written.writeVarLong(value);
    assert.deepEqual([...written.buffer], expected, `writeVarLong(${value})`);
    assert.equal(
      (Encoder as unknown as { sizeOfVarLong(v: number): number }).sizeOfVarLong(value),
      expected.length,
      `sizeOfVarLong(${value})`,
    );
  }
});

Deno.test("varints are the protocol's bytes, written many to one encoder", () => {
  const encoder = new NewEncoder();
  const expected: number[] = [];
  for (const value of VALUES.filter((v) => v >= -(2 ** 31) && v < 2 ** 31)) {
    encoder.writeVarInt(value);
    expected.push(...varlong(BigInt(value)));
  }
  // Past the encoder's first 512 bytes, so the buffer has to grow under the fast path too.
  for (let i = 0; i < 300; i++) {
    encoder.writeUVarInt(2 ** 28 + i);
    expected.push(...uvarint(2 ** 28 + i));
  }
  assert.deepEqual([...encoder.buffer], expected);
});

function uvarint(value: number): number[] {
  const bytes: number[] = [];
  while (value >= 0x80) {
    bytes.push((value & 0x7f) | 0x80);
    value = Math.floor(value / 128);
  }
  bytes.push(value);
  return bytes;
}
