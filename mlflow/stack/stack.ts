import { randomSecret } from "./local_process.ts";
import { startMlflowServer } from "./mlflow_server.ts";
import { startPostgres } from "./postgres.ts";
import { startS3Server } from "./s3_server.ts";

/**
 * MLflow as the bank runs it, on this machine: a tracking server whose backend store is
 * PostgreSQL and whose artifacts live in an S3 bucket, all three started here and stopped
 * together. The S3 key pair is AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY from the environment when
 * set, else made fresh; the database password is always fresh. Nothing outlives `stop()`.
 */
export interface MlflowStack {
  readonly trackingUri: string;
  /** Where the artifacts go: s3://BUCKET/artifacts. */
  readonly artifactsDestination: string;
  readonly s3Endpoint: string;
  /** The stack's temporary directory (the database, the bucket's files, the logs). */
  readonly dir: string;
  /** How long the start took, for docs/measurements.md. */
  readonly startMs: number;
  stop(): Promise<void>;
}

export interface MlflowStackOptions {
  /** The tracking server's port (default: a free one). */
  port?: number;
  env?: (name: string) => string | undefined;
}

const BUCKET = "mlflow";

export async function startMlflowStack(opts: MlflowStackOptions = {}): Promise<MlflowStack> {
  const env = opts.env ?? ((n: string) => Deno.env.get(n));
  const started = performance.now();
  const dir = await Deno.makeTempDir({ prefix: "fraudstream-mlflow-stack-" });
  // PostgreSQL runs as another user under root: it must be able to reach its own subdirectory.
  await Deno.chmod(dir, 0o711);
  const credentials = {
    accessKeyId: env("AWS_ACCESS_KEY_ID") || randomSecret(12),
    secretAccessKey: env("AWS_SECRET_ACCESS_KEY") || randomSecret(),
  };
  const stops: (() => Promise<void>)[] = [];
  const stop = async () => {
    // The server first (it holds connections to both stores), then the stores.
    for (const s of stops.splice(0).reverse()) await s().catch(() => {});
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  };
  try {
    const [postgres, s3] = await Promise.all([
      startPostgres(`${dir}/postgres`).then((p) => (stops.push(p.stop), p)),
      startS3Server(`${dir}/s3`, BUCKET, credentials).then((s) => (stops.push(s.stop), s)),
    ]);
    const artifactsDestination = `s3://${s3.bucket}/artifacts`;
    const server = await startMlflowServer({
      backendStoreUri: postgres.url,
      artifactsDestination,
      dir,
      port: opts.port,
      env: {
        MLFLOW_S3_ENDPOINT_URL: s3.endpoint,
        AWS_ACCESS_KEY_ID: credentials.accessKeyId,
        AWS_SECRET_ACCESS_KEY: credentials.secretAccessKey,
        AWS_DEFAULT_REGION: env("AWS_DEFAULT_REGION") || "us-east-1",
        // boto3 1.36+ adds CRC checksums (aws-chunked trailers) to every upload unless told to
        // send them only where an operation requires one: s3proxy 2.6 answers NotImplemented.
        AWS_REQUEST_CHECKSUM_CALCULATION: "when_required",
        AWS_RESPONSE_CHECKSUM_VALIDATION: "when_required",
      },
    });
    stops.push(server.stop);
    return {
      trackingUri: server.trackingUri,
      artifactsDestination,
      s3Endpoint: s3.endpoint,
      dir,
      startMs: Math.round(performance.now() - started),
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}
