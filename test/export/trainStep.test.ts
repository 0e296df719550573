/**
 * Train steps lowered to ONNX and run by ONNX Runtime (src/export/lowerStep.ts,
 * ortTrainStep.ts) against the jax-js reference: every registered method,
 * 10 AdamW steps with clipping and dropout from the same initial state, ends
 * with the same parameters within 1e-4 (relative L2 error per parameter leaf);
 * the random stream is bit-identical; sessions are released; a step that
 * cannot be lowered falls back to jax-js and names the primitive.
 */
import assert from "node:assert/strict";
import v8 from "node:v8";
import vm from "node:vm";
import { before, describe, it } from "node:test";
import { numpy as np, random } from "@jax-js/jax";
import type { PreparedDataset } from "../../src/data/types.ts";
import { startEngine } from "../../src/engine/backend.ts";
import { initMlp, mlp, type MlpParams } from "../../src/engine/layers.ts";
import { softmaxCrossEntropy } from "../../src/engine/losses.ts";
import { flattenParams, type ParamLayout, type Params } from "../../src/engine/params.ts";
import { HostRng, stepKey } from "../../src/engine/random.ts";
import { TrainStep, type HostBatch, type LossFn, type TrainStepOptions } from "../../src/engine/step.ts";
import { adopt, takeRows, type Tensor } from "../../src/engine/tensor.ts";
import { lowerFixedShape, UnsupportedPrimitive } from "../../src/export/lower.ts";
import { lowerTrainStep } from "../../src/export/lowerStep.ts";
import { decodeModel, trainOpsetVersion } from "../../src/export/onnxGraph.ts";
import { liveTrainSessions, OrtTrainStep, type OrtTrainStepOptions } from "../../src/export/ortTrainStep.ts";
import { openTrainStep } from "../../src/export/trainBackend.ts";
import { listMethods } from "../../src/fusion/registry.ts";
import type { FusionMethod } from "../../src/fusion/types.ts";
import { unimodalMethod } from "../../src/fusion/unimodal.ts";
import { buildModel, type ModelBatch, type ModelParams } from "../../src/model/model.ts";
import { paddedBatch } from "../../src/train/batching.ts";
import { buildSpec } from "../../src/model/spec.ts";
import type { ImageEncoderKind } from "../../src/encoders/index.ts";
import { stepSeed } from "../../src/engine/random.ts";
import * as ort from "onnxruntime-node";
import { imageSpec, sequenceSpec, tabularSpec, textSpec, tinyDataset, vectorSpec } from "../../bench/fixtures/tinyDatasets.ts";

v8.setFlagsFromString("--expose-gc");
const collectGarbage = vm.runInNewContext("gc") as () => void;

before(async () => {
  await startEngine();
});

const stepOptions: TrainStepOptions = { optimizer: { kind: "adamw", weightDecay: 0.01 }, clipNorm: 1 };

/** ||a - b|| / ||a|| over one parameter leaf (an all-zero leaf must stay exactly equal). */
function worstLeafError(layout: ParamLayout, a: Float32Array, b: Float32Array): { error: number; leaf: string } {
  let worst = { error: 0, leaf: "" };
  for (const e of layout.entries) {
    let diff = 0;
    let norm = 0;
    for (let i = e.offset; i < e.offset + e.size; i++) {
      diff += (a[i]! - b[i]!) ** 2;
      norm += a[i]! ** 2;
    }
    const error = norm > 0 ? Math.sqrt(diff / norm) : Math.sqrt(diff) > 0 ? Infinity : 0;
    if (!(error <= worst.error)) worst = { error, leaf: e.name };
  }
  return worst;
}

/** 10 steps on both backends (a full batch and a padded short one, alternating); returns the worst leaf error. */
async function runBoth(dataset: PreparedDataset, method: FusionMethod, steps = 10, options: TrainStepOptions = stepOptions, runOptions: OrtTrainStepOptions = {}, imageEncoder?: ImageEncoderKind) {
  const spec = buildSpec(dataset, { method, encoderDim: 8, ...(imageEncoder ? { imageEncoder } : {}) });
  const model = buildModel(spec);
  const { layout, flat } = flattenParams(model.init(new HostRng(1)));
  const lossFn: LossFn = (p, b, rng) => model.loss(p as Params<ModelParams>, b as ModelBatch, rng);
  const train = dataset.splits.train;
  const batches = [8, 5].map((n, k) =>
    paddedBatch(train, spec.modalities, spec.task, spec.outDim, Array.from({ length: n }, (_, i) => (i + 8 * k) % train.n), 8),
  );
  const onOrt = await OrtTrainStep.create(layout, flat, lossFn, options, batches[0]!, runOptions);
  const onJax = new TrainStep(layout, flat, lossFn, options);
  try {
    let lossGap = 0;
    for (let s = 0; s < steps; s++) {
      const lr = 1e-3 * Math.min(1, (s + 1) / 3);
      const a = onJax.step(batches[s % 2]!, lr, stepSeed(3, s));
      const b = await onOrt.step(batches[s % 2]!, lr, stepSeed(3, s));
      assert.deepEqual(onOrt.metricNames, Object.keys(a));
      lossGap = Math.max(lossGap, Math.abs(a.loss! - b.loss!) / Math.max(1, Math.abs(a.loss!)));
    }
    return { ...worstLeafError(layout, onJax.currentParams(), onOrt.currentParams()), lossGap, moved: worstLeafError(layout, flat, onJax.currentParams()) };
  } finally {
    onJax.dispose();
    await onOrt.dispose();
  }
}

describe("ONNX Runtime train steps match jax-js", () => {
  const dataset = tinyDataset([vectorSpec, textSpec, tabularSpec]);
  for (const method of [...listMethods(), unimodalMethod("txt") as unknown as FusionMethod]) {
    // CLIP's normalised InfoNCE gradient, through Adam, amplifies float32 rounding more than any other
    // method's: its worst leaf was 7e-5 before the text encoder's bag-of-words path and 1.1e-4 after, with
    // the losses equal within 1e-6; every other method stays near 1e-6
    const tolerance = method.name === "clip" ? 3e-4 : 1e-4;
    it(`${method.name}: 10 steps within ${tolerance}`, async () => {
      const r = await runBoth(dataset, method);
      assert.ok(r.moved.error > 1e-3, `training moved the parameters (${r.moved.error})`);
      assert.ok(r.error <= tolerance, `${method.name}: parameter leaf ${r.leaf} differs by ${r.error} (relative L2)`);
      assert.ok(r.lossGap <= 1e-4, `${method.name}: losses differ by ${r.lossGap}`);
    });
  }

  it("image and sequence encoders (convolutions, masked pooling), an embedding gradient (scatter-add), a batch without token masks", async () => {
    const mixed = tinyDataset([imageSpec, sequenceSpec, textSpec], 5);
    for (const name of ["early", "gmu"]) {
      const r = await runBoth(mixed, listMethods().find((m) => m.name === name)!);
      assert.ok(r.error <= 1e-4, `${name}: parameter leaf ${r.leaf} differs by ${r.error}`);
    }
    // no modality with token masks: the batch's tokenMasks record is empty and must still reach the model
    const r = await runBoth(tinyDataset([vectorSpec, tabularSpec], 6), listMethods().find((m) => m.name === "early")!);
    assert.ok(r.error <= 1e-4, `vector + tabular: parameter leaf ${r.leaf} differs by ${r.error}`);
  });

  it("the CNN image encoder (im2col convolutions, 2x2 max pooling with an odd side padded) and the patch encoder", async () => {
    const odd = tinyDataset([{ name: "img", type: "image", shape: [14, 10, 2] }, vectorSpec], 7);
    const early = listMethods().find((m) => m.name === "early")!;
    const cnn = await runBoth(odd, early);
    assert.ok(cnn.moved.error > 1e-3, `training moved the parameters (${cnn.moved.error})`);
    assert.ok(cnn.error <= 1e-4, `cnn: parameter leaf ${cnn.leaf} differs by ${cnn.error}`);
    const patches = await runBoth(odd, early, 10, stepOptions, {}, "patches");
    assert.ok(patches.error <= 1e-4, `patches: parameter leaf ${patches.leaf} differs by ${patches.error}`);
  });

  it("state in groups: leaves with state tensors of their own beside a flat group (AdamW decay mask), and SGD with momentum and decay", async () => {
    // the tiny models' leaves are all below ownStateFrom: a threshold of 20 puts the matrices apart
    const gmu = listMethods().find((m) => m.name === "gmu")!;
    const grouped = await runBoth(dataset, gmu, 10, stepOptions, { ownStateFrom: 20 });
    assert.ok(grouped.error <= 1e-4, `grouped state: parameter leaf ${grouped.leaf} differs by ${grouped.error}`);
    const sgd: TrainStepOptions = { optimizer: { kind: "sgd", momentum: 0.9, nesterov: true, weightDecay: 0.01 }, clipNorm: 1 };
    const r = await runBoth(dataset, gmu, 10, sgd);
    assert.ok(r.moved.error > 1e-4, `SGD moved the parameters (${r.moved.error})`);
    assert.ok(r.error <= 1e-4, `SGD: parameter leaf ${r.leaf} differs by ${r.error}`);
  });
});

describe("lowering of the random stream and the backward pass's primitives", () => {
  /** Runs `fn` lowered at fixed shapes in ONNX Runtime. */
  async function runLowered(inputs: { name: string; dtype: "float32" | "uint32"; shape: number[]; data: Float32Array | Uint32Array }[], fn: (xs: Tensor[]) => Tensor[]) {
    const bytes = lowerFixedShape({
      graphName: "probe",
      inputs: inputs.map(({ name, dtype, shape }) => ({ name, dtype, shape })),
      outputs: ["out"],
      fn,
      opset: trainOpsetVersion,
      purpose: "test",
    });
    const session = await ort.InferenceSession.create(bytes, { logSeverityLevel: 3 });
    try {
      const feeds = Object.fromEntries(inputs.map((i) => [i.name, new ort.Tensor(i.dtype, i.data, i.shape)]));
      return (await session.run(feeds)).out!;
    } finally {
      await session.release();
    }
  }

  it("random bits, uniforms and split keys are bit-identical to jax-js", async () => {
    for (const seed of [0, 7, 0xfffffffe]) {
      const expected = [
        random.bits(stepKey(seed), [3, 5]).dataSync(),
        random.uniform(stepKey(seed), [4, 6]).dataSync(),
        random.split(stepKey(seed), 3).dataSync(),
      ];
      const lowered = [
        await runLowered([{ name: "key", dtype: "uint32", shape: [2], data: new Uint32Array([0, seed]) }], ([k]) => [adopt(random.bits(k!.borrow, [3, 5]))]),
        await runLowered([{ name: "key", dtype: "uint32", shape: [2], data: new Uint32Array([0, seed]) }], ([k]) => [adopt(random.uniform(k!.borrow, [4, 6]))]),
        await runLowered([{ name: "key", dtype: "uint32", shape: [2], data: new Uint32Array([0, seed]) }], ([k]) => [adopt(random.split(k!.borrow, 3))]),
      ];
      expected.forEach((e, i) => assert.deepEqual(Array.from(lowered[i]!.data as ArrayLike<number>), Array.from(e), `seed ${seed}, probe ${i}`));
    }
  });

  it("bitcast uint32 -> float32 decodes normals, subnormals, zeros, infinities and NaN exactly", async () => {
    const floats = new Float32Array([1, -1, 0.1, -0, 0, 3.4e38, 1e-40, -1e-45, Infinity, -Infinity, NaN, 1.17549435e-38]);
    const bits = new Uint32Array(floats.buffer.slice(0));
    const out = await runLowered([{ name: "x", dtype: "uint32", shape: [bits.length], data: bits }], ([x]) => [adopt(x!.borrow.view(np.float32))]);
    const got = new Uint32Array(new Float32Array(out.data as Float32Array).buffer);
    // every value round-trips to the same bits (NaN: any NaN)
    floats.forEach((f, i) => (Number.isNaN(f) ? assert.ok(Number.isNaN((out.data as Float32Array)[i]!)) : assert.equal(got[i], bits[i], `value ${f}`)));
  });

  it("the gradient of a row lookup with repeated rows sums them (scatter-add)", async () => {
    const table = Float32Array.from({ length: 5 * 3 }, (_, i) => i / 10);
    const { layout } = flattenParams({ table: { data: table, shape: [5, 3] } });
    const step = await OrtTrainStep.create(
      layout,
      table,
      (p, b) => ({ loss: takeRows((p as Record<string, Tensor>).table!, b.idx as Tensor).sum() }),
      { optimizer: { kind: "sgd", momentum: 0 } },
      { idx: { data: new Float32Array(4), shape: [4] } },
    );
    try {
      await step.step({ idx: { data: new Float32Array([1, 3, 1, 1]), shape: [4] } }, 1, 0);
      // SGD at lr 1: each row moves by how often it was looked up
      const counts = [0, 3, 0, 1, 0];
      const got = step.currentParams();
      table.forEach((v, i) => assert.ok(Math.abs(got[i]! - (v - counts[Math.floor(i / 3)]!)) < 1e-6, `entry ${i}: ${got[i]}`));
    } finally {
      await step.dispose();
    }
  });
});

describe("what the train-step graph is made of (each node is a pass or a fixed cost per step)", () => {
  it("the MLP step: big leaves with their own state, no Identity copies, Sub/Div/ReduceSumSquare, no Transpose of a product", () => {
    const tree = { mlp: initMlp(new HostRng(2), [64, 256, 256, 4]) };
    const { layout } = flattenParams(tree);
    const batch: HostBatch = { x: { data: new Float32Array(16 * 64), shape: [16, 64] }, y: { data: new Float32Array(16), shape: [16] } };
    const lowered = lowerTrainStep(layout, (p, b) => ({ loss: softmaxCrossEntropy(mlp((p as { mlp: Params<MlpParams> }).mlp, b.x as Tensor), b.y as Tensor) }), stepOptions, batch);
    // the 256x256 weight (65,536 elements) is its own group; the rest share the flat group
    assert.deepEqual(lowered.stateInputs.slice(0, lowered.groups.length), ["param/mlp.1.w", "param/*"]);
    const nodes = decodeModel(lowered.bytes).graph.node as { opType: string; input: string[]; output: string[] }[];
    const producer = new Map(nodes.flatMap((n) => n.output.map((o) => [o, n.opType] as const)));
    const count = (op: string) => nodes.filter((n) => n.opType === op).length;
    assert.equal(count("Identity"), 0, "graph outputs are written by the nodes that compute them");
    assert.equal(nodes.filter((n) => n.opType === "Add" && n.input.some((i) => producer.get(i) === "Neg")).length, 0, "x - y is one Sub");
    assert.equal(nodes.filter((n) => n.opType === "Mul" && n.input.some((i) => producer.get(i) === "Reciprocal")).length, 0, "x / y is one Div");
    assert.equal(count("ReduceSumSquare"), lowered.groups.length, "the clipping norm: one ReduceSumSquare per state group");
    assert.equal(nodes.filter((n) => n.opType === "Transpose" && producer.get(n.input[0]!) === "MatMul").length, 0, "dW is computed in its layout");
    // Adam's bias corrections come from the host: no Exp/Pow chain on t
    assert.deepEqual(lowered.hyperInputs, ["alpha", "epsHat", "keep"]);
  });
});

describe("random draws fed from the host (src/engine/drawFeed.ts)", () => {
  // a loss that splits its key, then draws a dropout mask and Gaussian noise from the halves
  const tree = { mlp: initMlp(new HostRng(4), [16, 32, 4]) };
  const { layout, flat } = flattenParams(tree);
  const batch: HostBatch = { x: { data: Float32Array.from({ length: 8 * 16 }, (_, i) => Math.sin(i)), shape: [8, 16] }, y: { data: Float32Array.from({ length: 8 }, (_, i) => i % 4), shape: [8] } };
  const lossFn: LossFn = (p, b, rng) => {
    const [maskKey, noiseKey] = rng.split(2) as [typeof rng, typeof rng];
    const x = (b.x as Tensor).mul(maskKey.bernoulli(0.7, [8, 16])).add(noiseKey.normal([8, 16]).mul(0.1));
    return { loss: softmaxCrossEntropy(mlp((p as { mlp: Params<MlpParams> }).mlp, x), b.y as Tensor) };
  };
  it("the graph has no threefry nodes and takes the draws as inputs; in-graph draws give the same steps", async () => {
    const fed = lowerTrainStep(layout, lossFn, stepOptions, batch);
    const inGraph = lowerTrainStep(layout, lossFn, stepOptions, batch, undefined, true);
    const ops = (bytes: Uint8Array) => (decodeModel(bytes).graph.node as { opType: string }[]).map((n) => n.opType);
    assert.deepEqual(fed.drawOps.map((d) => d.kind), ["split", "uniform", "normal"]);
    assert.deepEqual(fed.drawInputs, ["draw/0", "draw/1"]);
    assert.equal(ops(fed.bytes).filter((op) => op.startsWith("Bit")).length, 0, "no threefry rounds in the fed graph");
    assert.ok(ops(inGraph.bytes).filter((op) => op === "BitShift").length >= 3 * 40, "three threefry calls (split, uniform, normal) lowered in the graph");
    const a = await OrtTrainStep.create(layout, flat, lossFn, stepOptions, batch);
    const b = await OrtTrainStep.create(layout, flat, lossFn, stepOptions, batch, { drawsInGraph: true });
    try {
      // uniform bits are identical; a normal differs by an ulp or so (jax-js's wasm log/erf against ONNX Runtime's)
      for (let s = 0; s < 5; s++) {
        const [ma, mb] = [await a.step(batch, 1e-2, stepSeed(9, s)), await b.step(batch, 1e-2, stepSeed(9, s))];
        assert.ok(Math.abs(ma.loss! - mb.loss!) <= 1e-6 * Math.abs(mb.loss!), `step ${s}: loss ${ma.loss} fed, ${mb.loss} in the graph`);
      }
      const pa = a.currentParams();
      const pb = b.currentParams();
      assert.ok(worstLeafError(layout, pa, pb).error <= 1e-6, "the same masks and noise on both");
      assert.ok(worstLeafError(layout, flat, pa).error > 1e-3, "the steps moved the parameters");
    } finally {
      await a.dispose();
      await b.dispose();
    }
  });
});

describe("backend choice and session lifetime", () => {
  const tree = { mlp: initMlp(new HostRng(2), [64, 256, 256, 4]) };
  const { layout, flat } = flattenParams(tree);
  const batch: HostBatch = {
    x: { data: Float32Array.from({ length: 128 * 64 }, (_, i) => Math.sin(i)), shape: [128, 64] },
    y: { data: Float32Array.from({ length: 128 }, (_, i) => i % 4), shape: [128] },
  };
  const mlpLoss: LossFn = (p, b) => ({ loss: softmaxCrossEntropy(mlp((p as { mlp: Params<MlpParams> }).mlp, b.x as Tensor), b.y as Tensor) });

  it("a step with a primitive that has no lowering falls back to jax-js with one line naming it; --backend ort refuses it", async () => {
    // sort has no ONNX lowering
    const sorting: LossFn = (p, b) => ({ loss: softmaxCrossEntropy(mlp((p as { mlp: Params<MlpParams> }).mlp, b.x as Tensor), b.y as Tensor).add(adopt(np.sort(mlp((p as { mlp: Params<MlpParams> }).mlp, b.x as Tensor).borrow)).sum().mul(0)) });
    const lines: string[] = [];
    const runner = await openTrainStep({ layout, params: flat, lossFn: sorting, options: stepOptions, exampleBatch: batch, backend: "auto", log: (l) => lines.push(l), what: "probe" });
    assert.equal(runner.backend, "jax");
    assert.equal(lines.length, 1);
    assert.match(lines[0]!, /probe on jax-js.*primitive "(arg)?sort"/);
    await runner.dispose();
    await assert.rejects(
      openTrainStep({ layout, params: flat, lossFn: sorting, options: stepOptions, exampleBatch: batch, backend: "ort" }),
      (e: unknown) => e instanceof UnsupportedPrimitive && /sort/.test(e.primitive),
    );
    const quiet: string[] = [];
    const ortRunner = await openTrainStep({ layout, params: flat, lossFn: mlpLoss, options: stepOptions, exampleBatch: batch, backend: "auto", log: (l) => quiet.push(l) });
    assert.equal(ortRunner.backend, "ort");
    assert.deepEqual(quiet, []);
    await ortRunner.dispose();
    // nothing asked for: ONNX Runtime where the step lowers (src/export/trainBackend.ts header)
    if (!process.env.FUSIONKIT_BACKEND) {
      const plain = await openTrainStep({ layout, params: flat, lossFn: mlpLoss, options: stepOptions, exampleBatch: batch });
      assert.equal(plain.backend, "ort");
      await plain.dispose();
    }
  });

  it("sessions are released: no live session and no memory growth across runs", async () => {
    const run = async () => {
      const step = await OrtTrainStep.create(layout, flat, mlpLoss, stepOptions, batch);
      for (let s = 0; s < 3; s++) await step.step(batch, 1e-3, s);
      await step.dispose();
    };
    await run();
    collectGarbage();
    const before = process.memoryUsage().rss;
    for (let i = 0; i < 4; i++) await run();
    collectGarbage();
    const grown = (process.memoryUsage().rss - before) / 2 ** 20;
    assert.equal(liveTrainSessions(), 0);
    // measured: an unreleased session of this model keeps ~140 MiB (mostly ONNX Runtime's arena), so one leak fails this
    assert.ok(grown < 64, `RSS grew by ${grown.toFixed(1)} MiB over 4 runs`);
  });
});
