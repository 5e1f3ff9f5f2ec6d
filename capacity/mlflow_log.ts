import { MlflowClient, proxiedArtifactPath } from "../mlflow/tracking_client.ts";
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
 * experiment is MLFLOW_EXPERIMENT_NAME, else "fraudstream-capacity".
 */
export async function logToMlflow(
  trackingUri: string,
  report: CapacityReport,
  files: WrittenReport,
  env: (name: string) => string | undefined = (n) => Deno.env.get(n),
  /** An existing run to log into (it stays open: its owner ends it); default a new run. */
  existingRunId?: string,
): Promise<MlflowRun> {
  const api = new MlflowClient(trackingUri, env);
  const started = Date.parse(report.started_at);
  const tags = [
    { key: "mlflow.source.name", value: "fraudstream capacity" },
    { key: "answer", value: report.answer.slice(0, 5000) },
  ];
  let experimentId: string;
  let run: { info: { run_id: string; artifact_uri: string; experiment_id: string } };
  if (existingRunId) {
    ({ run } = await api.call<{ run: typeof run }>(
      "GET",
      `runs/get?run_id=${encodeURIComponent(existingRunId)}`,
    ));
    experimentId = run.info.experiment_id;
  } else {
    experimentId = await api.experimentId(
      env("MLFLOW_EXPERIMENT_NAME") || "fraudstream-capacity",
    );
    ({ run } = await api.call<{ run: typeof run }>("POST", "runs/create", {
      experiment_id: experimentId,
      run_name: `capacity ${report.started_at}`,
      start_time: started,
      tags,
    }));
  }
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
        tags: i === 0 && existingRunId ? tags.slice(1) : [],
      });
    }
    const artifactPath = proxiedArtifactPath(run.info.artifact_uri);
    for (const path of [files.json, files.markdown, files.chart]) {
      const name = path.split("/").pop()!;
      await api.upload(`${artifactPath}/${name}`, await Deno.readFile(path), contentType(name));
    }
    if (!existingRunId) {
      await api.call("POST", "runs/update", {
        run_id: runId,
        status: "FINISHED",
        end_time: Date.now(),
      });
    }
  } catch (err) {
    if (!existingRunId) {
      await api.call("POST", "runs/update", {
        run_id: runId,
        status: "FAILED",
        end_time: Date.now(),
      }).catch(() => {});
    }
    throw err;
  }
  return { runId, url: `${api.base}/#/experiments/${experimentId}/runs/${runId}` };
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

function contentType(name: string): string {
  if (name.endsWith(".json")) return "application/json";
  if (name.endsWith(".svg")) return "image/svg+xml";
  return "text/markdown; charset=utf-8";
}
