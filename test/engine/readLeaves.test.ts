/**
 * Leaves the loss does not read (src/engine/readLeaves.ts): found by tracing,
 * left exactly as they were by both train steps (jax-js and ONNX Runtime)
 * while the read leaves train as before, and not counted as the model's
 * parameters.
 */
import assert from "node:assert/strict";
import { before, describe, it } from "node:test";
import { startEngine } from "../../src/engine/backend.ts";
import { countParams, flattenParams, type Params } from "../../src/engine/params.ts";
import { HostRng } from "../../src/engine/random.ts";
import { leavesReadByLoss, readParamCount } from "../../src/engine/readLeaves.ts";
import { TrainStep, type HostBatch, type TrainStepOptions } from "../../src/engine/step.ts";
import { stopGradient, type Tensor } from "../../src/engine/tensor.ts";
import { OrtTrainStep } from "../../src/export/ortTrainStep.ts";
import { buildModel, type ModelBatch, type ModelParams } from "../../src/model/model.ts";
import { buildSpec } from "../../src/model/spec.ts";
import { paddedBatch } from "../../src/train/batching.ts";
import { trainModel } from "../../src/train/trainer.ts";
import { imageSpec, textSpec, tinyDataset } from "../../bench/fixtures/tinyDatasets.ts";

before(async () => {
  await startEngine();
});

const tree = {
  used: { w: { data: Float32Array.from([0.5, -1, 2, 0.25, 1.5, -0.75]), shape: [3, 2] }, b: { data: Float32Array.from([0.1, -0.2]), shape: [2] } },
  unused: { w: { data: Float32Array.from([1, 2, 3, 4]), shape: [2, 2] } },
  frozen: { w: { data: Float32Array.from([0.3, -0.6]), shape: [1, 2] } },
};
// `unused` is never read; `frozen` is read under stop_gradient (read, zero gradient)
const loss = (p: Params<typeof tree>, batch: { x: Tensor; y: Tensor }) => {
  const out = batch.x.matmul(p.used.w).add(p.used.b).add(stopGradient(p.frozen.w));
  return { loss: out.sub(batch.y).square().mean() };
};
const batch: HostBatch = {
  x: { data: Float32Array.from([1, 2, 3, -1, 0.5, 2, 0, 1, -2, 3, 1, 1]), shape: [4, 3] },
  y: { data: Float32Array.from([1, 0, 0, 1, 1, 1, -1, 2]), shape: [4, 2] },
};

describe("leaves the loss reads", () => {
  it("are found by tracing: a leaf under stop_gradient is read, one never touched is not", () => {
    const { layout } = flattenParams(tree);
    const read = leavesReadByLoss(layout, loss, batch);
    assert.deepEqual(
      layout.entries.map((e, i) => [e.name, read[i]]),
      [["used.w", true], ["used.b", true], ["unused.w", false], ["frozen.w", true]],
    );
    assert.equal(readParamCount(layout, read), 6 + 2 + 2);
  });

  it("an unread leaf stays exactly as it was under AdamW decay, on both backends, while the read leaves train alike", async () => {
    const { layout, flat } = flattenParams(tree);
    const options: TrainStepOptions = { optimizer: { kind: "adamw", weightDecay: 0.5 }, clipNorm: 1 };
    const jax = new TrainStep(layout, flat, loss, options);
    const ort = await OrtTrainStep.create(layout, flat, loss, options, batch);
    try {
      for (let s = 0; s < 5; s++) {
        jax.step(batch, 0.1, s);
        await ort.step(batch, 0.1, s);
      }
      const [a, b] = [jax.currentParams(), ort.currentParams()];
      const unused = layout.entries.find((e) => e.name === "unused.w")!;
      const frozen = layout.entries.find((e) => e.name === "frozen.w")!;
      for (const p of [a, b]) {
        assert.deepEqual([...p.subarray(unused.offset, unused.offset + unused.size)], [1, 2, 3, 4]);
        // read (under stop_gradient), so weight decay still shrinks it: (1 - lr * wd)^5
        assert.ok(Math.abs(p[frozen.offset]! - 0.3 * 0.95 ** 5) < 1e-6, `frozen.w ${p[frozen.offset]}`);
        assert.notEqual(p[0], flat[0]);
      }
      for (let i = 0; i < flat.length; i++) assert.ok(Math.abs(a[i]! - b[i]!) < 1e-5, `parameter ${i}: jax-js ${a[i]} vs ONNX Runtime ${b[i]}`);
    } finally {
      jax.dispose();
      await ort.dispose();
    }
  });

  it("a unimodal model reads only its own encoder; pooled-only fusion does not read the text tokens, token-only fusion not the pooled paths", () => {
    const dataset = tinyDataset([imageSpec, textSpec]);
    const leavesOf = (method: string) => {
      const model = buildModel(buildSpec(dataset, { method, encoderDim: 8 }));
      const { layout } = flattenParams(model.init(new HostRng(0)));
      const example = paddedBatch(dataset.splits.train, model.spec.modalities, model.spec.task, model.spec.outDim, [0], 8);
      const read = leavesReadByLoss(layout, (p: Params<ModelParams>, b: ModelBatch, rng) => model.loss(p, b, rng), example);
      return { all: layout.entries.map((e) => e.name), unread: layout.entries.filter((_, i) => !read[i]).map((e) => e.name) };
    };
    const unreadOf = (method: string) => leavesOf(method).unread;
    const img = leavesOf("unimodal:img");
    assert.deepEqual(img.unread, img.all.filter((n) => n.startsWith("encoders.txt.")));
    // the text baseline reads its bag of words: the image encoder and the token path are unread
    const txt = leavesOf("unimodal:txt");
    assert.deepEqual(txt.unread, [...txt.all.filter((n) => n.startsWith("encoders.img.")), "encoders.txt.embedding.table", "encoders.txt.positions"]);
    // gmu reads pooled vectors only: the bag is read, the token embeddings and positions are not
    assert.deepEqual(unreadOf("gmu").sort(), ["encoders.txt.embedding.table", "encoders.txt.positions"]);
    // cross-attention reads the tokens alone: the pooled paths (image projection, text bag) are unread
    assert.deepEqual(unreadOf("cross_attention"), ["encoders.img.projection.w", "encoders.img.projection.b", "encoders.txt.bag.table"]);
    // late fusion reads pooled vectors and the per-modality heads: the text tokens are unread, nothing else
    assert.deepEqual(unreadOf("late_mean"), ["encoders.txt.embedding.table", "encoders.txt.positions"]);
  });

  it("the trainer counts only the leaves its loss reads", async () => {
    const dataset = tinyDataset([imageSpec, textSpec]);
    const trained = await trainModel(dataset, { method: "unimodal:img", epochs: 1, batchSize: 8, encoderDim: 8, seed: 0, patience: 1 });
    const params = trained.params as ModelParams;
    const expected = countParams(params.encoders.img!) + countParams(params.fusion) + (params.head ? countParams(params.head) : 0);
    assert.equal(trained.paramCount, expected);
    assert.ok(trained.paramCount < countParams(params));
    // and those leaves kept their starting values through training
    const init = buildModel(trained.spec).init(new HostRng(0));
    assert.deepEqual(params.encoders.txt, init.encoders.txt);
  });
});
