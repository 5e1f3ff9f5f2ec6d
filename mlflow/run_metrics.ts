import type { Logger } from "../cli/json_log.ts";
import { UsageError, UserFacingError } from "../cli/usage_error.ts";
import { MlflowClient, MlflowError } from "./tracking_client.ts";

/** `--mlflow-run` default period: one point per series every 5 s. */
export const RUN_METRICS_INTERVAL_MS = 5_000;

/**
 * Logs a process's throughput figures (tx/s, lag, p99 latency) as MLflow metric series to an
 * existing run (`--mlflow-run RUN_ID` of `agent` and `produce`), one log-batch call per period
 * with step = seconds since start, so that an experiment's producer and agents write their time
 * series into the run that an orchestrator (the Airflow DAG) opened. A tracking server that does
 * not answer costs a warning per failed call, never the process.
 */
export class RunMetricsLogger {
  readonly #client: MlflowClient;
  readonly #runId: string;
  readonly #prefix: string;
  readonly #sample: () => Record<string, number | null>;
  readonly #intervalMs: number;
  readonly #log: Logger;
  readonly #started = Date.now();
  #timer: ReturnType<typeof setInterval> | undefined;
  #pending: Promise<void> = Promise.resolve();
  logged = 0;

  /** `prefix` names this process in the run ("agent.host-123."), since several share one run. */
  constructor(
    trackingUri: string,
    runId: string,
    prefix: string,
    sample: () => Record<string, number | null>,
    log: Logger,
    intervalMs = RUN_METRICS_INTERVAL_MS,
    env: (name: string) => string | undefined = (n) => Deno.env.get(n),
  ) {
    this.#client = new MlflowClient(trackingUri, env);
    this.#runId = runId;
    this.#prefix = prefix;
    this.#sample = sample;
    this.#intervalMs = intervalMs;
    this.#log = log;
  }

  /** Fails (one line) when the run does not exist, before the process starts its work. */
  async start(): Promise<void> {
    await this.#client.call("GET", `runs/get?run_id=${encodeURIComponent(this.#runId)}`);
    this.#timer = setInterval(() => this.#tick(), this.#intervalMs);
  }

  /** Stops the period and logs one last point, so the series end where the process did. */
  async stop(): Promise<void> {
    clearInterval(this.#timer);
    this.#tick();
    await this.#pending;
  }

  #tick(): void {
    const now = Date.now();
    const step = Math.round((now - this.#started) / 1000);
    const metrics = Object.entries(this.#sample())
      .filter((e): e is [string, number] => e[1] !== null && Number.isFinite(e[1]))
      .map(([key, value]) => ({ key: this.#prefix + key, value, timestamp: now, step }));
    // One call at a time: a slow server delays points rather than piling up requests.
    this.#pending = this.#pending.then(async () => {
      try {
        await this.#client.call("POST", "runs/log-batch", { run_id: this.#runId, metrics });
        this.logged += metrics.length;
      } catch (err) {
        this.#log.log("warn", "mlflow_log_failed", {
          run_id: this.#runId,
          error: (err instanceof Error ? err.message : String(err)).split("\n")[0],
        });
      }
    });
  }
}

/** The `--mlflow-run` flag of `agent` and `produce`. */
export const MLFLOW_RUN_FLAG = {
  "mlflow-run": {
    type: "string",
    value: "RUN_ID",
    description:
      "log throughput (tx/s, lag, p99 latency) every 5 s as metric series to this MLflow run at MLFLOW_TRACKING_URI",
  },
} as const;

/**
 * The logger for `--mlflow-run RUN_ID`, started (the run checked) before the process's work;
 * null without the flag. A missing tracking URI or run is one line and a non-zero exit.
 */
export async function startRunMetrics(
  runId: string | undefined,
  prefix: string,
  sample: () => Record<string, number | null>,
  log: Logger,
): Promise<RunMetricsLogger | null> {
  if (runId === undefined) return null;
  const tracking = Deno.env.get("MLFLOW_TRACKING_URI");
  if (!tracking || !/^https?:\/\//.test(tracking)) {
    throw new UsageError("--mlflow-run needs MLFLOW_TRACKING_URI set to the tracking server");
  }
  const logger = new RunMetricsLogger(tracking, runId, prefix, sample, log);
  try {
    await logger.start();
  } catch (err) {
    const why = err instanceof MlflowError ? `HTTP ${err.status}: ${err.detail}` : String(err);
    throw new UserFacingError(`--mlflow-run ${runId} at ${tracking}: ${why}`.split("\n")[0]);
  }
  return logger;
}
