/**
 * The Worker side of agent/onnx_worker.ts: opens the model it is sent, then answers each batch
 * with its scores, handing both arrays back so the host reuses them.
 */
import { openSession, type ScoringSession } from "./onnx_session.ts";
import type { WorkerReply, WorkerRequest } from "./onnx_worker.ts";

const self = globalThis as unknown as {
  onmessage: ((e: MessageEvent<WorkerRequest>) => void) | null;
  postMessage(message: WorkerReply, transfer?: Transferable[]): void;
};

let session: ScoringSession | undefined;

self.onmessage = async ({ data: request }) => {
  try {
    switch (request.kind) {
      case "open":
        session = await openSession(request.bytes, request.threads);
        self.postMessage({ id: request.id, kind: "opened", shape: session.shape });
        break;
      case "run": {
        const { features, scores, rows, width } = request;
        await session!.run(features, rows, width, scores);
        self.postMessage({ id: request.id, kind: "scored", features, scores }, [
          features.buffer as ArrayBuffer,
          scores.buffer as ArrayBuffer,
        ]);
        break;
      }
      case "release":
        await session?.release();
        session = undefined;
        self.postMessage({ id: request.id, kind: "released" });
        break;
    }
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    self.postMessage({ id: request.id, kind: "failed", message });
  }
};
