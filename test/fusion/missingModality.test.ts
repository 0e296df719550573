/**
 * Missing modalities at test time. Data: two vector modalities that each carry
 * the label redundantly (A0 and B0 are noisy copies of +-1), so a model that
 * copes with a missing modality can still answer from the other one.
 *  - every registered method gives finite outputs with either modality missing;
 *  - the adaptive methods (trained with modality dropout) lose less accuracy
 *    than early fusion (trained on complete rows only) when one is missing.
 */
import { before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { startEngine } from "../../src/engine/backend.ts";
import { taskMetrics } from "../../src/eval/metrics.ts";
import { defaultMethodsFor, getMethod } from "../../src/fusion/registry.ts";
import { predict } from "../../src/train/predict.ts";
import { trainModel, type TrainedModel } from "../../src/train/trainer.ts";
import { makeDataset } from "../../bench/fixtures/synthetic.ts";

before(startEngine);

const d = 6;
const ds = makeDataset({
  name: "redundant",
  labelNames: ["negative", "positive"],
  modalities: [
    { name: "A", type: "vector", shape: [d] },
    { name: "B", type: "vector", shape: [d] },
  ],
  sizes: { train: 1024, val: 256, test: 512 },
  seed: 5,
  row: (rng) => {
    const label = rng.uniform() < 0.5 ? 0 : 1;
    // features are not centred (like pixel values or embedding coordinates), so the
    // zero that stands in for a missing modality is not a typical value
    const signal = (offset: number) => offset + (2 * label - 1) + 0.8 * rng.normal();
    const noise = (offset: number) => Array.from({ length: d - 1 }, () => offset + rng.normal());
    return { inputs: { A: [signal(3), ...noise(3)], B: [signal(-3), ...noise(-3)] }, label };
  },
});

function accuracy(model: TrainedModel, missing?: "A" | "B"): number {
  const { probs } = predict(model, ds.splits.test, missing ? { presentOverride: { [missing]: 0 } } : {});
  assert.ok(probs.every(Number.isFinite), `non-finite probabilities with ${missing ?? "nothing"} missing`);
  return taskMetrics("classification", probs, ds.splits.test.labels, 2).accuracy!;
}

/** Mean accuracy lost when A, then B, is missing from every test row. */
function meanDrop(model: TrainedModel): number {
  const full = accuracy(model);
  return (full - accuracy(model, "A") + (full - accuracy(model, "B"))) / 2;
}

describe("a missing modality at test time", () => {
  test("every method gives finite outputs with either modality missing", async () => {
    for (const method of defaultMethodsFor(ds)) {
      const model = await trainModel(ds, { method, seed: 1, epochs: 1, encoderDim: 8 });
      accuracy(model, "A");
      accuracy(model, "B");
    }
  });

  test("gmu and attention_fusion (modality dropout) lose less accuracy than early fusion", async () => {
    const options = { seed: 3, epochs: 12, lr: 5e-3, encoderDim: 16 };
    const early = await trainModel(ds, { ...options, method: getMethod("early") });
    const earlyDrop = meanDrop(early);
    for (const name of ["gmu", "attention_fusion"]) {
      const adaptive = await trainModel(ds, { ...options, method: getMethod(name) });
      const drop = meanDrop(adaptive);
      assert.ok(drop < earlyDrop, `${name} loses ${drop.toFixed(3)} on average, early fusion ${earlyDrop.toFixed(3)}`);
    }
  });
});
