import { before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { startEngine } from "../../src/engine/backend.ts";
import { HostRng } from "../../src/engine/random.ts";
import { constant, scoped, type Tensor } from "../../src/engine/tensor.ts";
import {
  attention, conv1d, conv2d, embedding, initAttention, initConv1d, initConv2d, initEmbedding, initLayerNorm, initLinear, initMlp, initConv2dChannelsLast,
  layerNorm, linear, maskedMean, maxPool2, mlp, conv2dChannelsLast,
} from "../../src/engine/layers.ts";
import { checkGradient, randomArray } from "./gradcheck.ts";

before(startEngine);

/** Host param tree -> Tensor tree inside a scope. */
function tensors(tree: any): any {
  if (tree && tree.data instanceof Float32Array) return constant(tree.data, tree.shape);
  if (Array.isArray(tree)) return tree.map(tensors);
  return Object.fromEntries(Object.entries(tree).map(([k, v]) => [k, tensors(v)]));
}

describe("layers: finite-difference gradients", () => {
  const rng = new HostRng(1);
  test("Linear", () => {
    const p = initLinear(rng, 5, 3);
    checkGradient((x) => linear(tensors(p), x).tanh(), randomArray(4 * 5, 1), [4, 5]);
  });
  test("MLP with odd widths (padded matmul path)", () => {
    const p = initMlp(rng, [7, 9, 3], "tanh");
    checkGradient((x) => mlp(tensors(p), x, { act: "tanh" }), randomArray(2 * 7, 2), [2, 7]);
  });
  test("LayerNorm", () => {
    const p = initLayerNorm(6);
    checkGradient((x) => layerNorm(tensors(p), x).mul(constant(randomArray(6, 9), [6])), randomArray(3 * 6, 3), [3, 6]);
  });
  test("Embedding (gradient w.r.t. the table)", () => {
    const ids = new Float32Array([0, 2, 2, 1]);
    checkGradient((table) => embedding({ table }, constant(ids, [4])).square(), randomArray(3 * 4, 4), [3, 4]);
  });
  test("attention with a key mask", () => {
    const p = initAttention(rng, 8, 8, 8);
    const ctx = randomArray(2 * 3 * 8, 5);
    const mask = new Float32Array([1, 1, 0, 1, 0, 0]);
    checkGradient((q) => attention(tensors(p), q, constant(ctx, [2, 3, 8]), { heads: 2, keyMask: constant(mask, [2, 3]) }).out, randomArray(2 * 2 * 8, 6), [2, 2, 8]);
  });
  test("Conv2d", () => {
    const p = initConv2d(rng, 2, 3, 3);
    checkGradient((x) => conv2d(tensors(p), x, 2).tanh(), randomArray(1 * 2 * 4 * 4, 7), [1, 2, 4, 4]);
  });
  test("Conv2dChannelsLast (im2col), odd and even kernels, w.r.t. the input and the weights", () => {
    const p3 = initConv2dChannelsLast(rng, 2, 3, 3);
    checkGradient((x) => conv2dChannelsLast(tensors(p3), x, 3).tanh(), randomArray(2 * 4 * 5 * 2, 13), [2, 4, 5, 2]);
    const p2 = initConv2dChannelsLast(rng, 1, 2, 2);
    checkGradient((x) => conv2dChannelsLast(tensors(p2), x, 2).tanh(), randomArray(1 * 3 * 3 * 1, 14), [1, 3, 3, 1]);
    const x = randomArray(1 * 4 * 4 * 2, 15);
    checkGradient((w) => conv2dChannelsLast({ w, b: constant(p3.b.data, p3.b.shape) }, constant(x, [1, 4, 4, 2]), 3).tanh(), p3.w.data, p3.w.shape);
  });
  test("2x2 max pooling, odd sides padded", () => {
    // distinct values so the max of each block is unique (a tie's gradient is split by convention)
    // and at least 3 finite-difference steps apart, so no step crosses a tie
    const x0 = new Float32Array(2 * 5 * 3 * 2).map((_, i) => 0.03 * ((i * 37) % 60));
    checkGradient((x) => maxPool2(x).tanh(), x0, [2, 5, 3, 2]);
  });
  test("Conv1d", () => {
    const p = initConv1d(rng, 3, 4, 3);
    checkGradient((x) => conv1d(tensors(p), x).tanh(), randomArray(2 * 5 * 3, 8), [2, 5, 3]);
  });
  test("masked mean", () => {
    const mask = new Float32Array([1, 1, 0, 0, 0, 0]);
    checkGradient((x) => maskedMean(x, constant(mask, [2, 3])).square(), randomArray(2 * 3 * 2, 10), [2, 3, 2]);
  });
});

describe("layers: closed forms", () => {
  test("Conv2dChannelsLast (im2col) equals the direct sum over offsets ('SAME' padding, floor((k-1)/2) before) and conv2d (lax.conv)", () => {
    const rng = new HostRng(4);
    for (const k of [1, 2, 3, 5]) {
      const [B, H, W, C, O] = [2, 5, 4, 3, 2];
      const p = initConv2dChannelsLast(rng, C, O, k);
      p.b.data.set([0.5, -0.25]);
      const x = randomArray(B * H * W * C, 20 + k);
      const out = scoped(() => conv2dChannelsLast(tensors(p), constant(x, [B, H, W, C]), k));
      assert.deepEqual(out.shape, [B, H, W, O]);
      const lo = Math.floor((k - 1) / 2);
      let worst = 0;
      for (let b = 0; b < B; b++) for (let i = 0; i < H; i++) for (let j = 0; j < W; j++) for (let o = 0; o < O; o++) {
        let y = p.b.data[o]!;
        for (let dy = 0; dy < k; dy++) for (let dx = 0; dx < k; dx++) for (let c = 0; c < C; c++) {
          const [r, q] = [i + dy - lo, j + dx - lo];
          if (r >= 0 && r < H && q >= 0 && q < W) y += x[((b * H + r) * W + q) * C + c]! * p.w.data[((dy * k + dx) * C + c) * O + o]!;
        }
        worst = Math.max(worst, Math.abs(y - out.data[((b * H + i) * W + j) * O + o]!));
      }
      assert.ok(worst < 1e-5, `kernel ${k}: off by ${worst}`);
      if (k % 2 === 0) continue;
      // the same weights as an [O, C, k, k] kernel for conv2d on NCHW
      const w = new Float32Array(O * C * k * k);
      for (let o = 0; o < O; o++) for (let c = 0; c < C; c++) for (let dy = 0; dy < k; dy++) for (let dx = 0; dx < k; dx++) {
        w[((o * C + c) * k + dy) * k + dx] = p.w.data[((dy * k + dx) * C + c) * O + o]!;
      }
      const viaLax = scoped(() => conv2d({ w: constant(w, [O, C, k, k]), b: constant(p.b.data, [O]) }, constant(x, [B, H, W, C]).transpose([0, 3, 1, 2])).transpose([0, 2, 3, 1]));
      const gap = Math.max(...viaLax.data.map((v, i) => Math.abs(v - out.data[i]!)));
      assert.ok(gap < 1e-5, `kernel ${k}: conv2d differs by ${gap}`);
    }
  });

  test("2x2 max pooling takes each block's max; an odd side's extra row/column is a zero", () => {
    const x = new Float32Array([1, 5, 2, 3, 4, 0, 7, 1, 2]); // [1, 3, 3, 1]
    const out = scoped(() => maxPool2(constant(x, [1, 3, 3, 1])));
    assert.deepEqual(out.shape, [1, 2, 2, 1]);
    assert.deepEqual([...out.data], [5, 2, 7, 2]);
  });

  test("attention over identical keys returns the mean of the values", () => {
    const rng = new HostRng(3);
    const p = initAttention(rng, 4, 4, 4);
    // identity projections: q = k = v = x, o = identity
    const eye = new Float32Array(16);
    for (let i = 0; i < 4; i++) eye[i * 5] = 1;
    const id = { w: { data: eye, shape: [4, 4] }, b: { data: new Float32Array(4), shape: [4] } };
    const params = { q: id, k: { w: { data: new Float32Array(16), shape: [4, 4] }, b: p.k.b }, v: id, o: id };
    const ctx = randomArray(1 * 5 * 4, 11);
    const out = scoped(() => attention(tensors(params), constant(randomArray(4, 12), [1, 1, 4]), constant(ctx, [1, 5, 4]), { heads: 1 }).out);
    for (let d = 0; d < 4; d++) {
      let mean = 0;
      for (let t = 0; t < 5; t++) mean += ctx[t * 4 + d]! / 5;
      assert.ok(Math.abs(out.data[d]! - mean) < 1e-5, `dim ${d}: ${out.data[d]} vs mean ${mean}`);
    }
  });
  test("attention weights are rows summing to 1 and give masked keys zero weight", () => {
    const p = initAttention(new HostRng(4), 4, 4, 4);
    const mask = new Float32Array([1, 0, 1, 0]);
    const w = scoped(() => attention(tensors(p), constant(randomArray(2 * 4, 13), [1, 2, 4]), constant(randomArray(4 * 4, 14), [1, 4, 4]), { heads: 2, keyMask: constant(mask, [1, 4]) }).weights);
    assert.deepEqual(w.shape, [1, 2, 2, 4]);
    for (let r = 0; r < 4; r++) {
      const row = w.data.slice(r * 4, r * 4 + 4);
      assert.ok(Math.abs(row.reduce((a, b) => a + b, 0) - 1) < 1e-5);
      assert.equal(row[1], 0);
      assert.equal(row[3], 0);
    }
  });
  test("LayerNorm output has zero mean and unit variance", () => {
    const out = scoped(() => layerNorm(tensors(initLayerNorm(16)), constant(randomArray(3 * 16, 15, 5), [3, 16])));
    for (let r = 0; r < 3; r++) {
      const row = Array.from(out.data.slice(r * 16, r * 16 + 16));
      const mean = row.reduce((a, b) => a + b, 0) / 16;
      const variance = row.reduce((a, b) => a + (b - mean) ** 2, 0) / 16;
      assert.ok(Math.abs(mean) < 1e-5, `mean ${mean}`);
      assert.ok(Math.abs(variance - 1) < 1e-3, `variance ${variance}`);
    }
  });
});

describe("layers: bad input", () => {
  test("a wrong input width names the layer and both shapes", () => {
    const p = initLinear(new HostRng(0), 300, 64);
    assert.throws(
      () => scoped(() => linear(tensors(p), constant(new Float32Array(32 * 74), [32, 74]))),
      (e: Error) => e.message.includes("Linear(300 -> 64)") && e.message.includes("[..., 300]") && e.message.includes("[32, 74]"),
    );
  });
  test("attention with mismatched batch sizes names the layer", () => {
    const p = initAttention(new HostRng(0), 4, 4, 4);
    assert.throws(
      () => scoped(() => attention(tensors(p), constant(new Float32Array(8), [2, 1, 4]), constant(new Float32Array(12), [3, 1, 4]), { heads: 2 })),
      /Attention\(heads=2\).*\[2, 1, 4\].*\[3, 1, 4\]/,
    );
  });
});
