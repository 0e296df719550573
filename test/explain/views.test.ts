import assert from "node:assert/strict";
import { before, describe, test } from "node:test";
import type { ModalitySpec, SplitData } from "../../src/data/types.ts";
import { startEngine } from "../../src/engine/backend.ts";
import { attention, initAttention } from "../../src/engine/layers.ts";
import { layoutOf, type ParamTree } from "../../src/engine/params.ts";
import { HostRng } from "../../src/engine/random.ts";
import { constant, scoped, type HostArray } from "../../src/engine/tensor.ts";
import { attributionForRows } from "../../src/explain/rows.ts";
import { gateParameters, rowViews, type AttentionView } from "../../src/explain/views.ts";
import { crossAttentionFusion } from "../../src/fusion/intermediateFusion.ts";
import { listMethods } from "../../src/fusion/registry.ts";
import type { FusionMethod } from "../../src/fusion/types.ts";
import { buildModel } from "../../src/model/model.ts";
import { tensors } from "../model/helpers.ts";

before(startEngine);

const vocabulary = ["<pad>", "<unk>", "red", "green", "blue", "cat", "dog", "sky"];

/** 6 rows: text of varying length (some padding), a vector; row 4 has no vector, row 5 no text. */
function mixedSplit(): { specs: ModalitySpec[]; split: SplitData } {
  const T = 5;
  const specs: ModalitySpec[] = [
    { name: "caption", type: "text", shape: [T], vocabSize: vocabulary.length, vocabulary },
    { name: "features", type: "vector", shape: [3] },
  ];
  const lengths = [5, 3, 1, 4, 2, 0];
  const n = lengths.length;
  const rng = new HostRng(9);
  const ids = new Float32Array(n * T);
  const mask = new Float32Array(n * T);
  lengths.forEach((len, i) => {
    for (let t = 0; t < len; t++) {
      ids[i * T + t] = 1 + rng.int(vocabulary.length - 1);
      mask[i * T + t] = 1;
    }
  });
  const present = { caption: Float32Array.from(lengths, (l) => (l > 0 ? 1 : 0)), features: Float32Array.from(lengths, (_, i) => (i === 4 ? 0 : 1)) };
  const features = Float32Array.from({ length: n * 3 }, () => rng.normal());
  return {
    specs,
    split: { n, ids: lengths.map((_, i) => `r${i}`), inputs: { caption: ids, features }, tokenMasks: { caption: mask }, present, labels: new Float32Array(n), fields: {} },
  };
}

function attentionMethods(): FusionMethod[] {
  const registered = listMethods().filter((m) => m.usesTokens);
  // Until the attention families are registered, the committed cross-attention method stands in.
  return registered.length ? registered : [crossAttentionFusion as unknown as FusionMethod];
}

describe("attention maps", () => {
  test("engine attention: every query's weights sum to 1 and masked keys get exactly 0", () => {
    const B = 2;
    const Tq = 3;
    const Tk = 4;
    const keyMask = [1, 1, 0, 1, 0, 1, 1, 0];
    const out = scoped(() => {
      const p = tensors(initAttention(new HostRng(1), 8, 8, 8));
      const rng = new HostRng(2);
      const q = constant(Float32Array.from({ length: B * Tq * 8 }, () => rng.normal()), [B, Tq, 8]);
      const c = constant(Float32Array.from({ length: B * Tk * 8 }, () => rng.normal()), [B, Tk, 8]);
      return attention(p, q, c, { heads: 2, keyMask: constant(keyMask, [B, Tk]) }).weights;
    }) as HostArray;
    assert.deepEqual(out.shape, [B, 2, Tq, Tk]);
    for (let b = 0; b < B; b++)
      for (let h = 0; h < 2; h++)
        for (let i = 0; i < Tq; i++) {
          let sum = 0;
          for (let j = 0; j < Tk; j++) {
            const w = out.data[((b * 2 + h) * Tq + i) * Tk + j]!;
            sum += w;
            if (!keyMask[b * Tk + j]) assert.equal(w, 0, `masked key ${j} of row ${b}`);
          }
          assert.ok(Math.abs(sum - 1) < 1e-5, `row ${b} head ${h} query ${i}: ${sum}`);
        }
  });

  for (const method of attentionMethods()) {
    test(`${method.name}: the model's maps sum to 1 over real keys, padded and missing keys get 0, labels are the row's words`, () => {
      const { specs, split } = mixedSplit();
      const model = buildModel({ modalities: specs, task: "classification", outDim: 2, method, methodConfig: { ...method.defaults }, encoderDim: 8, dropout: 0 });
      const params = model.init(new HostRng(5));
      const explainable = { model, params, layout: layoutOf(params as ParamTree), labelNames: ["no", "yes"], options: { seed: 0, epochs: 0, batchSize: 4, lr: 0, weightDecay: 0, patience: 0 } };
      const result = attributionForRows(explainable, split);
      const raw = result.attribution.explain ?? {};
      let checkedMaps = 0;
      result.rows.forEach((row, i) => {
        const maps = row.views.filter((v): v is AttentionView => v.kind === "attention");
        assert.ok(maps.length > 0, `${method.name} produced no attention map for row ${i}`);
        for (const view of maps) {
          const rawMap = raw[view.key]!;
          const Tq = view.weights.length;
          const Tk = view.keyLabels.length;
          const heads = rawMap.shape.length === 4 ? rawMap.shape[1]! : 1;
          const rowData = rawMap.data.subarray(i * heads * Tq * Tk, (i + 1) * heads * Tq * Tk);
          for (let j = 0; j < Tk; j++) if (!view.keyMask[j]) assert.equal(view.weights.every((line) => line[j] === 0), true, `row ${i} key ${view.keyLabels[j]}`);
          if (view.noContext) {
            assert.ok(view.weights.every((line) => line.every((w) => w === 0)));
            continue;
          }
          for (let q = 0; q < Tq; q++) {
            // the model's own weights, before any masking by the view
            let realMass = 0;
            let paddedMass = 0;
            for (let h = 0; h < heads; h++)
              for (let j = 0; j < Tk; j++) (view.keyMask[j] ? (x: number) => (realMass += x) : (x: number) => (paddedMass += x))(rowData[(h * Tq + q) * Tk + j]! / heads);
            assert.ok(Math.abs(realMass - 1) < 1e-5, `row ${i} ${view.key} query ${q}: real keys hold ${realMass}`);
            assert.ok(paddedMass < 1e-6, `row ${i} ${view.key} query ${q}: padded keys hold ${paddedMass}`);
            checkedMaps++;
          }
          if (view.massByModality && view.queryMask.some((v) => v)) {
            const total = Object.values(view.massByModality).reduce((a, b) => a + b, 0);
            assert.ok(Math.abs(total - 1) < 1e-4, `row ${i} ${view.key}: attention mass over context modalities ${total}`);
          }
          if (view.query === "caption") {
            const words = view.queryLabels.filter((_, t) => view.queryMask[t]);
            assert.ok(words.every((w) => vocabulary.includes(w) && w !== "<pad>"), `row ${i}: ${words}`);
          }
        }
      });
      assert.ok(checkedMaps > 0);
      // row 4 has no vector and row 5 no text: whichever map reads the missing modality has no context
      const captionReadsFeatures = result.rows[4]!.views.find((v): v is AttentionView => v.kind === "attention" && v.query === "caption");
      if (captionReadsFeatures) assert.equal(captionReadsFeatures.noContext, true);
    });
  }
});

describe("views recognised from explain tensors by name and shape", () => {
  const specs: ModalitySpec[] = [
    { name: "A", type: "vector", shape: [2] },
    { name: "B", type: "vector", shape: [2] },
    { name: "C", type: "vector", shape: [2] },
  ];
  const split: SplitData = {
    n: 2,
    ids: ["x", "y"],
    inputs: { A: new Float32Array(4), B: new Float32Array(4), C: new Float32Array(4) },
    tokenMasks: {},
    present: { A: new Float32Array([1, 1]), B: new Float32Array([1, 0]), C: new Float32Array([1, 1]) },
    labels: new Float32Array(2),
    fields: {},
  };
  const dims = specs.map((s) => ({ name: s.name, type: s.type, dim: 4, tokens: 1 }));
  const ctx = { specs, dims, split, classNames: ["lo", "hi"] };

  test("[M] weights, [M, C] per-modality probabilities, [M, H] gates, [C] votes, per-row scalars", () => {
    const explain: Record<string, HostArray> = {
      weights: { data: new Float32Array([0.2, 0.3, 0.5, 0.6, 0, 0.4]), shape: [2, 3] },
      probabilities: { data: new Float32Array([0.9, 0.1, 0.4, 0.6, 0.5, 0.5, 0, 0, 0, 0, 0, 0]), shape: [2, 3, 2] },
      gates: { data: new Float32Array(2 * 3 * 4).map((_, i) => i), shape: [2, 3, 4] },
      votes: { data: new Float32Array([2, 1, 0, 2]), shape: [2, 2] },
      "flamingo/layer1/tanh_alpha": { data: new Float32Array([0.25, 0.25]), shape: [2] },
    };
    const views = rowViews(explain, 0, ctx);
    assert.deepEqual(views.find((v) => v.key === "weights"), { kind: "modalityWeights", key: "weights", weights: { A: 0.2, B: 0.3, C: 0.5 } });
    const votes = views.filter((v) => v.kind === "votes");
    assert.deepEqual(votes.map((v) => v.kind === "votes" && [v.modality, v.scores]), [["A", { lo: 0.9, hi: 0.1 }], ["B", { lo: 0.4, hi: 0.6 }], ["C", { lo: 0.5, hi: 0.5 }]]);
    assert.deepEqual(views.find((v) => v.key === "gates"), { kind: "perModality", key: "gates", values: { A: [0, 1, 2, 3], B: [4, 5, 6, 7], C: [8, 9, 10, 11] } });
    assert.deepEqual(views.find((v) => v.key === "votes"), { kind: "classScores", key: "votes", scores: { lo: 2, hi: 1 } });
    assert.deepEqual(views.find((v) => v.key.endsWith("tanh_alpha")), { kind: "scalar", key: "flamingo/layer1/tanh_alpha", value: 0.25 });
    // the second row reads its own slice
    assert.deepEqual(rowViews(explain, 1, ctx).find((v) => v.key === "weights"), { kind: "modalityWeights", key: "weights", weights: { A: 0.6, B: 0, C: 0.4 } });
  });

  test("[H, Tq, Tk] maps are averaged over heads; a missing context modality's key is zeroed", () => {
    // row 1: B is missing, so in "A<-B+C" key 0 (B's one token) is not real
    const heads = [
      [0.5, 0.5],
      [0.1, 0.9],
    ];
    const data = new Float32Array(2 * 2 * 1 * 2);
    for (let r = 0; r < 2; r++) for (let h = 0; h < 2; h++) data.set(heads[h]!, (r * 2 + h) * 2);
    const view = rowViews({ "x/A<-B+C": { data, shape: [2, 2, 1, 2] } }, 1, ctx)[0] as AttentionView;
    assert.equal(view.kind, "attention");
    assert.deepEqual(view.context, ["B", "C"]);
    assert.deepEqual(view.keyLabels, ["B", "C"]);
    assert.deepEqual(view.keyMask, [0, 1]);
    assert.deepEqual(view.weights, [[0, 0.7]]);
    const first = rowViews({ "x/A<-B+C": { data, shape: [2, 2, 1, 2] } }, 0, ctx)[0] as AttentionView;
    assert.deepEqual(first.weights, [[0.3, 0.7]]);
    assert.deepEqual(first.massByModality, { B: 0.3, C: 0.7 });
  });

  test("every registered method with alpha/beta gate parameters reports tanh of them in its explain outputs too", () => {
    const { specs: mixed, split: rows } = mixedSplit();
    for (const method of listMethods()) {
      const model = buildModel({ modalities: mixed, task: "classification", outDim: 2, method, methodConfig: { ...method.defaults }, encoderDim: 8, dropout: 0 });
      const params = model.init(new HostRng(5));
      if (gateParameters(params).length === 0) continue;
      // open the gates (they start at 0, where tanh is 0 whatever the code does)
      const opened = structuredClone(params);
      const gates = gateParameters(opened);
      let k = 0;
      const setGates = (node: any) => {
        if (!node || typeof node !== "object" || node.data instanceof Float32Array) return;
        if (node.alpha?.data instanceof Float32Array) {
          node.alpha.data.fill(0.3 + 0.1 * k++);
          if (node.beta?.data instanceof Float32Array) node.beta.data.fill(-0.2);
        }
        for (const v of Object.values(node)) setGates(v);
      };
      setGates(opened);
      const fromParams = gateParameters(opened);
      assert.equal(fromParams.length, gates.length);
      const result = attributionForRows({ model, params: opened, layout: layoutOf(opened), labelNames: ["no", "yes"], options: { seed: 0, epochs: 0, batchSize: 4, lr: 0, weightDecay: 0, patience: 0 } }, rows);
      const scalars = result.rows[0]!.views.filter((v) => v.kind === "scalar" && /tanh_(alpha|beta)$/.test(v.key)).map((v) => (v as { value: number }).value);
      assert.deepEqual(scalars.sort(), fromParams.flatMap((g) => g.tanh).sort(), method.name);
    }
  });

  test("Flamingo gates are read from the parameters as tanh(alpha), tanh(beta); a layer norm's beta is not a gate", () => {
    const params = {
      fusion: { layers: [{ gate: { alpha: { data: new Float32Array([0.5]), shape: [1] }, beta: { data: new Float32Array([-1]), shape: [1] } } }] },
      head: { w: { data: new Float32Array(4), shape: [2, 2] } },
      norm: { gamma: { data: new Float32Array([1, 1]), shape: [2] }, beta: { data: new Float32Array([0.5, 0.5]), shape: [2] } },
    } as unknown as ParamTree;
    const gates = gateParameters(params);
    assert.deepEqual(gates.map((g) => g.name), ["fusion.layers.0.gate.alpha", "fusion.layers.0.gate.beta"]);
    assert.ok(Math.abs(gates[0]!.tanh[0]! - Math.tanh(0.5)) < 1e-6 && Math.abs(gates[1]!.tanh[0]! - Math.tanh(-1)) < 1e-6);
  });
});
