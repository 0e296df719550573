import { before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { resolveMethodConfig } from "../../src/fusion/config.ts";
import { startEngine } from "../../src/engine/backend.ts";
import { HostRng } from "../../src/engine/random.ts";
import { constant, scoped, type Tensor } from "../../src/engine/tensor.ts";
import { FusionkitError } from "../../src/errors.ts";
import { attentionFusion, gmu, hybridMethods } from "../../src/fusion/adaptiveFusion.ts";
import type { FusionMethod } from "../../src/fusion/types.ts";
import { randomArray } from "../engine/gradcheck.ts";
import { checkGradientAgainst, encodedFrom, ones, tensors, trainFusion, vectorDims, xorTask } from "./fusionHarness.ts";

before(startEngine);

const fusedOf = (out: ReturnType<FusionMethod["apply"]>): Tensor => ("fused" in out ? out.fused : assert.fail("expected a fused output"));
const sigmoid = (x: number) => 1 / (1 + Math.exp(-x));

/** Runs a method on random inputs with the given presence columns (one array per modality). */
function runWith(m: FusionMethod, widths: number[], present: number[][], config = m.defaults) {
  const B = present[0]!.length;
  const p = m.init(new HostRng(1), vectorDims(widths), 2, config);
  return scoped(() => {
    const enc = encodedFrom(
      widths.map((d, i) => constant(randomArray(B * d, 20 + i, 2), [B, d])),
      present.map((s) => constant(s, [B])),
    );
    const out = m.apply(tensors(p), enc, { train: false, outDim: 2 }, config);
    return { fused: fusedOf(out), explain: out.explain! };
  });
}

describe("weights over modalities", () => {
  // rows: all present; modality 1 missing; only modality 2; none
  const present3 = [
    [1, 1, 0, 0],
    [1, 0, 0, 0],
    [1, 1, 1, 0],
  ];
  for (const m of hybridMethods) {
    test(`${m.name}: weights sum to 1 over present modalities, a missing modality gets exactly 0, outputs stay finite`, () => {
      for (const present of [present3, present3.slice(0, 2)]) {
        const M = present.length;
        const { fused, explain } = runWith(m, [4, 6, 3].slice(0, M), present);
        const w = explain.weights!;
        assert.deepEqual(w.shape, [4, M]);
        for (let r = 0; r < 4; r++) {
          let sum = 0;
          for (let k = 0; k < M; k++) {
            const weight = w.data[r * M + k]!;
            if (!present[k]![r]) assert.equal(weight, 0, `row ${r}: missing modality ${k} has weight ${weight}`);
            sum += weight;
          }
          const anyPresent = present.some((s) => s[r]);
          assert.ok(Math.abs(sum - (anyPresent ? 1 : 0)) < 1e-6, `row ${r} (M = ${M}): weights sum to ${sum}`);
        }
        assert.ok(fused.data.every(Number.isFinite));
        assert.ok(fused.data.slice(-fused.shape[1]!).every((v) => v === 0), "a row with no modality fuses to zeros");
      }
    });
  }

  test("gmu with 2 modalities is the paper's unit: h = z tanh(W_1 x_1) + (1 - z) tanh(W_2 x_2), z = sigmoid(W_z [x_1; x_2])", () => {
    const config = { dim: 3 };
    const p = gmu.init(new HostRng(5), vectorDims([2, 2]), 2, config) as any;
    const x1 = [0.5, -1];
    const x2 = [2, 0.25];
    const out = scoped(() => fusedOf(gmu.apply(tensors(p), encodedFrom([constant(x1, [1, 2]), constant(x2, [1, 2])], [constant([1], [1]), constant([1], [1])]), { train: false, outDim: 2 }, config)));
    const affine = (l: any, x: number[], k: number) => l.b.data[k] + x.reduce((s, v, i) => s + v * l.w.data[i * l.w.shape[1] + k], 0);
    for (let k = 0; k < 3; k++) {
      const z = sigmoid(affine(p.gate, [...x1, ...x2], k));
      const h = z * Math.tanh(affine(p.experts[0], x1, k)) + (1 - z) * Math.tanh(affine(p.experts[1], x2, k));
      assert.ok(Math.abs(out.data[k]! - h) < 1e-5, `unit ${k}: ${out.data[k]} vs ${h}`);
    }
  });

  test("both train with modality dropout 0.3", () => {
    assert.equal(gmu.modalityDropout, 0.3);
    assert.equal(attentionFusion.modalityDropout, 0.3);
  });

  test("attention_fusion: dim not divisible by heads is a FusionkitError naming the field", () => {
    assert.throws(() => resolveMethodConfig(attentionFusion, { dim: 30, heads: 4 }, vectorDims([4, 4])), (e: Error) => e instanceof FusionkitError && e.message.includes("heads (4) must divide dim (30)") && e.message.includes("attention_fusion"));
  });
});

describe("finite-difference gradients", () => {
  const B = 3;
  const x1 = randomArray(B * 5, 30);
  const x2 = randomArray(B * 3, 31);
  for (const m of hybridMethods) {
    for (const M of [2, 3]) {
      test(`${m.name} with ${M} modalities: w.r.t. a modality's features, one modality missing in one row`, () => {
        const widths = [4, 5, 3].slice(0, M);
        const p = m.init(new HostRng(32), vectorDims(widths), 2, m.defaults);
        const f = (x: Tensor) => {
          const others = [constant(x1, [B, 5]), constant(x2, [B, 3])].slice(0, M - 1);
          const present = [constant(ones(B), [B]), constant([1, 0, 1], [B]), constant([0, 1, 1], [B])].slice(0, M);
          const out = fusedOf(m.apply(tensors(p), encodedFrom([x, ...others], present), { train: false, outDim: 2 }, m.defaults));
          return out.mul(constant(randomArray(out.size, 33), out.shape));
        };
        checkGradientAgainst(f, f, randomArray(B * 4, 34), [B, 4]);
      });
    }
  }
});

describe("learning an interaction", () => {
  for (const m of hybridMethods) {
    test(`${m.name} learns XOR of two modalities (label = sign(A0) XOR sign(B0)) to >= 0.85`, () => {
      const trained = trainFusion(m, xorTask(2048, 1), { steps: 400, batch: 64, lr: 0.01 });
      const acc = trained.accuracy(xorTask(512, 2));
      assert.ok(acc >= 0.85, `${m.name} XOR test accuracy ${acc}`);
    });
  }

  test("attention_fusion with one weight set (TorchMultimodal's module) stalls near 3/4 on XOR: its decision rule is additive across modalities", () => {
    const trained = trainFusion(attentionFusion as unknown as FusionMethod, xorTask(2048, 1), { steps: 400, batch: 64, lr: 0.01, config: { heads: 1 } });
    const acc = trained.accuracy(xorTask(512, 2));
    assert.ok(acc < 0.8, `one weight set reached ${acc} on XOR`);
  });
});
