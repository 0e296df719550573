/**
 * Progressive fusion (Shankar et al. 2022) inside a whole model: its backward
 * connections rerun the model's own encoders with G_m(z) added at their input
 * stage, so it is tested through buildModel with vector encoders against a
 * float64 evaluation of encoders + rounds + head, and on a task built so that
 * the backward connection is needed.
 */
import { before, describe, test } from "node:test";
import assert from "node:assert/strict";
import type { ModalitySpec } from "../../src/data/types.ts";
import { startEngine } from "../../src/engine/backend.ts";
import { countParams, type ParamTree } from "../../src/engine/params.ts";
import { HostRng } from "../../src/engine/random.ts";
import { constant, scoped, type HostArray, type Tensor } from "../../src/engine/tensor.ts";
import { taskMetrics } from "../../src/eval/metrics.ts";
import { FusionkitError } from "../../src/errors.ts";
import { progressiveFusion, type ProgressiveConfig } from "../../src/fusion/progressiveFusion.ts";
import { buildModel, type ModelBatch, type ModelSpec } from "../../src/model/model.ts";
import { predict } from "../../src/train/predict.ts";
import { trainModel } from "../../src/train/trainer.ts";
import { checkGradient, randomArray } from "../engine/gradcheck.ts";
import { tensors } from "../model/helpers.ts";
import { makeDataset } from "../../bench/fixtures/synthetic.ts";
import { maxAbsDiff } from "./methodHarness.ts";

before(startEngine);

const B = 3;
const encoderDim = 4;
const specs: ModalitySpec[] = [
  { name: "a", type: "vector", shape: [5] },
  { name: "b", type: "vector", shape: [3] },
  { name: "c", type: "vector", shape: [2] },
];
// row 1 lacks b, row 2 lacks b and c
const presence: Record<string, number[]> = { a: [1, 1, 1], b: [1, 0, 0], c: [1, 1, 0] };

function modelSpec(modalities: ModalitySpec[], config: Partial<ProgressiveConfig>): ModelSpec {
  return {
    modalities,
    task: "classification",
    outDim: 2,
    method: progressiveFusion,
    methodConfig: { ...progressiveFusion.defaults, dim: 6, ...config },
    encoderDim,
    dropout: 0,
  };
}

type HostInputs = Record<string, Float32Array>;
function hostInputs(modalities: ModalitySpec[], seed: number): HostInputs {
  return Object.fromEntries(modalities.map((s, m) => [s.name, randomArray(B * s.shape[0]!, seed + m)]));
}

function batchOf(modalities: ModalitySpec[], inputs: HostInputs, x?: { name: string; tensor: Tensor }): ModelBatch {
  return {
    inputs: Object.fromEntries(modalities.map((s) => [s.name, x?.name === s.name ? x.tensor : constant(inputs[s.name]!, [B, s.shape[0]!])])),
    tokenMasks: {},
    present: Object.fromEntries(modalities.map((s) => [s.name, constant(Float32Array.from(presence[s.name]!), [B])])),
    labels: constant(new Float32Array(B), [B]),
    rowWeight: constant(new Float32Array(B).fill(1), [B]),
  };
}

function engineLogits(modalities: ModalitySpec[], params: ParamTree, config: Partial<ProgressiveConfig>, inputs: HostInputs): HostArray {
  const model = buildModel(modelSpec(modalities, config));
  return scoped(() => model.apply(tensors(params), batchOf(modalities, inputs), { train: false }).logits) as HostArray;
}

// ---- float64 reference, written from the equations in the file header ----------------------------

type Matrix = number[][];
type HostLinear = { w: HostArray; b?: HostArray };
function hostLinear(p: HostLinear, x: Matrix): Matrix {
  const [inDim, outDim] = p.w.shape as [number, number];
  return x.map((row) => {
    assert.equal(row.length, inDim);
    return Array.from({ length: outDim }, (_, j) => row.reduce((s, v, i) => s + v * p.w.data[i * outDim + j]!, p.b ? p.b.data[j]! : 0));
  });
}
const add = (x: Matrix, y: Matrix): Matrix => x.map((row, r) => row.map((v, j) => v + y[r]![j]!));
const relu = (x: Matrix): Matrix => x.map((row) => row.map((v) => Math.max(0, v)));
const rowsOf = (data: Float32Array, width: number): Matrix => Array.from({ length: B }, (_, r) => Array.from(data.slice(r * width, (r + 1) * width)));

function referenceLogits(modalities: ModalitySpec[], params: any, cfg: ProgressiveConfig, inputs: HostInputs): Matrix {
  // vector encoder with input-stage feedback g: h = ReLU(x W + b + g) * present
  const encode = (m: number, g: Matrix | undefined): Matrix => {
    const s = modalities[m]!;
    const stage = hostLinear(params.encoders[s.name].projection, rowsOf(inputs[s.name]!, s.shape[0]!));
    return relu(g ? add(stage, g) : stage).map((row, r) => row.map((v) => v * presence[s.name]![r]!));
  };
  const fuse = (h: Matrix[]): Matrix => relu(hostLinear(params.fusion.fusion, h[0]!.map((_, r) => h.flatMap((x) => x[r]!))));
  let z: Matrix = Array.from({ length: B }, () => new Array(cfg.dim).fill(0));
  for (let t = 1; t <= cfg.rounds; t++) {
    // z^0 = 0 and G_m is bias-free: G_m(z^0) = 0
    z = fuse(modalities.map((_, m) => encode(m, hostLinear(params.fusion.feedback[m], z))));
  }
  return hostLinear(params.head, z);
}

describe("progressive fusion: backward connections into the encoders", () => {
  for (const rounds of [1, 2, 3]) {
    test(`R = ${rounds}: the model's logits match a float64 evaluation of encoders + rounds + head (M = 3, missing rows)`, () => {
      const cfg = { ...progressiveFusion.defaults, dim: 6, rounds };
      const params = buildModel(modelSpec(specs, cfg)).init(new HostRng(rounds));
      const inputs = hostInputs(specs, 10 * rounds);
      const engine = engineLogits(specs, params, cfg, inputs);
      const reference = referenceLogits(specs, params, cfg, inputs);
      const worst = maxAbsDiff(engine.data, Float32Array.from(reference.flat()));
      assert.ok(worst < 1e-4, `R = ${rounds}: engine and float64 reference differ by ${worst}`);
    });
  }

  test("the feedback reaches the encoders: R = 2 differs from R = 1, and equals it once every G_m is zero", () => {
    const params = buildModel(modelSpec(specs, {})).init(new HostRng(4)) as any;
    const inputs = hostInputs(specs, 40);
    const one = engineLogits(specs, params, { rounds: 1 }, inputs).data;
    assert.ok(maxAbsDiff(one, engineLogits(specs, params, { rounds: 2 }, inputs).data) > 1e-3);
    for (const g of params.fusion.feedback) g.w.data.fill(0);
    assert.ok(maxAbsDiff(one, engineLogits(specs, params, { rounds: 2 }, inputs).data) < 1e-6);
  });

  test("the same G_m and F serve every round: the parameter count does not depend on R", () => {
    const counts = [1, 2, 5].map((rounds) => countParams(buildModel(modelSpec(specs, { rounds })).init(new HostRng(2))));
    // encoders 24 + 16 + 12; G 3 x 6*4 = 72; F 12*6 + 6 = 78; head 6*2 + 2 = 14
    assert.deepEqual(counts, [216, 216, 216]);
  });

  test("a missing modality's input changes nothing, with feedback on; a present one's does", () => {
    const params = buildModel(modelSpec(specs, { rounds: 3 })).init(new HostRng(5));
    const inputs = hostInputs(specs, 50);
    const base = engineLogits(specs, params, { rounds: 3 }, inputs).data;
    const staleB = { ...inputs, b: inputs.b!.map((v, i) => (i >= 3 ? 30 : v)) }; // rows 1-2 of b are missing
    assert.ok(maxAbsDiff(base, engineLogits(specs, params, { rounds: 3 }, staleB).data) < 1e-6);
    const changedA = { ...inputs, a: inputs.a!.map((v, i) => (i === 0 ? v + 2 : v)) };
    assert.ok(maxAbsDiff(base, engineLogits(specs, params, { rounds: 3 }, changedA).data) > 1e-4);
  });

  test("finite differences of the logits w.r.t. a modality's input, through every round", () => {
    const model = buildModel(modelSpec(specs, { rounds: 2 }));
    const params = model.init(new HostRng(6));
    const inputs = hostInputs(specs, 60);
    const readout = randomArray(2, 7);
    const logits = (x: Tensor) => model.apply(tensors(params), batchOf(specs, inputs, { name: "c", tensor: x }), { train: false }).logits;
    checkGradient((x) => logits(x).mul(constant(readout, [2])).tanh(), inputs.c!.slice(), [B, 2]);
  });

  test("run on bare features (no encoders to rerun), rounds > 1 is refused with a clear error", () => {
    assert.throws(
      () => {
        const params = progressiveFusion.init(new HostRng(0), [{ name: "a", type: "vector", dim: 4, tokens: 1 }], 2, { dim: 4, rounds: 2 });
        return scoped(() => progressiveFusion.apply(tensors(params), [], { train: false, outDim: 2 }, { dim: 4, rounds: 2 }));
      },
      (e: Error) => e instanceof FusionkitError && /reruns the encoders/.test(e.message),
    );
  });
});

/**
 * A task built so that the backward connection is needed. Modality b carries a
 * context bit (b0 = +-1); the label is sign(a1) in context +1 and sign(a0) in
 * context -1. With a fused width of one unit, the model without feedback
 * predicts from ReLU(phi(a) + psi(b)), a threshold on a sum of per-modality
 * terms: it cannot switch which coordinate of a decides. With feedback, round 1
 * reads the context, and G_a(z^1) shifts a's encoder units on or off so that
 * round 2 sees the coordinate the context selects.
 */
function contextDataset() {
  return makeDataset({
    labelNames: ["0", "1"],
    modalities: [
      { name: "a", type: "vector", shape: [4] },
      { name: "b", type: "vector", shape: [4] },
    ],
    sizes: { train: 1024, val: 256, test: 512 },
    seed: 1,
    row: (rng) => {
      const a = [0, 0, 0, 0].map(() => rng.normal());
      const context = rng.uniform() < 0.5 ? 1 : -1;
      const b = [context + 0.1 * rng.normal(), rng.normal(), rng.normal(), rng.normal()];
      return { inputs: { a, b }, label: (context > 0 ? a[1]! : a[0]!) > 0 ? 1 : 0 };
    },
  });
}

describe("progressive fusion: a task that needs the backward connection", () => {
  test("with backward connections (R = 2) it scores >= 0.92; without (R = 1, the same parameters) at least 0.05 lower", async () => {
    const ds = contextDataset();
    const accuracy = async (rounds: number) => {
      const trained = await trainModel(ds, {
        method: progressiveFusion,
        methodConfig: { dim: 1, rounds },
        encoderDim: 8,
        epochs: 30,
        lr: 1e-2,
        patience: 100,
        dropout: 0,
        seed: 1,
      });
      return { acc: taskMetrics("classification", predict(trained, ds.splits.test).probs, ds.splits.test.labels, 2).accuracy!, params: countParams(trained.params), trained: trained.paramCount };
    };
    const withFeedback = await accuracy(2);
    const without = await accuracy(1);
    assert.equal(withFeedback.params, without.params);
    // one round never reads the feedback weights: the trainer does not count them (src/engine/readLeaves.ts)
    assert.equal(withFeedback.trained, withFeedback.params);
    assert.ok(without.trained < without.params, `R = 1 counts ${without.trained} of ${without.params}`);
    assert.ok(withFeedback.acc >= 0.92, `with backward connections: test accuracy ${withFeedback.acc}`);
    assert.ok(without.acc <= withFeedback.acc - 0.05, `without ${without.acc} vs with ${withFeedback.acc}`);
  });
});
