import assert from "node:assert/strict";
import { newTransaction, RETROSPECTIVE_HEADER, type Transaction } from "./transaction.ts";
import { parseCsvRow } from "./csv_row.ts";
import { parseJsonRow } from "./json_row.ts";
import { parseRow } from "./parse_row.ts";
import {
  HEADER,
  readDatetime,
  readDecimal,
  REPAIR_DATETIME_DERIVED,
  REPAIR_EMPTY_TERMINAL,
  REPAIR_NEGATIVE_CUSTOMER,
  REPAIR_TIME_DAYS,
  RowState,
} from "./row_fields.ts";

const enc = new TextEncoder();
const ORIGIN_2019_08_22 = Date.UTC(2019, 7, 22);

function csv(line: string, st = new RowState(), tx = newTransaction()) {
  const buf = enc.encode(line);
  const outcome = parseCsvRow(buf, 0, buf.length, tx, st);
  return { outcome, tx, flags: st.flags, st };
}

function json(line: string, st = new RowState(), tx = newTransaction()) {
  const buf = enc.encode(line);
  const outcome = parseJsonRow(buf, 0, buf.length, tx, st);
  return { outcome, tx, flags: st.flags, st };
}

const EXAMPLE: Transaction = {
  transactionId: 0,
  eventTimeMs: Date.UTC(2019, 7, 22, 6, 51, 3),
  customerId: 0,
  terminalId: 711,
  amount: 70.91,
  timeSeconds: 24663,
  timeDays: 0,
  fraud: 0,
  scenario: 0,
};

Deno.test("csv: the format's example row parses exactly", () => {
  const r = csv("0,2019-08-22 06:51:03,0,711,70.91,24663,0,0,0");
  assert.equal(r.outcome, null);
  assert.deepEqual(r.tx, EXAMPLE);
  assert.equal(r.flags, 0);
});

Deno.test("csv: a byte range inside a larger buffer, CRLF tolerated, instance reused", () => {
  const buf = enc.encode("xx\n12,2018-04-02 00:00:01,7,3,5.5,86401,1,1,2\r\nyy");
  const tx = newTransaction();
  const st = new RowState();
  assert.equal(parseCsvRow(buf, 3, buf.indexOf(10, 3), tx, st), null);
  assert.equal(tx.transactionId, 12);
  assert.equal(tx.customerId, 7);
  assert.equal(tx.amount, 5.5);
  assert.equal(tx.timeDays, 1);
  assert.equal(tx.fraud, 1);
  assert.equal(tx.scenario, 2);
  const again = csv("13,2018-04-02 00:00:02,8,4,6,86402,1,0,0", st, tx);
  assert.equal(again.tx, tx);
  assert.equal(tx.transactionId, 13);
  assert.equal(tx.amount, 6);
});

Deno.test("csv: header line is recognised, not an error", () => {
  assert.equal(csv(RETROSPECTIVE_HEADER).outcome, HEADER);
});

Deno.test("csv dirt: negative customer_id is repaired to its absolute value", () => {
  const r = csv("5,2019-08-22 06:51:03,-42,711,70.91,24663,0,0,0");
  assert.equal(r.outcome, null);
  assert.equal(r.tx.customerId, 42);
  assert.equal(r.flags, REPAIR_NEGATIVE_CUSTOMER);
});

Deno.test("csv dirt: empty terminal_id becomes terminal 0", () => {
  const r = csv("5,2019-08-22 06:51:03,42,,70.91,24663,0,0,0");
  assert.equal(r.outcome, null);
  assert.equal(r.tx.terminalId, 0);
  assert.equal(r.flags, REPAIR_EMPTY_TERMINAL);
});

Deno.test("csv dirt: tx_time_days disagreeing or empty is recomputed from seconds", () => {
  const r = csv("5,2018-04-03 00:00:10,42,1,1.00,172810,7,0,0");
  assert.equal(r.outcome, null);
  assert.equal(r.tx.timeDays, 2);
  assert.equal(r.flags, REPAIR_TIME_DAYS);
  const neg = csv("5,2018-04-03 00:00:10,42,1,1.00,172810,-1,0,0");
  assert.equal(neg.tx.timeDays, 2);
  assert.equal(neg.flags, REPAIR_TIME_DAYS);
  const empty = csv("5,2018-04-03 00:00:10,42,1,1.00,172810,,0,0");
  assert.equal(empty.outcome, null);
  assert.equal(empty.flags, REPAIR_TIME_DAYS);
  assert.equal(csv("5,2018-04-03 00:00:10,42,1,1.00,172810,x,0,0").outcome, "bad_time_days");
});

Deno.test("csv dirt: missing tx_datetime is derived once the origin is known, else rejected", () => {
  const st = new RowState();
  assert.equal(csv("1,,3,4,5.00,100,0,0,0", st).outcome, "missing_datetime");
  assert.equal(csv("2,2019-08-22 00:01:40,3,4,5.00,100,0,0,0", st).outcome, null);
  assert.equal(st.originMs, ORIGIN_2019_08_22);
  const r = csv("3,,3,4,5.00,90061,1,0,0", st);
  assert.equal(r.outcome, null);
  assert.equal(r.tx.eventTimeMs, Date.UTC(2019, 7, 23, 1, 1, 1));
  assert.equal(r.flags, REPAIR_DATETIME_DERIVED);
  const given = csv("3,,3,4,5.00,60,0,0,0", new RowState(ORIGIN_2019_08_22));
  assert.equal(given.outcome, null);
  assert.equal(given.tx.eventTimeMs, ORIGIN_2019_08_22 + 60_000);
});

Deno.test("csv dirt: several repairs on one row are all recorded", () => {
  const r = csv("9,,-3,,5.00,60,4,0,0", new RowState(ORIGIN_2019_08_22));
  assert.equal(r.outcome, null);
  assert.equal(
    r.flags,
    REPAIR_DATETIME_DERIVED | REPAIR_NEGATIVE_CUSTOMER | REPAIR_EMPTY_TERMINAL | REPAIR_TIME_DAYS,
  );
});

Deno.test("csv dirt: unparseable lines are rejected with a reason", () => {
  const cases: [string, string][] = [
    ["", "empty_line"],
    ["\r", "empty_line"],
    ["garbage without commas", "bad_field_count"],
    ["0,2019-08-22 06:51:03,0,711,70.91,24663,0,0", "bad_field_count"],
    ["0,2019-08-22 06:51:03,0,711,70.91,24663,0,0,0,0", "bad_field_count"],
    ["0,2019-08-22 06:51:03,0,711,70.91,24663,0,0,", "bad_scenario"],
    ["x,2019-08-22 06:51:03,0,711,70.91,24663,0,0,0", "bad_transaction_id"],
    ["-1,2019-08-22 06:51:03,0,711,70.91,24663,0,0,0", "bad_transaction_id"],
    ["0,2019-08-22 06:51,0,711,70.91,24663,0,0,0", "bad_datetime"],
    ["0,2019-02-29 06:51:03,0,711,70.91,24663,0,0,0", "bad_datetime"],
    ["0,2019-08-22 24:00:00,0,711,70.91,24663,0,0,0", "bad_datetime"],
    ["0,2019-08-22 06:51:03,,711,70.91,24663,0,0,0", "bad_customer_id"],
    ["0,2019-08-22 06:51:03,-,711,70.91,24663,0,0,0", "bad_customer_id"],
    ["0,2019-08-22 06:51:03,1.5,711,70.91,24663,0,0,0", "bad_customer_id"],
    ["0,2019-08-22 06:51:03,0,t7,70.91,24663,0,0,0", "bad_terminal_id"],
    ["0,2019-08-22 06:51:03,0,711,-70.91,24663,0,0,0", "bad_amount"],
    ["0,2019-08-22 06:51:03,0,711,,24663,0,0,0", "bad_amount"],
    ["0,2019-08-22 06:51:03,0,711,7.0.1,24663,0,0,0", "bad_amount"],
    ["0,2019-08-22 06:51:03,0,711,abc,24663,0,0,0", "bad_amount"],
    ["0,2019-08-22 06:51:03,0,711,70.91,,0,0,0", "bad_time_seconds"],
    ["0,2019-08-22 06:51:03,0,711,70.91,1e4,0,0,0", "bad_time_seconds"],
    ["0,2019-08-22 06:51:03,0,711,70.91,24663,0,2,0", "bad_fraud"],
    ["0,2019-08-22 06:51:03,0,711,70.91,24663,0,1,4", "bad_scenario"],
    ["1234567890123456,2019-08-22 06:51:03,0,711,70.91,24663,0,0,0", "bad_transaction_id"],
  ];
  for (const [line, reason] of cases) assert.equal(csv(line).outcome, reason, line);
});

Deno.test("csv: a rejected row leaves the origin unlearned and the transaction untouched", () => {
  const st = new RowState();
  const tx = newTransaction();
  assert.equal(
    csv("0,2019-08-22 06:51:03,0,711,70.91,24663,0,0,9", st, tx).outcome,
    "bad_scenario",
  );
  assert.ok(Number.isNaN(st.originMs));
  assert.deepEqual(tx, newTransaction());
});

Deno.test("amounts equal Number() of the same text", () => {
  for (const text of ["70.91", "0.1", "0.29", "5", "5.0", ".5", "1234567.89", "219.99", "1e3"]) {
    const b = enc.encode(text);
    const expected = /^\d*\.?\d+$|^\d+\.$/.test(text) ? Number(text) : -1;
    assert.equal(readDecimal(b, 0, b.length), expected, text);
  }
  for (let cents = 0; cents < 100_000; cents += 7) {
    const text = (cents / 100).toFixed(2);
    const b = enc.encode(text);
    assert.equal(readDecimal(b, 0, b.length), Number(text));
  }
});

Deno.test("datetimes equal Date.parse over leap years and the 'T' form", () => {
  for (const text of ["2018-04-01 00:00:00", "2020-02-29 23:59:59", "1999-12-31T12:00:00"]) {
    const b = enc.encode(text);
    assert.equal(readDatetime(b, 0, b.length), Date.parse(text.replace(" ", "T") + "Z"));
  }
});

Deno.test("json: same fields, either id spelling, strings or numbers, null as empty", () => {
  const r = json(
    '{"tranaction_id":0,"tx_datetime":"2019-08-22 06:51:03","customer_id":0,"terminal_id":711,' +
      '"tx_amount":70.91,"tx_time_seconds":24663,"tx_time_days":0,"tx_fraud":0,"tx_fraud_scenario":0}',
  );
  assert.equal(r.outcome, null);
  assert.deepEqual(r.tx, EXAMPLE);
  const s = json(
    ' { "transaction_id" : "0", "tx_datetime" : null, "customer_id" : "-5", "terminal_id" : "",' +
      ' "tx_amount" : "70.91", "tx_time_seconds" : 24663, "tx_fraud" : 0, "tx_fraud_scenario" : 0,' +
      ' "note": {"a": [1, "}"]} }\r',
    new RowState(ORIGIN_2019_08_22),
  );
  assert.equal(s.outcome, null);
  assert.equal(s.tx.customerId, 5);
  assert.equal(s.tx.eventTimeMs, EXAMPLE.eventTimeMs);
  assert.equal(
    s.flags,
    REPAIR_DATETIME_DERIVED | REPAIR_NEGATIVE_CUSTOMER | REPAIR_EMPTY_TERMINAL | REPAIR_TIME_DAYS,
  );
});

Deno.test("json: malformed objects and bad values are rejected", () => {
  const cases: [string, string][] = [
    ["{", "bad_json"],
    ['{"transaction_id":1', "bad_json"],
    ['{"transaction_id":1} trailing', "bad_json"],
    ['{"transaction_id" 1}', "bad_json"],
    ['{"transaction_id":"1}', "bad_json"],
    ["{}", "bad_transaction_id"],
    [
      '{"transaction_id":1,"tx_datetime":"2019-08-22 06:51:03","customer_id":1,"tx_amount":"x",' +
      '"tx_time_seconds":1,"tx_fraud":0,"tx_fraud_scenario":0}',
      "bad_amount",
    ],
  ];
  for (const [line, reason] of cases) assert.equal(json(line).outcome, reason, line);
});

Deno.test("parseRow picks the format by the first byte", () => {
  const tx = newTransaction();
  const st = new RowState();
  const c = enc.encode("0,2019-08-22 06:51:03,0,711,70.91,24663,0,0,0");
  assert.equal(parseRow(c, 0, c.length, tx, st), null);
  const j = enc.encode(
    '  {"transaction_id":3,"tx_datetime":"2019-08-22 06:51:03","customer_id":1,' +
      '"terminal_id":2,"tx_amount":1,"tx_time_seconds":24663,"tx_fraud":1,"tx_fraud_scenario":1}',
  );
  assert.equal(parseRow(j, 0, j.length, tx, st), null);
  assert.equal(tx.transactionId, 3);
  const h = enc.encode(RETROSPECTIVE_HEADER);
  assert.equal(parseRow(h, 0, h.length, tx, st), HEADER);
});
