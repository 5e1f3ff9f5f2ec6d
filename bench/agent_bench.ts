import { benchFlags } from "./bench_flags.ts";
import {
  createKafkaClient,
  KAFKA_CLIENT_KINDS,
  type KafkaClient,
  type KafkaClientKind,
  type OutputRecord,
} from "../kafka/boundary.ts";
import { PredictionEncoder } from "../agent/prediction_records.ts";
import { DEFAULT_MODEL_PATH, loadOnnxModel } from "../agent/onnx_model.ts";
import { FeatureEngine } from "../features/feature_engine.ts";
import { FEATURE_COUNT } from "../features/feature_list.ts";
import { readFeatureMatrix } from "../features/feature_matrix.ts";
import { type LocalFleet, startLocalFleet } from "../capacity/agent_fleet.ts";
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
 *    acknowledging every batch (coalesced commits, as the agent), three times in fresh groups.
 * 3. End to end: one `fraudstream agent` process scores the same topic in a fresh group; its
 *    rate is measured from Kafka (committed offsets), from its first commit to the last.
 * 4. Produce-only: a bare output sends the same number of prediction records (the
 *    agent's encoder, its batch size and its sends in flight).
 * 5. ONNX alone: the shipped model scores the same transactions' features in batches of 4096.
 *    The agent consumes, scores and produces every message on one JS thread: if those three
 *    costs simply added up, rates C, P and M would give it a ratio of 1 / (1 + C/P + C/M) before
 *    any parsing or features (network waits overlap, so the agent can come out near it).
 *    Step 3 runs again with `--model-worker`: the model's runs move to a Worker thread, where
 *    they overlap the rest on a second core, so that agent can pass the bound.
 * 6. Latency: a fresh topic fed at 400 tx/s by `fraudstream produce`; the agent's own
 *    end-to-end percentiles (prediction time minus the input message's timestamp).
 * 7. Rebalance pause: a fresh topic fed at --rebalance-rate tx/s; a second and a third agent
 *    join, then the first leaves (SIGTERM). For each event, the longest time the group's
 *    committed offsets did not move: how long the group scored nothing (eager rebalancing with
 *    kafkajs stops every member; cooperative-sticky with @platformatic/kafka only the partitions
 *    that move, though the agent still rebuilds its state on any assignment change).
 * Steps 2 to 4 and 6 and 7 run once per client of --clients (default both), steps 2 to 4 in two
 * rounds alternating the clients; step 3 also exactly-once; every figure is printed with the
 * ratio platformatic / kafkajs.
 * 8. With `--binary PATH`: step 3 again, alternating the agent run from this checkout (under this
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
  clients: { type: "string", default: KAFKA_CLIENT_KINDS.join(",") },
  "rebalance-rate": { type: "string", default: "2000" },
  binary: { type: "string" },
});
let binary: string | undefined;
try {
  binary = values.binary === undefined ? undefined : await fraudstreamExecutable(values.binary);
} catch (err) {
  console.error(`bench: ${(err as Error).message}`);
  Deno.exit(1);
}

const kinds = values.clients!.split(",") as KafkaClientKind[];
if (kinds.length === 0 || kinds.some((k) => !KAFKA_CLIENT_KINDS.includes(k))) {
  console.error(`bench: --clients ${values.clients}: expected ${KAFKA_CLIENT_KINDS.join(",")}`);
  Deno.exit(2);
}

const external = Deno.env.get("FRAUDSTREAM_BROKERS");
const local = external ? undefined : await startLocalKafka();
const brokers = external ?? local!.brokers.join(",");
const clients = new Map<KafkaClientKind, KafkaClient>();
for (const client of kinds) {
  clients.set(
    client,
    await createKafkaClient({
      brokers: brokers.split(","),
      clientId: "bench",
      securityProtocol: "plaintext",
      connectTimeoutMs: 10_000,
      client,
    }),
  );
}
/** Topics and group positions are read with the first client; the figures are per client. */
const kafka = clients.get(kinds[0])!;
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

/**
 * Passes of the consume-only baseline over the topic. It reads the 289,040-record topic in about a
 * tenth of a second, so a single pass varied twofold between rounds; the rate is the passes'
 * records over their summed time.
 */
const CONSUME_PASSES = 3;

async function consumeOnly(client: KafkaClient, topic: string, total: number): Promise<number> {
  let ms = 0;
  for (let pass = 0; pass < CONSUME_PASSES; pass++) ms += await consumePass(client, topic, total);
  return (CONSUME_PASSES * total / ms) * 1000;
}

/** One bare consumer-group read of the whole topic in a fresh group; ms from its first batch. */
async function consumePass(client: KafkaClient, topic: string, total: number): Promise<number> {
  const input = client.input({
    group: `bench-consume-only-${client.kind}-${crypto.randomUUID().slice(0, 8)}`,
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
  return ms;
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

async function produceOnly(client: KafkaClient, topic: string, total: number): Promise<number> {
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
  const output = await client.output();
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

/** One agent process in the group on the prefix's topics, ready to score. */
function startOneAgent(
  prefix: string,
  group: string,
  command?: string[],
  args: string[] = [],
  instance = group,
) {
  return startLocalFleet({
    command,
    count: 1,
    group,
    topicPrefix: prefix,
    connectionArgs: ["--brokers", brokers],
    agentArgs: [...values["agent-args"]!.split(" ").filter(Boolean), ...args],
    instancePrefix: instance,
    readyTimeoutMs: 120_000,
  });
}

async function agentEndToEnd(
  prefix: string,
  total: number,
  group: string,
  command?: string[],
  args: string[] = [],
): Promise<{ rate: number; cpuMicrosPerTx: number; stats: AgentStatsDocument }> {
  const fleet = await startOneAgent(prefix, group, command, args);
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

async function latencyAtRate(kind: string, files: string, rate: number, seconds: number) {
  const prefix = await freshTopics(`latency-${kind}`);
  const fleet = await startOneAgent(prefix, `bench-latency-${kind}-${run}`, undefined, [
    "--kafka-client",
    kind,
  ]);
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

/**
 * Step 7 for one client: the longest stretch without the group's committed offsets moving, after
 * a second and a third agent join and after the first leaves, with the input fed at a fixed rate
 * the agents keep up with. The quiet window before the first event is the noise floor (commits
 * are sampled every 100 ms).
 */
async function rebalancePauses(kind: KafkaClientKind, files: string) {
  const prefix = await freshTopics(`rebalance-${kind}`);
  const group = `bench-rebalance-${kind}-${run}`;
  const topic = topicNames(prefix).transactions;
  const rate = Number(values["rebalance-rate"]);
  const settleMs = 12_000;
  const args = ["--kafka-client", kind];
  const producing = fraudstream([
    "produce",
    "--topic-prefix",
    prefix,
    "--http",
    "off",
    "--rate",
    String(rate),
    "--limit",
    String(rate * 90),
    files,
  ]);
  const admin = await kafka.admin();
  const samples: { atMs: number; committed: number }[] = [];
  let sampling = true;
  const sampler = (async () => {
    while (sampling) {
      const p = await readGroupPosition(admin, group, topic);
      samples.push({ atMs: p.atMs, committed: p.committed });
      await new Promise((r) => setTimeout(r, 100));
    }
  })();
  const fleets: LocalFleet[] = [];
  const events: { event: string; atMs: number }[] = [];
  const join = (i: number) =>
    startOneAgent(prefix, group, undefined, args, `${group}-${i}`).then((f) => fleets.push(f));
  try {
    await join(1);
    await new Promise((r) => setTimeout(r, settleMs));
    events.push({ event: "quiet (one agent, no event)", atMs: Date.now() - settleMs / 2 });
    events.push({ event: "a 2nd agent joins", atMs: Date.now() });
    await join(2);
    await new Promise((r) => setTimeout(r, settleMs));
    events.push({ event: "a 3rd agent joins", atMs: Date.now() });
    await join(3);
    await new Promise((r) => setTimeout(r, settleMs));
    events.push({ event: "the 1st agent leaves", atMs: Date.now() });
    await fleets[0].stop();
    await new Promise((r) => setTimeout(r, settleMs));
    events.push({ event: "end", atMs: Date.now() });
  } finally {
    sampling = false;
    await sampler;
    await admin.close();
    await Promise.all(fleets.slice(1).map((f) => f.stop()));
    await producing.catch(() => {});
  }
  const pauses: { event: string; pauseMs: number }[] = [];
  for (let e = 0; e + 1 < events.length; e++) {
    const from = events[e].atMs;
    const to = e === 0 ? from + settleMs / 2 : events[e + 1].atMs;
    const window = samples.filter((x) => x.atMs >= from && x.atMs <= to);
    let longest = 0;
    let since = window[0]?.atMs ?? from;
    for (let k = 1; k < window.length; k++) {
      if (window[k].committed !== window[k - 1].committed) since = window[k].atMs;
      else longest = Math.max(longest, window[k].atMs - since);
    }
    pauses.push({ event: events[e].event, pauseMs: longest });
  }
  return pauses;
}

const loadavg = () => Deno.loadavg().map((l) => l.toFixed(2)).join(" ");
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
/** Each client's figure, and platformatic / kafkajs when both ran. */
function report(what: string, unit: string, byKind: Map<KafkaClientKind, number[]>, digits = 0) {
  const parts = kinds.map((k) => `${k} ${mean(byKind.get(k)!).toFixed(digits)} ${unit}`);
  const ratio = byKind.has("kafkajs") && byKind.has("platformatic")
    ? `  ratio platformatic/kafkajs ${
      (mean(byKind.get("platformatic")!) / mean(byKind.get("kafkajs")!)).toFixed(2)
    }`
    : "";
  console.log(`${what}: ${parts.join(", ")}${ratio}`);
}

try {
  console.log(
    `agent benchmark: brokers ${brokers}${local ? " (local, started for this run)" : ""}; clients ${
      kinds.join(", ")
    }; load ${loadavg()}`,
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
  const onnxRate = await onnxOnly(`${work}/data`);
  console.log(
    `ONNX alone (shipped model, batches of 4096, same data): ${Math.round(onnxRate)} rows/s`,
  );

  const figure = () => new Map<KafkaClientKind, number[]>(kinds.map((k) => [k, []]));
  const consume = figure(), produce = figure(), bound = figure();
  const agentRate = figure(), agentCpu = figure(), eosRate = figure(), eosCpu = figure();
  const workerRate = figure(), workerCpu = figure();
  for (let round = 1; round <= 2; round++) {
    for (const kind of kinds) {
      const client = clients.get(kind)!;
      const c = await consumeOnly(client, topicNames(prefix).transactions, total);
      const p = await produceOnly(
        client,
        topicNames(await freshTopics(`produce-only-${kind}-${round}`)).predictions,
        total,
      );
      const args = ["--kafka-client", kind];
      const alo = await agentEndToEnd(
        prefix,
        total,
        `bench-agent-${kind}-${round}-${run}`,
        undefined,
        args,
      );
      const worker = await agentEndToEnd(
        prefix,
        total,
        `bench-agent-worker-${kind}-${round}-${run}`,
        undefined,
        [...args, "--model-worker"],
      );
      const eos = await agentEndToEnd(
        prefix,
        total,
        `bench-agent-eos-${kind}-${round}-${run}`,
        undefined,
        [...args, "--exactly-once"],
      );
      consume.get(kind)!.push(c);
      produce.get(kind)!.push(p);
      bound.get(kind)!.push(1 / (1 + c / p + c / onnxRate));
      agentRate.get(kind)!.push(alo.rate);
      agentCpu.get(kind)!.push(alo.cpuMicrosPerTx);
      workerRate.get(kind)!.push(worker.rate);
      workerCpu.get(kind)!.push(worker.cpuMicrosPerTx);
      eosRate.get(kind)!.push(eos.rate);
      eosCpu.get(kind)!.push(eos.cpuMicrosPerTx);
      const batch = alo.stats.batch as { size: { mean: number } };
      console.log(
        `  round ${round}, ${kind}: consume-only ${Math.round(c)} tx/s, produce-only ${
          Math.round(p)
        } msg/s, agent ${Math.round(alo.rate)} tx/s at ${
          alo.cpuMicrosPerTx.toFixed(2)
        } µs CPU/tx (mean batch ${Math.round(batch.size.mean)} rows), --model-worker ${
          Math.round(worker.rate)
        } tx/s at ${worker.cpuMicrosPerTx.toFixed(2)} µs CPU/tx, exactly-once ${
          Math.round(eos.rate)
        } tx/s at ${eos.cpuMicrosPerTx.toFixed(2)} µs CPU/tx; load ${loadavg()}`,
      );
    }
  }
  console.log(`means of 2 rounds, clients alternated (load ${loadavg()}):`);
  report("consume-only (commit per batch)", "tx/s", consume);
  report(
    "produce-only (prediction records, 4096 per send, 4 in flight, acks=all)",
    "msg/s",
    produce,
  );
  report("composition bound 1 / (1 + C/P + C/M)", "x consume-only", bound, 2);
  report("agent end to end (parse, features, ONNX, produce, commit)", "tx/s", agentRate);
  report("agent CPU per transaction (/proc utime+stime)", "µs", agentCpu, 2);
  report("agent --model-worker end to end", "tx/s", workerRate);
  report("agent --model-worker CPU per transaction", "µs", workerCpu, 2);
  report("agent exactly-once end to end", "tx/s", eosRate);
  report("agent exactly-once CPU per transaction", "µs", eosCpu, 2);
  for (const kind of kinds) {
    const ratio = mean(agentRate.get(kind)!) / mean(consume.get(kind)!);
    const workerRatio = mean(workerRate.get(kind)!) / mean(consume.get(kind)!);
    const b = mean(bound.get(kind)!);
    console.log(
      `  ${kind}: agent / consume-only ${ratio.toFixed(2)}, agent / composition bound ${
        (ratio / b).toFixed(2)
      }; --model-worker: ${workerRatio.toFixed(2)}, ${(workerRatio / b).toFixed(2)}`,
    );
  }

  const rate = Number(values["latency-rate"]);
  for (const kind of kinds) {
    const lat = await latencyAtRate(kind, `${work}/data`, rate, Number(values["latency-seconds"]));
    const e = lat.e2e_latency_ms as { count: number; p50: number; p99: number; max: number };
    console.log(
      `${kind}: end-to-end latency at ${rate} tx/s paced input (${e.count} transactions): p50 ${e.p50} ms, p99 ${e.p99} ms, max ${e.max} ms`,
    );
  }

  const pauses = new Map<string, Map<KafkaClientKind, number[]>>();
  for (const kind of kinds) {
    for (const { event, pauseMs } of await rebalancePauses(kind, `${work}/data`)) {
      if (!pauses.has(event)) pauses.set(event, figure());
      pauses.get(event)!.get(kind)!.push(pauseMs / 1000);
    }
  }
  console.log(
    `rebalance pause at ${
      values["rebalance-rate"]
    } tx/s (longest time the group's committed offsets stood still; load ${loadavg()}):`,
  );
  for (const [event, byKind] of pauses) report(`  ${event}`, "s", byKind, 1);

  if (binary) await compareWithBinary(prefix, total, binary);
} finally {
  await Deno.remove(work, { recursive: true }).catch(() => {});
  await local?.stop();
}
Deno.exit(0);
