import { defineCommand } from "../cli/command.ts";
import { UsageError, UserFacingError } from "../cli/usage_error.ts";
import { durationMs, positiveInt, positiveNumber } from "../cli/values.ts";
import { createKafkaClient } from "../kafka/boundary.ts";
import { CONNECTION_FLAGS, type ConnectionFlags, connectionSettings } from "../kafka/connection.ts";
import { type LocalKafka, startLocalKafka } from "../kafka/local/local_kafka.ts";
import { expandInputs } from "../producer/file_reader.ts";
import { writeDataSet } from "../producer/generate_command.ts";
import { DataSetGenerator, DEFAULT_DIRT } from "../producer/generator.ts";
import { type FleetSize, fleetSize } from "./fleet_size.ts";
import { logToMlflow } from "./mlflow_log.ts";
import { runPlan } from "./planner.ts";
import { buildReport, writeReport } from "./report.ts";

/** Agent flags the planner sets itself; passing them through would break the measurement. */
const RESERVED_AGENT_FLAGS = ["--http", "--group", "--topic-prefix", "--instance-id", "--brokers"];

const planner = defineCommand({
  name: "capacity",
  summary: "measure at what input rate consumer lag starts to grow, and size the agent fleet",
  usage:
    "[flags] [FILE|DIR|GLOB...]   (day files to replay; a small data set is generated if none)",
  flags: {
    ...CONNECTION_FLAGS,
    agents: {
      type: "string",
      value: "URL,...",
      description: "measure these running agents (stats URLs) instead of starting agents here",
    },
    "max-agents": {
      type: "string",
      value: "N",
      description: "measure fleets of 1..N local agents (default min(partitions, 3))",
    },
    partitions: {
      type: "string",
      value: "N",
      description: "partitions of the run's transactions topic",
      default: "6",
    },
    "topic-prefix": {
      type: "string",
      value: "PREFIX",
      description: "topics of the run (default capacity.<run id>.; with --agents: the agents' own)",
    },
    target: {
      type: "string",
      value: "R1,R2,...",
      description: "rates (tx/s) to size the fleet for",
      default: "50,400",
    },
    utilisation: {
      type: "string",
      value: "U",
      description: "share of measured capacity a fleet may use at the target",
      default: "0.7",
    },
    steps: {
      type: "string",
      value: "F1,F2,...",
      description: "step rates as multiples of the measured drain rate",
      default: "0.5,0.7,0.85,1,1.15,1.3",
    },
    "step-seconds": {
      type: "string",
      value: "T",
      description: "duration of each step",
      default: "30",
    },
    "settle-seconds": {
      type: "string",
      value: "S",
      description: "start of each step left out of the lag fit",
      default: "5",
    },
    "drain-seconds": {
      type: "string",
      value: "D",
      description: "how long the drain backlog should take to clear",
      default: "20",
    },
    "agent-args": {
      type: "string",
      value: "'FLAGS'",
      description: "extra flags for every local agent, e.g. '--max-batch 1024 --concurrency 2'",
      default: "",
    },
    "label-delay": {
      type: "string",
      value: "DURATION",
      description: "event time after which the driver publishes a transaction's label",
      default: "7d",
    },
    "no-labels": { type: "boolean", description: "publish no labels while driving load" },
    "ready-timeout": {
      type: "string",
      value: "DURATION",
      description: "how long local agents may take to become ready",
      default: "90s",
    },
    "keep-topics": { type: "boolean", description: "leave the run's topics on the brokers" },
    out: {
      type: "string",
      value: "DIR",
      description: "report directory (default ./capacity-report-<timestamp>)",
    },
    "mlflow-run": {
      type: "string",
      value: "RUN_ID",
      description:
        "log the report into this existing MLflow run at MLFLOW_TRACKING_URI (default: a new run when MLFLOW_TRACKING_URI is set)",
    },
  },
  examples: [
    "fraudstream capacity                                  # local broker, 1..3 agents, targets 50,400",
    "fraudstream capacity --brokers b1:9092 --max-agents 4 --target 400 data/",
    "fraudstream capacity --brokers b1:9092 --agents http://vm1:8080,http://vm2:8080 data/",
    "fraudstream capacity --agent-args '--max-batch 50 --test-batch-cost-ms 100 --concurrency 1'",
  ],
}, async (flags, positionals) => {
  if (flags["mlflow-run"] && !Deno.env.get("MLFLOW_TRACKING_URI")) {
    throw new UsageError("--mlflow-run needs MLFLOW_TRACKING_URI set to the tracking server");
  }
  const partitionsWanted = positiveInt("partitions", flags.partitions);
  const targets = rateList("target", flags.target);
  const utilisation = positiveNumber("utilisation", flags.utilisation);
  if (utilisation > 1) {
    throw new UsageError(
      `--utilisation ${flags.utilisation}: expected a share in (0, 1], e.g. 0.7`,
    );
  }
  const stepFractions = rateList("steps", flags.steps);
  const stepSeconds = positiveNumber("step-seconds", flags["step-seconds"]);
  const settleSeconds = Number(flags["settle-seconds"]);
  if (!(settleSeconds >= 0)) {
    throw new UsageError(`--settle-seconds ${flags["settle-seconds"]}: expected a number >= 0`);
  }
  if (stepSeconds < settleSeconds + 3) {
    throw new UsageError(
      `--step-seconds ${stepSeconds} leaves fewer than 3 s after --settle-seconds ${settleSeconds} to fit the lag`,
    );
  }
  const drainSeconds = positiveNumber("drain-seconds", flags["drain-seconds"]);
  const agentArgs = flags["agent-args"].trim() === ""
    ? []
    : flags["agent-args"].trim().split(/\s+/);
  const reserved = agentArgs.find((a) => RESERVED_AGENT_FLAGS.includes(a.split("=")[0]));
  if (reserved) throw new UsageError(`--agent-args: ${reserved} is set by the planner`);
  const remoteAgents = flags.agents === undefined
    ? null
    : flags.agents.split(",").map((s) => s.trim()).filter((s) => s !== "");
  if (remoteAgents !== null && remoteAgents.length === 0) {
    throw new UsageError(`--agents "${flags.agents}": expected URL[,URL...]`);
  }
  if (remoteAgents && agentArgs.length) {
    throw new UsageError("--agent-args applies to agents started here, not to --agents");
  }
  const maxAgents = flags["max-agents"] === undefined
    ? Math.min(partitionsWanted, 3)
    : positiveInt("max-agents", flags["max-agents"]);
  if (!remoteAgents && maxAgents > partitionsWanted) {
    throw new UsageError(
      `--max-agents ${maxAgents} is more than the ${partitionsWanted} partitions: a consumer group uses at most one agent per partition (raise --partitions)`,
    );
  }
  const labelDelayMs = flags["no-labels"] ? null : durationMs("label-delay", flags["label-delay"]);
  const readyTimeoutMs = durationMs("ready-timeout", flags["ready-timeout"]);
  const runId = timestamp(new Date());
  const outDir = flags.out ?? `capacity-report-${runId}`;
  const topicPrefix = flags["topic-prefix"] ?? (remoteAgents ? null : `capacity.${runId}.`);

  const progress = (line: string) => console.error(`capacity: ${line}`);
  const controller = new AbortController();
  const abort = () => controller.abort();
  Deno.addSignalListener("SIGINT", abort);
  Deno.addSignalListener("SIGTERM", abort);
  const cleanups: (() => Promise<void>)[] = [];
  try {
    if (!flags.brokers && remoteAgents) {
      throw new UsageError("--agents needs the brokers the agents use: pass --brokers HOST:PORT");
    }
    const files = positionals.length
      ? await expandInputs(positionals)
      : await generatedData(cleanups);
    const data = positionals.length ? files : GENERATED_DATA;
    let local: LocalKafka | undefined;
    if (!flags.brokers) {
      local = await startLocalKafka();
      cleanups.push(() => local!.stop());
      progress(`started a local Kafka broker at ${local.brokers.join(",")}`);
    }
    const brokerFlags: ConnectionFlags = {
      ...flags,
      brokers: flags.brokers ?? local!.brokers.join(","),
    };
    const settings = await connectionSettings(brokerFlags);
    const kafka = await createKafkaClient({
      ...settings,
      clientId: `${settings.clientId}-capacity`,
    });
    const admin = await kafka.admin();
    const brokers = await admin.brokerCount();
    cleanups.push(() => admin.close());
    await makeOutDir(outDir, cleanups);

    const result = await runPlan({
      kafka,
      admin,
      connectionArgs: connectionArgs(brokerFlags),
      remoteAgents,
      remoteTimeoutMs: 3000,
      maxAgents,
      partitions: partitionsWanted,
      replicationFactor: Math.min(3, brokers),
      topicPrefix,
      stepFractions,
      stepSeconds,
      settleSeconds,
      drainSeconds,
      // The agents join labels with the driver's delay; without labels nothing is worth a wait.
      agentArgs: [
        ...(labelDelayMs === null
          ? ["--label-wait", "0"]
          : ["--label-delay", flags["label-delay"]]),
        ...agentArgs,
      ],
      files,
      labelDelayMs,
      logDir: `${outDir}/logs`,
      readyTimeoutMs,
      keepTopics: flags["keep-topics"],
      signal: controller.signal,
      progress,
    });
    const measured = result.measurements.filter((m) => m.knee.rate !== null && m.knee.rate > 0)
      .map((m) => ({ agents: m.agents, capacity: m.knee.rate! }));
    const sizes: FleetSize[] = measured.length
      ? targets.map((t) => fleetSize(t, measured, utilisation, result.partitions))
      : [];
    const report = buildReport({
      result,
      fleetSizes: sizes,
      parameters: {
        brokers: settings.brokers,
        local_broker: local !== undefined,
        remote_agents: remoteAgents,
        max_agents: maxAgents,
        partitions: result.partitions,
        topic_prefix: result.topicPrefix,
        targets,
        utilisation,
        step_fractions: stepFractions,
        step_seconds: stepSeconds,
        settle_seconds: settleSeconds,
        drain_seconds: drainSeconds,
        agent_args: agentArgs,
        labels: labelDelayMs !== null,
        label_delay_ms: labelDelayMs,
        data,
      },
      command: ["fraudstream", "capacity", ...Deno.args.slice(Deno.args.indexOf("capacity") + 1)],
    });
    const written = await writeReport(outDir, report);
    console.log(report.answer);
    console.log(`report: ${written.markdown} (chart ${written.chart}, data ${written.json})`);
    const mlflowUri = Deno.env.get("MLFLOW_TRACKING_URI");
    if (mlflowUri) {
      try {
        const run = await logToMlflow(mlflowUri, report, written, undefined, flags["mlflow-run"]);
        console.log(`logged to MLflow: ${run.url}`);
      } catch (err) {
        console.error(
          `capacity: could not log to MLflow at ${mlflowUri}: ${
            err instanceof Error ? err.message : err
          }`,
        );
        return 1;
      }
    }
    return measured.length ? 0 : 1;
  } finally {
    Deno.removeSignalListener("SIGINT", abort);
    Deno.removeSignalListener("SIGTERM", abort);
    for (const clean of cleanups.reverse()) await clean().catch(() => {});
  }
});

/**
 * `--agent-args "--max-batch 50"` reads naturally, but node:util's parser refuses an option
 * value that starts with a dash; joined as `--agent-args=...` it is unambiguous.
 */
export const command = {
  spec: planner.spec,
  main: (argv: string[]) => planner.main(joinAgentArgs(argv)),
};

export function joinAgentArgs(argv: string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === "--agent-args" && i + 1 < argv.length) {
      out.push(`--agent-args=${argv[++i]}`);
    } else {
      out.push(argv[i]);
    }
  }
  return out;
}

/**
 * Created before the run so that an unwritable directory fails in seconds, not after the
 * measurement; removed again if the run ends without a report and no agent wrote a log there.
 */
async function makeOutDir(dir: string, cleanups: (() => Promise<void>)[]): Promise<void> {
  const existed = await Deno.stat(dir).then(() => true, () => false);
  try {
    await Deno.mkdir(`${dir}/logs`, { recursive: true });
  } catch (err) {
    throw new UserFacingError(`cannot create ${dir}: ${err instanceof Error ? err.message : err}`);
  }
  if (existed) return;
  cleanups.push(async () => {
    const report = await Deno.stat(`${dir}/report.json`).then(() => true, () => false);
    const logs = await Array.fromAsync(Deno.readDir(`${dir}/logs`));
    if (!report && logs.length === 0) await Deno.remove(dir, { recursive: true });
  });
}

/** "50,400" -> [50, 400]; every entry a number above zero. */
function rateList(flag: string, raw: string): number[] {
  const parts = raw.split(",").map((s) => s.trim());
  if (parts.length === 0 || parts.some((p) => p === "")) {
    throw new UsageError(`--${flag} "${raw}": expected numbers above zero, comma-separated`);
  }
  return parts.map((p) => positiveNumber(flag, p));
}

/** The agent's connection flags as given to the planner, for its agent children. */
function connectionArgs(flags: ConnectionFlags): string[] {
  const args: string[] = [];
  for (const name of Object.keys(CONNECTION_FLAGS) as (keyof ConnectionFlags)[]) {
    const value = flags[name];
    if (value !== undefined && value !== "") args.push(`--${name}`, String(value));
  }
  return args;
}

const GENERATED_DATA =
  "generated for the run: fraudstream generate --customers 5000 --terminals 10000 --days 3 --seed 1";

/** No files given: three days of Handbook-like data in a temp dir, removed afterwards. */
async function generatedData(cleanups: (() => Promise<void>)[]): Promise<string[]> {
  const dir = await Deno.makeTempDir({ prefix: "fraudstream-capacity-data-" });
  cleanups.push(() => Deno.remove(dir, { recursive: true }));
  const generator = new DataSetGenerator({
    customers: 5000,
    terminals: 10000,
    days: 3,
    startMs: Date.UTC(2018, 3, 1),
    seed: 1,
    dirt: DEFAULT_DIRT,
  });
  return await writeDataSet(generator, dir, false);
}

function timestamp(d: Date): string {
  return d.toISOString().replace(/[-:]/g, "").replace("T", "-").slice(0, 15);
}
