import assert from "node:assert/strict";
import { join } from "node:path";
import { ensureTopics, topicNames } from "../kafka/topics.ts";
import { FileReader } from "../producer/file_reader.ts";
import { decodeLabel, decodeLabelMessage, WATERMARK_KEY } from "../transactions/label_record.ts";
import { parseRow } from "../transactions/parse_row.ts";
import { REPAIR_NEGATIVE_CUSTOMER, RowState } from "../transactions/row_fields.ts";
import { newTransaction, RETROSPECTIVE_HEADER } from "../transactions/transaction.ts";
import { withAbsentPath } from "./support/absent_path.ts";
import { kafkaTest, runCli, testBrokers, testKafka, uniquePrefix } from "./support/kafka.ts";
import {
  generateData,
  inputLines,
  multiset,
  type ReadMessage,
  readTopic,
  waitFor,
} from "./support/pipeline.ts";

/**
 * `fraudstream produce` against a real broker, run as a user runs it: what reaches the topics
 * (every line, keyed by cleaned customer id; labels only after their delay), what it reports
 * while it runs and when it is done, and how it treats bad input with and without --strict.
 */
const DAY = 86_400_000;
const START = Date.UTC(2018, 3, 1);
const dataDir = await Deno.makeTempDir({ prefix: "fraudstream-producer-test-" });
// The generator's default dirt: garbage lines, negative customers, missing datetimes, ...
const files = await generateData(dataDir, [
  "--customers",
  "500",
  "--terminals",
  "1000",
  "--days",
  "5",
  "--seed",
  "5",
]);
const lines = inputLines(files);

async function freshTopics(name: string, partitions = 4): Promise<string> {
  const prefix = uniquePrefix(name);
  const admin = await (await testKafka()).admin();
  await ensureTopics(admin, topicNames(prefix), { partitions, replicationFactor: 1 });
  await admin.close();
  return prefix;
}

async function produce(prefix: string, args: string[]) {
  return await runCli(["produce", "--topic-prefix", prefix, "--http", "off", ...args], {
    FRAUDSTREAM_BROKERS: (await testBrokers()).join(","),
  });
}

/** The producer's JSON log lines with this event. */
function logLines(stderr: string, event: string): Record<string, unknown>[] {
  return stderr.split("\n").filter((l) => l.includes(`"event":"${event}"`)).map((l) =>
    JSON.parse(l)
  );
}

// deno-lint-ignore no-explicit-any
function doneLog(stderr: string): any {
  const done = logLines(stderr, "done");
  assert.equal(done.length, 1, stderr);
  return done[0];
}

/** The good rows of the files in the order the producer reads them. */
async function goodRows(paths: string[]) {
  const rows: { id: number; eventTimeMs: number; fraud: number }[] = [];
  for await (const b of new FileReader(paths).batches()) {
    for (let i = 0; i < b.count; i++) {
      if (b.reason[i] !== null) continue;
      rows.push({ id: b.transactionId[i], eventTimeMs: b.eventTimeMs[i], fraud: b.fraud[i] });
    }
  }
  return rows;
}

const encoder = new TextEncoder();

Deno.test({
  name: "produce at a constant rate: every line, keyed by customer, labels after their delay",
  ...kafkaTest,
}, async () => {
  const prefix = await freshTopics("produce-rate");
  const out = await produce(prefix, ["--rate", "2000", "--label-delay", "1d", ...files]);
  assert.equal(out.code, 0, out.stderr);
  const done = doneLog(out.stderr);
  const kafka = await testKafka();
  const names = topicNames(prefix);
  const sent = await readTopic(kafka, names.transactions);

  // Every line read, rejected ones included, exactly once.
  assert.equal(sent.length, lines.length);
  assert.equal(done.sent, lines.length);
  assert.deepEqual(multiset(sent.map((m) => m.value!.toString())), multiset(lines));
  assert.ok(
    done.rejected_sent > 0,
    "the dirty data has garbage lines, forwarded as the feed would",
  );
  assert.equal(done.rejected_sent, done.rejected_lines);

  // Keys: the cleaned customer id of the line; none for a line that does not parse. An origin
  // is given because partitions reorder the lines: a missing datetime is then always derivable.
  const tx = newTransaction();
  const state = new RowState(START);
  let repairedCustomers = 0;
  const timed: { ts: number; eventTimeMs: number }[] = [];
  for (const m of sent) {
    const value = new Uint8Array(m.value!);
    const good = parseRow(value, 0, value.length, tx, state) === null;
    assert.equal(m.key?.toString() ?? null, good ? String(tx.customerId) : null, `${m.value}`);
    if (!good) continue;
    if (state.flags & REPAIR_NEGATIVE_CUSTOMER) {
      repairedCustomers++;
      assert.match(m.value!.toString(), new RegExp(`^\\d+,[^,]*,-${tx.customerId},`));
    }
    timed.push({ ts: m.timestampMs, eventTimeMs: tx.eventTimeMs });
  }
  assert.ok(repairedCustomers > 0, "the data has negative customer ids, keyed by their abs");

  // The achieved rate is reported (its value is a benchmark's business, not a test's).
  assert.equal(done.target_rate, 2000);
  assert.ok(done.achieved_rate > 0, JSON.stringify(done));
  assert.ok(done.sending_s > 0);

  // Labels: each went out when the transactions already sent had reached its event time + 1d.
  // A label's timestamp is taken after the transactions that made it due were acknowledged, so
  // among the transactions stamped no later than the label is one at least that late.
  timed.sort((a, b) => a.ts - b.ts);
  const latestBy: number[] = [];
  for (const t of timed) latestBy.push(Math.max(t.eventTimeMs, latestBy.at(-1) ?? -Infinity));
  const records = await readTopic(kafka, names.labels);
  const labels = records.filter((m) => m.key?.toString() !== WATERMARK_KEY);
  assertWatermarksCover(records);
  for (const m of labels) {
    const label = decodeLabel(m.value!.toString())!;
    const stamp = m.timestampMs;
    let lo = 0;
    let hi = timed.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (timed[mid].ts <= stamp) lo = mid + 1;
      else hi = mid;
    }
    assert.ok(lo > 0, `label ${label.transactionId} before any transaction`);
    assert.ok(
      label.eventTimeMs + DAY <= latestBy[lo - 1],
      `label of ${label.transactionId} (${new Date(label.eventTimeMs).toISOString()}) published ` +
        `when the stream was at ${new Date(latestBy[lo - 1]).toISOString()}`,
    );
  }
  // And all of them, in send order: the good rows whose delay had passed by the last event time.
  const rows = await goodRows(files);
  const last = Date.parse(done.event_time);
  let due = 0;
  while (due < rows.length && rows[due].eventTimeMs + DAY <= last) due++;
  assert.ok(due > 0 && due < rows.length);
  assert.deepEqual(
    labels.map((m) => {
      const l = decodeLabel(m.value!.toString())!;
      return [l.transactionId, l.fraud];
    }),
    rows.slice(0, due).map((r) => [r.id, r.fraud]),
  );
  assert.equal(done.labels.published, due);
  assert.equal(done.labels.not_published, rows.length - due);
  assert.match(
    done.labels.note,
    new RegExp(`^${rows.length - due} labels were still inside their 1d delay .* not published$`),
  );
});

Deno.test({
  name: "produce: /stats and /metrics answer while sending; SIGTERM stops it cleanly",
  ...kafkaTest,
}, async () => {
  const prefix = await freshTopics("produce-stats");
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      new URL("../main.ts", import.meta.url).pathname,
      "produce",
      "--topic-prefix",
      prefix,
      "--rate",
      "50",
      "--http",
      "127.0.0.1:0",
      ...files,
    ],
    env: { FRAUDSTREAM_BROKERS: (await testBrokers()).join(",") },
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const log: string[] = [];
  let resolveUrl!: (url: string) => void;
  const started = new Promise<string>((r) => (resolveUrl = r));
  const reading = (async () => {
    let rest = "";
    for await (const chunk of child.stderr.pipeThrough(new TextDecoderStream())) {
      rest += chunk;
      const parts = rest.split("\n");
      rest = parts.pop()!;
      for (const line of parts) {
        log.push(line);
        if (line.includes('"event":"started"')) resolveUrl(JSON.parse(line).stats_url);
      }
    }
  })();
  const exited = child.status.then((s) => {
    throw new Error(`produce exited with ${s.code} before starting: ${log.join("\n")}`);
  });
  try {
    const url = await Promise.race([started, exited]);
    // deno-lint-ignore no-explicit-any
    const stats = (): Promise<any> => fetch(`${url}/stats`).then((r) => r.json());
    await waitFor("messages sent", async () => (await stats()).sent > 0);
    const s = await stats();
    assert.equal(s.role, "producer");
    assert.equal(s.topic, topicNames(prefix).transactions);
    assert.equal(s.target_rate, 50);
    assert.equal(s.done, false);
    assert.equal(s.reader.files, 1);
    assert.equal(typeof s.labels.pending, "number");
    const metrics = await fetch(`${url}/metrics`).then((r) => r.text());
    assert.match(metrics, /^fraudstream_producer_sent_total\{[^}]*\} \d+$/m);
    assert.match(metrics, /^fraudstream_producer_target_rate\{[^}]*\} 50$/m);
    const ready = await fetch(`${url}/readyz`);
    assert.equal(ready.status, 200, await ready.text());
  } finally {
    child.kill("SIGTERM");
  }
  exited.catch(() => {});
  assert.equal((await child.status).code, 0, log.join("\n"));
  await reading;
  const done = doneLog(log.join("\n"));
  assert.equal(done.why, "stopped");
  const inTopic = await readTopic(await testKafka(), topicNames(prefix).transactions);
  assert.equal(inTopic.length, done.sent);
});

const row = (id: number, amount = "70.91") =>
  `${id},2019-08-22 06:51:03,${id},711,${amount},24663,0,0,0`;

/** A directory with one file of each kind of bad input, in date order. */
async function badInputDir(): Promise<{ dir: string; path: (name: string) => string }> {
  const dir = await Deno.makeTempDir({ prefix: "fraudstream-bad-input-" });
  const path = (name: string) => join(dir, name);
  const day = (rows: string[], header = RETROSPECTIVE_HEADER) => [header, ...rows].join("\n");
  await Deno.writeTextFile(path("2019-08-20.txt"), day([row(1), row(2), row(3)]));
  await Deno.writeFile(path("2019-08-21.txt.gz"), encoder.encode(day([row(4)])));
  await Deno.writeTextFile(
    path("2019-08-22.txt"),
    day([row(5), "6,2019-08-22 06:51:03,6,711,70.91,24663,0,0", row(7, "abc"), row(8)]),
  );
  await Deno.writeTextFile(path("2019-08-23.txt"), day([row(9)], "id,when,amount"));
  await Deno.writeTextFile(path("2019-08-24.txt"), [row(10), row(11)].join("\n"));
  return { dir, path };
}

Deno.test({
  name: "produce with bad input: problems named with file:line, the run goes on",
  ...kafkaTest,
}, async () => {
  const { dir, path } = await badInputDir();
  try {
    const prefix = await freshTopics("produce-bad");
    const out = await produce(prefix, [dir]);
    assert.equal(out.code, 0, out.stderr);
    assert.deepEqual(logLines(out.stderr, "input_problem").map((l) => [l.kind, l.message]), [
      [
        "unreadable",
        `${path("2019-08-21.txt.gz")}: cannot read (gzip: incorrect header check); file skipped`,
      ],
      [
        "other_header",
        `${path("2019-08-23.txt")}:1: header names other columns than a day file's ` +
        `"id,when,amount"; file skipped`,
      ],
      [
        "no_header",
        `${path("2019-08-24.txt")}:1: no header line (the file starts with a row); ` +
        "read all the same",
      ],
    ]);
    const done = doneLog(out.stderr);
    assert.equal(done.why, "input finished");
    assert.equal(done.files_read, 5);
    assert.equal(done.files_skipped, 2);
    assert.equal(done.files_without_header, 1);
    assert.equal(done.rejected_lines, 2);
    assert.deepEqual(done.rejected_by, { bad_field_count: 1, bad_amount: 1 });
    assert.deepEqual(done.first_rejected, [
      `${path("2019-08-22.txt")}:3: 8 columns, expected 9`,
      `${path("2019-08-22.txt")}:4: tx_amount "abc" is not a non-negative decimal number`,
    ]);
    // Rejected lines still go (the agents' DLQ accounts for them); skipped files do not.
    assert.equal(done.sent, 3 + 4 + 2);
    const sent = await readTopic(await testKafka(), topicNames(prefix).transactions);
    assert.equal(sent.length, done.sent);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test({
  name: "produce --max-batch 25000: sends and label bursts past the broker's 1 MiB limit go out",
  ...kafkaTest,
}, async () => {
  // ~23k rows (~1.5 MB) in one send to one partition, and ~19k labels (~2.4 MB) falling due at
  // once after it: each was one record batch over message.max.bytes before sends were cut by
  // bytes.
  const bigDir = await Deno.makeTempDir({ prefix: "fraudstream-producer-big-" });
  try {
    const big = await generateData(bigDir, ["--customers", "2000", "--days", "6", "--seed", "9"]);
    const prefix = await freshTopics("produce-big", 1);
    const out = await produce(prefix, ["--max-batch", "25000", "--label-delay", "1d", ...big]);
    assert.equal(out.code, 0, out.stderr);
    const done = doneLog(out.stderr);
    assert.equal(done.sent, inputLines(big).length);
    assert.ok(done.labels.published > 10_000, JSON.stringify(done.labels));
    const admin = await (await testKafka()).admin();
    try {
      const count = async (topic: string) =>
        (await admin.partitionOffsets(topic)).reduce((n, p) => n + Number(p.latest), 0);
      assert.equal(await count(topicNames(prefix).transactions), done.sent);
      // Besides the labels, at most one watermark per day of event time (one partition).
      const watermarks = await count(topicNames(prefix).labels) - done.labels.published;
      assert.ok(watermarks >= 1 && watermarks <= 6, `${watermarks} watermarks`);
    } finally {
      await admin.close();
    }
  } finally {
    await Deno.remove(bigDir, { recursive: true });
  }
});

Deno.test({
  name: "produce --strict stops at the first bad file or line, with file:line and exit 1",
  ...kafkaTest,
}, async () => {
  const { dir, path } = await badInputDir();
  try {
    const prefix = await freshTopics("produce-strict");
    const out = await produce(prefix, ["--strict", dir]);
    assert.equal(out.code, 1, out.stderr);
    assert.equal(
      out.stderr.trim().split("\n").at(-1),
      `fraudstream: ${path("2019-08-21.txt.gz")}: cannot read (gzip: incorrect header check) ` +
        "(--strict)",
    );
    assert.equal(doneLog(out.stderr).sent, 3);

    // The lines before a bad line go; the bad line and everything after it do not.
    const rows = await produce(prefix, ["--strict", path("2019-08-22.txt")]);
    assert.equal(rows.code, 1, rows.stderr);
    assert.equal(
      rows.stderr.trim().split("\n").at(-1),
      `fraudstream: ${path("2019-08-22.txt")}:3: 8 columns, expected 9 (--strict)`,
    );
    const done = doneLog(rows.stderr);
    assert.equal(done.sent, 1);
    assert.match(done.why, /:3: 8 columns, expected 9 \(--strict\)$/);
    const sent = await readTopic(await testKafka(), topicNames(prefix).transactions);
    assert.deepEqual(sent.map((m: ReadMessage) => m.value!.toString()).sort(), [
      row(1),
      row(2),
      row(3),
      row(5),
    ]);

    const headerless = await produce(prefix, ["--strict", path("2019-08-24.txt")]);
    assert.equal(headerless.code, 1);
    assert.match(headerless.stderr, /2019-08-24\.txt:1: no header line .*\(--strict\)\n$/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("produce: a missing file or directory is one line and exit 1, before connecting", async () => {
  await withAbsentPath(async (absent) => {
    for (const input of [`${absent}/2019-08-22.txt`, `${absent}/days/`]) {
      // Port 9 (discard) has no broker: reaching the broker would fail differently and slowly.
      const out = await runCli(["produce", "--brokers", "127.0.0.1:9", "--http", "off", input]);
      assert.equal(out.code, 1, out.stderr);
      assert.equal(out.stderr, `fraudstream: no such file or directory: ${input}\n`);
    }
  });
});

globalThis.addEventListener("unload", () => Deno.removeSync(dataDir, { recursive: true }));

/**
 * The label watermark contract, per partition of the labels topic: a watermark follows every
 * label it covers (event time at or below it), and watermarks only move forward.
 */
function assertWatermarksCover(records: ReadMessage[]): void {
  const byPartition = new Map<number, ReadMessage[]>();
  for (const m of records) {
    byPartition.set(m.partition, [...(byPartition.get(m.partition) ?? []), m]);
  }
  let watermarks = 0;
  for (const [partition, messages] of byPartition) {
    messages.sort((a, b) => Number(a.offset) - Number(b.offset));
    let mark = -Infinity;
    for (const m of messages) {
      const r = decodeLabelMessage(m.value!.toString());
      assert.ok(r !== null, `partition ${partition}: ${m.value}`);
      if (r.kind === "watermark") {
        assert.ok(r.watermark.eventTimeMs > mark, "watermarks move forward");
        mark = r.watermark.eventTimeMs;
        watermarks++;
      } else {
        assert.ok(r.label.eventTimeMs > mark, `label ${r.label.transactionId} after its watermark`);
      }
    }
  }
  assert.ok(watermarks > 0, "the producer publishes label watermarks");
}
