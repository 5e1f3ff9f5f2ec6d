/**
 * The producer against a real broker: its highest sustained send rate (no --rate, a data set
 * generated beforehand so that the files sit in the page cache), and its pacing error at given
 * rates, measured from the message timestamps in the topic (CreateTime = the producer's send
 * time) and from the producer's own counters (its done log's achieved_rate).
 *
 *   deno task bench producer [--seconds 15] [--rates 50,400,5000] [--days 60] [--partitions 6]
 *
 * Uses FRAUDSTREAM_BROKERS when set, else starts a local broker for the run. Prints figures
 * only; nothing here asserts timings.
 */
import { benchFlags } from "./bench_flags.ts";
import { startLocalKafka } from "../kafka/local/local_kafka.ts";
import { createKafkaClient, type KafkaClient } from "../kafka/boundary.ts";
import { ensureTopics, topicNames } from "../kafka/topics.ts";
import { DataSetGenerator, DEFAULT_DIRT } from "../producer/generator.ts";
import { writeDataSet } from "../producer/generate_command.ts";

const values = benchFlags({
  seconds: { type: "string", default: "15" },
  rates: { type: "string", default: "50,400,5000" },
  days: { type: "string", default: "60" },
  partitions: { type: "string", default: "6" },
});
const seconds = Number(values.seconds);
const rates = values.rates.split(",").map(Number);
const partitions = Number(values.partitions);
const MAIN = new URL("../main.ts", import.meta.url).pathname;

const external = Deno.env.get("FRAUDSTREAM_BROKERS");
const local = external ? undefined : await startLocalKafka();
const brokers = external ? external.split(",") : local!.brokers;
const kafka = await createKafkaClient({
  brokers,
  clientId: "fraudstream-producer-bench",
  securityProtocol: "plaintext",
  connectTimeoutMs: 10_000,
});
const dir = await Deno.makeTempDir({ prefix: "fraudstream-producer-bench-" });
try {
  const gen = new DataSetGenerator({
    customers: 5000,
    terminals: 10_000,
    days: Number(values.days),
    startMs: Date.UTC(2018, 3, 1),
    seed: 1,
    dirt: DEFAULT_DIRT,
  });
  const files = await writeDataSet(gen, dir, false);
  console.log(
    `producer bench: broker ${brokers.join(",")}${local ? " (local, started for the bench)" : ""}` +
      `, ${gen.counts.rows} rows in ${files.length} day files, ${partitions} partitions ` +
      `(Deno ${Deno.version.deno}, ${Deno.build.target}, ${navigator.hardwareConcurrency} cpus)`,
  );

  console.log("\nhighest sustained send rate (no --rate; producer's counters, acks=all):");
  for (const labels of [false, true]) {
    const prefix = await freshTopics(kafka, "max");
    const done = await produce(prefix, [...(labels ? [] : ["--no-labels"]), ...files]);
    const inTopic = await topicCount(kafka, topicNames(prefix).transactions);
    console.log(
      `  ${labels ? "with label feedback (7d)" : "--no-labels"}`.padEnd(30) +
        `${fmt(done.achieved_rate)} msg/s  (${done.sent} sent, ${inTopic} in the topic, ` +
        `${done.sending_s.toFixed(1)} s sending${
          labels ? `, ${done.labels.published} labels` : ""
        })`,
    );
    await deleteTopics(kafka, prefix);
  }

  console.log(
    `\npacing: --rate R --limit R*${seconds}; achieved = (messages after the first send) / ` +
      "(last - first send timestamp)",
  );
  console.log(
    "  asked     topic timestamps     error   producer counters   error   full seconds min..max",
  );
  for (const rate of rates) {
    const prefix = await freshTopics(kafka, `pace${rate}`);
    const done = await produce(prefix, [
      "--rate",
      String(rate),
      "--limit",
      String(Math.round(rate * seconds)),
      ...files,
    ]);
    const ts = await topicTimestamps(kafka, topicNames(prefix).transactions);
    const fromTopic = achievedFromTimestamps(ts);
    const range = secondsRange(ts);
    console.log(
      `  ${String(rate).padStart(5)}/s  ${fmt(fromTopic).padStart(12)} msg/s  ${
        pct(fromTopic, rate)
      }  ${fmt(done.achieved_rate).padStart(10)} msg/s  ${pct(done.achieved_rate, rate)}  ` +
        `${range.min}..${range.max} (${pct(range.min, rate).trim()}..${
          pct(range.max, rate).trim()
        })`,
    );
    await deleteTopics(kafka, prefix);
  }
} finally {
  await Deno.remove(dir, { recursive: true });
  await local?.stop();
}

async function freshTopics(kafka: KafkaClient, name: string): Promise<string> {
  const prefix = `bench.producer.${name}.${crypto.randomUUID().slice(0, 8)}.`;
  const admin = await kafka.admin();
  await ensureTopics(admin, topicNames(prefix), { partitions, replicationFactor: 1 });
  await admin.close();
  return prefix;
}

async function deleteTopics(kafka: KafkaClient, prefix: string): Promise<void> {
  const admin = await kafka.admin();
  await admin.deleteTopics(Object.values(topicNames(prefix))).catch(() => {});
  await admin.close();
}

/** Runs `fraudstream produce` as a user would; returns its done log line. */
async function produce(prefix: string, args: string[]) {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", MAIN, "produce", "--topic-prefix", prefix, "--http", "off", ...args],
    env: { FRAUDSTREAM_BROKERS: brokers.join(",") },
    stdout: "null",
    stderr: "piped",
  }).output();
  const log = new TextDecoder().decode(out.stderr);
  const done = log.split("\n").find((l) => l.includes('"event":"done"'));
  if (out.code !== 0 || !done) throw new Error(`produce failed (${out.code}): ${log}`);
  return JSON.parse(done);
}

async function topicCount(kafka: KafkaClient, topic: string): Promise<number> {
  const admin = await kafka.admin();
  const offsets = await admin.partitionOffsets(topic);
  await admin.close();
  return offsets.reduce((n, p) => n + Number(p.latest - p.earliest), 0);
}

/** Every message's timestamp (ms), read back to the topic's end. */
async function topicTimestamps(kafka: KafkaClient, topic: string): Promise<number[]> {
  const admin = await kafka.admin();
  const ends = new Map((await admin.partitionOffsets(topic)).map((p) => [p.partition, p.latest]));
  await admin.close();
  const out: number[] = [];
  await kafka.readHistory(topic, ends, (batch) => {
    for (let i = 0; i < batch.length; i++) out.push(batch.timestampMs(i));
  });
  return out.sort((a, b) => a - b);
}

/**
 * The first send goes at once with a slice's worth of tokens; after it the pacer adds tokens at
 * the asked rate, so counting from the first send's end gives the rate without that head start.
 */
function achievedFromTimestamps(ts: number[]): number {
  const first = ts[0];
  const afterFirst = ts.filter((t) => t > first).length;
  return afterFirst / ((ts[ts.length - 1] - first) / 1000);
}

/** Fewest and most messages in a full 1-s window from the first send (the first excluded). */
function secondsRange(ts: number[]): { min: number; max: number } {
  const first = ts[0];
  const windows = Math.floor((ts[ts.length - 1] - first) / 1000);
  const counts = new Array(windows).fill(0);
  for (const t of ts) {
    const w = Math.floor((t - first) / 1000);
    if (w < windows) counts[w]++;
  }
  // Window 0 holds the first send's head start: it says nothing about the steady pace.
  const steady = counts.slice(1);
  return { min: Math.min(...steady), max: Math.max(...steady) };
}

function fmt(x: number | null | undefined): string {
  return typeof x === "number" && Number.isFinite(x) ? x.toFixed(1) : "-";
}

function pct(x: number | null | undefined, of: number): string {
  if (typeof x !== "number" || !Number.isFinite(x)) return "    -  ";
  const e = 100 * (x - of) / of;
  return `${e >= 0 ? "+" : ""}${e.toFixed(2)}%`.padStart(7);
}
