import { AGENT_STATS_VERSION, type AgentStatsDocument } from "../../agent/stats_document.ts";

const SUMMARY = { count: 0, mean: 0, p50: 0, p95: 0, p99: 0, max: 0 };
const RATES = { "1s": 0, "10s": 0, "60s": 0 };

/**
 * A complete agent /stats document for tests that stand in for agents (fleet, capacity), with
 * the fields a test cares about overridden. Typed, so it cannot drift from what agents send.
 */
export function agentStatsDocument(fields: Partial<AgentStatsDocument> = {}): AgentStatsDocument {
  return {
    version: AGENT_STATS_VERSION,
    role: "agent",
    instance: "test-agent-1",
    uptime_s: 1,
    group: "fraudstream-agents",
    model: { name: "fraudstream-fraud", version: "1", threshold: 0.5, registry: null },
    exactly_once: false,
    topics: {
      transactions: "transactions",
      predictions: "predictions",
      dlq: "transactions.dlq",
      labels: "labels",
      state: "state",
    },
    consumed: 0,
    scored: 0,
    dlq: 0,
    duplicates: 0,
    out_of_order: { late: 0, too_old: 0 },
    state_saturated: 0,
    dlq_reasons: {},
    errors: 0,
    batches: 0,
    rates: { consumed: RATES, scored: RATES, dlq: RATES },
    batch: { size: SUMMARY, latency_ms: SUMMARY },
    e2e_latency_ms: SUMMARY,
    lag: { total: 0, partitions: [] },
    assigned_partitions: [],
    restore: null,
    snapshots: null,
    labels: {
      watermark: null,
      lag_ms: null,
      waiting_partitions: [],
      waits: 0,
      wait_ms: 0,
      read: 0,
      watermarks_read: 0,
      invalid: 0,
      applied: 0,
      late: 0,
      dropped: 0,
      terminal_days_held: 0,
      rewinds: 0,
      stale_scores: 0,
      max_stale_gap_ms: 0,
    },
    quality: { labelled: 0, frauds: 0, precision: null, recall: null, roc_auc: null },
    ...fields,
  };
}
