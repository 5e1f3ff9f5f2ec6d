import "../kafkajs_patches.ts";
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { createRequire } from "node:module";
import { RecordBytes } from "./record_codec.ts";
import { shippedKafkajs } from "./shipped_module.ts";

const require = createRequire(import.meta.url);
const SRC = "kafkajs/src/protocol/";
const Encoder = require(`${SRC}encoder.js`);
const Decoder = require(`${SRC}decoder.js`);
const Record = require(`${SRC}recordBatch/record/v0/index.js`);
const { RecordBatch } = require(`${SRC}recordBatch/v0/index.js`);
const decodeRecordBatch = require(`${SRC}recordBatch/v0/decoder.js`);

/** kafkajs' own record decoder. */
function shippedRecordDecoder() {
  return shippedKafkajs(`protocol/recordBatch/record/v0/decoder.js`);
}

interface TestMessage {
  key: Buffer | string | null;
  value: Buffer | string | null;
  headers?: Record<string, string>;
  timestampDelta: number;
}

/** kafkajs' own record encoder, the reference for the bytes of the replaced one. */
const shippedRecord = shippedKafkajs("protocol/recordBatch/record/v0/index.js");

/** Records as kafkajs' produce request makes them (produce/v3/request.js). */
function records(messages: TestMessage[], record = Record) {
  return messages.map((m, i) => record({ ...m, offsetDelta: i }));
}

async function batchBytes(
  messages: TestMessage[],
  firstTimestamp: number,
  compression = 0,
  record = Record,
): Promise<Buffer> {
  const encoded = await RecordBatch({
    records: records(messages, record),
    firstTimestamp,
    maxTimestamp: firstTimestamp + 1000,
    compression,
  });
  return encoded.buffer;
}

const asStrings = (m: TestMessage): TestMessage => ({
  ...m,
  key: Buffer.isBuffer(m.key) ? m.key.toString() : m.key,
  value: Buffer.isBuffer(m.value) ? m.value.toString() : m.value,
});

/** Keys and values of many lengths (varints of 1 and 2 bytes), null keys and values, deltas. */
const MESSAGES: TestMessage[] = Array.from({ length: 300 }, (_, i) => ({
  key: i % 17 === 0 ? null : Buffer.from(String(i * 7919)),
  value: i % 29 === 0 ? null : Buffer.from("x".repeat((i * 37) % 200)),
  timestampDelta: [0, 1, -1, 63, 64, 8191, 2 ** 20, -(2 ** 26), 2 ** 31 - 1][i % 9],
}));

Deno.test("records with Buffer or string keys and values take the in-place path", () => {
  assert.notEqual(shippedRecord, Record);
  assert.ok(records(MESSAGES).every((r) => r instanceof RecordBytes));
  assert.ok(records(MESSAGES.map(asStrings)).every((r) => r instanceof RecordBytes));
  const withHeaders = MESSAGES.map((m) => ({ ...m, headers: { h: "1" } }));
  assert.ok(records(withHeaders).every((r) => !(r instanceof RecordBytes)));
});

Deno.test("a record batch is kafkajs' bytes whichever path its records took", async () => {
  const at = 1_764_000_000_000;
  const expected = await batchBytes(MESSAGES, at, 0, shippedRecord);
  assert.deepEqual(await batchBytes(MESSAGES, at), expected);
  assert.deepEqual(await batchBytes(MESSAGES.map(asStrings), at), expected);
  // Non-ASCII strings: their UTF-8 bytes, as kafkajs writes them.
  const accented = MESSAGES.map((m, i) => ({
    ...m,
    key: `clé-${i}`,
    value: `valeur ${"é".repeat(i % 90)}`,
  }));
  assert.deepEqual(
    await batchBytes(accented, at),
    await batchBytes(accented, at, 0, shippedRecord),
  );
  // Records outside the fast path (headers, a delta past 32 bits) mixed in with strings.
  const mixed = MESSAGES.map((m, i) =>
    i % 5 === 0 ? { ...m, headers: { h: String(i) } } : i % 7 === 0 ? asStrings(m) : m
  );
  mixed[3] = { ...mixed[3], timestampDelta: 2 ** 33 };
  assert.deepEqual(
    await batchBytes(mixed, at),
    await batchBytes(mixed.map(asStrings), at, 0, shippedRecord),
  );
});

Deno.test("decoded batches and records are kafkajs' own, field for field", async () => {
  const shipped = shippedRecordDecoder();
  assert.notEqual(shipped, require(`${SRC}recordBatch/record/v0/decoder.js`));
  const cases: [TestMessage[], number, number?][] = [
    [MESSAGES, 1_764_000_000_000],
    // GZIP: kafkajs' own batch decoder, with the record decoder.
    [MESSAGES, 1_764_000_000_000, 1],
    [MESSAGES.map((m, i) => (i % 4 === 0 ? { ...m, headers: { a: "1", b: "2" } } : m)), 0],
    // A first timestamp past 2^53: Long arithmetic, as kafkajs does it.
    [MESSAGES.slice(0, 20), 2 ** 60],
    [[{ ...MESSAGES[1], timestampDelta: 2 ** 40 }], 1_764_000_000_000],
  ];
  for (const [messages, firstTimestamp, compression] of cases) {
    const bytes = await batchBytes(messages, firstTimestamp, compression);
    const batch = await decodeRecordBatch(new Decoder(bytes));
    assert.equal(batch.records.length, messages.length);
    // The same bytes through kafkajs' own batch and record decoders.
    const theirs = await decodeWith(shipped, bytes);
    for (const record of theirs.records) assert.deepEqual(Object.keys(record), RECORD_FIELDS);
    assert.deepEqual(asRead(batch), asRead(theirs));
  }
});

/** The fields of kafkajs' decoded record, all of them (checked above). */
const RECORD_FIELDS = [
  "magicByte",
  "attributes",
  "timestamp",
  "offset",
  "key",
  "value",
  "headers",
  "isControlRecord",
  "batchContext",
];

/**
 * A decoded batch with each record's fields as a reader gets them: a fast-path record makes its
 * offset, timestamp and key when they are read.
 */
function asRead(batch: { records: Record<string, unknown>[] }) {
  return {
    ...batch,
    records: batch.records.map((r) => Object.fromEntries(RECORD_FIELDS.map((f) => [f, r[f]]))),
  };
}

/** Decodes the record batch in `bytes` with kafkajs' batch decoder and the given record decoder. */
async function decodeWith(recordDecoder: unknown, bytes: Buffer) {
  const path = require.resolve(`${SRC}recordBatch/record/v0/decoder.js`);
  const batchPath = require.resolve(`${SRC}recordBatch/v0/decoder.js`);
  const patched = require.cache[path]!.exports;
  const patchedBatch = require.cache[batchPath];
  require.cache[path]!.exports = recordDecoder;
  delete require.cache[batchPath];
  try {
    return await require(batchPath)(new Decoder(bytes));
  } finally {
    require.cache[path]!.exports = patched;
    require.cache[batchPath] = patchedBatch;
  }
}

Deno.test("the patched array writer refuses what kafkajs refuses", () => {
  assert.throws(() => new Encoder().writeEncoderArray([null]), /instance of Encoder/);
  assert.throws(() => new Encoder().writeEncoderArray("x"), /instance of Encoder/);
});

/** kafkajs' own produce v3 request. */
function shippedProduceRequest() {
  return shippedKafkajs("protocol/requests/produce/v3/request.js");
}

Deno.test("a produce request is kafkajs' bytes, written once", async () => {
  const produce = require(`${SRC}requests/produce/v3/request.js`);
  const shipped = shippedProduceRequest();
  assert.notEqual(produce, shipped);
  const Long = require("kafkajs/src/utils/long.js");
  const at = Date.now();
  const topicData = [
    {
      topic: "predictions",
      partitions: [
        { partition: 0, messages: MESSAGES.slice(0, 120) },
        { partition: 3, firstSequence: 7, messages: MESSAGES.slice(120) },
      ],
    },
    {
      topic: "dlq",
      partitions: [
        { partition: 1, messages: [] },
        {
          partition: 2,
          messages: MESSAGES.slice(0, 9).map((m, i) => ({
            ...m,
            timestamp: String(at + i * 1000),
            ...(i % 3 === 0 ? { headers: { reason: "bad_amount" } } : {}),
          })),
        },
      ],
    },
  ];
  const variants = [
    { acks: -1, timeout: 30000, topicData },
    {
      acks: -1,
      timeout: 30000,
      topicData,
      transactionalId: "tx-é",
      producerId: Long.fromValue(4242),
      producerEpoch: 3,
    },
  ];
  for (const args of variants) {
    // Both stamp untimestamped records with Date.now(): the same millisecond for both.
    const now = Date.now;
    Date.now = () => at;
    try {
      const ours = await produce(args).encode();
      const theirs = await shipped(args).encode();
      assert.deepEqual(ours.buffer, theirs.buffer);
      assert.equal(ours.size(), theirs.size());
      assert.equal(ours.buf.length, ours.size(), "sized up front, never grown");
    } finally {
      Date.now = now;
    }
  }
});
