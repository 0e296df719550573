import assert from "node:assert/strict";
import { before, describe, test } from "node:test";
import { startEngine } from "../../src/engine/backend.ts";
import { FusionkitError } from "../../src/errors.ts";
import { layoutOf, type ParamTree } from "../../src/engine/params.ts";
import { HostRng } from "../../src/engine/random.ts";
import { attributionForRows, withPredictor } from "../../src/explain/rows.ts";
import {
  attributionByClass,
  maxShapleyModalities,
  modalityShapley,
  shapleyFromValues,
  shapleyWeights,
  summariseAttribution,
} from "../../src/explain/shapley.ts";
import { earlyFusion } from "../../src/fusion/earlyFusion.ts";
import type { FusionMethod } from "../../src/fusion/types.ts";
import { buildModel } from "../../src/model/model.ts";
import { predict } from "../../src/train/predict.ts";
import { trainModel, type TrainedModel } from "../../src/train/trainer.ts";
import { argmaxRows, accuracy } from "../../src/eval/metrics.ts";
import { mirroredEarlyFusion, onlyADataset } from "./helpers.ts";

before(startEngine);

describe("Shapley values of a game given by its coalition values (closed forms)", () => {
  test("the weights |S|!(M-|S|-1)!/M! over all coalitions without a player sum to 1", () => {
    for (let M = 1; M <= maxShapleyModalities; M++) {
      const w = shapleyWeights(M);
      let total = 0;
      // C(M-1, s) coalitions of size s
      let choose = 1;
      for (let s = 0; s < M; s++) {
        total += choose * w[s]!;
        choose = (choose * (M - 1 - s)) / (s + 1);
      }
      assert.ok(Math.abs(total - 1) < 1e-12, `M=${M}: ${total}`);
    }
  });

  test("unanimity game u_T (1 when T is inside S) gives 1/|T| to each member of T and 0 to the rest", () => {
    const M = 4;
    const T = 0b1011; // players 0, 1, 3
    const values = Array.from({ length: 2 ** M }, (_, S) => ((S & T) === T ? 1 : 0));
    const phi = shapleyFromValues(values, M);
    assert.deepEqual(Array.from(phi, (x) => Math.round(x * 1e12) / 1e12), [1 / 3, 1 / 3, 0, 1 / 3].map((x) => Math.round(x * 1e12) / 1e12));
  });

  test("glove game (one left glove L, two right gloves R1, R2): phi = (2/3, 1/6, 1/6)", () => {
    // v(S) = 1 when S holds L and at least one R
    const values = Array.from({ length: 8 }, (_, S) => (S & 1 && S & 0b110 ? 1 : 0));
    const phi = shapleyFromValues(values, 3);
    [2 / 3, 1 / 6, 1 / 6].forEach((expected, i) => assert.ok(Math.abs(phi[i]! - expected) < 1e-12, `player ${i}: ${phi[i]}`));
  });

  test("additive game v(S) = sum_{i in S} a_i returns a exactly", () => {
    const a = [0.5, -2, 3.25];
    const values = Array.from({ length: 8 }, (_, S) => a.reduce((sum, ai, i) => sum + (S & (1 << i) ? ai : 0), 0));
    assert.deepEqual(Array.from(shapleyFromValues(values, 3)), a);
  });

  test("more than 10 modalities is refused with the cost in the message", () => {
    assert.throws(() => shapleyWeights(11), (e: unknown) => e instanceof FusionkitError && /2\^11 = 2048/.test(e.message) && /at most 10/.test(e.message));
    assert.doesNotThrow(() => shapleyWeights(10));
  });
});

describe("Shapley attribution of a model's decisions", () => {
  let onlyA: TrainedModel;
  let dataset: ReturnType<typeof onlyADataset>;

  before(async () => {
    dataset = onlyADataset({ seed: 3, withC: true, missingB: 0.1, train: 2048 });
    // Modality dropout teaches the model what "absent" means, which is the baseline the
    // attribution compares against; without it an absent noise modality shifts the
    // presence-flag inputs off the training distribution and B, C get ~35% (measured).
    onlyA = await trainModel(dataset, {
      method: "early",
      seed: 1,
      epochs: 10,
      batchSize: 64,
      lr: 3e-3,
      encoderDim: 16,
      modalityDropout: 0.3,
      methodConfig: { projectDim: 8, hidden: [16], dropout: 0 },
    });
  });

  test("a model whose label depends only on A gives A at least 80% of the attribution", () => {
    const test = dataset.splits.test;
    const { probs } = predict(onlyA, test);
    const acc = accuracy(argmaxRows(probs, test.n, 2), test.labels);
    assert.ok(acc >= 0.9, `the model did not learn sign(A0): test accuracy ${acc}`);
    const result = attributionForRows(onlyA, test);
    const summary = summariseAttribution(result.attribution);
    const share = Object.fromEntries(summary.modalities.map((m, i) => [m, summary.share[i]!]));
    assert.ok(share.A! >= 0.8, `share of A ${share.A}, B ${share.B}, C ${share.C}`);
    // per class too: A decides both "positive" and "negative" decisions
    for (const c of attributionByClass(result.attribution, onlyA.labelNames)) assert.ok(c.share[0]! >= 0.8, `class ${c.className}: share of A ${c.share[0]}`);
  });

  test("efficiency: per row, the attributions sum to v(all) - v(none), for probability and logit values", () => {
    const test = dataset.splits.test;
    for (const value of ["probability", "logit"] as const) {
      const attr = withPredictor(onlyA, 32, (p) => modalityShapley(p, test, { value }));
      for (let i = 0; i < attr.n; i++) {
        const sum = attr.phi[i * 3]! + attr.phi[i * 3 + 1]! + attr.phi[i * 3 + 2]!;
        assert.ok(Math.abs(sum - (attr.full[i]! - attr.empty[i]!)) < 1e-6, `${value} row ${i}: ${sum} vs ${attr.full[i]! - attr.empty[i]!}`);
      }
      // the gap is not trivially zero: the modalities move the output
      assert.ok(summariseAttribution(attr).meanAbsPhi[0]! > 0.05, `${value}: A barely moves the output`);
    }
  });

  test("v(all) and v(none) agree with the trainer's predict and its presentOverride path", () => {
    const test = dataset.splits.test;
    const attr = withPredictor(onlyA, 32, (p) => modalityShapley(p, test));
    const full = predict(onlyA, test).probs;
    const none = predict(onlyA, test, { presentOverride: { A: 0, B: 0, C: 0 } }).probs;
    for (let i = 0; i < test.n; i++) {
      const c = attr.target[i]!;
      assert.ok(full[i * 2 + c]! >= full[i * 2 + 1 - c]!, "the explained class is the predicted one");
      assert.equal(attr.full[i], full[i * 2 + c]);
      assert.equal(attr.empty[i], none[i * 2 + c]);
    }
  });

  test("two-modality closed form: phi_A = ((v(A) - v(none)) + (v(AB) - v(B))) / 2, with v from presentOverride", async () => {
    const ds = onlyADataset({ seed: 5 });
    const trained = await trainModel(ds, { method: "early", seed: 2, epochs: 2, batchSize: 64, encoderDim: 8, methodConfig: { projectDim: 8, hidden: [8], dropout: 0 } });
    const test = ds.splits.test;
    const attr = attributionForRows(trained, test, { value: "logit" }).attribution;
    const logits = (override: Record<string, 0 | 1>) => predict(trained, test, { presentOverride: override }).logits;
    const vAB = logits({});
    const vA = logits({ B: 0 });
    const vB = logits({ A: 0 });
    const v0 = logits({ A: 0, B: 0 });
    for (let i = 0; i < test.n; i++) {
      const k = i * 2 + attr.target[i]!;
      const phiA = (vA[k]! - v0[k]! + vAB[k]! - vB[k]!) / 2;
      const phiB = (vB[k]! - v0[k]! + vAB[k]! - vA[k]!) / 2;
      assert.ok(Math.abs(attr.phi[i * 2]! - phiA) < 1e-6 && Math.abs(attr.phi[i * 2 + 1]! - phiB) < 1e-6, `row ${i}`);
    }
  });

  test("dummy: a modality missing in a row gets exactly 0", () => {
    const test = dataset.splits.test;
    const attr = withPredictor(onlyA, 32, (p) => modalityShapley(p, test));
    let missing = 0;
    for (let i = 0; i < test.n; i++) {
      if (test.present.B![i]! > 0.5) continue;
      missing++;
      assert.equal(attr.phi[i * 3 + 1], 0);
    }
    assert.ok(missing > 3, `only ${missing} rows without B`);
  });
});

describe("symmetry on a hand-built model with interchangeable modalities", () => {
  test("identical inputs to mirrored modalities give equal phi; different inputs do not", () => {
    const d = 4;
    const model = mirroredEarlyFusion(d, 11);
    const rng = new HostRng(4);
    const n = 20;
    const a = Float32Array.from({ length: n * d }, () => rng.normal());
    const b = Float32Array.from({ length: n * d }, () => rng.normal());
    const split = (inputB: Float32Array) => ({
      n,
      ids: Array.from({ length: n }, (_, i) => `r${i}`),
      inputs: { A: a, B: inputB },
      tokenMasks: {},
      present: { A: new Float32Array(n).fill(1), B: new Float32Array(n).fill(1) },
      labels: new Float32Array(n),
      fields: {},
    });
    const same = attributionForRows(model, split(a)).attribution;
    for (let i = 0; i < n; i++) {
      assert.ok(Math.abs(same.phi[i * 2]! - same.phi[i * 2 + 1]!) < 1e-6, `row ${i}: ${same.phi[i * 2]} vs ${same.phi[i * 2 + 1]}`);
    }
    assert.ok(summariseAttribution(same).meanAbsPhi[0]! > 1e-3, "the modalities must move the output for the test to mean anything");
    // swapping the inputs swaps the attributions
    const ab = attributionForRows(model, split(b)).attribution;
    const swapped = attributionForRows(model, { ...split(a), inputs: { A: b, B: a } }).attribution;
    let differ = 0;
    for (let i = 0; i < n; i++) {
      assert.ok(Math.abs(ab.phi[i * 2]! - swapped.phi[i * 2 + 1]!) < 1e-6 && Math.abs(ab.phi[i * 2 + 1]! - swapped.phi[i * 2]!) < 1e-6, `row ${i}`);
      if (Math.abs(ab.phi[i * 2]! - ab.phi[i * 2 + 1]!) > 1e-4) differ++;
    }
    assert.ok(differ > n / 2, "different inputs should give different attributions");
  });
});

describe("refusing more than 10 modalities", () => {
  test("explaining a model with 11 modalities throws a FusionkitError before any evaluation", () => {
    const modalities = Array.from({ length: 11 }, (_, i) => ({ name: `m${i}`, type: "vector" as const, shape: [2] }));
    const model = buildModel({ modalities, task: "classification", outDim: 2, method: earlyFusion as unknown as FusionMethod, methodConfig: { projectDim: 4, hidden: [4], dropout: 0 }, encoderDim: 4, dropout: 0 });
    const params = model.init(new HostRng(0));
    const explainable = { model, params, layout: layoutOf(params), labelNames: ["a", "b"], options: { seed: 0, epochs: 0, batchSize: 4, lr: 0, weightDecay: 0, patience: 0 } };
    const split = {
      n: 1,
      ids: ["x"],
      inputs: Object.fromEntries(modalities.map((m) => [m.name, new Float32Array(2)])),
      tokenMasks: {},
      present: Object.fromEntries(modalities.map((m) => [m.name, new Float32Array([1])])),
      labels: new Float32Array(1),
      fields: {},
    };
    assert.throws(() => attributionForRows(explainable, split), (e: unknown) => e instanceof FusionkitError && /11 modalities/.test(e.message) && /2048/.test(e.message));
  });
});

describe("regression and multilabel outputs", () => {
  function handBuilt(task: "regression" | "multilabel", outDim: number) {
    const modalities = [
      { name: "A", type: "vector" as const, shape: [3] },
      { name: "B", type: "vector" as const, shape: [3] },
    ];
    const model = buildModel({
      modalities,
      task,
      outDim,
      method: earlyFusion as unknown as FusionMethod,
      methodConfig: { projectDim: 4, hidden: [8], dropout: 0 },
      encoderDim: 4,
      dropout: 0,
      ...(task === "regression" ? { targetStats: { mean: 10, std: 2 } } : {}),
    });
    const params = model.init(new HostRng(3));
    const rng = new HostRng(1);
    const n = 12;
    const split = {
      n,
      ids: Array.from({ length: n }, (_, i) => `r${i}`),
      inputs: { A: Float32Array.from({ length: n * 3 }, () => rng.normal()), B: Float32Array.from({ length: n * 3 }, () => rng.normal()) },
      tokenMasks: {},
      present: { A: new Float32Array(n).fill(1), B: new Float32Array(n).fill(1) },
      labels: new Float32Array(n * (task === "multilabel" ? outDim : 1)),
      fields: {},
    };
    const explainable = { model, params, layout: layoutOf(params), labelNames: task === "multilabel" ? ["p", "q", "r"] : [], options: { seed: 0, epochs: 0, batchSize: 8, lr: 0, weightDecay: 0, patience: 0 } };
    return { explainable, split };
  }

  test("regression: v(all) is the prediction in label units, v(logit) the standardised output, and efficiency holds", () => {
    const { explainable, split } = handBuilt("regression", 1);
    const prob = attributionForRows(explainable, split);
    const logit = attributionForRows(explainable, split, { value: "logit" });
    for (let i = 0; i < split.n; i++) {
      assert.ok(Math.abs(prob.attribution.full[i]! - (logit.attribution.full[i]! * 2 + 10)) < 1e-4);
      // phi scales with the label's std (the value is affine in the logit)
      assert.ok(Math.abs(prob.attribution.phi[i * 2]! - 2 * logit.attribution.phi[i * 2]!) < 1e-4);
      assert.equal(prob.rows[i]!.explained, "prediction");
      assert.ok(Math.abs(prob.rows[i]!.attribution.A! + prob.rows[i]!.attribution.B! - (prob.rows[i]!.full - prob.rows[i]!.empty)) < 1e-5);
    }
  });

  test("multilabel: each row explains its most probable label", () => {
    const { explainable, split } = handBuilt("multilabel", 3);
    const result = attributionForRows(explainable, split);
    for (const row of result.rows) {
      const best = Object.entries(row.probabilities!).sort((a, b) => b[1] - a[1])[0]![0];
      assert.equal(row.explained, best);
      assert.equal(row.full, row.probabilities![best]);
    }
  });
});
