import assert from "node:assert/strict";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { expandInputs, FileReader } from "./file_reader.ts";
import { DataSetGenerator, DEFAULT_DIRT, NO_DIRT } from "./generator.ts";
import { writeDataSet } from "./generate_command.ts";
import { newTransaction, RETROSPECTIVE_HEADER } from "../transactions/transaction.ts";
import { REPAIR_EMPTY_TERMINAL } from "../transactions/row_fields.ts";
import { withAbsentPath } from "../tests/support/absent_path.ts";

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

Deno.test("reader: a UTF-8 BOM at the start of a file is dropped, plain or gzipped", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const bom = new Uint8Array([0xef, 0xbb, 0xbf]);
    const a = "0,2019-08-22 06:51:03,0,711,70.91,24663,0,0,0";
    const b = '{"transaction_id":1,"tx_datetime":"2019-08-22 06:51:04","customer_id":0,' +
      '"terminal_id":7,"tx_amount":1,"tx_time_seconds":24664,"tx_fraud":0,"tx_fraud_scenario":0}';
    const withBom = (text: string) => new Uint8Array([...bom, ...enc.encode(text)]);
    const files: [string, Uint8Array][] = [
      ["header.txt", withBom(`${RETROSPECTIVE_HEADER}\n${a}\n`)],
      ["row.txt", withBom(`${a}\n`)],
      ["rows.jsonl", withBom(`${b}\n`)],
      ["header.txt.gz", gzipSync(withBom(`${RETROSPECTIVE_HEADER}\n${a}\n`))],
      // The BOM split over two gzip members: the reader waits for its third byte.
      [
        "split.txt.gz",
        new Uint8Array([...gzipSync(bom.subarray(0, 1)), ...gzipSync(withBom(a).subarray(1))]),
      ],
    ];
    for (const [name, bytes] of files) {
      await Deno.writeFile(join(dir, name), bytes);
      const { rows, stats } = await readAll([join(dir, name)]);
      assert.deepEqual(
        rows.map((r) => [r.reason, r.line]),
        [[null, name === "rows.jsonl" ? b : a]],
        name,
      );
      assert.equal(stats.headers, name.startsWith("header") ? 1 : 0, name);
      assert.equal(
        stats.filesWithoutHeader,
        name.startsWith("header") || name.endsWith("jsonl") ? 0 : 1,
      );
    }
    // Only at the start of a file: elsewhere it is part of a line, and the line is rejected.
    await Deno.writeFile(
      join(dir, "middle.txt"),
      new Uint8Array([...enc.encode(`${a}\n`), ...withBom(a)]),
    );
    const { rows } = await readAll([join(dir, "middle.txt")]);
    assert.deepEqual(rows.map((r) => r.reason), [null, "bad_transaction_id"]);
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

/** A day file's lines as text: the header, then the given rows. */
function dayFile(rows: string[], header = RETROSPECTIVE_HEADER): string {
  return [header, ...rows].join("\n") + "\n";
}

const ROW = (id: number) => `${id},2019-08-22 06:51:0${id % 10},${id},711,70.91,2466${id},0,0,0`;

async function readWithProblems(files: string[]) {
  const problems: { kind: string; line: number; message: string }[] = [];
  const read = await readAll(files, {
    onProblem: ({ kind, line, message }: { kind: string; line: number; message: string }) =>
      problems.push({ kind, line, message }),
  });
  return { ...read, problems };
}

Deno.test("reader: a file that is not gzip or is cut short is reported, the rest is read", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const notGzip = join(dir, "2019-08-21.txt.gz");
    await Deno.writeTextFile(notGzip, dayFile([ROW(1)]));
    const rows = Array.from({ length: 2000 }, (_, i) => ROW(i));
    const whole = gzipSync(enc.encode(dayFile(rows)));
    const cut = join(dir, "2019-08-22.txt.gz");
    await Deno.writeFile(cut, whole.subarray(0, Math.floor(whole.length / 2)));
    const good = join(dir, "2019-08-23.txt");
    await Deno.writeTextFile(good, dayFile([ROW(5000)]));

    const { rows: got, stats, problems } = await readWithProblems([notGzip, cut, good]);
    assert.equal(problems.length, 2, JSON.stringify(problems));
    assert.deepEqual(problems[0], {
      kind: "unreadable",
      line: 0,
      message: `${notGzip}: cannot read (gzip: incorrect header check); file skipped`,
    });
    assert.equal(problems[1].kind, "unreadable");
    // Every complete line before the cut is delivered; the problem names the last one read.
    const before = got.filter((r) => r.file === cut.replace(/\.gz$/, ""));
    assert.ok(before.length > 0 && before.length < rows.length, `${before.length}`);
    assert.equal(problems[1].line, before.length + 1);
    assert.match(
      problems[1].message,
      new RegExp(`^${cut}:${before.length + 1}: cannot read past this line \\(gzip: .+\\); rest`),
    );
    assert.deepEqual(got.filter((r) => r.file === good).map((r) => r.id), [5000]);
    assert.equal(stats.filesSkipped, 2);
    // Without a handler, the first such file ends the read with its message.
    await assert.rejects(readAll([notGzip, good]), {
      name: "UserFacingError",
      message: `${notGzip}: cannot read (gzip: incorrect header check); file skipped`,
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("reader: headers are checked: none, the files' own, another, a plain CSV one", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const files = {
      noHeader: [ROW(1), ROW(2)].join("\n"),
      own: dayFile([ROW(3)]),
      // The correct spelling and comma separators name the same columns.
      plainSame: dayFile([ROW(4)], COLUMNS_LINE.replace("tranaction", "transaction")),
      otherHash: dayFile([ROW(5)], "# id | when | amount"),
      otherPlain: dayFile([ROW(6)], "step,type,amount,nameOrig,oldbalanceOrg"),
      json: '{"transaction_id":7,"tx_datetime":"2019-08-22 06:51:03","customer_id":1,' +
        '"terminal_id":2,"tx_amount":3.5,"tx_time_seconds":24663,"tx_fraud":0,' +
        '"tx_fraud_scenario":0}\n',
    };
    const paths: string[] = [];
    for (const [name, text] of Object.entries(files)) {
      paths.push(join(dir, `${name}.txt`));
      await Deno.writeTextFile(paths.at(-1)!, text);
    }
    const { rows, stats, problems } = await readWithProblems(paths);
    assert.deepEqual(rows.map((r) => [r.lineNo, r.id]), [[1, 1], [2, 2], [2, 3], [2, 4], [1, 7]]);
    assert.deepEqual(problems, [
      {
        kind: "no_header",
        line: 1,
        message: `${paths[0]}:1: no header line (the file starts with a row); read all the same`,
      },
      {
        kind: "other_header",
        line: 1,
        message: `${paths[3]}:1: header names other columns than a day file's ` +
          `"# id | when | amount"; file skipped`,
      },
      {
        kind: "other_header",
        line: 1,
        message: `${paths[4]}:1: header names other columns than a day file's ` +
          `"step,type,amount,nameOrig,oldbalanceOrg"; file skipped`,
      },
    ]);
    assert.equal(stats.headers, 2);
    assert.equal(stats.filesSkipped, 2);
    assert.equal(stats.filesWithoutHeader, 1);
    assert.equal(stats.rejected, 0);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

const COLUMNS_LINE =
  "tranaction_id,tx_datetime,customer_id,terminal_id,tx_amount,tx_time_seconds,tx_time_days," +
  "tx_fraud,tx_fraud_scenario";

Deno.test("reader: bad rows are counted by reason, the first ones located and explained", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const bad = [
      "0,2019-08-22 06:51:03,0,711,70.91,24663,0,0", // 8 columns
      "1,2019-08-22 06:51:03,0,711,70.91,24663,0,0,0,9", // 10 columns
      "2,2019-08-22 06:51:03,0,711,abc,24663,0,0,0",
      "x2,2019-08-22 06:51:03,0,711,1.5,24663,0,0,0",
      "3,2019-08-22 06:51:03,0,711,1.5,24663,0,2,0",
      "4,22/08/2019 06:51,0,711,1.5,24663,0,0,0",
      "5,2019-08-22 06:51:03,c7,711,1.5,24663,0,0,0",
      '{"transaction_id":6,"customer_id":1,"terminal_id":2,"tx_amount":"lots"}',
      "7,2100-08-22 06:51:03,0,711,1.5,24663,0,0,0",
    ];
    const path = join(dir, "2019-08-22.txt");
    await Deno.writeTextFile(path, dayFile([ROW(0), ...bad, ROW(9)]));
    const { rows, stats } = await readAll([path]);
    assert.equal(rows.length, bad.length + 2);
    assert.equal(stats.good, 2);
    assert.equal(stats.rejected, bad.length);
    assert.deepEqual(
      Object.fromEntries(Object.entries(stats.rejectedBy).filter(([, n]) => n > 0)),
      {
        bad_field_count: 2,
        bad_amount: 2,
        bad_transaction_id: 1,
        bad_fraud: 1,
        bad_datetime: 1,
        bad_customer_id: 1,
        implausible_time: 1,
      },
    );
    assert.deepEqual(stats.firstRejected, [
      `${path}:3: 8 columns, expected 9`,
      `${path}:4: 10 columns, expected 9`,
      `${path}:5: tx_amount "abc" is not a non-negative decimal number`,
      `${path}:6: tranaction_id "x2" is not a non-negative integer`,
      `${path}:7: tx_fraud "2" is not 0 or 1`,
      `${path}:8: tx_datetime "22/08/2019 06:51" is not a date and time as YYYY-MM-DD HH:MM:SS`,
      `${path}:9: customer_id "c7" is not an integer`,
      `${path}:10: tx_amount is missing or not a non-negative decimal number`,
      `${path}:11: tx_datetime, or the data set start its tx_time_seconds implies, is not within ` +
      "2000-01-01 .. 2099-12-31",
    ]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("reader: only the first ten rejected lines are described", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = join(dir, "2019-08-22.txt");
    await Deno.writeTextFile(path, dayFile(Array.from({ length: 25 }, () => "garbage")));
    const { stats } = await readAll([path]);
    assert.equal(stats.rejected, 25);
    assert.equal(stats.firstRejected.length, 10);
    assert.equal(stats.firstRejected[9], `${path}:11: 1 column, expected 9`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("expandInputs: a missing directory or file is named", async () => {
  await withAbsentPath(async (absent) => {
    await assert.rejects(expandInputs([`${absent}/day-files/`]), {
      name: "UserFacingError",
      message: `no such file or directory: ${absent}/day-files/`,
    });
    await assert.rejects(expandInputs([`${absent}/*.txt`]), {
      name: "UserFacingError",
      message: `cannot list ${absent} (from ${absent}/*.txt)`,
    });
  });
});
