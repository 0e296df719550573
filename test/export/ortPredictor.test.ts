/**
 * Validation predictions on ONNX Runtime (src/export/ortPredictor.ts) against
 * the jax-js Predictor: the same logits within 1e-5 for methods of every kind
 * of fusion over image, text and tabular inputs, with a split that does not
 * fill its last batch, with a modality missing and with noise, and new
 * parameters taking effect without re-lowering.
 */
import assert from "node:assert/strict";
import { before, describe, it } from "node:test";
import { startEngine } from "../../src/engine/backend.ts";
import { flattenParams } from "../../src/engine/params.ts";
import { HostRng } from "../../src/engine/random.ts";
import { OrtPredictor } from "../../src/export/ortPredictor.ts";
import { getMethod } from "../../src/fusion/registry.ts";
import { buildModel } from "../../src/model/model.ts";
import { buildSpec } from "../../src/model/spec.ts";
import { Predictor } from "../../src/train/predict.ts";
import { imageSpec, tabularSpec, textSpec, tinyDataset } from "../../bench/fixtures/tinyDatasets.ts";

before(async () => {
  await startEngine();
});

function maxGap(a: Float32Array, b: Float32Array): number {
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i]! - b[i]!) / Math.max(1, Math.abs(a[i]!)));
  return worst;
}

describe("ONNX Runtime predictions match the jax-js Predictor", () => {
  const dataset = tinyDataset([imageSpec, textSpec, tabularSpec]);
  for (const name of ["early", "lmf", "cross_attention"]) {
    it(`${name}: every row of a split, two parameter sets`, async () => {
      const method = getMethod(name, dataset.modalities);
      const model = buildModel(buildSpec(dataset, { method, encoderDim: 8 }));
      const first = flattenParams(model.init(new HostRng(1)));
      const second = flattenParams(model.init(new HostRng(2))).flat;
      const split = dataset.splits.train;
      assert.ok(split.n % 6 !== 0, "the last batch is padded");
      const onOrt = await OrtPredictor.create(model, first.layout, first.flat, split, 6);
      const onJax = new Predictor(model, first.layout, first.flat, 6);
      try {
        for (const flat of [first.flat, second]) {
          onOrt.setParams(flat);
          onJax.setParams(flat);
          // as is, one modality missing, Gaussian noise on the image (the bench's robustness rows)
          for (const opts of [{}, { presentOverride: { txt: 0 as const } }, { noise: { modality: "img", sigma: 1, seed: 5 } }]) {
            const [a, b] = [onJax.predict(split, opts), await onOrt.predict(split, opts)];
            assert.equal(b.logits.length, split.n * model.spec.outDim);
            assert.ok(maxGap(a.logits, b.logits) <= 1e-5, `${name} ${JSON.stringify(opts)}: logits differ by ${maxGap(a.logits, b.logits)}`);
            assert.ok(maxGap(a.probs, b.probs) <= 1e-5);
          }
        }
        assert.ok(maxGap((await onOrt.predict(split)).logits, (onJax.setParams(first.flat), onJax.predict(split)).logits) > 1e-3, "the two parameter sets predict differently");
      } finally {
        onJax.dispose();
        await onOrt.dispose();
      }
    });
  }
});
