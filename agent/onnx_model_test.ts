import assert from "node:assert/strict";
import { UserFacingError } from "../cli/usage_error.ts";
import { FeatureEngine } from "../features/feature_engine.ts";
import { FEATURE_COUNT, FEATURE_LIST_VERSION } from "../features/feature_list.ts";
import { readOnnxMetadata } from "./onnx_metadata.ts";
import { DEFAULT_MODEL_PATH, loadOnnxModel, OnnxModel } from "./onnx_model.ts";
import { withAbsentPath } from "../tests/support/absent_path.ts";
import { withOnnxMetadata } from "../tests/support/onnx_metadata.ts";

interface Card {
  name: string;
  version: string;
  threshold: { value: number };
  feature_list: { version: string };
  reference_rows: { features: number[][]; probabilities: number[]; tolerance: number };
}

const card: Card = JSON.parse(
  await Deno.readTextFile(new URL("../model/model-card.json", import.meta.url)),
);
const modelBytes = await Deno.readFile(DEFAULT_MODEL_PATH);

/** The model bytes with one more metadata entry; a repeated key overrides the earlier one. */
function withMetadata(key: string, value: string): Uint8Array {
  return withOnnxMetadata(modelBytes, { [key]: value });
}

async function rejects(load: () => Promise<unknown>, pattern: RegExp): Promise<void> {
  await assert.rejects(load, (err: unknown) => {
    assert.ok(err instanceof UserFacingError, `expected a UserFacingError, got ${err}`);
    assert.match(err.message, pattern);
    assert.ok(!err.message.includes("\n"), "one line");
    return true;
  });
}

Deno.test("the model reports the card's name, version, threshold and feature list", async () => {
  const model = await loadOnnxModel(DEFAULT_MODEL_PATH, new FeatureEngine());
  try {
    assert.equal(model.name, card.name);
    assert.equal(model.version, card.version);
    assert.equal(model.threshold, card.threshold.value);
    assert.equal(model.featureListVersion, FEATURE_LIST_VERSION);
    assert.equal(card.feature_list.version, FEATURE_LIST_VERSION);
    assert.equal(model.width, FEATURE_COUNT);
  } finally {
    await model.release();
  }
});

/** Every scoring test runs on the agent's thread and in a Worker (--model-worker). */
const PLACES = [{ where: "", worker: false }, { where: " (in a Worker)", worker: true }];

for (const { where, worker } of PLACES) {
  Deno.test(`the shipped model scores the card's reference rows like the Python library${where}`, async () => {
    const model = await loadOnnxModel(DEFAULT_MODEL_PATH, new FeatureEngine(), { worker });
    try {
      const ref = card.reference_rows;
      const rows = ref.features.length;
      const x = Float32Array.from(ref.features.flat());
      const batch = Array.from(await model.scoreBatch(x, rows, new Float32Array(rows)));
      for (let i = 0; i < rows; i++) {
        assert.ok(
          Math.abs(batch[i] - ref.probabilities[i]) <= ref.tolerance,
          `row ${i}: onnxruntime-node ${batch[i]} vs library ${ref.probabilities[i]}`,
        );
        // Batch size must not change a row's score.
        const single = await model.scoreBatch(
          x.subarray(i * FEATURE_COUNT),
          1,
          new Float32Array(1),
        );
        assert.equal(single[0], batch[i]);
      }
    } finally {
      await model.release();
    }
  });

  Deno.test(`scoreBatch writes into the caller's buffer, so concurrent runs do not mix${where}`, async () => {
    const model = await loadOnnxModel(DEFAULT_MODEL_PATH, new FeatureEngine(), { worker });
    try {
      const x = new Float32Array(2000 * FEATURE_COUNT);
      for (let i = 0; i < x.length; i++) x[i] = (i * 7919) % 97;
      const y = x.map((v, i) => (i % FEATURE_COUNT === 0 ? v * 3 : v));
      const outX = new Float32Array(2000);
      const outY = new Float32Array(2000);
      const [a, b] = await Promise.all([
        model.scoreBatch(x, 2000, outX),
        model.scoreBatch(y, 2000, outY),
      ]);
      assert.equal(a.buffer, outX.buffer);
      assert.equal(b.buffer, outY.buffer);
      const alone = await model.scoreBatch(x, 2000, new Float32Array(2000));
      assert.deepEqual(Array.from(a), Array.from(alone));
      assert.notDeepEqual(Array.from(a), Array.from(b));
      assert.equal((await model.scoreBatch(x, 0, outX)).length, 0);
      await assert.rejects(model.scoreBatch(x, 10, new Float32Array(5)), RangeError);
    } finally {
      await model.release();
    }
  });

  Deno.test(`release waits for the runs in flight, and a released model scores no more${where}`, async () => {
    const model = await loadOnnxModel(DEFAULT_MODEL_PATH, new FeatureEngine(), { worker });
    const x = new Float32Array(4096 * FEATURE_COUNT).fill(1);
    const running = model.scoreBatch(x, 4096, new Float32Array(4096));
    await model.release();
    assert.equal((await running).length, 4096);
    await assert.rejects(model.scoreBatch(x, 1, new Float32Array(1)));
  });
}

Deno.test("a model that does not fit the engine is refused with one clear line", async (t) => {
  const engine = new FeatureEngine();
  await t.step(
    "missing file",
    () =>
      rejects(
        () => withAbsentPath((absent) => loadOnnxModel(`${absent}/model.onnx`, engine)),
        /cannot read model .*no such file/,
      ),
  );
  await t.step(
    "not ONNX",
    () =>
      rejects(
        () => OnnxModel.fromBytes(new TextEncoder().encode("hello"), "x.onnx", engine),
        /not (an ONNX|a fraudstream) model/,
      ),
  );
  await t.step(
    "other feature list",
    () =>
      rejects(() =>
        OnnxModel.fromBytes(
          withMetadata("fraudstream.feature_list_version", "fs-v0"),
          "m.onnx",
          engine,
        ), /trained on feature list fs-v0, this build computes/),
  );
  await t.step(
    "other feature names",
    () =>
      rejects(
        () =>
          OnnxModel.fromBytes(withMetadata("fraudstream.features", '["a","b"]'), "m.onnx", engine),
        /feature names differ/,
      ),
  );
  await t.step(
    "other label delay",
    () =>
      rejects(
        () =>
          OnnxModel.fromBytes(
            modelBytes,
            "m.onnx",
            new FeatureEngine({ labelDelayMs: 86_400_000 }),
          ),
        /label delay of 168 h, the agent uses 24 h/,
      ),
  );
  await t.step(
    "no threshold",
    () =>
      rejects(
        () => OnnxModel.fromBytes(withMetadata("fraudstream.threshold", "none"), "m.onnx", engine),
        /no decision threshold/,
      ),
  );
  await t.step("the metadata reader sees the override the tests rely on", () => {
    assert.equal(
      readOnnxMetadata(withMetadata("fraudstream.threshold", "0.5")).get("fraudstream.threshold"),
      "0.5",
    );
  });
});
