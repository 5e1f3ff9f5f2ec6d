import { hostname } from "node:os";
import { defineCommand } from "../cli/command.ts";
import { jsonLogger, parseLogLevel } from "../cli/json_log.ts";
import { UsageError, UserFacingError } from "../cli/usage_error.ts";
import { durationMs, hostPort, nonNegativeNumber, positiveInt } from "../cli/values.ts";
import { FeatureEngine } from "../features/feature_engine.ts";
import { DEFAULT_DUPLICATE_WINDOW } from "../transactions/duplicate_window.ts";
import { startStatsServer } from "../http/stats_server.ts";
import { createKafkaClient } from "../kafka/boundary.ts";
import { CONNECTION_FLAGS, connectionSettings, errorText } from "../kafka/connection.ts";
import { describeTopics, TOPIC_PREFIX_FLAG, topicNames } from "../kafka/topics.ts";
import { Agent } from "./agent.ts";
import { DEFAULT_MODEL_PATH } from "./onnx_model.ts";
import { DEFAULT_MODEL_POLL_MS, openServingModel } from "./model_watch.ts";
import { MLFLOW_RUN_FLAG, startRunMetrics } from "../mlflow/run_metrics.ts";

/** How long SIGTERM may take: finish the batch, commit, leave the group. */
const STOP_TIMEOUT_MS = 30_000;

export const command = defineCommand({
  name: "agent",
  summary: "score the transactions topic in a consumer group and write predictions",
  flags: {
    ...CONNECTION_FLAGS,
    group: {
      type: "string",
      value: "GROUP",
      description: "consumer group of the agent fleet",
      default: "fraudstream-agents",
    },
    ...TOPIC_PREFIX_FLAG,
    model: {
      type: "string",
      value: "PATH",
      description:
        "ONNX model file, or models:/NAME/VERSION|latest, models:/NAME@ALIAS from the MLflow registry at MLFLOW_TRACKING_URI (default: the shipped model)",
    },
    "model-poll": {
      type: "string",
      value: "DURATION",
      description:
        "how often to ask the registry where models:/NAME@ALIAS (or latest) points, and swap to a new version that fits; 0: never",
      default: `${DEFAULT_MODEL_POLL_MS / 1000}s`,
    },
    http: {
      type: "string",
      value: "HOST:PORT",
      description: "stats endpoint; port 0 picks one; 'off' disables",
      default: "127.0.0.1:8080",
    },
    "instance-id": {
      type: "string",
      value: "ID",
      description: "this agent's name in logs, stats and client ids (default HOST-PID)",
    },
    "static-membership": {
      type: "boolean",
      description:
        "join the group as a static member named by --instance-id (KIP-345; @platformatic/kafka only): a restart under the same id takes its partitions back without a rebalance",
    },
    "exactly-once": {
      type: "boolean",
      description: "commit predictions and offsets in one Kafka transaction",
    },
    "max-batch": {
      type: "string",
      value: "N",
      description: "most rows per model run",
      default: "4096",
    },
    concurrency: {
      type: "string",
      value: "N",
      description: "partitions scored at the same time",
      default: "4",
    },
    "model-threads": {
      type: "string",
      value: "N",
      description: "ONNX Runtime threads per model run (more than 1 only pays on spare cores)",
      default: "1",
    },
    "model-worker": {
      type: "boolean",
      description:
        "run the model in a Worker thread, so its runs overlap Kafka I/O, parsing and features (pays on a second core)",
    },
    "dedup-window": {
      type: "string",
      value: "N",
      description: "recent (transaction id, customer id) pairs checked for duplicates",
      default: String(DEFAULT_DUPLICATE_WINDOW),
    },
    "label-delay": {
      type: "string",
      value: "DURATION",
      description: "event time before a label may feed features",
      default: "7d",
    },
    "label-wait": {
      type: "string",
      value: "DURATION",
      description:
        "longest a partition waits for the label watermark its transactions need; then they are scored and marked labels_complete:false (0: never wait)",
      default: "10s",
    },
    "session-timeout": {
      type: "string",
      value: "DURATION",
      description:
        "the group reassigns a member's partitions after this long without a heartbeat: shorter recovers sooner from a crash, but evicts a member stalled that long (6s to 300s)",
      default: "10s",
    },
    "snapshot-interval": {
      type: "string",
      value: "DURATION",
      description:
        "least time between two snapshots of a partition's state on the state topic, which restores start from (0: none)",
      default: "30s",
    },
    ...MLFLOW_RUN_FLAG,
    "log-level": {
      type: "string",
      value: "LEVEL",
      description: "debug | info | warn | error",
      default: "info",
    },
    "test-batch-cost-ms": {
      type: "string",
      value: "MS",
      description: "TESTING ONLY: sleep this long per model run",
      default: "0",
    },
  },
  examples: [
    "fraudstream agent --brokers 127.0.0.1:9092 --http 127.0.0.1:8081",
    "FRAUDSTREAM_BROKERS=b1:9092 FRAUDSTREAM_HTTP=0.0.0.0:8080 fraudstream agent --exactly-once",
  ],
}, async (flags) => {
  const settings = await connectionSettings(flags);
  const level = parseLogLevel(flags["log-level"]);
  if (!level) {
    throw new UsageError(`--log-level ${flags["log-level"]}: expected debug, info, warn or error`);
  }
  const instanceId = flags["instance-id"] ?? `${hostname()}-${Deno.pid}`;
  const http = flags.http === "off" ? undefined : hostPort("http", flags.http);
  const config = {
    group: flags.group,
    topics: topicNames(flags["topic-prefix"]),
    instanceId,
    staticMembership: flags["static-membership"],
    exactlyOnce: flags["exactly-once"],
    maxBatch: positiveInt("max-batch", flags["max-batch"]),
    concurrency: positiveInt("concurrency", flags.concurrency),
    dedupCapacity: positiveInt("dedup-window", flags["dedup-window"]),
    labelWaitMs: durationMs("label-wait", flags["label-wait"]),
    sessionTimeoutMs: durationMs("session-timeout", flags["session-timeout"]),
    snapshotIntervalMs: durationMs("snapshot-interval", flags["snapshot-interval"]),
    testBatchCostMs: nonNegativeNumber("test-batch-cost-ms", flags["test-batch-cost-ms"]),
    log: jsonLogger("agent", level),
  };
  // The broker's group.min/max.session.timeout.ms defaults bound it: 6 s to 5 min.
  if (config.sessionTimeoutMs < 6_000 || config.sessionTimeoutMs > 300_000) {
    throw new UsageError("--session-timeout must be between 6s and 300s");
  }
  const labelDelayMs = durationMs("label-delay", flags["label-delay"]);
  if (labelDelayMs <= 0) throw new UsageError("--label-delay must be above zero");

  const engine = new FeatureEngine({ labelDelayMs });
  const modelPollMs = durationMs("model-poll", flags["model-poll"]);
  const { slot: model, watch } = await openServingModel(
    flags.model ?? DEFAULT_MODEL_PATH,
    engine,
    {
      threads: positiveInt("model-threads", flags["model-threads"]),
      worker: flags["model-worker"],
    },
    modelPollMs,
    config.log,
  );
  const client = await createKafkaClient({
    ...settings,
    clientId: `${settings.clientId}-${instanceId}`,
  });

  // Waits for the brokers up to --connect-timeout: they may be restarting or failing over.
  const admin = await client.admin();
  try {
    // The state topic is optional: without it restores replay whole partitions (agent/agent.ts).
    const { state: _, ...required } = config.topics;
    const missing = (await describeTopics(admin, Object.values(required))).filter((t) =>
      t.partitions === 0
    );
    if (missing.length) {
      throw new UserFacingError(
        `missing topics ${missing.map((t) => t.topic).join(", ")} at ${
          settings.brokers.join(",")
        }: create them with fraudstream topics`,
      );
    }
  } finally {
    await admin.close();
  }

  const agent = new Agent(client, config, engine, model);
  const server = http
    ? await startStatsServer(http, {
      healthy: () => true,
      readiness: () => agent.readiness(),
      readinessDetail: () => {
        const labels = agent.labelsJson();
        return { label_watermark: labels.watermark, label_lag_ms: labels.lag_ms };
      },
      stats: () => agent.statsJson(),
      metrics: () => agent.metricsText(),
    })
    : undefined;
  config.log.log("info", "start", {
    instance: instanceId,
    group: config.group,
    brokers: settings.brokers,
    topics: config.topics,
    model: {
      name: model.name,
      version: model.version,
      threshold: model.threshold,
      registry_version: model.registryVersion,
      poll_ms: watch ? modelPollMs : null,
    },
    exactly_once: config.exactlyOnce,
    label_wait_ms: config.labelWaitMs,
    kafka: client.details,
    http: server?.url ?? null,
  });

  const signal = new Promise<string>((resolve) => {
    for (const sig of ["SIGTERM", "SIGINT"] as const) {
      Deno.addSignalListener(sig, () => resolve(sig));
    }
  });
  const runMetrics = await startRunMetrics(flags["mlflow-run"], `agent.${instanceId}.`, () => {
    const s = agent.statsJson();
    return {
      scored_tx_s: s.rates.scored["10s"],
      lag: s.lag.total,
      e2e_latency_p99_ms: s.e2e_latency_ms.p99,
      batch_latency_p99_ms: s.batch.latency_ms.p99,
    };
  }, config.log);
  await agent.start();
  watch?.start();
  const received = await Promise.race([signal, agent.failed]).catch((err: Error) => err);
  await watch?.stop();
  await runMetrics?.stop();
  if (received instanceof Error) {
    // The consumer gave up (e.g. fenced, or a restore that cannot read Kafka): exit non-zero so
    // that systemd restarts the agent; its uncommitted batch is re-read by whoever owns it next.
    config.log.log("error", "failed", { error: received.message });
    await Promise.race([agent.stop().catch(() => {}), new Promise((r) => setTimeout(r, 5_000))]);
    await server?.shutdown();
    // The last line says why in words, as a start-up failure's does (e.g. a revoked credential).
    throw new UserFacingError(`agent stopped: ${errorText(received)}`);
  }
  config.log.log("info", "stopping", { signal: received });
  const stopped = await Promise.race([
    agent.stop().then(() => true),
    new Promise<boolean>((r) => setTimeout(() => r(false), STOP_TIMEOUT_MS)),
  ]);
  await server?.shutdown();
  const s = agent.statsJson();
  config.log.log(stopped ? "info" : "warn", "stop", {
    clean: stopped,
    consumed: s.consumed,
    scored: s.scored,
    dlq: s.dlq,
    uptime_s: s.uptime_s,
  });
  return stopped ? 0 : 1;
});
