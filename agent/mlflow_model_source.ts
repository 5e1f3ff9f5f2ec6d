import { UsageError, UserFacingError } from "../cli/usage_error.ts";

/**
 * Fetches a registered ONNX model from the MLflow model registry through its REST API:
 * `models:/NAME/VERSION`, `models:/NAME/latest` or `models:/NAME@ALIAS`, from the tracking
 * server in MLFLOW_TRACKING_URI (MLflow's own variable; MLFLOW_TRACKING_TOKEN or
 * MLFLOW_TRACKING_USERNAME/PASSWORD authenticate). The model file is the `model.onnx` that
 * `mlflow.onnx.log_model` writes, read through the server's artifact proxy or a local store.
 */
export interface RegisteredModelRef {
  name: string;
  version?: string;
  alias?: string;
}

export function parseModelUri(raw: string): RegisteredModelRef | null {
  const alias = /^models:\/([^/@]+)@([^/]+)$/.exec(raw);
  if (alias) return { name: decodeURIComponent(alias[1]), alias: alias[2] };
  const version = /^models:\/([^/@]+)\/(\d+|latest)$/.exec(raw);
  if (version) return { name: decodeURIComponent(version[1]), version: version[2] };
  return null;
}

export async function fetchRegisteredModel(
  uri: string,
  env: (name: string) => string | undefined = (n) => Deno.env.get(n),
): Promise<Uint8Array> {
  const ref = parseModelUri(uri);
  if (!ref) {
    throw new UsageError(
      `--model ${uri}: expected models:/NAME/VERSION, models:/NAME/latest or models:/NAME@ALIAS`,
    );
  }
  const tracking = env("MLFLOW_TRACKING_URI")?.replace(/\/+$/, "");
  if (!tracking || !/^https?:\/\//.test(tracking)) {
    throw new UsageError(
      `--model ${uri} needs MLFLOW_TRACKING_URI set to the tracking server's http(s) URL`,
    );
  }
  const headers = authHeaders(env);
  const api = async (path: string, init: RequestInit = {}) => {
    let res: Response;
    try {
      res = await fetch(`${tracking}${path}`, {
        ...init,
        headers: { ...headers, ...init.headers },
        signal: AbortSignal.timeout(30_000),
      });
    } catch (err) {
      throw new UserFacingError(
        `cannot reach MLflow at ${tracking} for ${uri}: ${(err as Error).message}`,
      );
    }
    if (!res.ok) {
      const body = await res.text();
      const why = (() => {
        try {
          const j = JSON.parse(body);
          return `${j.error_code ?? ""} ${j.message ?? ""}`.trim();
        } catch {
          return body.slice(0, 200);
        }
      })();
      throw new UserFacingError(
        `cannot load ${uri} from MLflow at ${tracking}: HTTP ${res.status} ${why}`.split("\n")[0],
      );
    }
    return res;
  };
  const name = encodeURIComponent(ref.name);
  let version = ref.version;
  if (ref.alias) {
    const found = await (await api(
      `/api/2.0/mlflow/registered-models/alias?name=${name}&alias=${encodeURIComponent(ref.alias)}`,
    )).json();
    version = found.model_version.version;
  } else if (version === "latest") {
    const found = await (await api("/api/2.0/mlflow/registered-models/get-latest-versions", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ name: ref.name }),
    })).json();
    const versions = (found.model_versions ?? []).map((v: { version: string }) =>
      Number(v.version)
    );
    if (versions.length === 0) {
      throw new UserFacingError(`${uri}: the registered model has no versions`);
    }
    version = String(Math.max(...versions));
  }
  const { artifact_uri: artifactUri } = await (await api(
    `/api/2.0/mlflow/model-versions/get-download-uri?name=${name}&version=${version}`,
  )).json();
  if (typeof artifactUri === "string" && artifactUri.startsWith("mlflow-artifacts:/")) {
    const path = artifactUri.slice("mlflow-artifacts:/".length).replace(/^\/+/, "");
    return new Uint8Array(
      await (await api(`/api/2.0/mlflow-artifacts/artifacts/${path}/model.onnx`)).arrayBuffer(),
    );
  }
  if (
    typeof artifactUri === "string" &&
    (artifactUri.startsWith("file://") || artifactUri.startsWith("/"))
  ) {
    const dir = artifactUri.startsWith("file://") ? new URL(artifactUri).pathname : artifactUri;
    try {
      return await Deno.readFile(`${dir}/model.onnx`);
    } catch (err) {
      throw new UserFacingError(
        `cannot read ${uri} at ${dir}/model.onnx: ${(err as Error).message}`,
      );
    }
  }
  throw new UserFacingError(
    `${uri} is stored at ${artifactUri}: only the tracking server's artifact proxy (mlflow-artifacts:/) and local paths are supported; start the server with --serve-artifacts`,
  );
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
