import { before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { resolveMethodConfig } from "../../src/fusion/config.ts";
import { startEngine } from "../../src/engine/backend.ts";
import { countParams, type ParamTree } from "../../src/engine/params.ts";
import { HostRng } from "../../src/engine/random.ts";
import { constant, scoped, type Tensor } from "../../src/engine/tensor.ts";
import { FusionkitError } from "../../src/errors.ts";
import { lmf, lmfParameterCount, lowRankAdvice, lowRankMethods, tfn, tfnParameterCount } from "../../src/fusion/lowRankFusion.ts";
import type { FusionMethod } from "../../src/fusion/types.ts";
import { randomArray } from "../engine/gradcheck.ts";
import { checkGradientAgainst, encodedFrom, ones, tensors, trainFusion, vectorDims, xorTask } from "./fusionHarness.ts";

before(startEngine);

const fusedOf = (out: ReturnType<FusionMethod["apply"]>): Tensor => ("fused" in out ? out.fused : assert.fail("expected a fused output"));

describe("parameter counts equal the papers' formulas", () => {
  test("TFN fusion layer: d_y * prod_m (d_m + 1) + d_y", () => {
    for (const [projectionDim, M, dim] of [[3, 2, 6], [4, 3, 5], [8, 2, 32]] as const) {
      const p = tfn.init(new HostRng(1), vectorDims(Array(M).fill(16)), 2, { ...tfn.defaults, projectionDim, dim }) as any;
      const expected = dim * (projectionDim + 1) ** M + dim;
      assert.equal(countParams(p.fusion), expected);
      assert.equal(tfnParameterCount(Array(M).fill(projectionDim), dim), expected);
    }
  });
  test("LMF: r * d_y * sum_m (d_m + 1) + r + d_y", () => {
    for (const [widths, dim, rank] of [[[5, 7], 6, 3], [[4, 9, 2], 8, 1], [[16, 16], 32, 4]] as const) {
      const p = lmf.init(new HostRng(1), vectorDims([...widths]), 2, { dim, rank });
      const expected = rank * dim * widths.reduce((n, d) => n + d + 1, 0) + rank + dim;
      assert.equal(countParams(p as ParamTree), expected);
      assert.equal(lmfParameterCount([...widths], dim, rank), expected);
    }
  });
  test("lowRankAdvice: AV-MNIST 48/192 -> 120 at rank 40 favours TFN; 32/32/64 -> 64 at rank 4 favours LMF (methods.md)", () => {
    const avMnist = lowRankAdvice([48, 192], 120, 40);
    assert.deepEqual([avMnist.tfn, avMnist.lmf, avMnist.smaller], [1_134_960, 1_161_760, "tfn"]);
    assert.match(avMnist.message, /saves nothing/);
    const three = lowRankAdvice([32, 32, 64], 64, 4);
    assert.deepEqual([three.tfn, three.lmf, three.smaller], [4_530_304, 33_604, "lmf"]);
    assert.match(three.message, /134\.8x smaller/);
  });
});

describe("configuration errors", () => {
  test("LMF rank < 1 (or not an integer) is a FusionkitError naming the field", () => {
    for (const rank of [0, -2, 1.5]) {
      assert.throws(() => resolveMethodConfig(lmf, { dim: 8, rank }, vectorDims([4, 4])), (e: Error) => e instanceof FusionkitError && /rank must be an integer >= 1/.test(e.message) && e.message.includes("lmf"));
    }
  });
  test("a TFN whose outer product exceeds the size limit is rejected with advice to use lmf", () => {
    assert.throws(
      () => resolveMethodConfig(tfn, { ...tfn.defaults, projectionDim: 64 }, vectorDims([32, 32, 32])),
      (e: Error) => e instanceof FusionkitError && e.message.includes("274,625 entries") && /use lmf/.test(e.message) && e.message.includes("projectionDim"),
    );
    assert.doesNotThrow(() => resolveMethodConfig(tfn, tfn.defaults as any, vectorDims([32, 32, 32])));
  });
});

describe("closed forms and missing modalities", () => {
  test("TFN: y = W vec([h_1; 1] (x) [h_2; 1]) + b, row-major with modality 1 slowest, and a missing h_m becomes [0; 1]", () => {
    const config = { dim: 2, projectionDim: 2, maxTensorSize: 100 };
    const p = tfn.init(new HostRng(3), vectorDims([2, 2]), 2, config) as any;
    // identity projections: u_m = [s_m h_m; 1]
    for (const proj of p.projections) {
      proj.w.data.set([1, 0, 0, 1]);
      proj.b.data.set([0.5, -0.5]); // a bias, to check it is zeroed with a missing modality
    }
    p.fusion.b.data.set([0.25, -3]);
    const h1 = [[1, 2], [3, -1]];
    const h2 = [[-1, 0.5], [2, 2]];
    const present2 = [1, 0];
    const out = scoped(() => {
      const enc = encodedFrom([constant(h1.flat(), [2, 2]), constant(h2.flat(), [2, 2])], [constant(ones(2), [2]), constant(present2, [2])]);
      return fusedOf(tfn.apply(tensors(p), enc, { train: false, outDim: 2 }, config));
    });
    for (let r = 0; r < 2; r++) {
      const u1 = [h1[r]![0]! + 0.5, h1[r]![1]! - 0.5, 1];
      const u2 = present2[r] ? [h2[r]![0]! + 0.5, h2[r]![1]! - 0.5, 1] : [0, 0, 1];
      for (let k = 0; k < 2; k++) {
        let y = p.fusion.b.data[k];
        for (let i = 0; i < 3; i++) for (let j = 0; j < 3; j++) y += u1[i]! * u2[j]! * p.fusion.w.data[(i * 3 + j) * 2 + k];
        assert.ok(Math.abs(out.data[r * 2 + k]! - Math.max(0, y)) < 1e-5, `row ${r} unit ${k}: ${out.data[r * 2 + k]} vs ReLU(${y})`);
      }
    }
  });

  test("LMF: y = sum_i lambda_i prod_m ([h_m; 1] W_m^(i)) + b, a missing modality's factor is all ones", () => {
    const config = { dim: 3, rank: 2 };
    const dims = [2, 3];
    const p = lmf.init(new HostRng(4), vectorDims(dims), 2, config) as any;
    p.lambda.data.set([0.7, -1.3]);
    p.bias.data.set([0.1, 0.2, 0.3]);
    const h = [randomArray(2 * 2, 5), randomArray(2 * 3, 6)];
    const present2 = [1, 0];
    const out = scoped(() => {
      const enc = encodedFrom([constant(h[0]!, [2, 2]), constant(h[1]!, [2, 3])], [constant(ones(2), [2]), constant(present2, [2])]);
      return fusedOf(lmf.apply(tensors(p), enc, { train: false, outDim: 2 }, config));
    });
    for (let r = 0; r < 2; r++) {
      for (let k = 0; k < 3; k++) {
        let y = p.bias.data[k];
        for (let i = 0; i < 2; i++) {
          let product = 1;
          dims.forEach((d, m) => {
            if (m === 1 && !present2[r]) return; // ones: drops out
            const u = [...h[m]!.slice(r * d, (r + 1) * d), 1];
            let f = 0;
            u.forEach((v, j) => (f += v * p.factors[m].data[j * 2 * 3 + i * 3 + k]));
            product *= f;
          });
          y += p.lambda.data[i] * product;
        }
        assert.ok(Math.abs(out.data[r * 3 + k]! - y) < 1e-4, `row ${r} unit ${k}: ${out.data[r * 3 + k]} vs ${y}`);
      }
    }
  });

  test("outputs stay finite when modalities are missing (one, or all)", () => {
    for (const m of lowRankMethods) {
      const p = m.init(new HostRng(2), vectorDims([4, 5, 3]), 2, m.defaults);
      const out = scoped(() => {
        const enc = encodedFrom(
          [constant(randomArray(12, 1, 3), [3, 4]), constant(randomArray(15, 2, 3), [3, 5]), constant(randomArray(9, 3, 3), [3, 3])],
          [constant([1, 0, 0], [3]), constant([1, 1, 0], [3]), constant([0, 1, 0], [3])],
        );
        return fusedOf(m.apply(tensors(p), enc, { train: false, outDim: 2 }, m.defaults));
      });
      assert.ok(out.data.every(Number.isFinite), `${m.name}: ${out.data}`);
    }
  });
});

describe("finite-difference gradients", () => {
  const B = 3;
  const x1 = randomArray(B * 5, 8);
  // built inside each traced function: Tensors only exist within a scope
  const present = () => [constant(ones(B), [B]), constant([1, 0, 1], [B])];
  for (const m of lowRankMethods) {
    test(`${m.name}: w.r.t. a modality's features`, () => {
      const p = m.init(new HostRng(9), vectorDims([4, 5]), 2, m.defaults);
      const f = (x: Tensor) => {
        const out = fusedOf(m.apply(tensors(p), encodedFrom([x, constant(x1, [B, 5])], present()), { train: false, outDim: 2 }, m.defaults));
        return out.mul(constant(randomArray(out.size, 10), out.shape));
      };
      checkGradientAgainst(f, f, randomArray(B * 4, 11), [B, 4]);
    });
  }
  test("lmf: w.r.t. a modality factor (the parameters MultiBench's LMF left out of its optimiser)", () => {
    const p = lmf.init(new HostRng(12), vectorDims([4, 5]), 2, lmf.defaults) as any;
    const factor = p.factors[1];
    const f = (w: Tensor) => {
      const params = tensors(p);
      params.factors[1] = w;
      const out = fusedOf(lmf.apply(params, encodedFrom([constant(randomArray(B * 4, 13), [B, 4]), constant(x1, [B, 5])], present()), { train: false, outDim: 2 }, lmf.defaults));
      return out.square();
    };
    checkGradientAgainst(f, f, factor.data, factor.shape);
  });
});

describe("learning an interaction", () => {
  for (const m of lowRankMethods) {
    test(`${m.name} learns XOR of two modalities (label = sign(A0) XOR sign(B0)) to >= 0.85`, () => {
      const trained = trainFusion(m, xorTask(2048, 1), { steps: 400, batch: 64, lr: 0.01 });
      const acc = trained.accuracy(xorTask(512, 2));
      assert.ok(acc >= 0.85, `${m.name} XOR test accuracy ${acc}`);
    });
  }
});
