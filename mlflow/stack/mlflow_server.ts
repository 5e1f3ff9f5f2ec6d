import { answersHttp, freePort, spawnLogged, waitReady } from "./local_process.ts";

const REPO = new URL("../..", import.meta.url).pathname;
/** The trainer's venv (model/train/setup_venv.sh) has mlflow, psycopg2 and boto3 pinned. */
export const VENV_BIN = `${REPO}model/train/.venv/bin`;

export interface MlflowServerOptions {
  backendStoreUri: string;
  /** Where the server stores artifacts (s3://BUCKET/PATH); clients go through its proxy. */
  artifactsDestination: string;
  /** The S3 endpoint and credentials, as boto3 reads them from the environment. */
  env: Record<string, string>;
  dir: string;
  port?: number;
}

export interface LocalMlflowServer {
  readonly trackingUri: string;
  stop(): Promise<void>;
}

/**
 * `mlflow server` on 127.0.0.1 with proxied artifacts (--serve-artifacts): clients talk HTTP to
 * the tracking server only, and it alone holds the S3 credentials.
 */
export async function startMlflowServer(opts: MlflowServerOptions): Promise<LocalMlflowServer> {
  await ensureVenv();
  const port = opts.port ?? freePort();
  const trackingUri = `http://127.0.0.1:${port}`;
  const proc = await spawnLogged(
    "mlflow server",
    `${VENV_BIN}/mlflow`,
    [
      "server",
      "--host",
      "127.0.0.1",
      "--port",
      String(port),
      "--workers",
      "2",
      "--backend-store-uri",
      opts.backendStoreUri,
      "--artifacts-destination",
      opts.artifactsDestination,
      "--serve-artifacts",
    ],
    `${opts.dir}/mlflow-server.log`,
    {
      ...opts.env,
      // MLflow 3 also starts a job runner (huey consumers for its GenAI features) by default: a
      // dozen Python processes that the registry and tracking do not use, on a 2-core machine.
      MLFLOW_SERVER_ENABLE_JOB_EXECUTION: "false",
    },
  );
  try {
    // The first start against an empty database runs MLflow's schema migrations.
    await waitReady(proc, () => answersHttp(`${trackingUri}/health`, (s) => s === 200), 180_000);
  } catch (err) {
    await proc.stop();
    throw err;
  }
  return { trackingUri, stop: () => proc.stop() };
}

async function ensureVenv(): Promise<void> {
  const out = await new Deno.Command("bash", {
    args: [`${REPO}model/train/setup_venv.sh`],
    env: { FRAUDSTREAM_WITH_MLFLOW: "1" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!out.success) {
    throw new Error(
      `model/train/setup_venv.sh failed: ${new TextDecoder().decode(out.stderr).trim()}`,
    );
  }
}
