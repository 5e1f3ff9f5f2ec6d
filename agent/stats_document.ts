import type { TopicNames } from "../kafka/topics.ts";
import type { Shape } from "../http/json_shape.ts";
import { parseStatsDocument, type StatsDocumentHead } from "../http/stats_document.ts";
import type { PercentileSummary } from "../metrics/latency_histogram.ts";
import type { Rates } from "../metrics/rate_meter.ts";
import type { OnlineQualitySummary } from "./online_quality.ts";

/** Raised with every change of AgentStatsDocument a reader could misread. */
export const AGENT_STATS_VERSION = 2;

/** The last restore of feature state from the partition histories. */
export interface RestoreReport {
  partitions: number[];
  /** Records replayed (after the snapshots loaded, for the partitions that had one). */
  messages: number;
  ms: number;
  /** Partitions whose state started from a snapshot on the state topic. */
  from_snapshot: number[];
}

/** State snapshots written to the state topic; null when they are off. */
export interface SnapshotsState {
  interval_ms: number;
  sent: number;
  /** The last failed send (only means a longer replay after a restart), null when none. */
  last_error: string | null;
}

/** The label join's state (agent/label_join.ts and the label feed), also shown on /readyz. */
export interface AgentLabelsState {
  /** The label watermark (ISO time), null before every labels partition has sent one. */
  watermark: string | null;
  /** Event time by which the watermark trails what the transactions seen need, ms. */
  lag_ms: number | null;
  /** Transactions partitions paused until the watermark reaches what they need. */
  waiting_partitions: number[];
  waits: number;
  wait_ms: number;
  read: number;
  watermarks_read: number;
  invalid: number;
  applied: number;
  late: number;
  dropped: number;
  terminal_days_held: number;
  /** Times the labels were read again from the start, for a partition handed over far behind. */
  rewinds: number;
  stale_scores: number;
  max_stale_gap_ms: number;
}

/** The model serving now (agent/model_slot.ts). */
export interface ServingModelState {
  name: string;
  version: string;
  threshold: number;
  /** For a model from the MLflow registry (agent/model_watch.ts); null for a model file. */
  registry: ModelRegistryState | null;
}

export interface ModelRegistryState {
  /** The registry version serving. */
  version: string;
  swaps: number;
  last_swap: { from: string; to: string; at: string; load_ms: number } | null;
  /** The latest versions refused (at most 10), with the one-line reason. */
  refused: { version: string; reason: string; at: string }[];
  /** Polls the registry did not answer. */
  poll_errors: number;
}

/** An agent's GET /stats: the one type the server writes and every reader parses into. */
export interface AgentStatsDocument extends StatsDocumentHead {
  version: typeof AGENT_STATS_VERSION;
  role: "agent";
  group: string;
  model: ServingModelState;
  exactly_once: boolean;
  topics: TopicNames;
  consumed: number;
  scored: number;
  dlq: number;
  duplicates: number;
  /** Scored rows older than their customer's newest; too_old: beyond the 30-day window. */
  out_of_order: { late: number; too_old: number };
  state_saturated: number;
  dlq_reasons: Record<string, number>;
  errors: number;
  batches: number;
  rates: { consumed: Rates; scored: Rates; dlq: Rates };
  /** Over the last 60-120 s: batch sizes (messages) and batch latencies. */
  batch: { size: PercentileSummary; latency_ms: PercentileSummary };
  /** From each input message's timestamp to its prediction, over the last 60-120 s. */
  e2e_latency_ms: PercentileSummary;
  lag: { total: number; partitions: { topic: string; partition: number; lag: number }[] };
  assigned_partitions: number[];
  restore: RestoreReport | null;
  snapshots: SnapshotsState | null;
  labels: AgentLabelsState;
  quality: OnlineQualitySummary;
}

const RATES: Shape<Rates> = { "1s": "number", "10s": "number", "60s": "number" };
const SUMMARY: Shape<PercentileSummary> = {
  count: "number",
  mean: "number",
  p50: "number",
  p95: "number",
  p99: "number",
  max: "number",
};
const NUMBERS = { $items: "number" } as const;
const NULLABLE_NUMBER = { $nullable: "number" } as const;

const AGENT_STATS_SHAPE: Shape<AgentStatsDocument> = {
  version: "number",
  role: "string",
  instance: "string",
  uptime_s: "number",
  group: "string",
  model: {
    name: "string",
    version: "string",
    threshold: "number",
    registry: {
      $nullable: {
        version: "string",
        swaps: "number",
        last_swap: {
          $nullable: { from: "string", to: "string", at: "string", load_ms: "number" },
        },
        refused: { $items: { version: "string", reason: "string", at: "string" } },
        poll_errors: "number",
      },
    },
  },
  exactly_once: "boolean",
  topics: {
    transactions: "string",
    predictions: "string",
    dlq: "string",
    labels: "string",
    state: "string",
  },
  consumed: "number",
  scored: "number",
  dlq: "number",
  duplicates: "number",
  out_of_order: { late: "number", too_old: "number" },
  state_saturated: "number",
  dlq_reasons: { $values: "number" },
  errors: "number",
  batches: "number",
  rates: { consumed: RATES, scored: RATES, dlq: RATES },
  batch: { size: SUMMARY, latency_ms: SUMMARY },
  e2e_latency_ms: SUMMARY,
  lag: {
    total: "number",
    partitions: { $items: { topic: "string", partition: "number", lag: "number" } },
  },
  assigned_partitions: NUMBERS,
  restore: {
    $nullable: { partitions: NUMBERS, messages: "number", ms: "number", from_snapshot: NUMBERS },
  },
  snapshots: {
    $nullable: { interval_ms: "number", sent: "number", last_error: { $nullable: "string" } },
  },
  labels: {
    watermark: { $nullable: "string" },
    lag_ms: NULLABLE_NUMBER,
    waiting_partitions: NUMBERS,
    waits: "number",
    wait_ms: "number",
    read: "number",
    watermarks_read: "number",
    invalid: "number",
    applied: "number",
    late: "number",
    dropped: "number",
    terminal_days_held: "number",
    rewinds: "number",
    stale_scores: "number",
    max_stale_gap_ms: "number",
  },
  quality: {
    labelled: "number",
    frauds: "number",
    precision: NULLABLE_NUMBER,
    recall: NULLABLE_NUMBER,
    roc_auc: NULLABLE_NUMBER,
  },
};

/** A parsed GET /stats body as an agent's document; StatsDocumentError (one line) if it is not. */
export function parseAgentStats(json: unknown): AgentStatsDocument {
  return parseStatsDocument<AgentStatsDocument>(json, {
    role: "agent",
    version: AGENT_STATS_VERSION,
    shape: AGENT_STATS_SHAPE,
  });
}
