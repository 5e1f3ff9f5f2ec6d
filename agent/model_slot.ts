import type { BatchScorer } from "./scoring_loop.ts";
import type { OnnxModel } from "./onnx_model.ts";
import type { ModelRegistryState, ServingModelState } from "./stats_document.ts";

/** The model a scoring loop takes for its next batch (agent/scoring_loop.ts). */
export interface ServingModel {
  readonly current: BatchScorer;
}

/** A registry version the agent would not serve, and why. */
export type ModelRefusal = ModelRegistryState["refused"][number];

/** Refusals kept for /stats: enough to see a pattern, bounded however long the agent runs. */
const REFUSALS_KEPT = 10;

/**
 * The agent's serving model, replaced whole between batches. Each batch reads `current` once and
 * scores and labels every row with that model, so a swap never splits a batch; the model swapped
 * out is released once the runs that still hold it have ended (OnnxModel.release). Its toJSON is
 * /stats' `model`: the serving version and, for a registry model, the swaps and the refusals.
 */
export class ModelSlot implements ServingModel {
  #current: OnnxModel;
  #registryVersion: string | null;
  swaps = 0;
  pollErrors = 0;
  lastSwap: { from: string; to: string; at: string; load_ms: number } | null = null;
  readonly refused: ModelRefusal[] = [];

  /** `registryVersion`: the MLflow registry version of `model`, when it came from there. */
  constructor(model: OnnxModel, registryVersion: string | null = null) {
    this.#current = model;
    this.#registryVersion = registryVersion;
  }

  get current(): OnnxModel {
    return this.#current;
  }

  get name(): string {
    return this.#current.name;
  }

  get version(): string {
    return this.#current.version;
  }

  get threshold(): number {
    return this.#current.threshold;
  }

  get registryVersion(): string | null {
    return this.#registryVersion;
  }

  /** Serves `next` from the next batch on; resolves when the old model is released. */
  async swap(next: OnnxModel, registryVersion: string | null, loadMs: number): Promise<void> {
    const old = this.#current;
    const oldRegistryVersion = this.#registryVersion;
    this.#current = next;
    this.#registryVersion = registryVersion;
    this.swaps++;
    this.lastSwap = {
      from: label(old, oldRegistryVersion),
      to: label(next, registryVersion),
      at: new Date().toISOString(),
      load_ms: Math.round(loadMs),
    };
    await old.release();
  }

  refuse(registryVersion: string, reason: string): void {
    this.refused.push({ version: registryVersion, reason, at: new Date().toISOString() });
    if (this.refused.length > REFUSALS_KEPT) this.refused.shift();
  }

  /** Whether `registryVersion` was refused already (it is not downloaded again). */
  wasRefused(registryVersion: string): boolean {
    return this.refused.some((r) => r.version === registryVersion);
  }

  /** The /stats `model` object. */
  toJSON(): ServingModelState {
    return {
      name: this.name,
      version: this.version,
      threshold: this.threshold,
      registry: this.#registryVersion === null ? null : {
        version: this.#registryVersion,
        swaps: this.swaps,
        last_swap: this.lastSwap,
        refused: this.refused,
        poll_errors: this.pollErrors,
      },
    };
  }
}

function label(model: OnnxModel, registryVersion: string | null): string {
  return registryVersion === null ? model.version : `${registryVersion} (${model.version})`;
}
