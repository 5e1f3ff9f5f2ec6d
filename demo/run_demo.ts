import { parseArgs } from "node:util";
import { startLocalFleet } from "../capacity/agent_fleet.ts";
import { selfCommand } from "../capacity/self_command.ts";
import { fraudstreamExecutable } from "../cli/compiled_executable.ts";
import { createKafkaClient } from "../kafka/boundary.ts";
import { type LocalKafka, startLocalKafka } from "../kafka/local/local_kafka.ts";
import { topicNames } from "../kafka/topics.ts";
import { parseAgentStats } from "../agent/stats_document.ts";

/**
 * `deno task demo [--binary PATH]`: the whole story on the embedded defaults, as a user would run
 * it. A local Kafka broker (unless FRAUDSTREAM_BROKERS names one), a few days of generated
 * transactions, two scoring agents with the shipped model fed at the bank's holiday rate, their
 * stats, then the capacity planner: the real agent, and an agent slowed to a known capacity to
 * show the knee. Everything it started is stopped; only the capacity reports are kept.
 *
 * With --binary every fraudstream command, the agents and the planner's own agents run from that
 * compiled executable (e.g. an unpacked release) instead of from this checkout.
 * `deno task demo --vms` tells the operator's story on emulated VMs instead (demo/vms_demo.ts).
 */
if (Deno.args.includes("--vms")) Deno.exit(await (await import("./vms_demo.ts")).vmsDemo());

function demoFlags(): { binary?: string } {
  try {
    return parseArgs({ args: Deno.args, options: { binary: { type: "string" } }, strict: true })
      .values;
  } catch (err) {
    console.error(
      `demo: ${(err as Error).message.split("\n")[0]} (usage: deno task demo [--binary PATH])`,
    );
    Deno.exit(2);
  }
}
const flags = demoFlags();
let command: string[];
try {
  command = flags.binary ? [await fraudstreamExecutable(flags.binary)] : selfCommand();
} catch (err) {
  console.error(`demo: ${(err as Error).message}`);
  Deno.exit(1);
}
const started = performance.now();
const work = await Deno.makeTempDir({ prefix: "fraudstream-demo-" });
const data = `${work}/data`;
const prefix = "demo.";
const topics = topicNames(prefix);
const group = "demo.agents";
const HOLIDAY_RATE = 400;
const SLOW_AGENT = "--max-batch 50 --test-batch-cost-ms 100 --concurrency 1";

let kafka: LocalKafka | undefined;
let stopAgents: (() => Promise<void>) | undefined;
const interrupted = () => {
  console.error("\ndemo: interrupted, cleaning up");
  cleanUp().finally(() => Deno.exit(130));
};
Deno.addSignalListener("SIGINT", interrupted);

async function cleanUp(): Promise<void> {
  await stopAgents?.();
  stopAgents = undefined;
  await kafka?.stop();
  kafka = undefined;
  await Deno.remove(data, { recursive: true }).catch(() => {});
}

function heading(text: string): void {
  console.log(`\n== ${text}`);
}

/** Runs a fraudstream command with the terminal as its output; returns its stdout if captured. */
async function fraudstream(args: string[], env: Record<string, string>, capture = false) {
  const name = flags.binary ? command[0] : "fraudstream";
  console.log(`$ ${name} ${args.map((a) => (/\s/.test(a) ? `'${a}'` : a)).join(" ")}`);
  const out = await new Deno.Command(command[0], {
    args: [...command.slice(1), ...args],
    env,
    stdout: capture ? "piped" : "inherit",
    stderr: "inherit",
  }).output();
  const text = capture ? new TextDecoder().decode(out.stdout) : "";
  if (capture) Deno.stdout.writeSync(out.stdout);
  if (!out.success) throw new Error(`fraudstream ${args[0]} exited with ${out.code}`);
  return text;
}

let code = 0;
try {
  const external = Deno.env.get("FRAUDSTREAM_BROKERS");
  heading("Kafka");
  if (!external) kafka = await startLocalKafka();
  const brokers = external ?? kafka!.brokers.join(",");
  console.log(
    external ? `using brokers ${brokers}` : `started a local Apache Kafka broker at ${brokers}`,
  );
  const env = { FRAUDSTREAM_BROKERS: brokers };

  heading(
    flags.binary ? `The compiled executable ${flags.binary}` : "fraudstream from this checkout",
  );
  await fraudstream(["--version"], env);

  heading("Three days of card transactions, Fraud Detection Handbook statistics, with dirt");
  await fraudstream(["generate", "--out", data, "--days", "3"], env);
  await fraudstream(["topics", "--topic-prefix", prefix, "--partitions", "6"], env);

  heading(
    `Two scoring agents with the shipped model, fed at the holiday rate of ${HOLIDAY_RATE} tx/s`,
  );
  const fleet = await startLocalFleet({
    count: 2,
    group,
    topicPrefix: prefix,
    connectionArgs: ["--brokers", brokers],
    agentArgs: [],
    instancePrefix: "demo-agent",
    readyTimeoutMs: 90_000,
    command,
  });
  stopAgents = fleet.stop;
  console.log(`agents ready, stats at ${fleet.urls.join(" and ")}`);
  await fraudstream([
    "produce",
    "--topic-prefix",
    prefix,
    "--rate",
    String(HOLIDAY_RATE),
    "--limit",
    String(HOLIDAY_RATE * 15),
    "--http",
    "off",
    data,
  ], env);
  await showPredictions(brokers);

  heading(`One agent's /stats (curl ${fleet.urls[0]}/stats)`);
  const stats = await fetch(`${fleet.urls[0]}/stats`).then((r) => r.json()).then(parseAgentStats);
  console.log(JSON.stringify(
    {
      instance: stats.instance,
      model: stats.model,
      assigned_partitions: stats.assigned_partitions,
      consumed: stats.consumed,
      scored: stats.scored,
      dlq: stats.dlq,
      dlq_reasons: stats.dlq_reasons,
      rates: stats.rates?.scored,
      e2e_latency_ms: stats.e2e_latency_ms,
      lag: stats.lag?.total,
    },
    null,
    2,
  ));
  heading("The fleet as an operator sees it");
  await fraudstream(
    ["fleet", "--agents", fleet.urls.join(","), "--group", group, "--topic-prefix", prefix],
    env,
  );
  await fleet.stop();
  stopAgents = undefined;

  heading(
    "Capacity: at what rate does the lag start to grow, how many agents for 50 and 400 tx/s?",
  );
  const short = ["--step-seconds", "10", "--settle-seconds", "3", "--drain-seconds", "8"];
  const real = await fraudstream(
    ["capacity", "--max-agents", "2", ...short, "--out", `${work}/capacity-report`, data],
    env,
    true,
  );
  heading(
    "The same planner on an agent slowed to a known ~440 tx/s (testing flag), to show a knee",
  );
  const slowed = await fraudstream(
    [
      "capacity",
      "--max-agents",
      "1",
      "--steps",
      "0.7,0.9,1.05,1.2",
      "--step-seconds",
      "12",
      "--settle-seconds",
      "3",
      "--drain-seconds",
      "10",
      "--agent-args",
      SLOW_AGENT,
      "--out",
      `${work}/capacity-report-slowed-agent`,
      data,
    ],
    env,
    true,
  );

  heading("Answer");
  console.log(`real agent:   ${real.split("\n")[0]}`);
  console.log(`              ${real.split("\n")[1]}`);
  console.log(`slowed agent: ${slowed.split("\n")[0]}`);
  console.log(`              ${slowed.split("\n")[1]}`);
  console.log(`\ndemo finished in ${((performance.now() - started) / 1000).toFixed(0)} s`);
} catch (err) {
  console.error(`demo: ${err instanceof Error ? err.message : err}`);
  code = 1;
} finally {
  await cleanUp();
}
Deno.exit(code);

/** A few of the agents' predictions, read back from the predictions topic. */
async function showPredictions(brokers: string): Promise<void> {
  heading(`Predictions flowing (${topics.predictions})`);
  const client = await createKafkaClient({
    brokers: brokers.split(","),
    clientId: "fraudstream-demo",
    securityProtocol: "plaintext",
    connectTimeoutMs: 10_000,
  });
  const admin = await client.admin();
  const ends = new Map<number, bigint>();
  try {
    for (const p of await admin.partitionOffsets(topics.predictions)) {
      ends.set(p.partition, p.latest);
    }
  } finally {
    await admin.close();
  }
  const total = [...ends.values()].reduce((n, end) => n + Number(end), 0);
  // Three predictions, and the first one the model flags as fraud if there is one.
  const shown: string[] = [];
  let flagged = false;
  const text = new TextDecoder();
  await client.readHistory(topics.predictions, ends, (batch) => {
    for (let i = 0; i < batch.length && (shown.length < 3 || !flagged); i++) {
      const value = text.decode(batch.value(i) ?? new Uint8Array());
      const fraud = value.includes('"fraud":true');
      if (shown.length < 3 || (fraud && !flagged)) shown.push(value);
      flagged ||= fraud;
    }
  });
  console.log(`${total} predictions so far; a few of them:`);
  for (const s of shown) console.log(`  ${s}`);
}
