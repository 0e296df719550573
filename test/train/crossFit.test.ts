import { before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { startEngine } from "../../src/engine/backend.ts";
import type { PreparedDataset } from "../../src/data/types.ts";
import { getMethod } from "../../src/fusion/registry.ts";
import type { FusionMethod, PostFitData } from "../../src/fusion/types.ts";
import { foldAssignment, outOfFoldPredictions } from "../../src/train/crossFit.ts";
import { trainModel, type TrainOptions } from "../../src/train/trainer.ts";
import { makeDataset } from "../../bench/fixtures/synthetic.ts";

before(startEngine);

/** label = sign(a0); b is a noisy copy of the label: both modalities informative, so the stacker has something to weigh. */
function twoViews(seed: number): PreparedDataset {
  return makeDataset({
    labelNames: ["neg", "pos"],
    modalities: [
      { name: "a", type: "vector", shape: [4] },
      { name: "b", type: "vector", shape: [4] },
    ],
    sizes: { train: 120, val: 60, test: 60 },
    seed,
    row: (rng) => {
      const a = Array.from({ length: 4 }, () => rng.normal());
      const label = a[0]! > 0 ? 1 : 0;
      const b = Array.from({ length: 4 }, (_, j) => (j === 0 ? (label ? 1 : -1) + rng.normal() : rng.normal()));
      return { inputs: { a, b }, label };
    },
  });
}

/** late_stacking whose postFit records what it was given. */
function spyingStacker(seen: PostFitData[]): FusionMethod {
  const m = getMethod("late_stacking");
  return { ...m, postFit: (p, data, c) => (seen.push(data), m.postFit!(p, data, c)) };
}

const options = (method: FusionMethod): TrainOptions => ({ method, seed: 3, epochs: 1, encoderDim: 8, lr: 5e-3, methodConfig: { hidden: 8 } });

describe("late_stacking cross-fitting: the meta-classifier never reads validation labels", () => {
  test("the fit receives out-of-fold predictions for exactly the train rows, with the train labels", async () => {
    const ds = twoViews(1);
    const seen: PostFitData[] = [];
    await trainModel(ds, options(spyingStacker(seen)));
    assert.equal(seen.length, 1, "one second stage, none inside the fold models");
    assert.deepEqual(Array.from(seen[0]!.labels), Array.from(ds.splits.train.labels));
    assert.deepEqual(seen[0]!.explain.probabilities!.shape, [ds.splits.train.n, 2, 2]);
  });

  test("scrambling every validation label changes nothing in the fitted meta-classifier (one epoch: early stopping has no choice to make)", async () => {
    const ds = twoViews(2);
    const scrambled: PreparedDataset = { ...ds, splits: { ...ds.splits, val: { ...ds.splits.val, labels: ds.splits.val.labels.map((y) => 1 - y) } } };
    const fit = async (data: PreparedDataset) => {
      const trained = await trainModel(data, options(getMethod("late_stacking")));
      return (trained.params as any).fusion.combiner;
    };
    const honest = await fit(ds);
    const flipped = await fit(scrambled);
    assert.equal(honest.fitted.data[0], 1, "the meta-classifier was fitted");
    assert.deepEqual(Array.from(flipped.w.data), Array.from(honest.w.data));
    assert.deepEqual(Array.from(flipped.b.data), Array.from(honest.b.data));
  });

  test("each fold model predicts only rows it did not train on, and every train row gets one prediction", async () => {
    const ds = twoViews(4);
    const trainedOn: Set<string>[] = [];
    const recording = async (data: PreparedDataset, o: TrainOptions) => {
      trainedOn.push(new Set(data.splits.train.ids));
      return trainModel(data, o);
    };
    const out = await outOfFoldPredictions(ds, { ...options(getMethod("late_stacking")), secondStage: false }, 3, recording);
    const fold = foldAssignment(ds.splits.train.n, 3, 3);
    assert.equal(trainedOn.length, 3);
    ds.splits.train.ids.forEach((id, r) => {
      trainedOn.forEach((rows, f) => assert.equal(rows.has(id), fold[r] !== f, `row ${id}, fold model ${f}`));
    });
    const probs = out.explain.probabilities!.data;
    for (let r = 0; r < ds.splits.train.n; r++) {
      const sum = probs[r * 4]! + probs[r * 4 + 1]!;
      assert.ok(Math.abs(sum - 1) < 1e-4, `row ${r} has a probability vector from its fold model (sum ${sum})`);
    }
  });

  test("folds are balanced and depend on the seed", () => {
    const a = foldAssignment(100, 3, 1);
    const counts = [0, 1, 2].map((f) => a.filter((x) => x === f).length);
    assert.deepEqual(counts, [34, 33, 33]);
    assert.notDeepEqual(Array.from(foldAssignment(100, 3, 2)), Array.from(a));
  });
});
