import assert from "node:assert/strict";
import {
  decodeLabel,
  decodeLabelMessage,
  encodeLabel,
  encodeWatermark,
  type LabelRecord,
  newLabelRecord,
  readLabelMessage,
} from "./label_record.ts";

Deno.test("a label survives the wire", () => {
  const l: LabelRecord = {
    transactionId: 12,
    customerId: 3,
    terminalId: 711,
    eventTimeMs: 1_566_456_663_000,
    fraud: 1,
    scenario: 2,
  };
  assert.deepEqual(decodeLabel(encodeLabel(l)), l);
});

Deno.test("malformed labels are refused, not half-read", () => {
  for (
    const bad of [
      "",
      "{",
      "null",
      "[]",
      '{"transaction_id":-1}',
      '{"transaction_id":1,"customer_id":1,"terminal_id":1,"event_time_ms":0,"fraud":2}',
    ]
  ) {
    assert.equal(decodeLabel(bad), null, bad);
  }
});

Deno.test("the labels topic carries labels and watermarks, told apart by their fields", () => {
  const l: LabelRecord = {
    transactionId: 1,
    customerId: 2,
    terminalId: 3,
    eventTimeMs: 1_566_456_663_000,
    fraud: 0,
    scenario: 0,
  };
  assert.deepEqual(decodeLabelMessage(encodeLabel(l)), { kind: "label", label: l });
  assert.deepEqual(decodeLabelMessage(encodeWatermark({ eventTimeMs: 1_566_000_000_000 })), {
    kind: "watermark",
    watermark: { eventTimeMs: 1_566_000_000_000 },
  });
  // A watermark is never read as a label, and a broken one is refused rather than taken as 0.
  assert.equal(decodeLabel(encodeWatermark({ eventTimeMs: 5 })), null);
  assert.equal(decodeLabelMessage('{"label_watermark_ms":"soon"}'), null);
  assert.equal(decodeLabelMessage('{"label_watermark_ms":null}'), null);
});

Deno.test("the fast byte reader gives what JSON.parse gives, and falls back for any other spelling", () => {
  // Each message is read where it lies among other bytes, as from a fetched record batch.
  const read = (message: string, out: LabelRecord) => {
    const buf = new TextEncoder().encode(`9}{${message}{"x":`);
    return readLabelMessage(buf, 3, buf.length - 5, out);
  };
  const out = newLabelRecord();
  const cases: LabelRecord[] = [
    { transactionId: 0, customerId: 0, terminalId: 0, eventTimeMs: 0, fraud: 0, scenario: 0 },
    {
      transactionId: 9_007_199_254_740,
      customerId: 4999,
      terminalId: 9999,
      eventTimeMs: 1_566_456_663_000,
      fraud: 1,
      scenario: 3,
    },
    {
      transactionId: 5,
      customerId: 6,
      terminalId: 7,
      eventTimeMs: -86_400_000,
      fraud: 1,
      scenario: 2,
    },
  ];
  for (const l of cases) {
    assert.equal(read(encodeLabel(l), out), "label");
    assert.deepEqual(out, l);
  }
  // Another publisher's spelling: other order, spaces, no scenario; a watermark; garbage.
  assert.equal(
    read(
      '{ "fraud": 1, "terminal_id": 3, "customer_id": 2, "transaction_id": 1, "event_time_ms": 10 }',
      out,
    ),
    "label",
  );
  assert.deepEqual(out, {
    transactionId: 1,
    customerId: 2,
    terminalId: 3,
    eventTimeMs: 10,
    fraud: 1,
    scenario: 0,
  });
  assert.equal(read(encodeWatermark({ eventTimeMs: 77 }), out), "watermark");
  assert.equal(out.eventTimeMs, 77);
  for (
    const bad of [
      "",
      "{",
      '{"transaction_id":1,"customer_id":1,"terminal_id":1,"event_time_ms":0,"fraud":2,"scenario":0}',
      '{"transaction_id":1,"customer_id":1,"terminal_id":1,"event_time_ms":0,"fraud":0,"scenario":4}',
      '{"transaction_id":-1,"customer_id":1,"terminal_id":1,"event_time_ms":0,"fraud":0,"scenario":0}',
      '{"transaction_id":1,"customer_id":1,"terminal_id":1,"event_time_ms":0,"fraud":0,"scenario":0}x',
      "\xff\xfe",
    ]
  ) {
    assert.equal(read(bad, out), null, bad);
  }
});
