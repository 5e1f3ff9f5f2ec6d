import { fileURLToPath } from "node:url";

/**
 * The model the repo ships (model/train/reproduce.sh rebuilds it), also inside the compiled
 * executable. Its own module so that `fraudstream --version` can name it without loading ONNX
 * Runtime.
 */
export const DEFAULT_MODEL_PATH = fileURLToPath(
  new URL("../model/fraud-model.onnx", import.meta.url),
);
