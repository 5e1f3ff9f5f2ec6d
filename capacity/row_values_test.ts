import assert from "node:assert/strict";
import { RowBatch } from "../producer/file_reader.ts";
import { RowValues } from "./row_values.ts";

/** The shifted line as text formatting writes it: what RowValues must match byte for byte. */
function formatted(b: RowBatch, i: number): string {
  const datetime = new Date(b.eventTimeMs[i]).toISOString().slice(0, 19).replace("T", " ");
  const seconds = b.timeSeconds[i];
  return `${b.transactionId[i]},${datetime},${b.customerId[i]},${b.terminalId[i]},${
    b.amount[i].toFixed(2)
  },${seconds},${Math.floor(seconds / 86_400)},${b.fraud[i]},${b.scenario[i]}`;
}

function batchOf(rows: number): RowBatch {
  const b = new RowBatch(rows);
  b.count = rows;
  return b;
}

Deno.test("shifted rows are written as the same bytes as text formatting gives", () => {
  const b = batchOf(20_000);
  let seed = 7;
  const random = () => (seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31;
  for (let i = 0; i < b.count; i++) {
    b.transactionId[i] = Math.floor(random() * 10 ** Math.floor(random() * 16));
    b.eventTimeMs[i] = Date.UTC(2018, 3, 1) + Math.floor(random() * 400 * 86_400_000);
    b.customerId[i] = Math.floor(random() * 5000);
    b.terminalId[i] = Math.floor(random() * 10_000);
    // Mostly two decimals, as the files have; some with more, which fall back to toFixed.
    b.amount[i] = i % 10 === 0 ? random() * 1000 : Math.round(random() * 100_000) / 100;
    b.timeSeconds[i] = Math.floor(random() * 400 * 86_400);
    b.fraud[i] = random() < 0.1 ? 1 : 0;
    b.scenario[i] = Math.floor(random() * 4);
  }
  b.amount[1] = 0;
  b.amount[2] = 0.05;
  b.amount[3] = 1e22;
  b.eventTimeMs[4] = Date.UTC(2018, 3, 1, 23, 59, 59, 999);
  b.eventTimeMs[5] = Date.UTC(10_000, 0, 1);
  const values = new RowValues();
  const decoder = new TextDecoder();
  const written = Array.from({ length: b.count }, (_, i) => values.of(b, i, 1));
  // Read after all are written: a later row never overwrites an earlier one's bytes.
  for (let i = 0; i < b.count; i++) assert.equal(decoder.decode(written[i]), formatted(b, i));
});

Deno.test("first-pass and rejected rows keep the file's own bytes", () => {
  const b = batchOf(2);
  const lines = ["0,2018-04-01 06:51:03,7,711,70.910,24663,0,0,0", "not a row"];
  b.buf = new TextEncoder().encode(lines.join("\n"));
  b.lineStart.set([0, lines[0].length + 1]);
  b.lineEnd.set([lines[0].length, b.buf.length]);
  b.reason[1] = "bad_field_count";
  const values = new RowValues();
  const decoder = new TextDecoder();
  assert.equal(decoder.decode(values.of(b, 0, 0)), lines[0]);
  assert.equal(decoder.decode(values.of(b, 1, 3)), lines[1]);
});
