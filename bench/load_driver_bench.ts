/**
 * The capacity planner's load driver against a real broker: the CPU it spends per transaction
 * sent (its label published too), flat out and at given rates. On a machine that also runs the
 * agents and the broker, this is what the driver takes from them at the rate a knee needs.
 *
 *   deno task bench load-driver [--seconds 15] [--rates 20000,60000] [--client kafkajs|platformatic]
 *
 * The data is capacity's own (3 generated days, looped: from the second pass every value is a
 * shifted line written by the driver). Uses FRAUDSTREAM_BROKERS when set, else starts a local
 * broker for the run. Prints figures only; nothing here asserts timings.
 */
import { benchFlags } from "./bench_flags.ts";
import { processCpuSeconds } from "./process_cpu.ts";
import { startLocalKafka } from "../kafka/local/local_kafka.ts";
import { createKafkaClient, type KafkaClientKind } from "../kafka/boundary.ts";
import { ensureTopics, topicNames } from "../kafka/topics.ts";
import { LoadDriver } from "../capacity/load_driver.ts";
import { DataSetGenerator, DEFAULT_DIRT } from "../producer/generator.ts";
import { writeDataSet } from "../producer/generate_command.ts";

const values = benchFlags({
  seconds: { type: "string", default: "15" },
  rates: { type: "string", default: "20000,60000" },
  client: { type: "string", default: "kafkajs" },
});
const seconds = Number(values.seconds);
const rates = values.rates.split(",").map(Number);
const WARMUP_MS = 5000;

const external = Deno.env.get("FRAUDSTREAM_BROKERS");
const local = external ? undefined : await startLocalKafka();
const brokers = external ? external.split(",") : local!.brokers;
const kafka = await createKafkaClient({
  brokers,
  clientId: "fraudstream-load-driver-bench",
  securityProtocol: "plaintext",
  connectTimeoutMs: 10_000,
  client: values.client as KafkaClientKind,
});
const dir = await Deno.makeTempDir({ prefix: "fraudstream-load-driver-bench-" });
try {
  const gen = new DataSetGenerator({
    customers: 5000,
    terminals: 10_000,
    days: 3,
    startMs: Date.UTC(2018, 3, 1),
    seed: 1,
    dirt: DEFAULT_DIRT,
  });
  const files = await writeDataSet(gen, dir, false);
  console.log(
    `load driver bench: broker ${brokers.join(",")}${
      local ? " (local, started for the bench)" : ""
    }` +
      `, ${kafka.kind}, ${gen.counts.rows} rows looped, labels 7d, ${seconds} s per rate after ` +
      `${
        WARMUP_MS / 1000
      } s warm-up (Deno ${Deno.version.deno}, ${navigator.hardwareConcurrency} cpus)`,
  );
  console.log("  asked        sent tx/s   labels/s   driver cores   CPU µs per tx");
  for (const rate of [null, ...rates]) {
    const prefix = `bench.driver.${crypto.randomUUID().slice(0, 8)}.`;
    const topics = topicNames(prefix);
    const admin = await kafka.admin();
    await ensureTopics(admin, topics, { partitions: 6, replicationFactor: 1 });
    const driver = new LoadDriver(kafka, { topics, files, labelDelayMs: 7 * 86_400_000 });
    await driver.connect();
    try {
      await driver.run(rate, { durationMs: WARMUP_MS });
      const cpu0 = processCpuSeconds(Deno.pid);
      const sent0 = driver.sent;
      const labels0 = driver.labelsPublished;
      const run = await driver.run(rate, { durationMs: seconds * 1000 });
      const cpu = processCpuSeconds(Deno.pid) - cpu0;
      const labels = driver.labelsPublished - labels0;
      const sent = driver.sent - sent0;
      console.log(
        `  ${(rate === null ? "flat out" : String(rate)).padEnd(10)} ${
          fmt(sent / run.seconds).padStart(11)
        } ${fmt(labels / run.seconds).padStart(10)} ${
          (cpu / run.seconds).toFixed(2).padStart(14)
        } ${(cpu / sent * 1e6).toFixed(2).padStart(15)}`,
      );
    } finally {
      await driver.close();
      await admin.deleteTopics(Object.values(topics)).catch(() => {});
      await admin.close();
    }
  }
} finally {
  await Deno.remove(dir, { recursive: true });
  await local?.stop();
}

function fmt(n: number): string {
  return Math.round(n).toLocaleString("en-US");
}
