import type { EngineCounters } from "../features/feature_engine.ts";
import type { TopicNames } from "../kafka/topics.ts";
import { PrometheusText } from "../http/prometheus.ts";
import { LatencyBuckets } from "../metrics/latency_buckets.ts";
import { RateMeter } from "../metrics/rate_meter.ts";
import { RecentHistogram } from "../metrics/recent_histogram.ts";
import type { OnlineQuality } from "./online_quality.ts";
import {
  AGENT_STATS_VERSION,
  type AgentLabelsState,
  type AgentStatsDocument,
  type RestoreReport,
  type ServingModelState,
  type SnapshotsState,
} from "./stats_document.ts";

/** What /metrics shows of the label join (agent/label_join.ts). */
export interface LabelJoinCounters {
  readonly lagMs: number;
  readonly late: number;
  readonly staleScores: number;
  readonly maxStaleGapMs: number;
  readonly rewinds: number;
}

/** Everything an agent counts, and its two renderings: /stats JSON and /metrics text. */
export class AgentStats {
  readonly startedAt = Date.now();
  readonly consumed = new RateMeter();
  readonly scored = new RateMeter();
  readonly dlq = new RateMeter();
  duplicates = 0;
  errors = 0;
  batches = 0;
  readonly batchSize = new RecentHistogram();
  /** Since start, for the /metrics histograms that add up across a fleet. */
  readonly #batchLatencyBuckets = new LatencyBuckets();
  readonly #e2eLatencyBuckets = new LatencyBuckets();
  /** Recent percentiles for /stats; every observation also lands in the buckets above. */
  readonly batchLatencyMs = new RecentHistogram({ sinceStart: this.#batchLatencyBuckets });
  readonly e2eLatencyMs = new RecentHistogram({ sinceStart: this.#e2eLatencyBuckets });
  readonly dlqReasons = new Map<string, number>();
  /** Lag per assigned partition of the transactions topic, as of its latest batch. */
  readonly lag = new Map<number, number>();
  lastRestore: RestoreReport | null = null;
  restores = 0;

  constructor(
    readonly instance: string,
    readonly group: string,
    readonly topic: string,
    /** The serving model as /stats shows it: fixed, or live (agent/model_slot.ts). */
    readonly model: ServingModelState | { toJSON(): ServingModelState },
    readonly quality: OnlineQuality,
  ) {}

  recordDlq(reason: string): void {
    this.dlqReasons.set(reason, (this.dlqReasons.get(reason) ?? 0) + 1);
    if (reason === "duplicate_transaction_id") this.duplicates++;
  }

  toJson(
    extra: {
      assigned: number[];
      /** The label join's state (Agent.labelsJson). */
      labels: AgentLabelsState;
      exactlyOnce: boolean;
      /** The feature engine's counters (FeatureEngine.counters). */
      engine: EngineCounters;
      topics: TopicNames;
      snapshots: SnapshotsState | null;
    },
  ): AgentStatsDocument {
    const engine = extra.engine;
    let totalLag = 0;
    const partitions = [...this.lag.entries()].filter(([p]) => extra.assigned.includes(p))
      .sort(([a], [b]) => a - b)
      .map(([partition, lag]) => {
        totalLag += lag;
        return { topic: this.topic, partition, lag };
      });
    return {
      version: AGENT_STATS_VERSION,
      role: "agent",
      instance: this.instance,
      group: this.group,
      uptime_s: Math.round((Date.now() - this.startedAt) / 1000),
      model: "toJSON" in this.model ? this.model.toJSON() : this.model,
      exactly_once: extra.exactlyOnce,
      topics: extra.topics,
      consumed: this.consumed.total,
      scored: this.scored.total,
      dlq: this.dlq.total,
      duplicates: this.duplicates,
      out_of_order: { late: engine.outOfOrder, too_old: engine.tooOld },
      state_saturated: engine.saturated,
      dlq_reasons: Object.fromEntries(this.dlqReasons),
      errors: this.errors,
      batches: this.batches,
      rates: {
        consumed: this.consumed.rates(),
        scored: this.scored.rates(),
        dlq: this.dlq.rates(),
      },
      batch: { size: this.batchSize.summary(), latency_ms: this.batchLatencyMs.summary() },
      e2e_latency_ms: this.e2eLatencyMs.summary(),
      lag: { total: totalLag, partitions },
      assigned_partitions: extra.assigned,
      restore: this.lastRestore,
      snapshots: extra.snapshots,
      labels: extra.labels,
      quality: this.quality.summary(),
    };
  }

  toPrometheus(assigned: number[], engine: EngineCounters, labels: LabelJoinCounters): string {
    const p = new PrometheusText();
    const base = { instance: this.instance, group: this.group };
    p.sample(
      "fraudstream_agent_stale_label_scores_total",
      "counter",
      "Transactions scored without every label their terminal features read (labels_complete false).",
      labels.staleScores,
      base,
    );
    p.sample(
      "fraudstream_agent_stale_label_gap_max_seconds",
      "gauge",
      "Largest event-time gap between the label watermark a stale score needed and the one it had.",
      labels.maxStaleGapMs / 1000,
      base,
    );
    p.sample(
      "fraudstream_agent_label_rewinds_total",
      "counter",
      "Times the labels were read again from the start, for a partition handed over behind the days released.",
      labels.rewinds,
      base,
    );
    p.sample(
      "fraudstream_agent_label_lag_seconds",
      "gauge",
      "Event time by which the label watermark trails what the transactions seen need.",
      Number.isFinite(labels.lagMs) ? labels.lagMs / 1000 : 0,
      base,
    );
    p.sample(
      "fraudstream_agent_late_labels_total",
      "counter",
      "Labels that arrived at or below the label watermark (the publisher broke its promise).",
      labels.late,
      base,
    );
    p.sample(
      "fraudstream_agent_out_of_order_total",
      "counter",
      "Scored rows older than their customer's newest row.",
      engine.outOfOrder,
      base,
    );
    p.sample(
      "fraudstream_agent_too_old_total",
      "counter",
      "Out-of-order rows beyond the 30-day state, scored without history.",
      engine.tooOld,
      base,
    );
    p.sample(
      "fraudstream_agent_consumed_total",
      "counter",
      "Input messages consumed.",
      this.consumed.total,
      base,
    );
    p.sample(
      "fraudstream_agent_scored_total",
      "counter",
      "Transactions scored into predictions.",
      this.scored.total,
      base,
    );
    for (const [reason, n] of this.dlqReasons) {
      p.sample(
        "fraudstream_agent_dlq_total",
        "counter",
        "Input messages sent to the DLQ, by reason.",
        n,
        { ...base, reason },
      );
    }
    p.sample(
      "fraudstream_agent_errors_total",
      "counter",
      "Batches that failed and were retried.",
      this.errors,
      base,
    );
    p.sample("fraudstream_agent_batches_total", "counter", "Batches scored.", this.batches, base);
    p.sample(
      "fraudstream_agent_scored_per_second",
      "gauge",
      "Scoring rate over the last 10 s.",
      this.scored.rate(10),
      base,
    );
    p.latencyHistogram(
      "fraudstream_agent_batch_duration_seconds",
      "Time to score and produce one batch.",
      this.#batchLatencyBuckets,
      base,
    );
    p.latencyHistogram(
      "fraudstream_agent_end_to_end_latency_seconds",
      "From the input message timestamp to its prediction.",
      this.#e2eLatencyBuckets,
      base,
    );
    for (const partition of assigned) {
      p.sample(
        "fraudstream_agent_consumer_lag_messages",
        "gauge",
        "Messages behind the end of an assigned partition.",
        this.lag.get(partition) ?? 0,
        {
          ...base,
          topic: this.topic,
          partition,
        },
      );
    }
    if (this.lastRestore) {
      p.sample(
        "fraudstream_agent_last_restore_duration_seconds",
        "gauge",
        "Duration of the last state restore.",
        this.lastRestore.ms / 1000,
        base,
      );
    }
    const quality = this.quality.summary();
    p.sample(
      "fraudstream_agent_online_labelled_scores",
      "gauge",
      "Scores whose label has come back, in the window online quality is computed over.",
      quality.labelled,
      base,
    );
    const ratios = [
      ["precision", quality.precision, "Share of flagged labelled scores that were fraud."],
      ["recall", quality.recall, "Share of labelled frauds that were flagged."],
      ["roc_auc", quality.roc_auc, "ROC AUC of the labelled scores."],
    ] as const;
    for (const [name, value, help] of ratios) {
      // Undefined until the window holds a flagged score, a fraud, and a fraud and a non-fraud.
      if (value === null) continue;
      p.sample(`fraudstream_agent_online_${name}_ratio`, "gauge", help, value, base);
    }
    return p.toString();
  }
}
