import assert from "node:assert/strict";
import { FeatureEngine } from "../features/feature_engine.ts";
import { ModelSlot } from "./model_slot.ts";
import { DEFAULT_MODEL_PATH, OnnxModel } from "./onnx_model.ts";

const engine = new FeatureEngine();
const bytes = await Deno.readFile(DEFAULT_MODEL_PATH);
const open = (source: string, worker = false) =>
  OnnxModel.fromBytes(bytes, source, engine, { worker });

for (const worker of [false, true]) {
  Deno.test(
    `a swap serves the new model at once and releases the old one after its run${
      worker ? " (models in Workers)" : ""
    }`,
    async () => {
      const old = await open("v1", worker);
      const slot = new ModelSlot(old, "1");
      const rows = 512;
      const running = old.scoreBatch(
        new Float32Array(rows * engine.width),
        rows,
        new Float32Array(rows),
      );
      const next = await open("v2", worker);
      const swapped = slot.swap(next, "2", 42);
      assert.equal(slot.current, next, "the next batch reads the new model");
      // The run that held the old model when the swap came finishes on it, session still open.
      const scores = await running;
      assert.equal(scores.length, rows);
      assert.ok(scores.every((s) => s >= 0 && s <= 1));
      await swapped;
      await assert.rejects(
        () => old.scoreBatch(new Float32Array(engine.width), 1, new Float32Array(1)),
        "the old session is closed once the swap resolved",
      );
      const shown = slot.toJSON().registry!;
      assert.equal(shown.version, "2");
      assert.equal(shown.swaps, 1);
      assert.equal(shown.last_swap!.load_ms, 42);
      assert.match(shown.last_swap!.from, /^1 \(/);
      assert.match(shown.last_swap!.to, /^2 \(/);
      await next.release();
    },
  );
}

Deno.test("a model file has no registry state", async () => {
  const model = await open("file");
  assert.equal(new ModelSlot(model).toJSON().registry, null);
  await model.release();
});

Deno.test("refusals are remembered, and /stats keeps the last ten", async () => {
  const model = await open("v1");
  const slot = new ModelSlot(model, "1");
  for (let v = 2; v <= 13; v++) slot.refuse(String(v), "its feature names differ");
  assert.ok(slot.wasRefused("13"));
  assert.ok(!slot.wasRefused("14"));
  const shown = slot.toJSON().registry!;
  assert.equal(shown.refused.length, 10);
  assert.equal(shown.refused[0].version, "4");
  assert.equal(shown.version, "1", "the serving model is unchanged");
  await model.release();
});
