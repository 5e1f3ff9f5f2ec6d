import type { Logger } from "../cli/json_log.ts";
import type { FeatureEngine } from "../features/feature_engine.ts";
import { RegisteredModel } from "./mlflow_model_source.ts";
import { ModelSlot } from "./model_slot.ts";
import { loadOnnxModel, OnnxModel, type OnnxModelOptions } from "./onnx_model.ts";

/** `--model-poll` default: how often an agent asks the registry where its alias points. */
export const DEFAULT_MODEL_POLL_MS = 60_000;

/**
 * Hot swap of a registered model: every `pollMs` the agent asks the MLflow registry which
 * version its `models:/NAME@ALIAS` (or `/latest`) names. When that moved, the new version is
 * downloaded and opened off the hot path; OnnxModel.fromBytes checks its feature list, label
 * delay and input shape against the engine's, and only a model that passes replaces the serving
 * one (ModelSlot.swap, between batches). Anything else is refused once, logged and shown in
 * /stats, and the old model keeps serving. A registry that does not answer is a poll error, not
 * a refusal: the next poll asks again.
 */
export class ModelWatch {
  readonly #registry: RegisteredModel;
  readonly #slot: ModelSlot;
  readonly #engine: FeatureEngine;
  readonly #options: OnnxModelOptions;
  readonly #pollMs: number;
  readonly #log: Logger;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #checking: Promise<void> = Promise.resolve();
  #stopped = false;

  constructor(
    registry: RegisteredModel,
    slot: ModelSlot,
    engine: FeatureEngine,
    options: OnnxModelOptions,
    pollMs: number,
    log: Logger,
  ) {
    this.#registry = registry;
    this.#slot = slot;
    this.#engine = engine;
    this.#options = options;
    this.#pollMs = pollMs;
    this.#log = log;
  }

  start(): void {
    this.#schedule();
  }

  /** Ends polling; a check under way finishes first (its swap or refusal included). */
  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    await this.#checking;
  }

  /** One poll: swaps or refuses when the URI names a version not seen yet. */
  async check(): Promise<void> {
    const slot = this.#slot;
    let version: string;
    try {
      version = await this.#registry.resolve();
    } catch (err) {
      slot.pollErrors++;
      this.#log.log("warn", "model_poll_failed", { model: this.#registry.uri, error: text(err) });
      return;
    }
    if (version === slot.registryVersion || slot.wasRefused(version)) return;
    const started = performance.now();
    let bytes: Uint8Array;
    try {
      bytes = await this.#registry.download(version);
    } catch (err) {
      slot.pollErrors++;
      this.#log.log("warn", "model_poll_failed", { model: this.#registry.uri, error: text(err) });
      return;
    }
    const source = `${this.#registry.uri} (version ${version})`;
    let next: OnnxModel;
    try {
      next = await OnnxModel.fromBytes(bytes, source, this.#engine, this.#options);
    } catch (err) {
      slot.refuse(version, text(err));
      this.#log.log("error", "model_refused", {
        model: this.#registry.uri,
        registry_version: version,
        serving: slot.registryVersion,
        reason: text(err),
      });
      return;
    }
    const from = slot.registryVersion;
    const fromVersion = slot.version;
    const loadMs = performance.now() - started;
    await slot.swap(next, version, loadMs);
    this.#log.log("info", "model_swap", {
      model: this.#registry.uri,
      from: { registry_version: from, version: fromVersion },
      to: { registry_version: version, version: next.version },
      load_ms: Math.round(loadMs),
    });
  }

  #schedule(): void {
    if (this.#stopped) return;
    this.#timer = setTimeout(() => {
      this.#checking = this.check().finally(() => this.#schedule());
    }, this.#pollMs);
  }
}

/**
 * The agent's serving model from `--model`: a file, or a registry URI; for a registry URI that
 * can move (alias, latest) and a poll interval above 0, also the watch that swaps it.
 */
export async function openServingModel(
  uri: string,
  engine: FeatureEngine,
  options: OnnxModelOptions,
  pollMs: number,
  log: Logger,
): Promise<{ slot: ModelSlot; watch: ModelWatch | null }> {
  if (!uri.startsWith("models:/")) {
    return { slot: new ModelSlot(await loadOnnxModel(uri, engine, options)), watch: null };
  }
  const registry = new RegisteredModel(uri);
  const version = await registry.resolve();
  const model = await OnnxModel.fromBytes(
    await registry.download(version),
    `${uri} (version ${version})`,
    engine,
    options,
  );
  const slot = new ModelSlot(model, version);
  const watch = registry.moves && pollMs > 0
    ? new ModelWatch(registry, slot, engine, options, pollMs, log)
    : null;
  return { slot, watch };
}

function text(err: unknown): string {
  return (err instanceof Error ? err.message : String(err)).split("\n")[0];
}
