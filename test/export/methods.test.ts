/**
 * Every registered fusion method, trained a few steps on a tiny dataset and
 * exported, gives the same outputs in ONNX Runtime as in jax-js (within 1e-4),
 * at batch 32 and batch 1, with every modality as given and with one modality
 * missing in every row. New families are covered as soon as the registry lists them.
 */
import assert from "node:assert/strict";
import { before, describe, it } from "node:test";
import type { PreparedDataset } from "../../src/data/types.ts";
import { startEngine } from "../../src/engine/backend.ts";
import { flattenParams } from "../../src/engine/params.ts";
import { lowerTrainedModel } from "../../src/export/exportModel.ts";
import { feedsFromSplit } from "../../src/export/feeds.ts";
import { createOnnxRunner } from "../../src/export/runtime.ts";
import { listMethods } from "../../src/fusion/registry.ts";
import type { FusionMethod } from "../../src/fusion/types.ts";
import { unimodalMethod } from "../../src/fusion/unimodal.ts";
import { Predictor } from "../../src/train/predict.ts";
import { trainModel } from "../../src/train/trainer.ts";
import { audioSpec, imageSpec, sequenceSpec, tabularSpec, textSpec, tinyDataset, vectorSpec } from "../../bench/fixtures/tinyDatasets.ts";

/** absolute for values up to 1 (probabilities, logits); relative beyond (a regression prediction near 1,500 has a float32 ulp of 1.2e-4) */
const tolerance = 1e-4;

before(async () => {
  await startEngine();
});

function assertClose(engine: Float32Array, onnx: Float32Array, what: string): void {
  assert.equal(onnx.length, engine.length, `${what}: length`);
  let worst = 0;
  let at = 0;
  for (let i = 0; i < engine.length; i++) {
    const d = Math.abs(engine[i]! - onnx[i]!) / Math.max(1, Math.abs(engine[i]!));
    if (!(d <= worst)) [worst, at] = [d, i];
  }
  assert.ok(worst <= tolerance, `${what}: |engine - onnx| / max(1, |engine|) = ${worst} at ${at} (engine ${engine[at]}, onnx ${onnx[at]})`);
}

async function checkExportMatches(method: FusionMethod, dataset: PreparedDataset, missing: string, scoreName = "probabilities"): Promise<void> {
  const trained = await trainModel(dataset, { method, epochs: 1, batchSize: 8, encoderDim: 8, seed: 5, patience: 1 });
  assert.ok(Number.isFinite(trained.history[0]!.trainLoss), "trained at least one epoch");
  const { bytes } = lowerTrainedModel(trained);
  const runner = await createOnnxRunner(bytes);
  const test = dataset.splits.test;
  const specs = trained.spec.modalities;
  const { flat } = flattenParams(trained.params);
  const predictor = new Predictor(trained.model, trained.layout, flat, test.n);
  try {
    for (const override of [{}, { [missing]: 0 as const }]) {
      const label = `${method.name}, ${Object.keys(override).length ? `"${missing}" missing` : "as given"}`;
      const engine = predictor.predict(test, { presentOverride: override });
      const whole = await runner.run(feedsFromSplit(test, specs, undefined, override));
      assertClose(engine.logits, whole.logits!.data, `${label}, batch ${test.n}, logits`);
      assertClose(engine.probs, whole[scoreName]!.data, `${label}, batch ${test.n}, ${scoreName}`);
      for (const row of [0, 17]) {
        const one = await runner.run(feedsFromSplit(test, specs, [row], override));
        const outDim = trained.spec.outDim;
        assertClose(engine.probs.subarray(row * outDim, (row + 1) * outDim), one[scoreName]!.data, `${label}, batch 1 (row ${row})`);
      }
    }
  } finally {
    predictor.dispose();
    await runner.release();
  }
}

describe("exported graphs match the engine", () => {
  const dataset = tinyDataset([vectorSpec, textSpec, imageSpec]);
  for (const method of [...listMethods(), unimodalMethod("txt") as unknown as FusionMethod]) {
    it(`${method.name} (${method.family}) on vector + text + image`, async () => {
      await checkExportMatches(method, dataset, "img");
    });
  }

  it("regression (prediction in label units) and multilabel (sigmoid) heads", async () => {
    const early = listMethods().find((m) => m.family === "early")!;
    const base = tinyDataset([vectorSpec, textSpec], 6);
    const test = base.splits.test;
    // regression target on a large scale, so the mean/std mapping matters
    const regression: PreparedDataset = {
      ...base,
      task: "regression",
      labelNames: [],
      splits: Object.fromEntries(Object.entries(base.splits).map(([k, split]) => [k, { ...split, labels: split.labels.map((y, i) => 1000 + 250 * y + (i % 3)) }])) as PreparedDataset["splits"],
    };
    await checkExportMatches(early, regression, "txt", "prediction");
    const multilabel: PreparedDataset = {
      ...base,
      task: "multilabel",
      splits: Object.fromEntries(
        Object.entries(base.splits).map(([k, split]) => [k, { ...split, labels: Float32Array.from({ length: split.n * 3 }, (_, j) => (split.labels[Math.floor(j / 3)]! >= j % 3 ? 1 : 0)) }]),
      ) as PreparedDataset["splits"],
    };
    assert.equal(test.labels.length, test.n);
    await checkExportMatches(early, multilabel, "txt");
  });

  it("early fusion over every modality type (vector, tabular, text, image, sequence, audio)", async () => {
    const all = tinyDataset([vectorSpec, tabularSpec, textSpec, imageSpec, sequenceSpec, audioSpec], 4);
    const early = listMethods().find((m) => m.family === "early")!;
    await checkExportMatches(early, all, "seq");
  });
});
