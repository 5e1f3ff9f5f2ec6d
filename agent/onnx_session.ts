import "./onnxruntime_telemetry.ts";
import "./onnxruntime_preload.ts";
import * as ort from "onnxruntime-node";

/** The graph's input and output: [N, width] features in, [N] probabilities out. */
export const INPUT = "features";
export const OUTPUT = "fraud_probability";

/** What an opened model shows of its graph, to be checked against the feature engine. */
export interface SessionShape {
  inputNames: string[];
  outputNames: string[];
  /** Columns of the "features" input, when it is a tensor with a fixed width. */
  width: number | undefined;
}

/**
 * One opened ONNX model that scores batches: on the calling thread (openSession) or in a
 * Worker of its own (agent/onnx_worker.ts). Both take and give the same arrays.
 */
export interface ScoringSession {
  readonly shape: SessionShape;
  /** P(fraud) of `rows` rows of `width` floats into `out`, in ONE ORT run. */
  run(features: Float32Array, rows: number, width: number, out: Float32Array): Promise<void>;
  release(): Promise<void>;
}

/** Opens `bytes` with ONNX Runtime on this thread. Errors are ORT's own. */
export async function openSession(bytes: Uint8Array, threads: number): Promise<ScoringSession> {
  const session = await ort.InferenceSession.create(bytes, {
    intraOpNumThreads: threads,
    interOpNumThreads: 1,
    executionMode: "sequential",
    graphOptimizationLevel: "all",
  });
  const input = session.inputMetadata.find((m) => m.name === INPUT);
  return {
    shape: {
      inputNames: [...session.inputNames],
      outputNames: [...session.outputNames],
      width: input?.isTensor && typeof input.shape[1] === "number" ? input.shape[1] : undefined,
    },
    async run(features, rows, width, out) {
      const input = new ort.Tensor("float32", features.subarray(0, rows * width), [rows, width]);
      const scores = out.subarray(0, rows);
      const output = new ort.Tensor("float32", scores, [rows]);
      const result = await session.run({ [INPUT]: input }, { [OUTPUT]: output });
      const data = result[OUTPUT].data as Float32Array;
      // ORT fills the pre-allocated tensor in place; copy only if a build ever hands back another.
      if (data.buffer !== scores.buffer || data.byteOffset !== scores.byteOffset) scores.set(data);
    },
    release: () => session.release(),
  };
}
