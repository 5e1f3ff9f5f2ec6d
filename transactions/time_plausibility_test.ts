import assert from "node:assert/strict";
import { newTransaction } from "./transaction.ts";
import { parseRow } from "./parse_row.ts";
import { RowState } from "./row_fields.ts";
import { PLAUSIBLE_FROM_MS, PLAUSIBLE_UNTIL_MS, plausibleTime } from "./time_plausibility.ts";

const enc = new TextEncoder();

function parse(line: string, st = new RowState()) {
  const buf = enc.encode(line);
  const tx = newTransaction();
  return { outcome: parseRow(buf, 0, buf.length, tx, st), tx, st };
}

Deno.test("the era is 2000-01-01 up to but not including 2100-01-01", () => {
  assert.equal(plausibleTime(PLAUSIBLE_FROM_MS, 0), true);
  assert.equal(plausibleTime(PLAUSIBLE_FROM_MS - 1, 0), false);
  assert.equal(plausibleTime(PLAUSIBLE_UNTIL_MS - 1, 0), true);
  assert.equal(plausibleTime(PLAUSIBLE_UNTIL_MS, 0), false);
  assert.equal(plausibleTime(NaN, 0), false);
});

Deno.test("a tx_time_seconds that puts the data set's start before 2000 is implausible", () => {
  const t = Date.UTC(2019, 7, 22);
  assert.equal(plausibleTime(t, 86_400 * 365), true);
  assert.equal(plausibleTime(t, (t - PLAUSIBLE_FROM_MS) / 1000), true);
  assert.equal(plausibleTime(t, (t - PLAUSIBLE_FROM_MS) / 1000 + 1), false);
});

Deno.test("rows dated 0001, 1970, 2100 and 9999 are rejected as implausible_time, CSV and JSON", () => {
  for (const date of ["0001-01-01", "1970-01-01", "1999-12-31", "2100-01-01", "9999-12-31"]) {
    assert.equal(parse(`1,${date} 06:51:03,7,711,70.91,24663,0,0,0`).outcome, "implausible_time");
    assert.equal(
      parse(
        `{"transaction_id":1,"tx_datetime":"${date} 06:51:03","customer_id":7,"terminal_id":1,` +
          `"tx_amount":1,"tx_time_seconds":24663,"tx_fraud":0,"tx_fraud_scenario":0}`,
      ).outcome,
      "implausible_time",
      date,
    );
  }
  assert.equal(parse("1,2099-12-31 23:59:59,7,711,70.91,24663,0,0,0").outcome, null);
});

Deno.test("a derived datetime is judged like a written one", () => {
  const st = new RowState(Date.UTC(2019, 7, 22));
  assert.equal(parse("1,,7,711,70.91,24663,0,0,0", st).outcome, null);
  assert.equal(parse("2,,7,711,70.91,3000000000,0,0,0", st).outcome, "implausible_time");
});

Deno.test("an implausible first row does not become the origin of derived datetimes", () => {
  const st = new RowState();
  assert.equal(
    parse("1,2100-08-22 06:51:03,7,711,70.91,24663,0,0,0", st).outcome,
    "implausible_time",
  );
  assert.ok(Number.isNaN(st.originMs));
  assert.equal(parse("2,,7,711,70.91,60,0,0,0", st).outcome, "missing_datetime");
  assert.equal(parse("3,2019-08-22 06:51:03,7,711,70.91,24663,0,0,0", st).outcome, null);
  assert.equal(st.originMs, Date.UTC(2019, 7, 22));
});

Deno.test("the verdict is the row's alone: any order, any reader state gives the same", () => {
  const lines = [
    "1,2019-08-22 06:51:03,7,711,70.91,24663,0,0,0",
    "2,2100-08-22 06:51:03,7,711,70.91,24663,0,0,0",
    "3,1970-01-01 06:51:03,8,711,70.91,24663,0,0,0",
    "4,2019-08-23 00:00:00,8,711,70.91,86400,1,0,0",
  ];
  const verdicts = (order: string[]) => {
    const st = new RowState();
    return Object.fromEntries(order.map((l) => [l, parse(l, st).outcome]));
  };
  const forward = verdicts(lines);
  assert.deepEqual(verdicts([...lines].reverse()), forward);
  assert.deepEqual(verdicts([lines[1], lines[3]]), {
    [lines[1]]: forward[lines[1]],
    [lines[3]]: null,
  });
});
