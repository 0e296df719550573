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
import type { ExplainSpec } from "../../src/fusion/explain.ts";
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
      const explainable = { model, params, layout: layoutOf(params), labelNames: ["no", "yes"], options: { seed: 0, epochs: 0, batchSize: 4, lr: 0, weightDecay: 0, patience: 0 } };
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

describe("views read from the method's declaration (FusionMethod.explains), not from keys or shapes", () => {
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
  const modalities = ["A", "B", "C"];

  test("weights [M], per-modality probabilities and votes [M, C], gates [M, H], tanh gates, pair similarities", () => {
    const explain: Record<string, HostArray> = {
      weights: { data: new Float32Array([0.2, 0.3, 0.5, 0.6, 0, 0.4]), shape: [2, 3] },
      probabilities: { data: new Float32Array([0.9, 0.1, 0.4, 0.6, 0.5, 0.5, 0, 0, 0, 0, 0, 0]), shape: [2, 3, 2] },
      votes: { data: new Float32Array([1, 0, 0, 1, 1, 0, 0, 0, 0, 0, 0, 0]), shape: [2, 3, 2] },
      gates: { data: new Float32Array(2 * 3 * 4).map((_, i) => i), shape: [2, 3, 4] },
      "flamingo/layer1/tanh_alpha": { data: new Float32Array([0.25, 0.25]), shape: [2] },
      pairSimilarity: { data: new Float32Array([0.5, -0.25, 1, 0, 0, 0]), shape: [2, 3] },
    };
    const declared: ExplainSpec = {
      weights: { kind: "modalityWeights", modalities },
      probabilities: { kind: "modalityPredictions", modalities },
      votes: { kind: "modalityVotes", modalities },
      gates: { kind: "perModality", modalities, width: 4 },
      "flamingo/layer1/tanh_alpha": { kind: "gate", parameter: "layers.0.gated.alpha" },
      pairSimilarity: { kind: "pairSimilarity", pairs: [["A", "B"], ["A", "C"], ["B", "C"]] },
    };
    const views = rowViews(explain, declared, 0, ctx);
    assert.deepEqual(views.find((v) => v.key === "weights"), { kind: "modalityWeights", key: "weights", weights: { A: 0.2, B: 0.3, C: 0.5 } });
    const byModality = (key: string) => views.filter((v) => v.key === key).map((v) => v.kind === "votes" && [v.modality, v.scores]);
    assert.deepEqual(byModality("probabilities"), [["A", { lo: 0.9, hi: 0.1 }], ["B", { lo: 0.4, hi: 0.6 }], ["C", { lo: 0.5, hi: 0.5 }]]);
    assert.deepEqual(byModality("votes"), [["A", { lo: 1, hi: 0 }], ["B", { lo: 0, hi: 1 }], ["C", { lo: 1, hi: 0 }]]);
    assert.deepEqual(views.find((v) => v.key === "gates"), { kind: "perModality", key: "gates", values: { A: [0, 1, 2, 3], B: [4, 5, 6, 7], C: [8, 9, 10, 11] } });
    assert.deepEqual(views.find((v) => v.key.endsWith("tanh_alpha")), { kind: "scalar", key: "flamingo/layer1/tanh_alpha", value: 0.25 });
    assert.deepEqual(views.find((v) => v.key === "pairSimilarity"), { kind: "pairs", key: "pairSimilarity", scores: { "A~B": 0.5, "A~C": -0.25, "B~C": 1 } });
    // the second row reads its own slice
    assert.deepEqual(rowViews(explain, declared, 1, ctx).find((v) => v.key === "weights"), { kind: "modalityWeights", key: "weights", weights: { A: 0.6, B: 0, C: 0.4 } });
  });

  test("the declaration decides: the same [M] tensor is weights when declared so, and passed through when undeclared", () => {
    const explain: Record<string, HostArray> = { weights: { data: new Float32Array([0.2, 0.3, 0.5, 0.6, 0, 0.4]), shape: [2, 3] } };
    assert.deepEqual(rowViews(explain, {}, 0, ctx), [{ kind: "other", key: "weights", shape: [3], values: [0.2, 0.3, 0.5] }]);
    // [M, C] with M = C is per-modality probabilities only because the method says so
    const square: Record<string, HostArray> = { p: { data: new Float32Array([0.9, 0.1, 0.3, 0.7]), shape: [1, 2, 2] } };
    const twoCtx = { ...ctx, specs: specs.slice(0, 2), dims: dims.slice(0, 2) };
    const views = rowViews(square, { p: { kind: "modalityPredictions", modalities: ["A", "B"] } }, 0, twoCtx);
    assert.deepEqual(views.map((v) => v.kind === "votes" && v.modality), ["A", "B"]);
  });

  test("[H, Tq, Tk] maps are averaged over heads; a missing context modality's key is zeroed", () => {
    // row 1: B is missing, so in "A<-B+C" key 0 (B's one token) is not real
    const heads = [
      [0.5, 0.5],
      [0.1, 0.9],
    ];
    const data = new Float32Array(2 * 2 * 1 * 2);
    for (let r = 0; r < 2; r++) for (let h = 0; h < 2; h++) data.set(heads[h]!, (r * 2 + h) * 2);
    const declared: ExplainSpec = { "x/A<-B+C": { kind: "attention", query: "A", context: ["B", "C"] } };
    const view = rowViews({ "x/A<-B+C": { data, shape: [2, 2, 1, 2] } }, declared, 1, ctx)[0] as AttentionView;
    assert.equal(view.kind, "attention");
    assert.deepEqual(view.context, ["B", "C"]);
    assert.deepEqual(view.keyLabels, ["B", "C"]);
    assert.deepEqual(view.keyMask, [0, 1]);
    assert.deepEqual(view.weights, [[0, 0.7]]);
    const first = rowViews({ "x/A<-B+C": { data, shape: [2, 2, 1, 2] } }, declared, 0, ctx)[0] as AttentionView;
    assert.deepEqual(first.weights, [[0.3, 0.7]]);
    assert.deepEqual(first.massByModality, { B: 0.3, C: 0.7 });
  });

  test("a map whose shape contradicts its declaration is refused, not relabelled", () => {
    const declared: ExplainSpec = { m: { kind: "attention", query: "A", context: ["B", "C"] } };
    assert.throws(() => rowViews({ m: { data: new Float32Array(6), shape: [2, 1, 3] } }, declared, 0, ctx), /declared as A \(1 tokens\) over B\+C \(2\) but has per-row shape \[1,3\]/);
  });

  test("every registered method with gate parameters reports tanh of them in its explain outputs too", () => {
    const { specs: mixed, split: rows } = mixedSplit();
    let checked = 0;
    for (const method of listMethods()) {
      const model = buildModel({ modalities: mixed, task: "classification", outDim: 2, method, methodConfig: { ...method.defaults }, encoderDim: 8, dropout: 0 });
      const opened = model.init(new HostRng(5));
      const leaves = model.gates(opened);
      if (leaves.length === 0) continue;
      // open the gates (they start at 0, where tanh is 0 whatever the code does): the leaves are the tree's own arrays
      leaves.forEach((g, k) => g.value.data.fill(k % 2 === 0 ? 0.3 + 0.1 * k : -0.2));
      const fromParams = gateParameters(model, opened);
      const result = attributionForRows({ model, params: opened, layout: layoutOf(opened), labelNames: ["no", "yes"], options: { seed: 0, epochs: 0, batchSize: 4, lr: 0, weightDecay: 0, patience: 0 } }, rows);
      const declaredGates = Object.entries(model.explains).filter(([, d]) => d.kind === "gate");
      const scalars = result.rows[0]!.views.filter((v) => v.kind === "scalar" && declaredGates.some(([key]) => key === v.key)).map((v) => (v as { value: number }).value);
      assert.deepEqual(scalars.sort(), fromParams.flatMap((g) => g.tanh).sort(), method.name);
      // each declared gate output names the parameter it is the tanh of
      for (const [key, d] of declaredGates) {
        const gate = fromParams.find((g) => d.kind === "gate" && g.name === `fusion.${d.parameter}`);
        assert.ok(gate, `${method.name}: ${key} names a parameter the method does not report as a gate`);
      }
      checked++;
    }
    assert.ok(checked >= 1, "flamingo declares gates");
  });

  test("gates are the leaves the method names: Flamingo's alpha and beta, not a layer norm's beta", () => {
    const { specs: mixed } = mixedSplit();
    const build = (name: string) => {
      const method = listMethods().find((m) => m.name === name)!;
      return buildModel({ modalities: mixed, task: "classification", outDim: 2, method, methodConfig: { ...method.defaults }, encoderDim: 8, dropout: 0 });
    };
    const flamingo = build("flamingo");
    const params = flamingo.init(new HostRng(1));
    params.fusion = structuredClone(params.fusion);
    const gates = gateParameters(flamingo, params);
    assert.deepEqual(gates.map((g) => g.name), ["fusion.layers.0.gated.alpha", "fusion.layers.0.gated.beta"]);
    flamingo.gates(params)[0]!.value.data.fill(0.5);
    assert.ok(Math.abs(gateParameters(flamingo, params)[0]!.tanh[0]! - Math.tanh(0.5)) < 1e-6);
    // cross_attention has layer norms (gamma, beta) and no gates
    const cross = build("cross_attention");
    assert.deepEqual(gateParameters(cross, cross.init(new HostRng(1))), []);
  });
});
