import { before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { startEngine } from "../../src/engine/backend.ts";
import { flattenParams, unflatten } from "../../src/engine/params.ts";
import { HostRng, Rng } from "../../src/engine/random.ts";
import { adopt, constant, scoped, type Tensor } from "../../src/engine/tensor.ts";
import { random } from "@jax-js/jax";
import { getMethod } from "../../src/fusion/registry.ts";
import { buildModel, dropModalities, lossForTask, type ModelParams, type ModelSpec } from "../../src/model/model.ts";
import { checkGradient, randomArray } from "../engine/gradcheck.ts";
import { mixedSpecs, tensors } from "./helpers.ts";

before(startEngine);

const B = 4;

function spec(overrides: Partial<ModelSpec> = {}): ModelSpec {
  const method = getMethod("early", mixedSpecs);
  return {
    modalities: mixedSpecs,
    task: "classification",
    outDim: 3,
    method,
    methodConfig: { ...method.defaults, projectDim: 6, hidden: [8] },
    encoderDim: 8,
    dropout: 0,
    ...overrides,
  };
}

/** A host batch for mixedSpecs: random inputs, valid ids/codes, some padding and one missing modality. */
function hostBatch(seed: number) {
  const inputs: Record<string, Float32Array> = {};
  const tokenMasks: Record<string, Float32Array> = {};
  const present: Record<string, Float32Array> = {};
  mixedSpecs.forEach((s, m) => {
    const width = s.shape.reduce((a, b) => a * b, 1);
    const x = randomArray(B * width, seed + m);
    if (s.type === "text") for (let i = 0; i < x.length; i++) x[i] = 2 + (Math.abs(Math.round(x[i]! * 100)) % 10);
    if (s.type === "tabular") for (let r = 0; r < B; r++) x[r * width + 2] = r % 4;
    inputs[s.name] = x;
    present[s.name] = Float32Array.from({ length: B }, (_, r) => (r === (m % B) && m > 2 ? 0 : 1));
    if (s.type === "text" || s.type === "audio" || s.type === "sequence") {
      const T = s.shape[0]!;
      tokenMasks[s.name] = Float32Array.from({ length: B * T }, (_, i) => (i % T < T - (i < T ? 2 : 0) ? 1 : 0));
    }
  });
  return { inputs, tokenMasks, present, labels: new Float32Array([0, 2, 1, 2]), rowWeight: new Float32Array([1, 1, 1, 0]) };
}

function tensorBatch(h: ReturnType<typeof hostBatch>) {
  const map = (rec: Record<string, Float32Array>, shape: (name: string) => number[]) =>
    Object.fromEntries(Object.entries(rec).map(([k, v]) => [k, constant(v, shape(k))]));
  const specOf = (name: string) => mixedSpecs.find((s) => s.name === name)!;
  return {
    inputs: map(h.inputs, (n) => [B, ...specOf(n).shape]),
    tokenMasks: map(h.tokenMasks, (n) => [B, specOf(n).shape[0]!]),
    present: map(h.present, () => [B]),
    labels: constant(h.labels, [B]),
    rowWeight: constant(h.rowWeight, [B]),
  };
}

describe("model", () => {
  test("the loss gradient w.r.t. every parameter of a six-modality early-fusion model matches finite differences", () => {
    const s = spec();
    const model = buildModel(s);
    const { layout, flat } = flattenParams(model.init(new HostRng(11)));
    const host = hostBatch(20);
    const loss = (p: Tensor) => {
      const batch = tensorBatch(host);
      const out = model.apply(unflatten<ModelParams>(layout, p), batch, { train: false });
      return lossForTask(s, out.logits, batch.labels, batch.rowWeight);
    };
    // sample across the whole vector: every encoder, the fusion MLP and the head.
    // eps 1e-3, not the usual 1e-2: a ReLU pre-activation within eps of its kink makes the
    // central difference average two one-sided slopes (seen at eps 1e-2 on fusion.joint.0.w,
    // and at 1e-3 on a projection bias, fusion.projections.0.b): there the gradient must lie
    // between the one-sided slopes (piecewise).
    checkGradient(loss, flat, [layout.total], { samples: 40, eps: 1e-3, rtol: 5e-2, atol: 3e-3, piecewise: true });
  });

  test("padding rows (rowWeight 0) do not change the loss", () => {
    const s = spec();
    const model = buildModel(s);
    const params = model.init(new HostRng(12));
    const host = hostBatch(30);
    const lossOf = (h: typeof host) =>
      scoped(() => {
        const batch = tensorBatch(h);
        return lossForTask(s, model.apply(tensors(params), batch, { train: false }).logits, batch.labels, batch.rowWeight);
      }).data[0]!;
    const edited = { ...host, labels: host.labels.slice() };
    edited.labels[3] = 0; // row 3 is padding
    assert.equal(lossOf(edited), lossOf(host));
  });

  test("regression loss is the MSE of standardised targets", () => {
    const stats = { mean: 10, std: 2 };
    const value = scoped(() =>
      lossForTask({ task: "regression", targetStats: stats }, constant([1, -1], [2, 1]), constant([12, 6], [2]), constant([1, 1], [2])),
    ).data[0]!;
    // standardised targets 1 and -2; errors 0 and 1 -> mean 0.5
    assert.ok(Math.abs(value - 0.5) < 1e-6, `loss ${value}`);
  });

  test("modality dropout never removes every modality and keeps each with probability (1-p) + p^M / M", () => {
    const M = 3;
    const p = 0.5;
    const n = 20000;
    const out = scoped(() => {
      const present = Array.from({ length: M }, () => constant(new Float32Array(n).fill(1), [n]));
      const rng = new Rng(adopt(random.key(7)));
      return dropModalities(present, p, rng);
    });
    let allDropped = 0;
    const kept = new Array(M).fill(0);
    for (let i = 0; i < n; i++) {
      let any = 0;
      for (let m = 0; m < M; m++) {
        kept[m] += out[m]!.data[i]!;
        any += out[m]!.data[i]!;
      }
      if (any === 0) allDropped++;
    }
    assert.equal(allDropped, 0);
    const expected = 1 - p + p ** M / M; // 0.541666...
    for (let m = 0; m < M; m++) {
      const rate = kept[m] / n;
      // binomial std at n = 20000 is ~0.0035; 4 sigma
      assert.ok(Math.abs(rate - expected) < 0.015, `modality ${m} kept in ${rate} of rows, expected ${expected}`);
    }
  });

  test("modality dropout is only active in training", () => {
    const method = getMethod("early", mixedSpecs);
    const s = spec({ modalityDropout: 0.9, method });
    const model = buildModel(s);
    const params = model.init(new HostRng(13));
    const host = hostBatch(40);
    const run = (train: boolean, seed: number) =>
      scoped(() => model.apply(tensors(params), tensorBatch(host), { train, rng: new Rng(adopt(random.key(seed))) }).logits).data;
    assert.deepEqual(run(false, 1), run(false, 2));
    assert.notDeepEqual(run(true, 1), run(true, 2));
  });

  test("a decision-level method's logits skip the head; a fused method gets a head of outDim", () => {
    const model = buildModel(spec());
    const out = scoped(() => model.apply(tensors(model.init(new HostRng(14))), tensorBatch(hostBatch(50)), { train: false }).logits);
    assert.deepEqual(out.shape, [B, 3]);
  });

  test("unimodal auxiliary heads: loss = task loss + lambda * mean over modalities of each head's cross-entropy on its pooled encoding (rows weighted by rowWeight * present); predictions ignore the heads", () => {
    const lambda = 0.7;
    const s = spec({ unimodalAuxWeight: lambda, modalityDropout: 0 });
    const model = buildModel(s);
    const params = model.init(new HostRng(15));
    assert.deepEqual(Object.keys(params.unimodalHeads ?? {}), mixedSpecs.map((m) => m.name));
    const host = hostBatch(60);
    const key = 5;
    const { total, task, pooled } = scoped(() => {
      const batch = tensorBatch(host);
      const p = tensors(params);
      const out = model.loss(p, batch, new Rng(adopt(random.key(key))));
      const logits = model.apply(p, batch, { train: true, rng: new Rng(adopt(random.key(key))) }).logits;
      const pooledOf = model.encoders.map((e) =>
        e.apply(p.encoders[e.spec.name], { input: batch.inputs[e.spec.name]!, tokenMask: batch.tokenMasks[e.spec.name], present: batch.present[e.spec.name]! }).pooled,
      );
      return { total: out.loss, task: lossForTask(s, logits, batch.labels, batch.rowWeight), pooled: pooledOf };
    });
    // the unimodal part on the host: logits = pooled W + b, softmax cross-entropy, weighted mean per modality
    const C = 3;
    let unimodal = 0;
    mixedSpecs.forEach((m, i) => {
      const head = params.unimodalHeads![m.name]!;
      const D = head.w.shape[0]!;
      let sum = 0;
      let weight = 0;
      for (let r = 0; r < B; r++) {
        const z = Array.from({ length: C }, (_, c) => {
          let v = head.b.data[c]!;
          for (let d = 0; d < D; d++) v += pooled[i]!.data[r * D + d]! * head.w.data[d * C + c]!;
          return v;
        });
        const max = Math.max(...z);
        const logSum = max + Math.log(z.reduce((a, v) => a + Math.exp(v - max), 0));
        const w = host.rowWeight[r]! * host.present[m.name]![r]!;
        sum += w * (logSum - z[host.labels[r]!]!);
        weight += w;
      }
      unimodal += sum / (weight + 1e-12);
    });
    unimodal /= mixedSpecs.length;
    const expected = task.data[0]! + lambda * unimodal;
    assert.ok(Math.abs(total.data[0]! - expected) < 1e-4 * Math.max(1, Math.abs(expected)), `loss ${total.data[0]} vs ${expected}`);
    // the heads are training-only: changing them leaves every prediction as it was
    const edited: ModelParams = { ...params, unimodalHeads: Object.fromEntries(Object.entries(params.unimodalHeads!).map(([k, h]) => [k, { w: { ...h.w, data: h.w.data.map((v) => v + 1) }, b: h.b }])) };
    const predict = (p: ModelParams) => scoped(() => model.apply(tensors(p), tensorBatch(host), { train: false }).logits).data;
    assert.deepEqual(predict(edited), predict(params));
    // a unimodal baseline has one modality to train: no heads
    const unimodal1 = buildModel(spec({ unimodalAuxWeight: lambda, method: getMethod("unimodal:txt", mixedSpecs), methodConfig: {} }));
    assert.equal(unimodal1.init(new HostRng(16)).unimodalHeads, undefined);
  });
});

