import { fmtRate } from "./fleet_size.ts";
import type { CapacityReport, WrittenReport } from "./report.ts";

/** MLflow's log-batch takes at most 1000 metrics and 100 params per call. */
const METRICS_PER_BATCH = 1000;
const PARAM_VALUE_MAX = 500;

export interface MlflowRun {
  runId: string;
  url: string;
}

/**
 * Logs a capacity report to an MLflow tracking server through its REST API: parameters, the
 * knee and fleet sizes as metrics (and lag, input rate and throughput per second as series),
 * and the report files as artifacts through the server's mlflow-artifacts proxy. The
 * experiment is MLFLOW_EXPERIMENT_NAME, else "fraudstream-capacity"; MLFLOW_TRACKING_TOKEN or
 * MLFLOW_TRACKING_USERNAME/PASSWORD authenticate, as with MLflow's own clients.
 */
export async function logToMlflow(
  trackingUri: string,
  report: CapacityReport,
  files: WrittenReport,
  env: (name: string) => string | undefined = (n) => Deno.env.get(n),
): Promise<MlflowRun> {
  const base = trackingUri.replace(/\/+$/, "");
  const api = new MlflowApi(base, authHeader(env));
  const experimentName = env("MLFLOW_EXPERIMENT_NAME") || "fraudstream-capacity";
  const experimentId = await api.experimentId(experimentName);
  const started = Date.parse(report.started_at);
  const { run } = await api.call<{ run: { info: { run_id: string; artifact_uri: string } } }>(
    "POST",
    "runs/create",
    {
      experiment_id: experimentId,
      run_name: `capacity ${report.started_at}`,
      start_time: started,
      tags: [
        { key: "mlflow.source.name", value: "fraudstream capacity" },
        { key: "answer", value: report.answer.slice(0, 5000) },
      ],
    },
  );
  const runId = run.info.run_id;
  try {
    const now = Date.now();
    const metrics = summaryMetrics(report, now).concat(seriesMetrics(report, started));
    const params = Object.entries(report.parameters).map(([key, value]) => ({
      key,
      value: (typeof value === "string" ? value : JSON.stringify(value)).slice(0, PARAM_VALUE_MAX),
    }));
    for (let i = 0; i < Math.max(metrics.length, 1); i += METRICS_PER_BATCH) {
      await api.call("POST", "runs/log-batch", {
        run_id: runId,
        metrics: metrics.slice(i, i + METRICS_PER_BATCH),
        params: i === 0 ? params : [],
      });
    }
    const artifactPath = proxiedArtifactPath(run.info.artifact_uri);
    for (const path of [files.json, files.markdown, files.chart]) {
      const name = path.split("/").pop()!;
      await api.upload(`${artifactPath}/${name}`, await Deno.readFile(path), contentType(name));
    }
    await api.call("POST", "runs/update", {
      run_id: runId,
      status: "FINISHED",
      end_time: Date.now(),
    });
  } catch (err) {
    await api.call("POST", "runs/update", { run_id: runId, status: "FAILED", end_time: Date.now() })
      .catch(() => {});
    throw err;
  }
  return { runId, url: `${base}/#/experiments/${experimentId}/runs/${runId}` };
}

interface Metric {
  key: string;
  value: number;
  timestamp: number;
  step: number;
}

function summaryMetrics(report: CapacityReport, timestamp: number): Metric[] {
  const out: Metric[] = [];
  const add = (key: string, value: number | null | undefined) => {
    if (value !== null && value !== undefined && Number.isFinite(value)) {
      out.push({ key, value, timestamp, step: 0 });
    }
  };
  add("knee_per_agent_tx_s", report.per_agent?.knee);
  add("knee_upper_per_agent_tx_s", report.per_agent?.upper);
  for (const m of report.measurements) {
    add(`knee_${m.agents}_agents_tx_s`, m.knee.rate);
    add(`knee_upper_${m.agents}_agents_tx_s`, m.knee.upper);
    add(`saturated_throughput_${m.agents}_agents_tx_s`, m.knee.saturatedThroughput);
    add(`drain_rate_${m.agents}_agents_tx_s`, m.drain?.rate);
  }
  for (const f of report.fleet_sizes) {
    add(`fleet_size_${fmtRate(f.target).replace(".", "_")}_tx_s`, f.agents);
  }
  return out;
}

/** Lag, input rate and throughput per second of the run, as MLflow metric series. */
function seriesMetrics(report: CapacityReport, startedMs: number): Metric[] {
  const out: Metric[] = [];
  for (const s of report.samples) {
    const timestamp = Math.round(startedMs + s.t * 1000);
    const step = Math.round(s.t);
    out.push(
      { key: "lag", value: s.lag, timestamp, step },
      { key: "input_rate_tx_s", value: s.inputRate, timestamp, step },
      { key: "throughput_tx_s", value: s.throughput, timestamp, step },
    );
  }
  return out;
}

/** "mlflow-artifacts:/1/abc/artifacts" -> "1/abc/artifacts"; other stores are not reachable. */
function proxiedArtifactPath(artifactUri: string): string {
  const m = /^mlflow-artifacts:(?:\/\/[^/]*)?\/(.*)$/.exec(artifactUri);
  if (!m) {
    throw new Error(
      `the run's artifact store is ${artifactUri}, not the server's proxy: start the tracking server with --serve-artifacts`,
    );
  }
  return m[1].replace(/\/+$/, "");
}

function contentType(name: string): string {
  if (name.endsWith(".json")) return "application/json";
  if (name.endsWith(".svg")) return "image/svg+xml";
  return "text/markdown; charset=utf-8";
}

function authHeader(env: (name: string) => string | undefined): Record<string, string> {
  const token = env("MLFLOW_TRACKING_TOKEN");
  if (token) return { authorization: `Bearer ${token}` };
  const user = env("MLFLOW_TRACKING_USERNAME");
  if (user) {
    return { authorization: `Basic ${btoa(`${user}:${env("MLFLOW_TRACKING_PASSWORD") ?? ""}`)}` };
  }
  return {};
}

class MlflowApi {
  constructor(private readonly base: string, private readonly auth: Record<string, string>) {}

  async call<T = unknown>(method: "GET" | "POST", path: string, body?: unknown): Promise<T> {
    const res = await fetch(`${this.base}/api/2.0/mlflow/${path}`, {
      method,
      headers: { "content-type": "application/json", ...this.auth },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(30_000),
    });
    const text = await res.text();
    if (!res.ok) throw new MlflowError(path, res.status, text);
    return (text ? JSON.parse(text) : {}) as T;
  }

  async experimentId(name: string): Promise<string> {
    try {
      const found = await this.call<{ experiment: { experiment_id: string } }>(
        "GET",
        `experiments/get-by-name?experiment_name=${encodeURIComponent(name)}`,
      );
      return found.experiment.experiment_id;
    } catch (err) {
      if (!(err instanceof MlflowError && err.code === "RESOURCE_DOES_NOT_EXIST")) throw err;
    }
    const created = await this.call<{ experiment_id: string }>("POST", "experiments/create", {
      name,
    });
    return created.experiment_id;
  }

  async upload(path: string, bytes: Uint8Array<ArrayBuffer>, type: string): Promise<void> {
    const url = `${this.base}/api/2.0/mlflow-artifacts/artifacts/${
      path.split("/").map(encodeURIComponent).join("/")
    }`;
    const res = await fetch(url, {
      method: "PUT",
      headers: { "content-type": type, ...this.auth },
      body: bytes,
      signal: AbortSignal.timeout(60_000),
    });
    const text = await res.text();
    if (!res.ok) throw new MlflowError(`artifact ${path}`, res.status, text);
  }
}

class MlflowError extends Error {
  readonly code: string;

  constructor(what: string, status: number, body: string) {
    let code = "";
    let message = body.slice(0, 200);
    try {
      const doc = JSON.parse(body);
      code = doc.error_code ?? "";
      message = doc.message ?? message;
    } catch { /* not JSON: an HTML error page or a proxy's text */ }
    super(`${what}: HTTP ${status}${code ? ` ${code}` : ""}: ${message}`);
    this.code = code;
  }
}
