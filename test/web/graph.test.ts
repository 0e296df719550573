/**
 * The page's graph carries each method's explain tensors as extra outputs:
 * run in onnxruntime-node on synthetic rows, they equal what the jax-js model
 * explains with (cross-attention maps, Flamingo's gates, GMU's weights, late
 * fusion's per-modality predictions), so the page's method views are the CLI's.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { startEngine } from "../../src/engine/backend.ts";
import { flattenParams } from "../../src/engine/params.ts";
import { feedsFromSplit } from "../../src/export/feeds.ts";
import { createOnnxRunner } from "../../src/export/runtime.ts";
import { syntheticSplit } from "../../src/export/verify.ts";
import { explainOutputPrefix } from "../../src/export/web/client/views.ts";
import { lowerPageGraph } from "../../src/export/web/graph.ts";
import { Predictor } from "../../src/train/predict.ts";
import { trainModel } from "../../src/train/trainer.ts";
import { imageSpec, textSpec, tinyDataset, vectorSpec } from "../../bench/fixtures/tinyDatasets.ts";

test("explain outputs of the page's graph equal jax-js's explain tensors (cross_attention, flamingo, gmu, late_mean)", async () => {
  await startEngine();
  const dataset = tinyDataset([vectorSpec, textSpec, imageSpec]);
  for (const method of ["cross_attention", "flamingo", "gmu", "late_mean"]) {
    const trained = await trainModel(dataset, { method, epochs: 1, batchSize: 16, encoderDim: 8, seed: 1 });
    const graph = lowerPageGraph(trained);
    assert.equal(graph.explainSkipped, undefined, `${method}: ${graph.explainSkipped}`);
    assert.ok(graph.explainOutputs.length > 0, `${method} explains itself with some tensor`);
    const split = syntheticSplit(trained.spec.modalities, 8, 5);
    const predictor = new Predictor(trained.model, trained.layout, flattenParams(trained.params).flat, 8);
    const engine = predictor.predict(split);
    predictor.dispose();
    const runner = await createOnnxRunner(graph.bytes);
    const out = await runner.run(feedsFromSplit(split, trained.spec.modalities));
    await runner.release();
    for (const key of graph.explainOutputs) {
      const expected = engine.explain![key]!;
      const got = out[`${explainOutputPrefix}${key}`]!;
      assert.deepEqual(got.shape, expected.shape, `${method} ${key}: shape`);
      let worst = 0;
      for (let i = 0; i < got.data.length; i++) worst = Math.max(worst, Math.abs(got.data[i]! - expected.data[i]!));
      assert.ok(worst < 1e-4, `${method} ${key}: largest difference ${worst}`);
    }
  }
});
