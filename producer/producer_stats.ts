import { PrometheusText } from "../http/prometheus.ts";
import type { StatsDocumentHead } from "../http/stats_document.ts";
import type { StatsSource } from "../http/stats_server.ts";
import { LatencyBuckets } from "../metrics/latency_buckets.ts";
import type { PercentileSummary } from "../metrics/latency_histogram.ts";
import { RateMeter, type Rates } from "../metrics/rate_meter.ts";
import { RecentHistogram } from "../metrics/recent_histogram.ts";
import type { ReaderStats } from "./file_reader.ts";
import type { LabelFeedback } from "./label_feedback.ts";
import type { Pacer } from "./rate_pacer.ts";

/** Raised with every change of ProducerStatsDocument a reader could misread. */
export const PRODUCER_STATS_VERSION = 1;

/** The producer's GET /stats; its head, rates and latency summary are the agent's types. */
export interface ProducerStatsDocument extends StatsDocumentHead {
  version: typeof PRODUCER_STATS_VERSION;
  role: "producer";
  topic: string;
  sent: number;
  rejected_sent: number;
  rates: { sent: Rates };
  achieved_rate: number | null;
  sending_s: number;
  target_rate: number | null;
  /** Over the last 60-120 s. */
  send_latency_ms: PercentileSummary;
  /** Latest event time sent (ISO), null before the first row. */
  event_time: string | null;
  file: string;
  reader: ReaderStats;
  labels: { published: number; pending: number } | null;
  done: boolean;
}

/** What the producer reports on /stats, /metrics, its progress line and its JSON logs. */
export class ProducerStats implements StatsSource {
  readonly sent = new RateMeter();
  /** Every send since start, for the /metrics histogram. */
  readonly #sendLatencyBuckets = new LatencyBuckets();
  readonly sendLatencyMs = new RecentHistogram({ sinceStart: this.#sendLatencyBuckets });
  readonly startedAt = Date.now();
  connected = false;
  done = false;
  /** Lines sent that the reader rejected (forwarded so the agents' DLQ path sees them). */
  rejectedSent = 0;
  /** Latest event time sent (epoch ms), NaN before the first row. */
  eventTimeMs = NaN;
  currentFile = "";
  /** performance.now() when the first and the latest send were released, and the first's size. */
  private firstSendAt = NaN;
  private lastSendAt = NaN;
  private firstSendCount = 0;

  constructor(
    readonly instance: string,
    readonly topic: string,
    private readonly reader: ReaderStats,
    private readonly pacer: Pacer,
    private readonly labels: LabelFeedback | undefined,
  ) {}

  /** Counts a send of `count` messages released by the pacer at `at` (performance.now()). */
  noteSend(count: number, at: number): void {
    this.sent.add(count);
    if (Number.isNaN(this.firstSendAt)) {
      this.firstSendAt = at;
      this.firstSendCount = count;
    }
    this.lastSendAt = at;
  }

  /** Seconds from the first send to the latest. */
  sendingSeconds(): number {
    return Number.isNaN(this.firstSendAt) ? 0 : (this.lastSendAt - this.firstSendAt) / 1000;
  }

  /**
   * Messages per second over the whole run, NaN before a second send. The first send is left
   * out: it goes at once with a time slice's worth of tokens, and counting it would credit the
   * run with a slice it never waited for.
   */
  achievedRate(): number {
    const seconds = this.sendingSeconds();
    return seconds > 0 ? (this.sent.total - this.firstSendCount) / seconds : NaN;
  }

  healthy(): boolean {
    return true;
  }

  readiness(): Record<string, boolean> {
    return { broker_connected: this.connected, sending: !this.done };
  }

  stats(): ProducerStatsDocument {
    const target = this.pacer.targetRate();
    return {
      version: PRODUCER_STATS_VERSION,
      role: "producer",
      instance: this.instance,
      topic: this.topic,
      uptime_s: Math.round((Date.now() - this.startedAt) / 1000),
      sent: this.sent.total,
      rejected_sent: this.rejectedSent,
      rates: { sent: this.sent.rates() },
      achieved_rate: finiteOrNull(this.achievedRate()),
      sending_s: this.sendingSeconds(),
      target_rate: finiteOrNull(target),
      send_latency_ms: this.sendLatencyMs.summary(),
      event_time: Number.isNaN(this.eventTimeMs) ? null : new Date(this.eventTimeMs).toISOString(),
      file: this.currentFile,
      reader: this.reader,
      labels: this.labels
        ? { published: this.labels.published, pending: this.labels.pending }
        : null,
      done: this.done,
    };
  }

  metrics(): string {
    const p = new PrometheusText();
    const base = { instance: this.instance, topic: this.topic };
    p.sample(
      "fraudstream_producer_sent_total",
      "counter",
      "Messages sent to the transactions topic.",
      this.sent.total,
      base,
    );
    p.sample(
      "fraudstream_producer_sent_per_second",
      "gauge",
      "Send rate over the last 10 s.",
      this.sent.rate(10),
      base,
    );
    const target = this.pacer.targetRate();
    if (!Number.isNaN(target)) {
      p.sample(
        "fraudstream_producer_target_per_second",
        "gauge",
        "Send rate aimed at, messages per second.",
        target,
        base,
      );
    }
    for (const [reason, n] of Object.entries(this.reader.rejectedBy)) {
      if (n === 0) continue;
      p.sample(
        "fraudstream_producer_rejected_lines_total",
        "counter",
        "Input lines the reader rejected, by reason.",
        n,
        { ...base, reason },
      );
    }
    for (const [repair, n] of Object.entries(this.reader.repaired)) {
      p.sample(
        "fraudstream_producer_repaired_rows_total",
        "counter",
        "Input rows the cleaning rules repaired, by repair.",
        n,
        { ...base, repair },
      );
    }
    const achieved = this.achievedRate();
    if (!Number.isNaN(achieved)) {
      p.sample(
        "fraudstream_producer_achieved_per_second",
        "gauge",
        "Messages per second since the first send.",
        achieved,
        base,
      );
    }
    if (this.labels) {
      p.sample(
        "fraudstream_producer_labels_published_total",
        "counter",
        "Labels published after their delay.",
        this.labels.published,
        base,
      );
      p.sample(
        "fraudstream_producer_labels_pending",
        "gauge",
        "Labels waiting for their delay to pass.",
        this.labels.pending,
        base,
      );
    }
    p.latencyHistogram(
      "fraudstream_producer_send_duration_seconds",
      "Time for one send call to be acknowledged.",
      this.#sendLatencyBuckets,
      base,
    );
    return p.toString();
  }
}

function finiteOrNull(x: number): number | null {
  return Number.isFinite(x) ? x : null;
}
