import { before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { resolveMethodConfig } from "../../src/fusion/config.ts";
import { startEngine } from "../../src/engine/backend.ts";
import { countParams } from "../../src/engine/params.ts";
import { HostRng } from "../../src/engine/random.ts";
import { constant, scoped, type Tensor } from "../../src/engine/tensor.ts";
import { FusionkitError } from "../../src/errors.ts";
import { earlyFusion, type EarlyFusionConfig } from "../../src/fusion/earlyFusion.ts";
import { unimodalMethod } from "../../src/fusion/unimodal.ts";
import type { Encoded, EncodedDims } from "../../src/encoders/types.ts";
import { checkGradient, randomArray } from "../engine/gradcheck.ts";
import { tensors } from "../model/helpers.ts";

before(startEngine);

const B = 3;
const dims: EncodedDims[] = [
  { name: "a", type: "vector", dim: 5, tokens: 1 },
  { name: "b", type: "text", dim: 7, tokens: 4 },
];
const config: EarlyFusionConfig = { projectDim: 4, hidden: [6, 3], dropout: 0 };

/** Encoded inputs from pooled arrays (tokens are not read by vector-level methods). */
function encoded(pooled: Float32Array[], present: number[][]): Encoded[] {
  return dims.map((d, m) => ({
    name: d.name,
    type: d.type,
    pooled: constant(pooled[m]!, [B, d.dim]),
    tokens: constant(new Float32Array(B * d.tokens * d.dim), [B, d.tokens, d.dim]),
    tokenMask: constant(new Float32Array(B * d.tokens), [B, d.tokens]),
    present: constant(present[m]!, [B]),
  }));
}

describe("early fusion", () => {
  test("parameter count matches the header's formula", () => {
    const p = earlyFusion.init(new HostRng(1), dims, 2, config);
    const M = dims.length;
    const projections = dims.reduce((n, d) => n + (d.dim + 1) * config.projectDim, 0);
    const n0 = M * config.projectDim + M;
    const joint = (n0 + 1) * 6 + (6 + 1) * 3;
    assert.equal(countParams(p), projections + joint);
    assert.equal(earlyFusion.fusedDim!(dims, config), 3);
  });

  test("a missing modality's features cannot reach the fused vector", () => {
    const p = earlyFusion.init(new HostRng(2), dims, 2, config);
    const run = (b: Float32Array) =>
      scoped(() => (earlyFusion.apply(tensors(p), encoded([randomArray(B * 5, 3), b], [[1, 1, 1], [1, 0, 1]]), { train: false, outDim: 2 }, config) as { fused: Tensor }).fused);
    const first = run(randomArray(B * 7, 4));
    const second = run(randomArray(B * 7, 5));
    // row 1 (b missing) is identical; rows 0 and 2 (b present) change
    assert.deepEqual(first.data.slice(3, 6), second.data.slice(3, 6));
    assert.notDeepEqual(first.data.slice(0, 3), second.data.slice(0, 3));
  });

  test("gradient w.r.t. the modality features matches finite differences", () => {
    const p = earlyFusion.init(new HostRng(3), dims, 2, { ...config, hidden: [6] });
    const bPooled = randomArray(B * 7, 6);
    const f = (a: Tensor) => {
      const e = encoded([new Float32Array(B * 5), bPooled], [[1, 1, 1], [1, 1, 0]]);
      e[0] = { ...e[0]!, pooled: a };
      return (earlyFusion.apply(tensors(p), e, { train: false, outDim: 2 }, { ...config, hidden: [6] }) as { fused: Tensor }).fused;
    };
    checkGradient((a) => f(a).tanh(), randomArray(B * 5, 7), [B, 5], { eps: 1e-3 });
  });

  test("bad configs are refused naming the field", () => {
    assert.throws(() => resolveMethodConfig(earlyFusion, { ...config, hidden: [] }, dims), (e: unknown) => e instanceof FusionkitError && /hidden/.test(e.message));
    assert.throws(() => resolveMethodConfig(earlyFusion, { ...config, projectDim: 0 }, dims), (e: unknown) => e instanceof FusionkitError && /projectDim/.test(e.message));
  });
});

describe("unimodal baseline", () => {
  test("uses only its modality, and gives zero features when that modality is missing", () => {
    const method = unimodalMethod("b");
    const cfg = { hidden: [4], dropout: 0 };
    const p = method.init(new HostRng(4), dims, 2, cfg);
    const run = (a: Float32Array) =>
      scoped(() => (method.apply(tensors(p), encoded([a, randomArray(B * 7, 8)], [[1, 1, 1], [1, 1, 0]]), { train: false, outDim: 2 }, cfg) as { fused: Tensor }).fused);
    const x = run(randomArray(B * 5, 9));
    assert.deepEqual(run(randomArray(B * 5, 10)).data, x.data); // modality a is ignored
    assert.deepEqual(Array.from(x.data.slice(8, 12)), [0, 0, 0, 0]); // row 2: b missing
    assert.equal(method.name, "unimodal:b");
    assert.throws(() => resolveMethodConfig(method, cfg, [dims[0]!]), /unimodal:a/);
  });
});
