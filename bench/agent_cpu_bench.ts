import { benchFlags } from "./bench_flags.ts";
import { processCpuSeconds } from "./process_cpu.ts";
import { setupPythonConsumer, spawnPythonConsumer } from "./python_consumer/python_consumer.ts";
import { createKafkaClient } from "../kafka/boundary.ts";
import { startLocalKafka } from "../kafka/local/local_kafka.ts";
import { ensureTopics, topicNames } from "../kafka/topics.ts";

/**
 * `deno task bench agent-cpu --other DIR | --python`: the agent of this checkout against the agent
 * of another checkout (DIR, e.g. `git worktree add DIR COMMIT`, then `deno install` in it) and/or
 * the Python baseline consumer (bench/python_consumer: the same work on confluent-kafka, numpy and
 * onnxruntime), alternated on one preloaded topic with labels, each in a fresh consumer group.
 * Prints the CPU time of each process (user + system of all its threads, /proc) per committed
 * message, from process start and from its first commit, the wall rate, and with --python the
 * ratio this agent / Python per round. CPU per message is what to compare on a shared machine: a
 * busy neighbour halves a rate, not the CPU a message takes. `--this-args "ARGS"` adds agent
 * arguments to this checkout's agent: `--other . --this-args --model-worker` measures a flag.
 */
const values = benchFlags({
  other: { type: "string" },
  "this-args": { type: "string", default: "" },
  python: { type: "boolean", default: false },
  rounds: { type: "string", default: "2" },
  customers: { type: "string", default: "5000" },
  terminals: { type: "string", default: "10000" },
  days: { type: "string", default: "30" },
  partitions: { type: "string", default: "6" },
});
if (!values.other && !values.python) {
  console.error(
    "bench: --other DIR (a checkout of the code to compare with) or --python is required",
  );
  Deno.exit(2);
}
const here = new URL("..", import.meta.url).pathname;
const prefix = "agent-cpu.";
const pythonPrefix = `${prefix}python.`;

/** One side of the comparison: a name and how to start it as a member of `group`. */
interface Contestant {
  name: string;
  start(group: string, brokers: string[]): Deno.ChildProcess;
}

/**
 * The V8 flags a checkout ships with (those of its `fraudstream` task), so that each side runs as
 * it would from that checkout, and a change of flags is measured like a change of code.
 */
function shippedV8Flags(dir: string): string[] {
  const config = JSON.parse(Deno.readTextFileSync(`${dir}/deno.json`));
  return String(config.tasks?.fraudstream ?? "").split(" ").filter((a) =>
    a.startsWith("--v8-flags=")
  );
}

function agentOf(name: string, dir: string, extra: string[] = []): Contestant {
  const v8Flags = shippedV8Flags(dir);
  return {
    name,
    start: (group, brokers) =>
      new Deno.Command(Deno.execPath(), {
        args: [
          "run",
          "-A",
          ...v8Flags,
          `${dir}/main.ts`,
          "agent",
          "--topic-prefix",
          prefix,
          "--group",
          group,
          "--http",
          "off",
          ...extra,
        ],
        env: { FRAUDSTREAM_BROKERS: brokers.join(",") },
        stdout: "null",
        stderr: "null",
      }).spawn(),
  };
}

const python: Contestant = {
  name: "python",
  start: (group, brokers) =>
    spawnPythonConsumer({
      brokers,
      topicPrefix: prefix,
      outputPrefix: pythonPrefix,
      group,
      stderr: "inherit",
    }),
};

const contestants = [
  ...(values.other ? [agentOf("other", values.other)] : []),
  agentOf("this", here, values["this-args"]!.split(" ").filter((a) => a !== "")),
  ...(values.python ? [python] : []),
];

async function fraudstream(args: string[], env: Record<string, string>) {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", `${here}/main.ts`, ...args],
    env,
    stdout: "null",
    stderr: "piped",
  }).output();
  if (!out.success) {
    throw new Error(`fraudstream ${args[0]}: ${new TextDecoder().decode(out.stderr).trim()}`);
  }
}

if (values.python) await setupPythonConsumer();
const local = await startLocalKafka();
const work = await Deno.makeTempDir({ prefix: "fraudstream-bench-agent-cpu-" });
try {
  const env = { FRAUDSTREAM_BROKERS: local.brokers.join(",") };
  const kafka = await createKafkaClient({
    brokers: local.brokers,
    clientId: "bench-agent-cpu",
    securityProtocol: "plaintext",
    connectTimeoutMs: 10_000,
  });
  const admin = await kafka.admin();
  const layout = { partitions: Number(values.partitions), replicationFactor: 1 };
  await ensureTopics(admin, topicNames(prefix), layout);
  if (values.python) await ensureTopics(admin, topicNames(pythonPrefix), layout);
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
  ], env);
  await fraudstream(["produce", "--topic-prefix", prefix, "--http", "off", `${work}/data`], env);
  console.log(
    `CPU per message: ${contestants.map((c) => c.name).join(", ")} (this = ${here} ${
      shippedV8Flags(here).join(" ")
    } ${values["this-args"]}${
      values.other ? `, other = ${values.other} ${shippedV8Flags(values.other).join(" ")}` : ""
    }), ${values.days} days`,
  );
  for (let round = 1; round <= Number(values.rounds); round++) {
    const perMessage = new Map<string, { fromStart: number; afterFirst: number }>();
    for (const contestant of contestants) {
      const group = `agent-cpu-${contestant.name}-${round}`;
      const child = contestant.start(group, local.brokers);
      let exited = false;
      child.status.then(() => (exited = true));
      let first: { committed: number; cpu: number; at: number } | null = null;
      let last = { committed: 0, cpu: 0, at: 0 };
      for (;;) {
        await new Promise((r) => setTimeout(r, 200));
        if (exited) throw new Error(`${contestant.name} exited before it caught up`);
        // The group's coordinator may not answer yet while the member joins: ask again.
        const lag = await admin.groupLag(group, topicNames(prefix).transactions).catch(() => null);
        if (lag === null) continue;
        const end = lag.partitions.reduce((sum, p) => sum + p.end, 0);
        const now = {
          committed: end - lag.total,
          cpu: processCpuSeconds(child.pid),
          at: performance.now(),
        };
        if (now.committed > 0 && first === null) first = now;
        last = now;
        if (lag.partitions.length > 0 && lag.total === 0 && now.committed > 0) break;
      }
      child.kill("SIGTERM");
      await child.status;
      const n = last.committed - first!.committed;
      const cpu = {
        fromStart: 1e6 * last.cpu / last.committed,
        afterFirst: 1e6 * (last.cpu - first!.cpu) / n,
      };
      perMessage.set(contestant.name, cpu);
      // A topic scored between two samples has no "after the first commit": too small to say.
      const after = n > 0
        ? `${cpu.afterFirst.toFixed(2)} after the first commit, ${
          Math.round(n / ((last.at - first!.at) / 1000))
        } msg/s`
        : "done within one sample (use more --days)";
      console.log(
        `  round ${round} ${contestant.name.padEnd(6)}: ${
          cpu.fromStart.toFixed(2)
        } CPU µs/msg from start (${last.committed} messages), ${after}`,
      );
    }
    if (values.python) {
      const agent = perMessage.get("this")!;
      const baseline = perMessage.get("python")!;
      console.log(
        `  round ${round} this / python: ${(agent.fromStart / baseline.fromStart).toFixed(3)} ` +
          `from start, ${
            (agent.afterFirst / baseline.afterFirst).toFixed(3)
          } after the first commit`,
      );
    }
  }
  await admin.close();
} finally {
  await Deno.remove(work, { recursive: true }).catch(() => {});
  await local.stop();
}
