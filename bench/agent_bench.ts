import { benchFlags } from "./bench_flags.ts";
import { createKafkaClient, type OutputRecord } from "../kafka/boundary.ts";
import { PredictionEncoder } from "../agent/prediction_records.ts";
import { DEFAULT_MODEL_PATH, loadOnnxModel } from "../agent/onnx_model.ts";
import { FeatureEngine } from "../features/feature_engine.ts";
import { FEATURE_COUNT } from "../features/feature_list.ts";
import { readFeatureMatrix } from "../features/feature_matrix.ts";
import { startLocalFleet } from "../capacity/agent_fleet.ts";
import { readGroupPosition } from "../capacity/lag_sampler.ts";
import { selfCommand } from "../capacity/self_command.ts";
import { fraudstreamExecutable } from "../cli/compiled_executable.ts";
import { processCpuSeconds } from "./process_cpu.ts";
import { ROOT } from "../deploy/compile.ts";
import { ensureToolchain, hostTarget, TOOLCHAIN_DENO_VERSION } from "../deploy/toolchain.ts";
import { ensureTopics, topicNames } from "../kafka/topics.ts";
import { startLocalKafka } from "../kafka/local/local_kafka.ts";
import { type AgentStatsDocument, parseAgentStats } from "../agent/stats_document.ts";

/**
 * `deno task bench agent`: one scoring agent against the local broker.
 *
 * 1. A topic is preloaded with generated transactions (and their labels).
 * 2. Consume-only baseline: a bare consumer-group input (kafka/boundary.ts) reads it all,
 *    acknowledging every batch (coalesced commits, as the agent).
 * 3. End to end: one `fraudstream agent` process scores the same topic in a fresh group; its
 *    rate is measured from Kafka (committed offsets), from its first commit to the last.
 * 4. Produce-only: a bare output sends the same number of prediction records (the
 *    agent's encoder, its batch size and its sends in flight).
 * 5. ONNX alone: the shipped model scores the same transactions' features in batches of 4096.
 *    The agent consumes, scores and produces every message on one JS thread: if those three
 *    costs simply added up, rates C, P and M would give it a ratio of 1 / (1 + C/P + C/M) before
 *    any parsing or features (network waits overlap, so the agent can come out near it).
 * 6. Latency: a fresh topic fed at 400 tx/s by `fraudstream produce`; the agent's own
 *    end-to-end percentiles (prediction time minus the input message's timestamp).
 * 7. With `--binary PATH`: step 3 again, alternating the agent run from this checkout (under this
 *    Deno and under the pinned Deno the executable embeds) and the compiled executable, two
 *    rounds each on the same topic in fresh groups: their rates and the agent process's CPU per
 *    message (steadier than the rate on a shared machine), as ratios.
 * Everything runs side by side in one run on one machine, so the ratio is the figure to trust.
 */
const values = benchFlags({
  customers: { type: "string", default: "5000" },
  terminals: { type: "string", default: "10000" },
  days: { type: "string", default: "30" },
  partitions: { type: "string", default: "6" },
  "latency-rate": { type: "string", default: "400" },
  "latency-seconds": { type: "string", default: "30" },
  "agent-args": { type: "string", default: "" },
  binary: { type: "string" },
});
let binary: string | undefined;
try {
  binary = values.binary === undefined ? undefined : await fraudstreamExecutable(values.binary);
} catch (err) {
  console.error(`bench: ${(err as Error).message}`);
  Deno.exit(1);
}

const external = Deno.env.get("FRAUDSTREAM_BROKERS");
const local = external ? undefined : await startLocalKafka();
const brokers = external ?? local!.brokers.join(",");
const kafka = await createKafkaClient({
  brokers: brokers.split(","),
  clientId: "bench",
  securityProtocol: "plaintext",
  connectTimeoutMs: 10_000,
});
const work = await Deno.makeTempDir({ prefix: "fraudstream-bench-agent-" });
const run = crypto.randomUUID().slice(0, 8);
const [cmd, ...prefixArgs] = selfCommand();

async function fraudstream(args: string[]): Promise<string> {
  const out = await new Deno.Command(cmd, {
    args: [...prefixArgs, ...args],
    env: { FRAUDSTREAM_BROKERS: brokers },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(out.stderr) + new TextDecoder().decode(out.stdout);
  if (!out.success) throw new Error(`fraudstream ${args[0]} failed: ${text}`);
  return text;
}

async function freshTopics(name: string): Promise<string> {
  const prefix = `bench.${run}.${name}.`;
  const admin = await kafka.admin();
  await ensureTopics(admin, topicNames(prefix), {
    partitions: Number(values.partitions),
    replicationFactor: 1,
  });
  await admin.close();
  return prefix;
}

async function consumeOnly(topic: string, total: number): Promise<number> {
  const input = kafka.input({
    group: `bench-consume-only-${run}`,
    topic,
    start: "earliest",
    commit: "coalesced",
    maxBytes: 8 << 20,
    maxWaitMs: 1000,
  });
  let seen = 0;
  let first = 0;
  let resolve!: (ms: number) => void;
  const done = new Promise<number>((r) => (resolve = r));
  await input.start((batch, control) => {
    if (first === 0) first = performance.now();
    seen += batch.length;
    control.ack(batch.offset(batch.length - 1) + 1n);
    if (seen >= total) resolve(performance.now() - first);
    return Promise.resolve();
  });
  const ms = await done;
  await input.stop();
  return (total / ms) * 1000;
}

/** ONNX Runtime alone on the features of the generated data, batches of 4096, in this process. */
async function onnxOnly(dataDir: string): Promise<number> {
  const matrixPath = `${work}/matrix.bin`;
  await fraudstream(["features", "--out", matrixPath, dataDir]);
  const { features, meta } = await readFeatureMatrix(matrixPath);
  const model = await loadOnnxModel(DEFAULT_MODEL_PATH, new FeatureEngine());
  const batch = 4096;
  const out = new Float32Array(batch);
  await model.scoreBatch(features, batch, out);
  let rows = 0;
  const started = performance.now();
  for (let first = 0; first + batch <= meta.length; first += batch) {
    await model.scoreBatch(features.subarray(first * FEATURE_COUNT), batch, out);
    rows += batch;
  }
  const ms = performance.now() - started;
  await model.release();
  return (rows / ms) * 1000;
}

async function produceOnly(topic: string, total: number): Promise<number> {
  const perSend = 4096;
  const inFlight = 4;
  const encoder = new PredictionEncoder("fraudstream-fraud", "bench", 0.42);
  const batches: OutputRecord[][] = [];
  for (let first = 0; first < total; first += perSend) {
    const rows = Math.min(perSend, total - first);
    const ids = Float64Array.from({ length: rows }, (_, r) => first + r);
    batches.push(encoder.encode({
      transactionIds: ids,
      customerIds: ids.map((id) => id % 5000),
      scores: Float32Array.from(ids, (id) => (id % 997) / 997),
      eventTimesMs: ids.map((id) => Date.UTC(2018, 3, 1) + id * 9_000),
      latenciesMs: ids.map((id) => id % 50),
      labelsComplete: new Uint8Array(rows).fill(1),
    }, rows));
  }
  const output = await kafka.output();
  const started = performance.now();
  let next = 0;
  const sender = async () => {
    while (next < batches.length) await output.send([{ topic, records: batches[next++] }]);
  };
  await Promise.all(Array.from({ length: inFlight }, sender));
  const ms = performance.now() - started;
  await output.close();
  return (total / ms) * 1000;
}

/**
 * Step 7: the agent from this checkout under the developer's Deno, under the pinned Deno the
 * executable embeds (so that compiling and the runtime version can be told apart), and the
 * executable, alternated in two rounds on the same preloaded topic.
 */
async function compareWithBinary(prefix: string, total: number, binary: string): Promise<void> {
  const toolchain = await ensureToolchain(hostTarget(), "auto", `${ROOT}.cache`);
  const main = new URL("../main.ts", import.meta.url).pathname;
  const variants = [
    { label: `deno run, Deno ${Deno.version.deno}`, command: undefined },
    {
      label: `deno run, Deno ${TOOLCHAIN_DENO_VERSION}`,
      // env execs the deno, so the measured pid is the agent's.
      command: [
        "env",
        `DENO_DIR=${toolchain.denoDir}`,
        toolchain.deno,
        "run",
        "--frozen",
        "-A",
        main,
      ],
    },
    { label: `compiled (Deno ${TOOLCHAIN_DENO_VERSION})`, command: [binary] },
  ];
  const rates = variants.map((): number[] => []);
  const cpus = variants.map((): number[] => []);
  const width = Math.max(...variants.map((v) => v.label.length));
  console.log(`the agent from this checkout vs ${binary}, alternated:`);
  for (let round = 1; round <= 2; round++) {
    for (const [i, variant] of variants.entries()) {
      const group = `bench-agent-${run}-${i}-${round}`;
      const { rate, cpuMicrosPerTx } = await agentEndToEnd(prefix, total, group, variant.command);
      rates[i].push(rate);
      cpus[i].push(cpuMicrosPerTx);
      console.log(
        `  round ${round}, ${variant.label.padEnd(width)}: ${Math.round(rate)} tx/s, ${
          cpuMicrosPerTx.toFixed(2)
        } µs of agent CPU per tx`,
      );
    }
  }
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  const binaryAt = variants.length - 1;
  for (const i of [0, 1]) {
    console.log(
      `ratio compiled / ${variants[i].label} (mean of 2 rounds each): tx/s ${
        (mean(rates[binaryAt]) / mean(rates[i])).toFixed(2)
      }, tx per CPU second ${(mean(cpus[i]) / mean(cpus[binaryAt])).toFixed(2)}`,
    );
  }
}

/** One agent process in a fresh group on the prefix's topics, ready to score. */
function startOneAgent(prefix: string, group: string, command?: string[]) {
  return startLocalFleet({
    command,
    count: 1,
    group,
    topicPrefix: prefix,
    connectionArgs: ["--brokers", brokers],
    agentArgs: values["agent-args"]!.split(" ").filter(Boolean),
    instancePrefix: group,
    readyTimeoutMs: 120_000,
  });
}

async function agentEndToEnd(
  prefix: string,
  total: number,
  group: string,
  command?: string[],
): Promise<{ rate: number; cpuMicrosPerTx: number; stats: AgentStatsDocument }> {
  const fleet = await startOneAgent(prefix, group, command);
  const pid = fleet.pids[0];
  const admin = await kafka.admin();
  try {
    const topic = topicNames(prefix).transactions;
    let start: { atMs: number; committed: number; cpu: number } | undefined;
    let last = await readGroupPosition(admin, group, topic);
    while (last.committed < total) {
      await new Promise((r) => setTimeout(r, 100));
      last = await readGroupPosition(admin, group, topic);
      if (!start && last.committed > 0) start = { ...last, cpu: processCpuSeconds(pid) };
    }
    const cpu = processCpuSeconds(pid) - start!.cpu;
    const stats = await fetch(`${fleet.urls[0]}/stats`).then((r) => r.json()).then(parseAgentStats);
    const scored = last.committed - start!.committed;
    return {
      rate: (scored / (last.atMs - start!.atMs)) * 1000,
      cpuMicrosPerTx: (cpu * 1e6) / scored,
      stats,
    };
  } finally {
    await admin.close();
    await fleet.stop();
  }
}

async function latencyAtRate(files: string, rate: number, seconds: number) {
  const prefix = await freshTopics("latency");
  const fleet = await startOneAgent(prefix, `bench-latency-${run}`);
  try {
    await fraudstream([
      "produce",
      "--topic-prefix",
      prefix,
      "--http",
      "off",
      "--rate",
      String(rate),
      "--limit",
      String(rate * seconds),
      files,
    ]);
    await new Promise((r) => setTimeout(r, 2000));
    return await fetch(`${fleet.urls[0]}/stats`).then((r) => r.json()).then(parseAgentStats);
  } finally {
    await fleet.stop();
  }
}

try {
  console.log(
    `agent benchmark: brokers ${brokers}${local ? " (local, started for this run)" : ""}`,
  );
  await fraudstream([
    "generate",
    "--out",
    `${work}/data`,
    "--customers",
    values.customers!,
    "--terminals",
    values.terminals!,
    "--days",
    values.days!,
  ]);
  const prefix = await freshTopics("throughput");
  const produced = await fraudstream([
    "produce",
    "--topic-prefix",
    prefix,
    "--http",
    "off",
    `${work}/data`,
  ]);
  const done = JSON.parse(produced.split("\n").find((l) => l.includes('"event":"done"'))!);
  const total: number = done.sent;
  console.log(
    `preloaded ${total} transactions (${values.days} days, ${values.customers} customers) into ${values.partitions} partitions`,
  );

  const baseline = await consumeOnly(topicNames(prefix).transactions, total);
  console.log(`${kafka.kind} consume-only (commit per batch): ${Math.round(baseline)} tx/s`);
  const produceRate = await produceOnly(
    topicNames(await freshTopics("produce-only")).predictions,
    total,
  );
  console.log(
    `${kafka.kind} produce-only (prediction records, 4096 per send, 4 in flight, acks=all): ${
      Math.round(produceRate)
    } msg/s`,
  );
  const onnxRate = await onnxOnly(`${work}/data`);
  console.log(
    `ONNX alone (shipped model, batches of 4096, same data): ${Math.round(onnxRate)} rows/s`,
  );
  console.log(
    `  ratio if consuming, scoring and producing each message added up on one JS thread: ${
      (1 / (1 + baseline / produceRate + baseline / onnxRate)).toFixed(2)
    }`,
  );
  const e2e = await agentEndToEnd(prefix, total, `bench-agent-${run}`);
  console.log(
    `agent end to end (parse, features, ONNX, produce, commit): ${Math.round(e2e.rate)} tx/s`,
  );
  console.log(`ratio agent / consume-only: ${(e2e.rate / baseline).toFixed(2)}`);
  const batch = e2e.stats.batch as {
    size: { mean: number };
    latency_ms: { p50: number; p99: number };
  };
  console.log(
    `  agent batches: mean ${
      Math.round(batch.size.mean)
    } rows, p50 ${batch.latency_ms.p50} ms, p99 ${batch.latency_ms.p99} ms`,
  );

  const rate = Number(values["latency-rate"]);
  const lat = await latencyAtRate(`${work}/data`, rate, Number(values["latency-seconds"]));
  const e = lat.e2e_latency_ms as {
    count: number;
    p50: number;
    p95: number;
    p99: number;
    max: number;
  };
  console.log(
    `end-to-end latency at ${rate} tx/s paced input (${e.count} transactions): p50 ${e.p50} ms, p95 ${e.p95} ms, p99 ${e.p99} ms, max ${e.max} ms`,
  );

  if (binary) await compareWithBinary(prefix, total, binary);
} finally {
  await Deno.remove(work, { recursive: true }).catch(() => {});
  await local?.stop();
}
Deno.exit(0);
