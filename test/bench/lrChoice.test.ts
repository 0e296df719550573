/**
 * The bench's learning-rate choice (src/bench/lrChoice.ts): the best grid value
 * on validation wins, a diverging value is recorded and passed over, and a
 * trial is exactly the first epochs of the run it stands for.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { chooseLearningRate } from "../../src/bench/lrChoice.ts";
import { defaultLrGrid } from "../../src/bench/options.ts";
import { loadDataset } from "../../src/data/load.ts";
import type { PreparedDataset } from "../../src/data/types.ts";
import { openTraining, trainModel } from "../../src/train/trainer.ts";
import { liveTrainSessions } from "../../src/export/ortTrainStep.ts";
import { writeSignDataset } from "./synthetic.ts";

let dir: string;
let dataset: PreparedDataset;
const base = { method: "early", seed: 3, epochs: 6, batchSize: 16, encoderDim: 8, patience: 6, backend: "jax" as const };

before(async () => {
  dir = mkdtempSync(join(tmpdir(), "fusionkit-lr-"));
  const { dir: data } = writeSignDataset(join(dir, "sign"), 240);
  dataset = await loadDataset(data, { cacheDir: join(dir, "cache") });
});
after(() => rmSync(dir, { recursive: true, force: true }));

describe("learning-rate choice", () => {
  test("the default grid is a third, the value and three times it", () => {
    assert.deepEqual(defaultLrGrid(2e-3), [6.67e-4, 2e-3, 6e-3]);
  });

  test("a learning rate too small to move the weights loses to one that learns the task", async () => {
    const choice = await chooseLearningRate(dataset, { ...base, lr: 1e-2 }, [1e-7, 1e-2], 2);
    assert.equal(choice.lr, 1e-2);
    assert.equal(choice.trialEpochs, 2);
    assert.deepEqual(choice.trials.map((t) => t.lr), [1e-7, 1e-2]);
    const [tiny, good] = choice.trials.map((t) => t.valMetric!);
    assert.ok(good! > tiny! + 0.1, `val accuracy ${good} at 1e-2 vs ${tiny} at 1e-7`);
    assert.ok(good! >= 0.8, `the sign task is learned at 1e-2: ${good}`);
    await choice.winner.dispose();
  });

  test("a diverging learning rate is recorded as such and never chosen", async () => {
    const choice = await chooseLearningRate(dataset, { ...base, lr: 1e-2 }, [1e-2, 1e38], 1);
    assert.equal(choice.lr, 1e-2);
    const huge = choice.trials[1]!;
    assert.equal(huge.valMetric, null);
    assert.match(huge.diverged!, /training diverged/);
    await choice.winner.dispose();
  });

  test("every value diverging is one clear error naming --lr-grid", async () => {
    await assert.rejects(chooseLearningRate(dataset, { ...base, lr: 1e38 }, [1e37, 1e38], 1), /diverged at every learning rate tried .*--lr-grid/);
  });

  test("the winner goes on from its trial: epoch for epoch and weight for weight the run a fresh start at its rate makes, its trial epochs reported once", async () => {
    const choice = await chooseLearningRate(dataset, { ...base, lr: 1e-2 }, [1e-7, 1e-2], 2);
    assert.equal(choice.lr, 1e-2);
    const reported: number[] = [];
    choice.winner.reportTo((info) => reported.push(info.epoch));
    const continued = await choice.winner.finish();
    const fresh = await trainModel(dataset, { ...base, lr: 1e-2 });
    assert.ok(fresh.history.length > 2, "the run goes past the trial epochs");
    assert.deepEqual(reported, fresh.history.map((h) => h.epoch));
    assert.deepEqual(continued.history.map((h) => [h.trainLoss, h.valMetric]), fresh.history.map((h) => [h.trainLoss, h.valMetric]));
    assert.equal(continued.bestEpoch, fresh.bestEpoch);
    assert.equal(continued.stoppedBy, fresh.stoppedBy);
    assert.equal(continued.options.lr, 1e-2);
    const leaves = (t: typeof fresh) => JSON.stringify(t.params, (_k, v) => (v instanceof Float32Array ? Array.from(v) : v));
    assert.equal(leaves(continued), leaves(fresh));
  });

  test("on ONNX Runtime only the winner's session outlives the choice (losers and diverged trials released), and none outlives finish", async () => {
    const before = liveTrainSessions();
    const choice = await chooseLearningRate(dataset, { ...base, backend: "ort", lr: 1e-2 }, [1e-7, 1e-2, 1e38], 1);
    assert.equal(choice.lr, 1e-2);
    assert.equal(choice.trials[2]!.valMetric, null, "1e38 diverged");
    assert.equal(liveTrainSessions() - before, 1);
    await choice.winner.finish();
    assert.equal(liveTrainSessions() - before, 0);
  });

  test("a trial is the first epochs of the real run: same schedule, same numbers", async () => {
    const opened = await openTraining(dataset, { ...base, lr: 1e-2 });
    const trial = await opened.advance(2);
    await opened.dispose();
    const full = await trainModel(dataset, { ...base, lr: 1e-2 });
    assert.equal(trial.history.length, 2);
    assert.ok(full.history.length > 2);
    for (let e = 0; e < 2; e++) {
      assert.equal(trial.history[e]!.trainLoss, full.history[e]!.trainLoss);
      assert.equal(trial.history[e]!.valMetric, full.history[e]!.valMetric);
    }
  });
});

describe("bench modality dropout", () => {
  test("every multimodal method without its own gets the bench's; unimodal, linear and one-modality data get none", async () => {
    const { benchModalityDropout } = await import("../../src/bench/plan.ts");
    assert.equal(benchModalityDropout({ family: "early" }, 2, 0.3), 0.3);
    assert.equal(benchModalityDropout({ family: "low-rank" }, 3, 0.2), 0.2);
    assert.equal(benchModalityDropout({ family: "hybrid", modalityDropout: 0.3 }, 2, 0.1), null, "the method's own stays");
    assert.equal(benchModalityDropout({ family: "unimodal" }, 2, 0.3), null);
    assert.equal(benchModalityDropout({ family: "linear" }, 2, 0.3), null);
    assert.equal(benchModalityDropout({ family: "early" }, 1, 0.3), null);
  });
});

describe("bench unimodal auxiliary losses", () => {
  test("every multimodal method gets the bench's weight; unimodal, linear, one-modality data and weight 0 get none", async () => {
    const { benchUnimodalAux } = await import("../../src/bench/plan.ts");
    assert.equal(benchUnimodalAux({ family: "early" }, 2, 1), 1);
    assert.equal(benchUnimodalAux({ family: "hybrid" }, 3, 0.5), 0.5);
    assert.equal(benchUnimodalAux({ family: "early" }, 2, 0), null);
    assert.equal(benchUnimodalAux({ family: "unimodal" }, 2, 1), null);
    assert.equal(benchUnimodalAux({ family: "linear" }, 2, 1), null);
    assert.equal(benchUnimodalAux({ family: "early" }, 1, 1), null);
  });
});
