import assert from "node:assert/strict";
import { decodeLabel, encodeLabel, type LabelRecord } from "./label_record.ts";

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
