import { errorText } from "../kafka/connection.ts";

/**
 * One look at every agent's /stats, taken concurrently with a deadline, reduced to the few
 * numbers an operator watches during a capacity test. Fields an agent does not report (an
 * older or newer version) come out as null instead of failing the row.
 */

export interface AgentRow {
  url: string;
  up: boolean;
  /** Why an agent counts as down: timeout, refused connection, HTTP status, not JSON. */
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
  /** Percentiles do not add up across agents: the worst agent's p99 is the honest summary. */
  e2e_p99_ms_max: number | null;
  dlq: number;
  errors: number;
}

/** "10.0.0.5:8081" -> "http://10.0.0.5:8081"; a trailing /stats or / is dropped. */
export function normalizeAgentUrl(raw: string): string {
  const withScheme = /^[a-z]+:\/\//i.test(raw) ? raw : `http://${raw}`;
  return withScheme.replace(/\/+$/, "").replace(/\/stats$/, "");
}

export async function pollAgent(url: string, timeoutMs: number): Promise<AgentRow> {
  const down = (error: string): AgentRow => ({ ...emptyRow(url), error });
  let doc: unknown;
  try {
    const res = await fetch(`${url}/stats`, { signal: AbortSignal.timeout(timeoutMs) });
    if (!res.ok) {
      await res.body?.cancel();
      return down(`HTTP ${res.status}`);
    }
    doc = await res.json();
  } catch (err) {
    const e = err as Error;
    if (e.name === "TimeoutError") return down(`no answer within ${timeoutMs / 1000}s`);
    if (e instanceof SyntaxError) return down("/stats is not JSON");
    return down(errorText(e));
  }
  if (doc === null || typeof doc !== "object") return down("/stats is not a JSON object");
  const model = [str(doc, "model", "name"), str(doc, "model", "version")].filter(Boolean);
  const assigned = at(doc, "assigned_partitions");
  const lagPartitions = at(doc, "lag", "partitions");
  return {
    url,
    up: true,
    error: null,
    instance: str(doc, "instance"),
    uptime_s: num(doc, "uptime_s"),
    model: model.length ? model.join(" ") : null,
    partitions: Array.isArray(assigned)
      ? assigned.length
      : Array.isArray(lagPartitions)
      ? lagPartitions.length
      : null,
    scored_per_s_10s: num(doc, "rates", "scored", "10s"),
    consumed_per_s_10s: num(doc, "rates", "consumed", "10s"),
    scored: num(doc, "scored"),
    lag: num(doc, "lag", "total"),
    e2e_p99_ms: num(doc, "e2e_latency_ms", "p99"),
    dlq: num(doc, "dlq"),
    errors: num(doc, "errors"),
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

function at(doc: unknown, ...path: string[]): unknown {
  let v = doc;
  for (const key of path) {
    if (v === null || typeof v !== "object") return undefined;
    v = (v as Record<string, unknown>)[key];
  }
  return v;
}

function num(doc: unknown, ...path: string[]): number | null {
  const v = at(doc, ...path);
  return typeof v === "number" && Number.isFinite(v) ? v : null;
}

function str(doc: unknown, ...path: string[]): string | null {
  const v = at(doc, ...path);
  return typeof v === "string" || typeof v === "number" ? String(v) : null;
}
