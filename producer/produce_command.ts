import { hostname } from "node:os";
import { defineCommand } from "../cli/command.ts";
import { jsonLogger } from "../cli/json_log.ts";
import { UsageError, UserFacingError } from "../cli/usage_error.ts";
import { durationMs, hostPort, positiveInt, positiveNumber } from "../cli/values.ts";
import { startStatsServer, type StatsServer } from "../http/stats_server.ts";
import { createKafkaClient, type KafkaOutput } from "../kafka/boundary.ts";
import {
  CONNECTION_FLAGS,
  connectionSettings,
  errorText,
  withinConnectTimeout,
} from "../kafka/connection.ts";
import { TOPIC_PREFIX_FLAG, topicNames, topicPartitions } from "../kafka/topics.ts";
import { utcDateFlag } from "./date_flag.ts";
import { expandInputs, FileReader, type InputProblem, type RowBatch } from "./file_reader.ts";
import { describeRejected } from "./input_problems.ts";
import { LabelFeedback } from "./label_feedback.ts";
import { MLFLOW_RUN_FLAG, startRunMetrics } from "../mlflow/run_metrics.ts";
import { ProducerStats } from "./producer_stats.ts";
import { createPacer, type PaceSpec } from "./rate_pacer.ts";
import { RowSender } from "./row_sender.ts";

export const command = defineCommand({
  name: "produce",
  summary: "replay day files into the transactions topic at a controlled rate, with label feedback",
  usage: "[flags] FILE|DIR|GLOB...",
  flags: {
    ...CONNECTION_FLAGS,
    ...TOPIC_PREFIX_FLAG,
    rate: { type: "string", value: "N", description: "constant rate, messages per second" },
    ramp: {
      type: "string",
      value: "R1,R2,...",
      description: "stepped rates (messages/s), each held --step-seconds, then stop",
    },
    "step-seconds": {
      type: "string",
      value: "T",
      description: "duration of each --ramp step",
      default: "60",
    },
    "replay-speed": {
      type: "string",
      value: "X",
      description: "replay in event time, X times faster than it happened",
    },
    limit: { type: "string", value: "N", description: "stop after N messages" },
    "max-batch": {
      type: "string",
      value: "N",
      description: "most messages per send call",
      default: "5000",
    },
    "skip-rejected": {
      type: "boolean",
      description:
        "do not forward lines the reader rejects (by default they go, as the feed would)",
    },
    "label-delay": {
      type: "string",
      value: "DURATION",
      description: "event time after which a transaction's label is published",
      default: "7d",
    },
    "no-labels": { type: "boolean", description: "publish no labels" },
    strict: {
      type: "boolean",
      description:
        "stop (exit 1) at the first bad line, unreadable file or missing or other header",
    },
    "dataset-start": {
      type: "string",
      value: "YYYY-MM-DD",
      description: "origin of tx_time_seconds (else learnt from the first complete row)",
    },
    http: {
      type: "string",
      value: "HOST:PORT",
      description: "stats endpoint; port 0 picks one; 'off' disables",
      default: "127.0.0.1:8079",
    },
    "instance-id": {
      type: "string",
      value: "ID",
      description: "name in logs, stats and client id (default HOST-PID)",
    },
    ...MLFLOW_RUN_FLAG,
  },
  examples: [
    "fraudstream produce --brokers 127.0.0.1:9092 --rate 400 data/",
    "fraudstream produce --brokers 127.0.0.1:9092 --ramp 100,200,400,800 --step-seconds 60 data/",
    "fraudstream produce --brokers 127.0.0.1:9092 --replay-speed 3600 'data/2018-04-0*.txt'",
  ],
}, async (flags, positionals) => {
  if (positionals.length === 0) {
    throw new UsageError("produce: name the day files, directories or globs to send");
  }
  const pace = paceSpec(flags);
  const limit = flags.limit === undefined ? Infinity : positiveInt("limit", flags.limit);
  const maxBatch = positiveInt("max-batch", flags["max-batch"]);
  const labelDelayMs = durationMs("label-delay", flags["label-delay"]);
  const http = flags.http === "off" ? undefined : hostPort("http", flags.http);
  const originMs = flags["dataset-start"] === undefined
    ? undefined
    : utcDateFlag("dataset-start", flags["dataset-start"]);
  const settings = await connectionSettings(flags);
  const files = await expandInputs(positionals);
  const instance = flags["instance-id"] ?? `${hostname()}-${Deno.pid}`;
  const topics = topicNames(flags["topic-prefix"]);
  const log = jsonLogger("producer");

  const client = await createKafkaClient({
    ...settings,
    clientId: `${settings.clientId}-${instance}`,
  });
  const strict = flags.strict === true;
  const onProblem = (p: InputProblem) => {
    if (strict) throw new StrictStop(`${p.message.replace(/; [^;]*$/, "")} (--strict)`);
    log.log("warn", "input_problem", {
      kind: p.kind,
      file: p.file,
      line: p.line,
      message: p.message,
    });
  };
  const reader = new FileReader(files, { originMs, batchRows: maxBatch, onProblem });
  const pacer = createPacer(pace);
  let output: KafkaOutput | undefined;
  let sender: RowSender | undefined;
  const labels = flags["no-labels"] ? undefined : new LabelFeedback(
    labelDelayMs,
    (records) => sender!.publish(topics.labels, records),
    {
      partitions: await withinConnectTimeout(
        settings,
        "read the labels topic",
        () => topicPartitions(client, topics.labels),
      ),
    },
  );
  const stats = new ProducerStats(instance, topics.transactions, reader.stats, pacer, labels);

  let server: StatsServer | undefined;
  if (http) {
    try {
      server = await startStatsServer(http, stats);
    } catch (err) {
      throw new UserFacingError(`--http ${flags.http}: ${errorText(err)}`);
    }
  }
  let stopping = false;
  const stop = () => (stopping = true);
  Deno.addSignalListener("SIGINT", stop);
  Deno.addSignalListener("SIGTERM", stop);
  const progress = new Progress(stats, log, flags["label-delay"]);
  const runMetrics = await startRunMetrics(flags["mlflow-run"], `produce.${instance}.`, () => ({
    sent_tx_s: stats.sent.rate(10),
    send_latency_p99_ms: stats.sendLatencyMs.summary().p99,
  }), log);
  try {
    output = await client.output();
    sender = new RowSender(output, topics);
    sender.labels = labels;
    stats.connected = true;
    log.log("info", "started", {
      files: files.length,
      topic: topics.transactions,
      pace,
      stats_url: server?.url ?? null,
    });
    let sent = 0;
    try {
      outer: for await (const batch of reader.batches()) {
        stats.currentFile = batch.file;
        let i = 0;
        while (i < batch.count) {
          if (stopping || sent >= limit || pacer.finished()) break outer;
          let max = Math.min(batch.count - i, limit - sent);
          if (strict) {
            const bad = firstRejected(batch, i, i + max);
            if (bad === i) throw new StrictStop(`${badLine(batch, i)} (--strict)`);
            if (bad > i) max = bad - i;
          }
          const n = pacer.allow(max, batch.eventTimeMs, i);
          if (n === 0) {
            progress.tick();
            await sleep(pacer.waitMs(batch.eventTimeMs[i]));
            continue;
          }
          const releasedAt = performance.now();
          const t0 = performance.now();
          const out = await sender.send(batch, i, i + n, { skipRejected: flags["skip-rejected"] });
          stats.eventTimeMs = sender.eventTimeMs;
          stats.rejectedSent += out.rejected;
          i += n;
          sent += n;
          if (out.records > 0) {
            stats.sendLatencyMs.observe(performance.now() - t0);
            stats.noteSend(out.records, releasedAt);
          }
          progress.tick();
        }
      }
    } catch (err) {
      if (!(err instanceof StrictStop)) throw err;
      stats.done = true;
      progress.finish(err.message);
      throw err;
    }
    stats.done = true;
    progress.finish(
      stopping
        ? "stopped"
        : sent >= limit
        ? "limit reached"
        : pacer.finished()
        ? "ramp finished"
        : "input finished",
    );
    return 0;
  } finally {
    Deno.removeSignalListener("SIGINT", stop);
    Deno.removeSignalListener("SIGTERM", stop);
    await runMetrics?.stop();
    await output?.close().catch(() => {
      // Already failing or stopping: the broker drops the connection on its side anyway.
    });
    await server?.shutdown();
  }
});

/** Progress: a rewritten line on a terminal, a JSON log line every 10 s otherwise. */
class Progress {
  private readonly tty = Deno.stderr.isTerminal();
  private last = performance.now();

  constructor(
    private readonly stats: ProducerStats,
    private readonly log: ReturnType<typeof jsonLogger>,
    private readonly labelDelay: string,
  ) {}

  tick(): void {
    const now = performance.now();
    if (now - this.last < (this.tty ? 1000 : 10_000)) return;
    this.last = now;
    if (this.tty) {
      const s = this.stats.stats();
      const target = s.target_rate === null ? "" : ` (target ${s.target_rate}/s)`;
      const labels = s.labels ? `, labels ${s.labels.published}` : "";
      const line = `sent ${s.sent} at ${Math.round(s.rates.sent["1s"])}/s${target}` +
        `, rejected lines ${s.reader.rejected}${labels}, event time ${s.event_time ?? "-"}`;
      Deno.stderr.writeSync(new TextEncoder().encode(`\r\x1b[K${line}`));
    } else {
      this.log.log("info", "progress", this.summary());
    }
  }

  /**
   * The run's account: what was sent and how fast, every rejected line counted by reason with the
   * first few located, skipped files, and the labels that never went out.
   */
  finish(why: string): void {
    if (this.tty) Deno.stderr.writeSync(new TextEncoder().encode("\r\x1b[K"));
    const s = this.stats.stats();
    const reader = s.reader;
    let labels = null;
    if (s.labels) {
      const { published, pending } = s.labels;
      labels = {
        published,
        not_published: pending,
        delay: this.labelDelay,
        ...(pending > 0 && {
          note: `${pending} labels were still inside their ${this.labelDelay} delay ` +
            `(event time ${s.event_time}) when sending ended, and were not published`,
        }),
      };
    }
    this.log.log("info", "done", {
      why,
      sent: s.sent,
      achieved_rate: s.achieved_rate,
      target_rate: s.target_rate,
      sending_s: s.sending_s,
      rejected_lines: reader.rejected,
      rejected_sent: s.rejected_sent,
      rejected_by: Object.fromEntries(Object.entries(reader.rejectedBy).filter(([, n]) => n > 0)),
      first_rejected: reader.firstRejected,
      files_read: reader.files,
      files_skipped: reader.filesSkipped,
      files_without_header: reader.filesWithoutHeader,
      repaired: reader.repaired,
      labels,
      event_time: s.event_time,
      file: s.file,
    });
  }

  private summary() {
    const s = this.stats.stats();
    return {
      sent: s.sent,
      rate_10s: s.rates.sent["10s"],
      target_rate: s.target_rate,
      rejected_lines: s.reader.rejected,
      repaired: s.reader.repaired,
      labels: s.labels,
      event_time: s.event_time,
      file: s.file,
    };
  }
}

/** --strict met a bad line or file: the run ends with the done log and exit code 1. */
class StrictStop extends UserFacingError {}

/** Index of the first rejected row in batch rows [from, to), or -1. */
function firstRejected(batch: RowBatch, from: number, to: number): number {
  for (let k = from; k < to; k++) if (batch.reason[k] !== null) return k;
  return -1;
}

/** "file:line: what is wrong" for rejected row i. */
function badLine(batch: RowBatch, i: number): string {
  const line = new TextDecoder().decode(batch.line(i));
  return `${batch.file}:${batch.lineNo[i]}: ${describeRejected(line, batch.reason[i]!)}`;
}

function paceSpec(flags: {
  rate?: string;
  ramp?: string;
  "replay-speed"?: string;
  "step-seconds": string;
}): PaceSpec {
  const given = [flags.rate, flags.ramp, flags["replay-speed"]].filter((f) => f !== undefined);
  if (given.length > 1) {
    throw new UsageError("produce: give at most one of --rate, --ramp, --replay-speed");
  }
  if (flags.rate !== undefined) {
    return { kind: "constant", rate: positiveNumber("rate", flags.rate) };
  }
  if (flags["replay-speed"] !== undefined) {
    return { kind: "replay", speed: positiveNumber("replay-speed", flags["replay-speed"]) };
  }
  if (flags.ramp !== undefined) {
    const rates = flags.ramp.split(",").map((r) => positiveNumber("ramp", r));
    const stepMs = positiveNumber("step-seconds", flags["step-seconds"]) * 1000;
    return { kind: "ramp", rates, stepMs };
  }
  return { kind: "unlimited" };
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
