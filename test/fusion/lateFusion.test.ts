import { before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { startEngine } from "../../src/engine/backend.ts";
import { linear } from "../../src/engine/layers.ts";
import { softmaxCrossEntropy } from "../../src/engine/losses.ts";
import { flattenParams, layoutOf, unflattenHost, type ParamTree } from "../../src/engine/params.ts";
import { HostRng } from "../../src/engine/random.ts";
import { constant, logSoftmax, oneHot, scoped, type Tensor } from "../../src/engine/tensor.ts";
import { lateMethods, meanCombiner, voteCombiner, weightedCombiner } from "../../src/fusion/lateFusion.ts";
import { fitStacking, stackingFeatures } from "../../src/fusion/stacking.ts";
import type { FusionMethod } from "../../src/fusion/types.ts";
import { randomArray } from "../engine/gradcheck.ts";
import { additiveTask, checkGradientAgainst, encodedFrom, ones, tensors, trainFusion, vectorDims, xorTask } from "./fusionHarness.ts";

before(startEngine);

const method = (name: string): FusionMethod => lateMethods.find((m) => m.name === name)!;
const close = (actual: number, expected: number, tol = 1e-5, what = "") =>
  assert.ok(Math.abs(actual - expected) <= tol, `${what} ${actual} vs expected ${expected}`);

// Per-modality class probabilities for 2 rows, 3 modalities, 3 classes, written out by hand.
const P = [
  // row 0
  [0.7, 0.2, 0.1],
  [0.1, 0.6, 0.3],
  [0.2, 0.5, 0.3],
  // row 1
  [0.5, 0.4, 0.1],
  [0.3, 0.3, 0.4],
  [0.1, 0.1, 0.8],
];
const logP = () => constant(P.flat().map(Math.log), [2, 3, 3]);

describe("late fusion combiners: hand-computed values", () => {
  test("mean averages probabilities over the present modalities only", () => {
    // row 0: all present; row 1: modality 1 missing
    const out = scoped(() => meanCombiner(logP(), constant([1, 1, 1, 1, 0, 1], [2, 3])).exp());
    const expected = [
      [(0.7 + 0.1 + 0.2) / 3, (0.2 + 0.6 + 0.5) / 3, (0.1 + 0.3 + 0.3) / 3],
      [(0.5 + 0.1) / 2, (0.4 + 0.1) / 2, (0.1 + 0.8) / 2],
    ].flat();
    expected.forEach((e, i) => close(out.data[i]!, e, 1e-5, `entry ${i}`));
  });

  test("weighted renormalises softmax(a) over the present modalities", () => {
    // a = log [1, 2, 5]: softmax = [1, 2, 5] / 8; row 1 lacks modality 2 -> [1, 2] / 3
    const a = [0, Math.log(2), Math.log(5)];
    const out = scoped(() => {
      const r = weightedCombiner(logP(), constant([1, 1, 1, 1, 1, 0], [2, 3]), constant(a, [3]));
      return { probs: r.logProbs.exp(), weights: r.weights };
    });
    [1 / 8, 2 / 8, 5 / 8, 1 / 3, 2 / 3, 0].forEach((w, i) => close(out.weights.data[i]!, w, 1e-6, `weight ${i}`));
    const expected = [
      [0.7 / 8 + (2 * 0.1) / 8 + (5 * 0.2) / 8, 0.2 / 8 + (2 * 0.6) / 8 + (5 * 0.5) / 8, 0.1 / 8 + (2 * 0.3) / 8 + (5 * 0.3) / 8],
      [0.5 / 3 + (2 * 0.3) / 3, 0.4 / 3 + (2 * 0.3) / 3, 0.1 / 3 + (2 * 0.4) / 3],
    ].flat();
    expected.forEach((e, i) => close(out.probs.data[i]!, e, 1e-5, `entry ${i}`));
  });

  test("vote: the majority wins even against more summed probability; a tie goes to the larger summed probability", () => {
    // row 0, all present: votes for classes 0, 1, 1 -> class 1, although class 0 has the larger summed probability (1.88 vs 1.01)
    const probs = [
      [0.98, 0.01, 0.01],
      [0.45, 0.5, 0.05],
      [0.45, 0.5, 0.05],
      // row 1, modality 2 missing: votes 0 (p 0.5) and 2 (p 0.4): tie, summed probability 0.5+0.3=0.8 for class 0 vs 0.1+0.4=0.5 for class 2
      [0.5, 0.4, 0.1],
      [0.3, 0.3, 0.4],
      [0.0, 0.0, 1.0],
    ];
    const out = scoped(() => {
      const r = voteCombiner(constant(probs.flat(), [2, 3, 3]), constant([1, 1, 1, 1, 1, 0], [2, 3]));
      return { q: r.logProbs.exp(), votes: r.votes };
    });
    // q_c = (v_c + P_c / (n + 1)) / (n + n / (n + 1))
    const row0 = [(1 + 1.88 / 4) / (3 + 3 / 4), (2 + 1.01 / 4) / (3 + 3 / 4), (0 + 0.11 / 4) / (3 + 3 / 4)];
    const row1 = [(1 + 0.8 / 3) / (2 + 2 / 3), (0 + 0.7 / 3) / (2 + 2 / 3), (1 + 0.5 / 3) / (2 + 2 / 3)];
    [...row0, ...row1].forEach((e, i) => close(out.q.data[i]!, e, 1e-5, `q ${i}`));
    assert.ok(out.q.data[1]! > out.q.data[0]!, "row 0: the two votes for class 1 beat class 0's larger summed probability");
    assert.ok(out.q.data[3]! > out.q.data[5]!, "row 1: the 1-1 tie goes to class 0, the larger summed probability");
    assert.deepEqual(Array.from(out.votes.data.slice(15, 18)), [0, 0, 0], "a missing modality casts no vote");
  });

  test("a row with no modality present gets uniform logits, finite for every combiner", () => {
    for (const m of lateMethods) {
      const p = m.init(new HostRng(1), vectorDims([4, 3]), 3, m.defaults);
      const out = scoped(() => {
        const o = m.apply(tensors(p), encodedFrom([constant(randomArray(8, 1), [2, 4]), constant(randomArray(6, 2), [2, 3])], [constant([1, 0], [2]), constant([0, 0], [2])]), { train: false, outDim: 3 }, m.defaults);
        return "logits" in o ? o.logits : assert.fail("late fusion returns logits");
      });
      assert.ok(out.data.every(Number.isFinite), `${m.name}: ${out.data}`);
      assert.deepEqual(Array.from(out.data.slice(3)), [0, 0, 0], `${m.name}: row with nothing present`);
    }
  });
});

describe("late fusion training: each unimodal model gets exactly its own cross-entropy gradient", () => {
  // Linear unimodal classifiers (hidden 0) so the reference objective is a few lines of plain engine code.
  const dims = vectorDims([4, 3]);
  const C = 3;
  const B = 4;
  const x0 = randomArray(B * 4, 11, 1.5);
  const x1 = randomArray(B * 3, 12, 1.5);
  const present1 = [1, 0, 1, 1];
  const labels = [0, 2, 1, 2];

  for (const name of ["late_mean", "late_weighted", "late_vote", "late_stacking"]) {
    test(`${name}: d(task CE + auxLoss)/d(unimodal weights) = finite differences of sum_m mean_rows s_m CE(l_m, y)`, () => {
      const m = method(name);
      const config = { ...m.defaults, hidden: 0 };
      const p = m.init(new HostRng(5), dims, C, config) as any;
      if (name === "late_weighted") p.combiner.weightLogits.data.set([0.3, -0.2]);
      const w1 = p.unimodal[1][0].w;
      const run = (w: Tensor) => {
        const params = tensors(p);
        params.unimodal[1][0].w = w;
        const enc = encodedFrom([constant(x0, [B, 4]), constant(x1, [B, 3])], [constant(ones(B), [B]), constant(present1, [B])]);
        return { params, out: m.apply(params, enc, { train: true, outDim: C }, config) as { logits: Tensor; auxLoss: Tensor } };
      };
      const y = () => constant(labels, [B]);
      const modelLoss = (w: Tensor) => {
        const { out } = run(w);
        return softmaxCrossEntropy(out.logits, y()).add(out.auxLoss);
      };
      const unimodalObjective = (w: Tensor) => {
        const { params } = run(w);
        const ce = (l: Tensor, s: Tensor) => logSoftmax(l, -1).mul(oneHot(y(), C)).sum(-1).neg().mul(s).mean();
        const l0 = linear(params.unimodal[0][0], constant(x0, [B, 4]));
        const l1 = linear(params.unimodal[1][0], constant(x1, [B, 3]).mul(constant(present1, [B, 1])));
        return ce(l0, constant(ones(B), [B])).add(ce(l1, constant(present1, [B])));
      };
      checkGradientAgainst(modelLoss, unimodalObjective, w1.data, w1.shape);
    });
  }

  test("late_weighted: the combiner's weights train on the fused cross-entropy of stop-gradient unimodal outputs", () => {
    const m = method("late_weighted");
    const config = { ...m.defaults, hidden: 0 };
    const p = m.init(new HostRng(6), dims, C, config) as any;
    const lossAt = (a: Tensor) => {
      const params = tensors(p);
      params.combiner.weightLogits = a;
      const enc = encodedFrom([constant(x0, [B, 4]), constant(x1, [B, 3])], [constant(ones(B), [B]), constant(present1, [B])]);
      const out = m.apply(params, enc, { train: true, outDim: C }, config) as { logits: Tensor; auxLoss: Tensor };
      return softmaxCrossEntropy(out.logits, constant(labels, [B])).add(out.auxLoss);
    };
    checkGradientAgainst(lossAt, lossAt, new Float32Array([0.4, -0.3]), [2]);
  });
});

describe("late fusion learning", () => {
  test("late fusion stays at chance on XOR, because each unimodal predictor sees one modality and alone it says nothing about the label", () => {
    const train = xorTask(1024, 1);
    const test = xorTask(512, 2);
    for (const name of ["late_mean", "late_weighted"]) {
      const trained = trainFusion(method(name), train, { steps: 200, batch: 64, lr: 0.01 });
      const acc = trained.accuracy(test);
      assert.ok(acc > 0.4 && acc < 0.6, `${name}: XOR test accuracy ${acc}, expected chance (0.5)`);
    }
  });

  test("late_mean and late_vote learn a task where each modality is informative on its own (label = [A0 + B0 > 0])", () => {
    const train = additiveTask(1024, 3);
    const test = additiveTask(512, 4);
    // Each unimodal model alone can reach ~0.75. With calibrated p(y|A0) = Phi(A0) and p(y|B0) = Phi(B0), the mean
    // exceeds 1/2 exactly when A0 + B0 > 0, so the combination can approach 1. Linear unimodal classifiers
    // (hidden 0) keep the two calibrations alike.
    for (const name of ["late_mean", "late_vote"]) {
      const trained = trainFusion(method(name), train, { steps: 300, batch: 64, lr: 0.01, config: { hidden: 0 } });
      const acc = trained.accuracy(test);
      assert.ok(acc >= 0.9, `${name} test accuracy ${acc}`);
    }
  });
});

describe("stacking: the meta-classifier is fitted only on the held-out rows it is given", () => {
  const C = 2;
  // Unimodal "predictions" for a split: modality `reliable` predicts the label with confidence 0.9,
  // the other predicts the wrong class with confidence 0.9.
  function predictions(labels: number[], reliable: 0 | 1): Float32Array[] {
    return [0, 1].map((m) => {
      const out = new Float32Array(labels.length * C);
      labels.forEach((y, n) => {
        const said = m === reliable ? y : 1 - y;
        out[n * C + said] = 0.9;
        out[n * C + 1 - said] = 0.1;
      });
      return out;
    });
  }
  const labelsOf = (n: number, seed: number) => Array.from(randomArray(n, seed), (v) => (v > 0 ? 1 : 0));
  function accuracy(w: Float32Array, b: Float32Array, probs: Float32Array[], labels: number[]): number {
    const x = stackingFeatures(probs, undefined, C);
    const D = probs.length * C;
    let correct = 0;
    labels.forEach((y, n) => {
      const score = [0, 1].map((c) => b[c]! + Array.from({ length: D }, (_, d) => x[n * D + d]! * w[d * C + c]!).reduce((s, v) => s + v, 0));
      if ((score[1]! > score[0]! ? 1 : 0) === y) correct++;
    });
    return correct / labels.length;
  }

  test("a stacker fit on validation rows (where modality B is reliable) keeps trusting B on test rows where A is: it never learns from the rows it scores", () => {
    const valLabels = labelsOf(200, 21);
    const testLabels = labelsOf(200, 22);
    const val = predictions(valLabels, 1);
    const testPreds = predictions(testLabels, 0);
    const fitOnVal = fitStacking(val, new Float32Array(valLabels), { numClasses: C });
    assert.ok(accuracy(fitOnVal.w.data, fitOnVal.b.data, val, valLabels) > 0.99, "it learned the validation rows");
    const onTest = accuracy(fitOnVal.w.data, fitOnVal.b.data, testPreds, testLabels);
    assert.ok(onTest < 0.01, `scored test rows follow the validation fit (accuracy ${onTest})`);
    // Control: had the test rows been used for fitting, they would be scored almost perfectly.
    const leaked = fitStacking(testPreds, new Float32Array(testLabels), { numClasses: C });
    assert.ok(accuracy(leaked.w.data, leaked.b.data, testPreds, testLabels) > 0.99);
  });

  test("late_stacking: postFit reads only the validation outputs it is given, keeps init's layout, and the fitted params score test rows", () => {
    const m = method("late_stacking");
    // Linear unimodal classifiers set to identity * 4 on 2-dim inputs, so p_m = softmax(4 x_m).
    const config = { ...m.defaults, hidden: 0 };
    const p = m.init(new HostRng(7), vectorDims([2, 2]), C, config) as any;
    for (const u of p.unimodal) {
      u[0].w.data.set([4, 0, 0, 4]);
      u[0].b.data.fill(0);
    }
    const inputsFor = (labels: number[], reliable: 0 | 1) =>
      [0, 1].map((mod) => Float32Array.from(labels.flatMap((y) => (mod === reliable ? (y ? [0, 1] : [1, 0]) : y ? [1, 0] : [0, 1]))));
    const explainOf = (params: any, xs: Float32Array[], n: number) =>
      scoped(() => {
        const out = m.apply(tensors(params), encodedFrom(xs.map((x) => constant(x, [n, 2])), [constant(ones(n), [n]), constant(ones(n), [n])]), { train: false, outDim: C }, config);
        return { logits: "logits" in out ? out.logits : assert.fail(), explain: out.explain! };
      });
    const valLabels = labelsOf(64, 31);
    const testLabels = labelsOf(64, 32);
    const val = explainOf(p, inputsFor(valLabels, 1), 64);
    const fitted = m.postFit!(p, { explain: val.explain as any, labels: new Float32Array(valLabels) }, config) as any;
    assert.deepEqual(layoutOf(fitted).entries, layoutOf(p as ParamTree).entries, "same layout as init: checkpoints and compiled steps stay valid");
    assert.deepEqual(fitted.unimodal, p.unimodal, "postFit leaves the unimodal models alone");
    const acc = (logits: Float32Array, labels: number[]) => labels.filter((y, n) => (logits[n * 2 + 1]! > logits[n * 2]! ? 1 : 0) === y).length / labels.length;
    assert.ok(acc(explainOf(fitted, inputsFor(valLabels, 1), 64).logits.data, valLabels) > 0.99);
    assert.ok(acc(explainOf(fitted, inputsFor(testLabels, 0), 64).logits.data, testLabels) < 0.01, "test rows are scored by the validation fit");
  });

  test("training steps never move the meta-classifier (it receives no gradient), while the unimodal models train", () => {
    const m = method("late_stacking");
    const train = additiveTask(256, 41);
    const dims = vectorDims([8, 8]);
    const init = { fusion: m.init(new HostRng(8), dims, 2, m.defaults) } as any;
    // a fitted meta-classifier in use during training
    init.fusion.combiner.w.data.set(randomArray(init.fusion.combiner.w.data.length, 3));
    init.fusion.combiner.b.data.set([0.2, -0.2]);
    init.fusion.combiner.fitted.data[0] = 1;
    const before = flattenParams(init);
    const trained = trainFusion(m, train, { steps: 20, batch: 64, lr: 0.01, initial: init });
    const after = unflattenHost(before.layout, trained.flat) as any;
    assert.deepEqual(after.fusion.combiner, init.fusion.combiner, "the meta-classifier is bit-identical after 20 steps");
    assert.notDeepEqual(after.fusion.unimodal, init.fusion.unimodal, "the unimodal models did train");
  });
});
