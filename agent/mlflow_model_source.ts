import { UsageError, UserFacingError } from "../cli/usage_error.ts";
import { MlflowClient, MlflowError, proxiedArtifactPath } from "../mlflow/tracking_client.ts";

/**
 * Fetches a registered ONNX model from the MLflow model registry through its REST API:
 * `models:/NAME/VERSION`, `models:/NAME/latest` or `models:/NAME@ALIAS`, from the tracking
 * server in MLFLOW_TRACKING_URI (MLflow's own variable). The model file is the `model.onnx`
 * that `mlflow.onnx.log_model` writes, read through the server's artifact proxy (whatever store
 * is behind it, S3 in the bank's setup) or from a local store.
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

/** One `models:/...` URI on one tracking server: which version it names now, and its bytes. */
export class RegisteredModel {
  readonly uri: string;
  readonly ref: RegisteredModelRef;
  readonly #client: MlflowClient;

  constructor(uri: string, env: (name: string) => string | undefined = (n) => Deno.env.get(n)) {
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
    this.uri = uri;
    this.ref = ref;
    this.#client = new MlflowClient(tracking, env);
  }

  /** Whether the URI can name another version later (an alias or `latest`), so is worth polling. */
  get moves(): boolean {
    return this.ref.alias !== undefined || this.ref.version === "latest";
  }

  /** The registry version the URI names now. */
  resolve(): Promise<string> {
    return this.#explained(() => this.#resolve());
  }

  /** The model.onnx of registry version `version`. */
  download(version: string): Promise<Uint8Array> {
    return this.#explained(async () => {
      const { artifact_uri: artifactUri } = await this.#client.call<{ artifact_uri: string }>(
        "GET",
        `model-versions/get-download-uri?name=${
          encodeURIComponent(this.ref.name)
        }&version=${version}`,
      );
      if (artifactUri.startsWith("file://") || artifactUri.startsWith("/")) {
        const dir = artifactUri.startsWith("file://") ? new URL(artifactUri).pathname : artifactUri;
        return await Deno.readFile(`${dir}/model.onnx`);
      }
      return await this.#client.download(`${proxiedArtifactPath(artifactUri)}/model.onnx`);
    });
  }

  async #resolve(): Promise<string> {
    const { name, alias, version } = this.ref;
    if (alias) {
      const found = await this.#client.call<{ model_version: { version: string } }>(
        "GET",
        `registered-models/alias?name=${encodeURIComponent(name)}&alias=${
          encodeURIComponent(alias)
        }`,
      );
      return found.model_version.version;
    }
    if (version !== "latest") return version!;
    const found = await this.#client.call<{ model_versions?: { version: string }[] }>(
      "POST",
      "registered-models/get-latest-versions",
      { name },
    );
    const versions = (found.model_versions ?? []).map((v) => Number(v.version));
    if (versions.length === 0) throw new Error("the registered model has no versions");
    return String(Math.max(...versions));
  }

  /** Any failure as one line naming the URI and the server. */
  async #explained<T>(step: () => Promise<T>): Promise<T> {
    try {
      return await step();
    } catch (err) {
      const why = err instanceof MlflowError
        ? `HTTP ${err.status}${err.code ? ` ${err.code}` : ""}: ${err.detail}`
        : (err as Error).message;
      throw new UserFacingError(
        `cannot load ${this.uri} from MLflow at ${this.#client.base}: ${why}`.split("\n")[0],
      );
    }
  }
}

/** The model a `models:/...` URI names now, and its registry version. */
export async function fetchRegisteredModel(
  uri: string,
  env: (name: string) => string | undefined = (n) => Deno.env.get(n),
): Promise<{ bytes: Uint8Array; version: string }> {
  const model = new RegisteredModel(uri, env);
  const version = await model.resolve();
  return { bytes: await model.download(version), version };
}
