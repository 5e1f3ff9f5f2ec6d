import { type AgentStatsDocument, parseAgentStats } from "../agent/stats_document.ts";
import { StatsDocumentError } from "../http/stats_document.ts";
import { errorText } from "../kafka/connection.ts";

/**
 * One look at every agent's /stats, taken concurrently with a deadline, reduced to the few
 * numbers an operator watches during a capacity test. An agent whose document is not the
 * version this release reads is down, with one line saying so.
 */

export interface AgentRow {
  url: string;
  up: boolean;
  /** Why an agent counts as down: timeout, refused connection, HTTP status, not its stats. */
  error: string | null;
  instance: string | null;
  uptime_s: number | null;
  model: string | null;
  partitions: number | null;
  scored_per_s_10s: number | null;
  consumed_per_s_10s: number | null;
  scored: number | null;
  lag: number | null;
  e2e_p99_ms: number | null;
  dlq: number | null;
  errors: number | null;
}

export interface FleetTotals {
  agents: number;
  up: number;
  scored_per_s_10s: number;
  consumed_per_s_10s: number;
  lag: number;
  /**
   * Percentiles do not add up across agents: of /stats' recent p99s, the worst agent's is the
   * honest summary. The fleet's own p99 comes from the /metrics histograms, summed by bucket.
   */
  e2e_p99_ms_max: number | null;
  dlq: number;
  errors: number;
}

/** "10.0.0.5:8081" -> "http://10.0.0.5:8081"; a trailing /stats or / is dropped. */
export function normalizeAgentUrl(raw: string): string {
  const withScheme = /^[a-z]+:\/\//i.test(raw) ? raw : `http://${raw}`;
  return withScheme.replace(/\/+$/, "").replace(/\/stats$/, "");
}

/** An agent's /stats, parsed and checked, or why it could not be read. */
export type AgentStatsRead = { doc: AgentStatsDocument; error?: never } | {
  doc?: never;
  error: string;
};

export async function readAgentStats(url: string, timeoutMs: number): Promise<AgentStatsRead> {
  try {
    const res = await fetch(`${url}/stats`, { signal: AbortSignal.timeout(timeoutMs) });
    if (!res.ok) {
      await res.body?.cancel();
      return { error: `HTTP ${res.status}` };
    }
    return { doc: parseAgentStats(await res.json()) };
  } catch (err) {
    const e = err as Error;
    if (e.name === "TimeoutError") return { error: `no answer within ${timeoutMs / 1000}s` };
    if (e instanceof SyntaxError) return { error: "/stats is not JSON" };
    if (e instanceof StatsDocumentError) return { error: `/stats: ${e.message}` };
    return { error: errorText(e) };
  }
}

export async function pollAgent(url: string, timeoutMs: number): Promise<AgentRow> {
  const { doc, error } = await readAgentStats(url, timeoutMs);
  return doc ? agentRow(url, doc) : { ...emptyRow(url), error };
}

/** The numbers of one agent's document that the fleet table shows. */
function agentRow(url: string, doc: AgentStatsDocument): AgentRow {
  return {
    url,
    up: true,
    error: null,
    instance: doc.instance,
    uptime_s: doc.uptime_s,
    model: `${doc.model.name} ${doc.model.version}`,
    partitions: doc.assigned_partitions.length,
    scored_per_s_10s: doc.rates.scored["10s"],
    consumed_per_s_10s: doc.rates.consumed["10s"],
    scored: doc.scored,
    lag: doc.lag.total,
    e2e_p99_ms: doc.e2e_latency_ms.p99,
    dlq: doc.dlq,
    errors: doc.errors,
  };
}

export function pollAgents(urls: string[], timeoutMs: number): Promise<AgentRow[]> {
  return Promise.all(urls.map((u) => pollAgent(u, timeoutMs)));
}

export function totals(rows: AgentRow[]): FleetTotals {
  const up = rows.filter((r) => r.up);
  const sum = (pick: (r: AgentRow) => number | null) =>
    up.reduce((acc, r) => acc + (pick(r) ?? 0), 0);
  const p99s = up.map((r) => r.e2e_p99_ms).filter((v): v is number => v !== null);
  return {
    agents: rows.length,
    up: up.length,
    scored_per_s_10s: sum((r) => r.scored_per_s_10s),
    consumed_per_s_10s: sum((r) => r.consumed_per_s_10s),
    lag: sum((r) => r.lag),
    e2e_p99_ms_max: p99s.length ? Math.max(...p99s) : null,
    dlq: sum((r) => r.dlq),
    errors: sum((r) => r.errors),
  };
}

function emptyRow(url: string): AgentRow {
  return {
    url,
    up: false,
    error: null,
    instance: null,
    uptime_s: null,
    model: null,
    partitions: null,
    scored_per_s_10s: null,
    consumed_per_s_10s: null,
    scored: null,
    lag: null,
    e2e_p99_ms: null,
    dlq: null,
    errors: null,
  };
}
