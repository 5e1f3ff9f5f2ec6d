import assert from "node:assert/strict";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { expandInputs, FileReader } from "./file_reader.ts";
import { DataSetGenerator, DEFAULT_DIRT, NO_DIRT } from "./generator.ts";
import { writeDataSet } from "./generate_command.ts";
import { newTransaction, RETROSPECTIVE_HEADER } from "../transactions/transaction.ts";
import { REPAIR_EMPTY_TERMINAL } from "../transactions/row_fields.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();

interface Row {
  file: string;
  lineNo: number;
  line: string;
  reason: string | null;
  flags: number;
  id: number;
  customer: number;
  terminal: number;
  amount: number;
  eventTimeMs: number;
}

async function readAll(files: string[], options = {}) {
  const reader = new FileReader(files, options);
  const rows: Row[] = [];
  const tx = newTransaction();
  for await (const b of reader.batches()) {
    for (let i = 0; i < b.count; i++) {
      const good = b.reason[i] === null;
      if (good) b.get(i, tx);
      rows.push({
        file: b.file.replace(/\.gz$/, ""),
        lineNo: b.lineNo[i],
        line: dec.decode(b.line(i)),
        reason: b.reason[i],
        flags: good ? b.flags[i] : 0,
        id: good ? tx.transactionId : -1,
        customer: good ? tx.customerId : -1,
        terminal: good ? tx.terminalId : -1,
        amount: good ? tx.amount : -1,
        eventTimeMs: good ? tx.eventTimeMs : -1,
      });
    }
  }
  return { rows, stats: reader.stats };
}

async function generated(dir: string, gzip: boolean, dirt = DEFAULT_DIRT, days = 3) {
  const gen = new DataSetGenerator({
    customers: 1000,
    terminals: 2000,
    days,
    startMs: Date.UTC(2018, 3, 1),
    seed: 3,
    dirt,
  });
  const files = await writeDataSet(gen, dir, gzip);
  return { gen, files };
}

Deno.test("reader: every dirt kind appears at its rate and is repaired or reported", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const dirt = {
      duplicateId: 0.01,
      emptyTerminal: 0.02,
      negativeCustomer: 0.015,
      missingDatetime: 0.01,
      wrongTimeDays: 0.025,
      garbage: 0.005,
    };
    const { gen, files } = await generated(dir, false, dirt, 5);
    const c = gen.counts;
    for (const [key, rate] of Object.entries(dirt)) {
      const seen = c[key as keyof typeof dirt];
      const sd = Math.sqrt(c.rows * rate);
      assert.ok(Math.abs(seen - c.rows * rate) < 4 * sd, `${key}: ${seen} of ${c.rows}`);
    }
    const { rows, stats } = await readAll(files);
    assert.equal(stats.headers, 5);
    assert.equal(stats.lines, c.rows + c.garbage);
    assert.equal(stats.rejected, c.garbage, JSON.stringify(stats.rejectedBy));
    assert.equal(stats.good, c.rows);
    assert.equal(stats.repaired.negative_customer_id, c.negativeCustomer);
    assert.equal(stats.repaired.empty_terminal_id, c.emptyTerminal);
    assert.equal(stats.repaired.missing_datetime, c.missingDatetime);
    assert.equal(stats.repaired.wrong_time_days, c.wrongTimeDays);
    assert.equal(stats.repaired.duplicate_transaction_id, c.duplicateId);
    // Repairs give back what the clean data set holds.
    const clean = await readAll((await generated(join(dir, "clean"), false, NO_DIRT, 5)).files);
    const good = rows.filter((r) => r.reason === null);
    assert.equal(good.length, clean.rows.length);
    for (let i = 0; i < good.length; i++) {
      const [a, b] = [good[i], clean.rows[i]];
      assert.equal(a.customer, b.customer);
      assert.equal(a.amount, b.amount);
      assert.equal(a.eventTimeMs, b.eventTimeMs);
      if (!(a.flags & REPAIR_EMPTY_TERMINAL)) assert.equal(a.terminal, b.terminal);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("reader: gzip and plain files give the same rows", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const plain = await readAll((await generated(join(dir, "plain"), false)).files);
    const gz = await generated(join(dir, "gz"), true);
    assert.ok(gz.files.every((f) => f.endsWith(".txt.gz")));
    const zipped = await readAll(gz.files);
    const strip = (rows: Row[]) => rows.map((r) => ({ ...r, file: r.file.split("/").pop() }));
    assert.deepEqual(strip(zipped.rows), strip(plain.rows));
    assert.deepEqual(zipped.stats.rejectedBy, plain.stats.rejectedBy);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("reader: small buffers and batches, long lines, CRLF, JSON, no final newline", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const lines = [
      RETROSPECTIVE_HEADER,
      "0,2019-08-22 06:51:03,0,711,70.91,24663,0,0,0\r",
      "x".repeat(300),
      '{"transaction_id":1,"tx_datetime":null,"customer_id":2,"terminal_id":3,"tx_amount":4.5,' +
      '"tx_time_seconds":24700,"tx_fraud":1,"tx_fraud_scenario":1}',
      "",
      "0,2019-08-22 06:51:04,0,711,70.91,24664,0,0,0",
      "3,2019-08-22 06:51:05,5,6,7,24665,0,0,0",
    ];
    const path = join(dir, "2019-08-22.txt");
    await Deno.writeFile(path, enc.encode(lines.join("\n")));
    for (const batchRows of [1, 2, 100]) {
      const { rows, stats } = await readAll([path], { bufferBytes: 256, batchRows });
      assert.deepEqual(
        rows.map((r) => [r.lineNo, r.reason, r.id]),
        [
          [2, null, 0],
          [3, "line_too_long", -1],
          [4, null, 1],
          [5, "empty_line", -1],
          [6, null, 0],
          [7, null, 3],
        ],
      );
      assert.equal(rows[2].eventTimeMs, Date.UTC(2019, 7, 22, 6, 51, 40));
      assert.equal(rows[4].flags, 16);
      assert.equal(rows[5].line, lines[6]);
      assert.equal(stats.headers, 1);
      assert.equal(stats.repaired.duplicate_transaction_id, 1);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("reader: multi-member gzip (day files joined with cat) reads through", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const a = "0,2019-08-22 06:51:03,0,711,70.91,24663,0,0,0\n";
    const b = "1,2019-08-22 06:51:04,0,711,70.91,24664,0,0,0\n";
    const path = join(dir, "joined.txt.gz");
    await Deno.writeFile(path, new Uint8Array([...gzipSync(a), ...gzipSync(b)]));
    const { rows } = await readAll([path]);
    assert.deepEqual(rows.map((r) => r.id), [0, 1]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("expandInputs: directories and globs in date order, files as given", async () => {
  const dir = await Deno.makeTempDir();
  try {
    for (const name of ["2018-04-02.txt", "2018-04-01.txt.gz", "2018-04-03.txt.partial", "x.md"]) {
      await Deno.writeFile(join(dir, name), new Uint8Array());
    }
    assert.deepEqual(await expandInputs([dir]), [
      join(dir, "2018-04-01.txt.gz"),
      join(dir, "2018-04-02.txt"),
    ]);
    assert.deepEqual(await expandInputs([join(dir, "2018-04-0?.txt*")]), [
      join(dir, "2018-04-01.txt.gz"),
      join(dir, "2018-04-02.txt"),
    ]);
    assert.deepEqual(await expandInputs([join(dir, "x.md"), join(dir, "2018-04-02.txt")]), [
      join(dir, "x.md"),
      join(dir, "2018-04-02.txt"),
    ]);
    await assert.rejects(expandInputs([join(dir, "nope")]), /no such file/);
    await assert.rejects(expandInputs([join(dir, "*.csv")]), /no day files match/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
