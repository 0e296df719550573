import { before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { startEngine } from "../../src/engine/backend.ts";
import { flattenParams } from "../../src/engine/params.ts";
import { taskMetrics } from "../../src/eval/metrics.ts";
import { predict, Predictor } from "../../src/train/predict.ts";
import { evaluateSplit, trainModel } from "../../src/train/trainer.ts";
import { makeDataset } from "../../bench/fixtures/synthetic.ts";

before(startEngine);

/**
 * Three classes from two modalities: the class is the keyword in the text
 * (ids 2, 3, 4 = "red", "green", "blue") unless the text is missing, in which
 * case the tabular colour code says it; numeric columns are noise. A learnable
 * mapping with missing modalities, text padding and categorical codes.
 */
function colourDataset(seed: number) {
  return makeDataset({
    name: "colours",
    labelNames: ["red", "green", "blue"],
    modalities: [
      { name: "caption", type: "text", shape: [6], vocabSize: 20 },
      { name: "facts", type: "tabular", shape: [3], numericColumns: ["noise1", "noise2"], categoricalColumns: ["colour"], categoricalCardinalities: [4] },
    ],
    sizes: { train: 384, val: 96, test: 192 },
    seed,
    row: (rng) => {
      const label = rng.int(3);
      const length = 2 + rng.int(4);
      const ids = new Array(6).fill(0);
      const mask = new Array(6).fill(0);
      const keywordAt = rng.int(length);
      for (let t = 0; t < length; t++) {
        ids[t] = t === keywordAt ? 2 + label : 5 + rng.int(15);
        mask[t] = 1;
      }
      const textMissing = rng.uniform() < 0.3;
      return {
        inputs: { caption: ids, facts: [rng.normal(), rng.normal(), 1 + label] },
        tokenMasks: { caption: mask },
        present: { caption: textMissing ? 0 : 1, facts: 1 },
        label,
      };
    },
  });
}

describe("trainer", () => {
  test("early fusion learns a text-or-tabular colour rule to >= 0.95 test accuracy", async () => {
    const ds = colourDataset(1);
    const model = await trainModel(ds, { method: "early", seed: 1, epochs: 15, lr: 5e-3, encoderDim: 16, methodConfig: { projectDim: 16, hidden: [32] } });
    const { probs } = predict(model, ds.splits.test);
    const acc = taskMetrics("classification", probs, ds.splits.test.labels, 3).accuracy!;
    assert.ok(acc >= 0.95, `test accuracy ${acc}`);
  });

  test("the returned parameters are the best-validation epoch's", async () => {
    const ds = colourDataset(2);
    const model = await trainModel(ds, { method: "early", seed: 2, epochs: 6, lr: 2e-3, encoderDim: 8, methodConfig: { projectDim: 8, hidden: [8] } });
    const best = model.history[model.bestEpoch - 1]!;
    for (const e of model.history) assert.ok(e.valMetric <= best.valMetric);
    const predictor = new Predictor(model.model, model.layout, flattenParams(model.params).flat, 32);
    try {
      assert.equal(evaluateSplit(predictor, ds.splits.val, ds).accuracy, best.valMetric);
    } finally {
      predictor.dispose();
    }
  });

  test("the same seed gives a bit-identical history; another seed does not", async () => {
    const ds = colourDataset(3);
    const run = (seed: number) =>
      trainModel(ds, { method: "early", seed, epochs: 3, encoderDim: 8, methodConfig: { projectDim: 8, hidden: [8], dropout: 0.2 }, dropout: 0.2 });
    const strip = (h: { trainLoss: number; valMetrics: Record<string, number> }[]) => h.map((e) => [e.trainLoss, e.valMetrics]);
    const a = await run(5);
    const b = await run(5);
    const c = await run(6);
    assert.deepEqual(strip(a.history), strip(b.history));
    assert.deepEqual(flattenParams(a.params).flat, flattenParams(b.params).flat);
    assert.notDeepEqual(strip(a.history), strip(c.history));
  });

  test("early stopping ends training `patience` epochs after the best one", async () => {
    const ds = colourDataset(4);
    // lr so small nothing changes after the first epochs: validation stops improving
    const model = await trainModel(ds, { method: "early", seed: 4, epochs: 30, patience: 2, lr: 1e-7, encoderDim: 8, methodConfig: { projectDim: 8, hidden: [8] } });
    assert.equal(model.history.length, model.bestEpoch + 2);
  });

  test("a time budget ends training mid-epoch after at least one step, and that epoch is still validated", async () => {
    const ds = colourDataset(10);
    // the first step alone (tracing + compiling) takes far more than 1 ms
    const model = await trainModel(ds, { method: "early", seed: 10, epochs: 50, timeBudgetMs: 1, encoderDim: 8, methodConfig: { projectDim: 8, hidden: [8] } });
    assert.equal(model.history.length, 1);
    assert.ok(Number.isFinite(model.history[0]!.valMetric) && model.history[0]!.trainLoss > 0);
  });

  test("training keeps memory flat over 1000 steps (retained RSS growth < 30 MB, heap < 8 MB, after warm-up)", async () => {
    const ds = colourDataset(5);
    ds.splits.train = { ...ds.splits.train, n: 160 };
    ds.splits.val = { ...ds.splits.val, n: 16 };
    // Measure what is retained, not garbage awaiting collection: without a forced GC, V8's heap
    // alone swings by ~40 MB over a few hundred steps before a major collection (measured).
    setFlagsFromString("--expose-gc");
    const gc = runInNewContext("gc") as () => void;
    const retained = () => {
      gc();
      return process.memoryUsage();
    };
    let warm: NodeJS.MemoryUsage | undefined;
    let last: NodeJS.MemoryUsage | undefined;
    // 160 rows / batch 16 = 10 steps per epoch: warm-up 200 steps, then 1000 more, plus a val pass per epoch
    await trainModel(ds, {
      method: "early", seed: 5, epochs: 120, batchSize: 16, patience: 1000, encoderDim: 8, methodConfig: { projectDim: 8, hidden: [8] },
      // collecting every 10 epochs also keeps V8 from growing its heap space, which RSS would count after a late GC
      onEpoch: (e) => {
        if (e.epoch % 10 === 0) gc();
        if (e.epoch === 20) warm = retained();
        if (e.epoch === 120) last = retained();
      },
    });
    const rss = (last!.rss - warm!.rss) / 2 ** 20;
    const heap = (last!.heapUsed - warm!.heapUsed) / 2 ** 20;
    assert.ok(rss < 30, `RSS grew ${rss.toFixed(1)} MB over 1000 steps`);
    assert.ok(heap < 8, `heap grew ${heap.toFixed(1)} MB over 1000 steps`);
  });

  test("presentOverride predicts as if the modality were missing in every row", async () => {
    const ds = colourDataset(6);
    const model = await trainModel(ds, { method: "early", seed: 6, epochs: 2, encoderDim: 8, methodConfig: { projectDim: 8, hidden: [8] } });
    const test = ds.splits.test;
    const dropped = predict(model, test, { presentOverride: { caption: 0 } });
    const missing = predict(model, { ...test, present: { ...test.present, caption: new Float32Array(test.n) } });
    assert.deepEqual(dropped.logits, missing.logits);
    assert.notDeepEqual(dropped.logits, predict(model, test).logits);
  });

  test("noise is seeded, zero noise changes nothing, and noise touches only the named modality", async () => {
    const ds = colourDataset(7);
    const model = await trainModel(ds, { method: "early", seed: 7, epochs: 2, encoderDim: 8, methodConfig: { projectDim: 8, hidden: [8] } });
    const test = ds.splits.test;
    const clean = predict(model, test).logits;
    assert.deepEqual(predict(model, test, { noise: { modality: "facts", sigma: 0 } }).logits, clean);
    const a = predict(model, test, { noise: { modality: "facts", sigma: 1, seed: 3 } }).logits;
    const b = predict(model, test, { noise: { modality: "facts", sigma: 1, seed: 3 } }).logits;
    assert.deepEqual(a, b);
    assert.notDeepEqual(a, clean);
    assert.throws(() => predict(model, test, { noise: { modality: "caption", sigma: 1 } }), /token ids/);
    assert.throws(() => predict(model, test, { presentOverride: { nope: 0 } }), /unknown modality "nope"/);
  });

  test("regression: predictions come back in label units and fit a linear target", async () => {
    const ds = makeDataset({
      task: "regression",
      labelNames: [],
      modalities: [{ name: "x", type: "vector", shape: [4] }],
      sizes: { train: 512, val: 128, test: 128 },
      seed: 8,
      row: (rng) => {
        const x = Array.from({ length: 4 }, () => rng.normal());
        return { inputs: { x }, label: 1000 + 300 * (x[0]! - 0.5 * x[1]!) };
      },
    });
    const model = await trainModel(ds, { method: "early", seed: 8, epochs: 20, lr: 5e-3, encoderDim: 16, methodConfig: { projectDim: 16, hidden: [16] } });
    const { probs } = predict(model, ds.splits.test);
    const m = taskMetrics("regression", probs, ds.splits.test.labels, 1);
    // label std is 300 * sqrt(1.25) ~ 335; a good fit is within a tenth of it
    assert.ok(m.mae! < 35 && m.pearson! > 0.99, `mae ${m.mae}, r ${m.pearson}`);
  });

  test("multilabel: learns two independent labels", async () => {
    const ds = makeDataset({
      task: "multilabel",
      labelNames: ["first", "second"],
      modalities: [{ name: "a", type: "vector", shape: [3] }, { name: "b", type: "vector", shape: [3] }],
      sizes: { train: 512, val: 128, test: 256 },
      seed: 9,
      row: (rng) => {
        const a = Array.from({ length: 3 }, () => rng.normal());
        const b = Array.from({ length: 3 }, () => rng.normal());
        return { inputs: { a, b }, label: [a[0]! > 0 ? 1 : 0, b[1]! > 0 ? 1 : 0] };
      },
    });
    const model = await trainModel(ds, { method: "early", seed: 9, epochs: 15, lr: 5e-3, encoderDim: 16, methodConfig: { projectDim: 16, hidden: [16] } });
    const { probs } = predict(model, ds.splits.test);
    const m = taskMetrics("multilabel", probs, ds.splits.test.labels, 2);
    assert.ok(m.microF1! >= 0.9, `micro-F1 ${m.microF1}`);
  });
});
