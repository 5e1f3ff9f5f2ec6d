import { UsageError, UserFacingError } from "../cli/usage_error.ts";
import { MlflowClient, MlflowError, proxiedArtifactPath } from "../mlflow/tracking_client.ts";

/**
 * Fetches a registered ONNX model from the MLflow model registry through its REST API:
 * `models:/NAME/VERSION`, `models:/NAME/latest` or `models:/NAME@ALIAS`, from the tracking
 * server in MLFLOW_TRACKING_URI (MLflow's own variable). The model file is the `model.onnx`
 * that `mlflow.onnx.log_model` writes, read through the server's artifact proxy or a local store.
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
  const tracking = env("MLFLOW_TRACKING_URI");
  if (!tracking || !/^https?:\/\//.test(tracking)) {
    throw new UsageError(
      `--model ${uri} needs MLFLOW_TRACKING_URI set to the tracking server's http(s) URL`,
    );
  }
  const client = new MlflowClient(tracking, env);
  try {
    const version = await resolveVersion(client, ref);
    const { artifact_uri: artifactUri } = await client.call<{ artifact_uri: string }>(
      "GET",
      `model-versions/get-download-uri?name=${encodeURIComponent(ref.name)}&version=${version}`,
    );
    if (artifactUri.startsWith("file://") || artifactUri.startsWith("/")) {
      const dir = artifactUri.startsWith("file://") ? new URL(artifactUri).pathname : artifactUri;
      return await Deno.readFile(`${dir}/model.onnx`);
    }
    return await client.download(`${proxiedArtifactPath(artifactUri)}/model.onnx`);
  } catch (err) {
    const why = err instanceof MlflowError
      ? `HTTP ${err.status}${err.code ? ` ${err.code}` : ""}: ${err.detail}`
      : (err as Error).message;
    throw new UserFacingError(
      `cannot load ${uri} from MLflow at ${client.base}: ${why}`.split("\n")[0],
    );
  }
}

async function resolveVersion(client: MlflowClient, ref: RegisteredModelRef): Promise<string> {
  if (ref.alias) {
    const found = await client.call<{ model_version: { version: string } }>(
      "GET",
      `registered-models/alias?name=${encodeURIComponent(ref.name)}&alias=${
        encodeURIComponent(ref.alias)
      }`,
    );
    return found.model_version.version;
  }
  if (ref.version !== "latest") return ref.version!;
  const found = await client.call<{ model_versions?: { version: string }[] }>(
    "POST",
    "registered-models/get-latest-versions",
    { name: ref.name },
  );
  const versions = (found.model_versions ?? []).map((v) => Number(v.version));
  if (versions.length === 0) throw new Error("the registered model has no versions");
  return String(Math.max(...versions));
}
