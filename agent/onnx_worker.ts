import type { ScoringSession, SessionShape } from "./onnx_session.ts";

/** Messages to the model's Worker (agent/onnx_worker_main.ts); each answered by one reply. */
export type WorkerRequest =
  & { id: number }
  & (
    | { kind: "open"; bytes: Uint8Array; threads: number }
    | { kind: "run"; features: Float32Array; scores: Float32Array; rows: number; width: number }
    | { kind: "release" }
  );

export type WorkerReply =
  & { id: number }
  & (
    | { kind: "opened"; shape: SessionShape }
    | { kind: "scored"; features: Float32Array; scores: Float32Array }
    | { kind: "released" }
    | { kind: "failed"; message: string }
  );

/** A batch's features and scores travel to the Worker and back; kept for the next batch. */
interface Buffers {
  features: Float32Array;
  scores: Float32Array;
}

/**
 * Opens `bytes` with ONNX Runtime in a Worker of its own, so a model run leaves the agent's
 * thread free to fetch, parse, compute features and encode other partitions' batches meanwhile
 * (the agent scores `--concurrency` partitions at once). A batch costs two copies (features in,
 * scores out) into arrays that are transferred, not cloned, and reused.
 */
export async function openWorkerSession(
  bytes: Uint8Array,
  threads: number,
): Promise<ScoringSession> {
  const session = new WorkerSession();
  try {
    const copy = bytes.slice();
    const reply = await session.call({ id: 0, kind: "open", bytes: copy, threads }, [
      copy.buffer as ArrayBuffer,
    ]);
    session.shape = (reply as { shape: SessionShape }).shape;
    return session;
  } catch (err) {
    session.terminate();
    throw err;
  }
}

class WorkerSession implements ScoringSession {
  shape: SessionShape = { inputNames: [], outputNames: [], width: undefined };
  readonly #worker = new Worker(new URL("./onnx_worker_main.ts", import.meta.url), {
    type: "module",
  });
  readonly #pending = new Map<number, PromiseWithResolvers<WorkerReply>>();
  readonly #free: Buffers[] = [];
  #nextId = 1;
  #dead: Error | null = null;

  constructor() {
    this.#worker.onmessage = ({ data: reply }: MessageEvent<WorkerReply>) => {
      const pending = this.#pending.get(reply.id);
      this.#pending.delete(reply.id);
      if (reply.kind === "failed") pending?.reject(new Error(reply.message));
      else pending?.resolve(reply);
    };
    this.#worker.onerror = (e: ErrorEvent) => {
      e.preventDefault();
      this.#fail(new Error(`the model's worker failed: ${e.message}`));
    };
  }

  call(request: WorkerRequest, transfer: Transferable[] = []): Promise<WorkerReply> {
    if (this.#dead) return Promise.reject(this.#dead);
    const pending = Promise.withResolvers<WorkerReply>();
    this.#pending.set(request.id, pending);
    this.#worker.postMessage(request, transfer);
    return pending.promise;
  }

  async run(features: Float32Array, rows: number, width: number, out: Float32Array) {
    const floats = rows * width;
    let buffers = this.#free.pop();
    if (!buffers || buffers.features.length < floats || buffers.scores.length < rows) {
      buffers = { features: new Float32Array(floats), scores: new Float32Array(rows) };
    }
    buffers.features.set(features.subarray(0, floats));
    const reply = await this.call(
      { id: this.#nextId++, kind: "run", rows, width, ...buffers },
      [buffers.features.buffer as ArrayBuffer, buffers.scores.buffer as ArrayBuffer],
    ) as { features: Float32Array; scores: Float32Array };
    out.set(reply.scores.subarray(0, rows));
    this.#free.push({ features: reply.features, scores: reply.scores });
  }

  async release(): Promise<void> {
    try {
      await this.call({ id: this.#nextId++, kind: "release" });
    } finally {
      this.terminate();
    }
  }

  terminate(): void {
    this.#worker.terminate();
    this.#fail(new Error("the model's worker was released"));
  }

  #fail(err: Error): void {
    this.#dead ??= err;
    for (const pending of this.#pending.values()) pending.reject(err);
    this.#pending.clear();
  }
}
