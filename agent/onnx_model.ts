import { UserFacingError } from "../cli/usage_error.ts";
import type { FeatureEngine } from "../features/feature_engine.ts";
import { FEATURE_NAMES } from "../features/feature_list.ts";
import { fetchRegisteredModel } from "./mlflow_model_source.ts";
import { readOnnxMetadata } from "./onnx_metadata.ts";
import { INPUT, openSession, OUTPUT, type ScoringSession } from "./onnx_session.ts";
import { openWorkerSession } from "./onnx_worker.ts";

export { DEFAULT_MODEL_PATH } from "./default_model.ts";

export interface OnnxModelOptions {
  /**
   * ORT intra-op threads. Default 1: agents scale out as processes (several per VM, one core
   * each), and one thread avoids contention with Kafka I/O on the same core.
   */
  threads?: number;
  /**
   * Run the model in a Worker of its own (agent/onnx_worker.ts), so model runs overlap the
   * agent's parsing, features and Kafka work on a second core. Default false: on the thread.
   */
  worker?: boolean;
}

/**
 * The trained fraud model as the agent uses it: one ORT run per batch over the feature engine's
 * Float32Array. Loading refuses any model whose feature list (version, names, width) or label
 * delay differs from the engine's, because such a model would score silently wrong features.
 */
export class OnnxModel {
  readonly name: string;
  readonly version: string;
  readonly algorithm: string;
  /** Decision threshold on P(fraud) chosen at training time (see the model card). */
  readonly threshold: number;
  readonly featureListVersion: string;
  readonly width: number;
  readonly source: string;
  readonly #session: ScoringSession;
  /** Runs in flight, and who waits for them to end: a swapped-out model is released after. */
  #running = 0;
  #idle: (() => void)[] = [];

  private constructor(
    session: ScoringSession,
    meta: Map<string, string>,
    width: number,
    source: string,
  ) {
    this.#session = session;
    this.name = meta.get("fraudstream.model_name") ?? "unnamed";
    this.version = meta.get("fraudstream.model_version") ?? "unversioned";
    this.algorithm = meta.get("fraudstream.algorithm") ?? "unknown";
    this.threshold = Number(meta.get("fraudstream.threshold"));
    this.featureListVersion = meta.get("fraudstream.feature_list_version")!;
    this.width = width;
    this.source = source;
  }

  /** Validates the model bytes against the engine and opens an ORT session on them. */
  static async fromBytes(
    bytes: Uint8Array,
    source: string,
    engine: FeatureEngine,
    options: OnnxModelOptions = {},
  ): Promise<OnnxModel> {
    let meta: Map<string, string>;
    try {
      meta = readOnnxMetadata(bytes);
    } catch (err) {
      throw new UserFacingError(`${source} is not an ONNX model (${(err as Error).message})`);
    }
    const version = meta.get("fraudstream.feature_list_version");
    if (version === undefined) {
      throw new UserFacingError(
        `${source} is not a fraudstream model: no feature-list version in its metadata`,
      );
    }
    if (version !== engine.version) {
      throw new UserFacingError(
        `${source} was trained on feature list ${version}, this build computes ${engine.version}: ` +
          "retrain it (deno task train) or use a matching build",
      );
    }
    const names = parseNames(meta.get("fraudstream.features"));
    if (names === null || names.join(",") !== FEATURE_NAMES.join(",")) {
      throw new UserFacingError(
        `${source}: its feature names differ from feature list ${version} of this build`,
      );
    }
    const delay = Number(meta.get("fraudstream.label_delay_ms"));
    if (delay !== engine.labelDelayMs) {
      throw new UserFacingError(
        `${source} was trained with a label delay of ${delay / 3_600_000} h, the agent uses ` +
          `${engine.labelDelayMs / 3_600_000} h: set --label-delay to match`,
      );
    }
    if (!Number.isFinite(Number(meta.get("fraudstream.threshold")))) {
      throw new UserFacingError(`${source}: no decision threshold in its metadata`);
    }
    let session: ScoringSession;
    try {
      const threads = options.threads ?? 1;
      session = options.worker
        ? await openWorkerSession(bytes, threads)
        : await openSession(bytes, threads);
    } catch (err) {
      throw new UserFacingError(`cannot load ${source}: ${firstLine(err)}`);
    }
    const { inputNames, outputNames, width } = session.shape;
    if (width !== engine.width || !outputNames.includes(OUTPUT)) {
      await session.release();
      throw new UserFacingError(
        `${source}: expected input "${INPUT}" [N, ${engine.width}] and output "${OUTPUT}", got ` +
          `inputs ${inputNames.join(",")} (width ${width}), outputs ${outputNames.join(",")}`,
      );
    }
    return new OnnxModel(session, meta, width, source);
  }

  /**
   * P(fraud) for `rows` rows of features (row-major, `width` floats each) in ONE ORT run, written
   * into `out` (at least `rows` long). Callers that score concurrently pass buffers of their own:
   * ORT writes the output from its worker thread while the run is in flight.
   */
  async scoreBatch(features: Float32Array, rows: number, out: Float32Array): Promise<Float32Array> {
    if (rows === 0) return out.subarray(0, 0);
    if (features.length < rows * this.width) {
      throw new RangeError(`scoreBatch: ${rows} rows need ${rows * this.width} floats`);
    }
    if (out.length < rows) {
      throw new RangeError(`scoreBatch: ${rows} rows need ${rows} output floats`);
    }
    this.#running++;
    try {
      await this.#session.run(features, rows, this.width, out);
      return out.subarray(0, rows);
    } finally {
      if (--this.#running === 0) { for (const resolve of this.#idle.splice(0)) resolve(); }
    }
  }

  /** Closes the ORT session once the runs in flight have ended. */
  async release(): Promise<void> {
    if (this.#running > 0) await new Promise<void>((resolve) => this.#idle.push(resolve));
    await this.#session.release();
  }
}

/**
 * Loads the model for `engine` from a file path, or from the MLflow registry for a
 * `models:/...` URI; a missing or mismatched model is a UserFacingError.
 */
export async function loadOnnxModel(
  path: string,
  engine: FeatureEngine,
  options: OnnxModelOptions = {},
): Promise<OnnxModel> {
  if (path.startsWith("models:/")) {
    const { bytes } = await fetchRegisteredModel(path);
    return await OnnxModel.fromBytes(bytes, path, engine, options);
  }
  let bytes: Uint8Array;
  try {
    bytes = await Deno.readFile(path);
  } catch (err) {
    const why = err instanceof Deno.errors.NotFound ? "no such file" : firstLine(err);
    throw new UserFacingError(`cannot read model ${path}: ${why}`);
  }
  return await OnnxModel.fromBytes(bytes, path, engine, options);
}

function parseNames(raw: string | undefined): string[] | null {
  try {
    const names = JSON.parse(raw ?? "null");
    return Array.isArray(names) && names.every((n) => typeof n === "string") ? names : null;
  } catch {
    return null;
  }
}

function firstLine(err: unknown): string {
  return (err instanceof Error ? err.message : String(err)).split("\n")[0];
}
