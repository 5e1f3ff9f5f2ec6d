/**
 * A small client for an MLflow tracking server's REST API, shared by the capacity planner (logs
 * runs and uploads reports) and the agent (downloads registered models). MLFLOW_TRACKING_TOKEN
 * or MLFLOW_TRACKING_USERNAME/PASSWORD authenticate, as with MLflow's own clients.
 */
export class MlflowClient {
  readonly base: string;
  readonly #auth: Record<string, string>;

  constructor(
    trackingUri: string,
    env: (name: string) => string | undefined = (n) => Deno.env.get(n),
  ) {
    this.base = trackingUri.replace(/\/+$/, "");
    this.#auth = authHeaders(env);
  }

  /** One call to /api/2.0/mlflow/PATH; a non-2xx answer is an MlflowError. */
  async call<T = unknown>(method: "GET" | "POST", path: string, body?: unknown): Promise<T> {
    const res = await fetch(`${this.base}/api/2.0/mlflow/${path}`, {
      method,
      headers: { "content-type": "application/json", ...this.#auth },
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

  /** Reads an artifact through the server's mlflow-artifacts proxy. */
  async download(path: string): Promise<Uint8Array> {
    const res = await fetch(this.#artifactUrl(path), {
      headers: this.#auth,
      signal: AbortSignal.timeout(60_000),
    });
    if (!res.ok) throw new MlflowError(`artifact ${path}`, res.status, await res.text());
    return new Uint8Array(await res.arrayBuffer());
  }

  /** Writes an artifact through the server's mlflow-artifacts proxy. */
  async upload(path: string, bytes: Uint8Array<ArrayBuffer>, type: string): Promise<void> {
    const res = await fetch(this.#artifactUrl(path), {
      method: "PUT",
      headers: { "content-type": type, ...this.#auth },
      body: bytes,
      signal: AbortSignal.timeout(60_000),
    });
    const text = await res.text();
    if (!res.ok) throw new MlflowError(`artifact ${path}`, res.status, text);
  }

  #artifactUrl(path: string): string {
    return `${this.base}/api/2.0/mlflow-artifacts/artifacts/${
      path.split("/").map(encodeURIComponent).join("/")
    }`;
  }
}

export class MlflowError extends Error {
  readonly code: string;
  readonly status: number;
  /** The server's own message, without where it came from. */
  readonly detail: string;

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
    this.status = status;
    this.detail = message;
  }
}

/** "mlflow-artifacts:/1/abc/artifacts" -> "1/abc/artifacts"; other stores are not reachable. */
export function proxiedArtifactPath(artifactUri: string): string {
  const m = /^mlflow-artifacts:(?:\/\/[^/]*)?\/(.*)$/.exec(artifactUri);
  if (!m) {
    throw new Error(
      `the artifact store is ${artifactUri}, not the server's proxy: start the tracking server with --serve-artifacts`,
    );
  }
  return m[1].replace(/\/+$/, "");
}

function authHeaders(env: (name: string) => string | undefined): Record<string, string> {
  const token = env("MLFLOW_TRACKING_TOKEN");
  if (token) return { authorization: `Bearer ${token}` };
  const user = env("MLFLOW_TRACKING_USERNAME");
  if (user) {
    return { authorization: `Basic ${btoa(`${user}:${env("MLFLOW_TRACKING_PASSWORD") ?? ""}`)}` };
  }
  return {};
}
