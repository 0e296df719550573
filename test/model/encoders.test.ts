import { before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { startEngine } from "../../src/engine/backend.ts";
import { HostRng } from "../../src/engine/random.ts";
import { constant, scoped, type Tensor } from "../../src/engine/tensor.ts";
import { flattenParams } from "../../src/engine/params.ts";
import { TrainStep } from "../../src/engine/step.ts";
import { encoderFor, imageEncoder } from "../../src/encoders/index.ts";
import { randomArray } from "../engine/gradcheck.ts";
import { maxAbs, mixedSpecs, tensors } from "./helpers.ts";

before(startEngine);

const B = 3;
const dim = 8;

/** Inputs for one spec: random values (valid ids/codes for text/tabular), given presence, full token masks except row 0's tail. */
function hostInput(spec: (typeof mixedSpecs)[number], present: number[], seed: number) {
  const width = spec.shape.reduce((a, b) => a * b, 1);
  const input = randomArray(B * width, seed);
  if (spec.type === "text") for (let i = 0; i < input.length; i++) input[i] = 2 + (Math.abs(Math.round(input[i]! * 100)) % 10);
  if (spec.type === "tabular") for (let r = 0; r < B; r++) input[r * width + 2] = r % 4;
  const T = spec.shape[0]!;
  const tokenMask = new Float32Array(B * T).fill(1);
  tokenMask.fill(0, T - 2, T); // row 0: the last two tokens are padding
  return { input, tokenMask, present: new Float32Array(present) };
}

const enc = (spec: (typeof mixedSpecs)[number]) => encoderFor(spec, dim).dims;

function encode(spec: (typeof mixedSpecs)[number], host: ReturnType<typeof hostInput>, params: any, feedback?: Float32Array) {
  const enc = encoderFor(spec, dim);
  const hasMask = spec.type === "text" || spec.type === "audio" || spec.type === "sequence";
  return scoped(() => {
    const e = enc.apply(tensors(params), {
      input: constant(host.input, [B, ...spec.shape]),
      ...(hasMask ? { tokenMask: constant(host.tokenMask, [B, spec.shape[0]!]) } : {}),
      present: constant(host.present, [B]),
      ...(feedback ? { feedback: constant(feedback, [B, dim]) } : {}),
    });
    return { pooled: e.pooled, tokens: e.tokens, tokenMask: e.tokenMask };
  });
}

describe("encoders", () => {
  for (const spec of mixedSpecs) {
    test(`${spec.type}: input-stage feedback (progressive fusion) moves present rows only; zero feedback changes nothing`, () => {
      const params = encoderFor(spec, dim).init(new HostRng(3));
      const host = hostInput(spec, [1, 0, 1], 4);
      const plain = encode(spec, host, params);
      const zero = encode(spec, host, params, new Float32Array(B * dim));
      assert.deepEqual(zero.pooled.data, plain.pooled.data);
      const fed = encode(spec, host, params, randomArray(B * dim, 5).map((v) => 3 * v));
      assert.ok(maxAbs(fed.pooled.data.slice(0, dim).map((v, i) => v - plain.pooled.data[i]!)) > 1e-3, "row 0 moved");
      assert.equal(maxAbs(fed.pooled.data.slice(dim, 2 * dim)), 0, "the missing row stays exactly zero");
      assert.equal(maxAbs(fed.tokens.data.slice(enc(spec).tokens * dim, 2 * enc(spec).tokens * dim)), 0);
    });
  }
  for (const spec of mixedSpecs) {
    test(`${spec.type}: shapes follow EncodedDims, and a missing modality reaches fusion as exact zeros`, () => {
      const enc = encoderFor(spec, dim);
      const params = enc.init(new HostRng(1));
      const host = hostInput(spec, [1, 0, 1], 2);
      const out = encode(spec, host, params);
      const T = enc.dims.tokens;
      assert.deepEqual(out.pooled.shape, [B, dim]);
      assert.deepEqual(out.tokens.shape, [B, T, dim]);
      assert.deepEqual(out.tokenMask.shape, [B, T]);
      // row 1 is missing: pooled, tokens and mask all zero
      assert.equal(maxAbs(out.pooled.data.slice(dim, 2 * dim)), 0);
      assert.equal(maxAbs(out.tokens.data.slice(T * dim, 2 * T * dim)), 0);
      assert.equal(maxAbs(out.tokenMask.data.slice(T, 2 * T)), 0);
      // present rows carry signal
      assert.ok(maxAbs(out.pooled.data.slice(0, dim)) > 0);
      assert.ok(maxAbs(out.pooled.data.slice(2 * dim)) > 0);
      // and whatever a missing row's zero-filled input would have given, it cannot leak: change it, nothing moves
      const width = spec.shape.reduce((a, b) => a * b, 1);
      const edited = { ...host, input: host.input.slice() };
      for (let i = width; i < 2 * width; i++) edited.input[i] = spec.type === "text" ? 3 : spec.type === "tabular" ? 1 : 5;
      const again = encode(spec, edited, params);
      assert.deepEqual(again.pooled.data, out.pooled.data);
    });
  }

  for (const spec of mixedSpecs.filter((s) => s.type === "text" || s.type === "audio" || s.type === "sequence")) {
    test(`${spec.type}: padded positions are masked out of the tokens and the pooled summary`, () => {
      const params = encoderFor(spec, dim).init(new HostRng(3));
      const host = hostInput(spec, [1, 1, 1], 4);
      const out = encode(spec, host, params);
      const T = spec.shape[0]!;
      assert.deepEqual(Array.from(out.tokenMask.data.slice(0, T)), [...new Array(T - 2).fill(1), 0, 0]);
      assert.equal(maxAbs(out.tokens.data.slice((T - 2) * dim, T * dim)), 0);
      // change row 0's padded inputs: its pooled summary stays exactly the same
      const width = spec.shape.reduce((a, b) => a * b, 1);
      const stepWidth = width / T;
      const edited = { ...host, input: host.input.slice() };
      for (let i = (T - 2) * stepWidth; i < T * stepWidth; i++) edited.input[i] = spec.type === "text" ? 7 : 9;
      const again = encode(spec, edited, params);
      assert.deepEqual(again.pooled.data.slice(0, dim), out.pooled.data.slice(0, dim));
    });
  }

  test("image: patch embedding cuts non-overlapping P x P patches in row-major patch order", () => {
    // 4 x 4 x 1 image, P = 2: patch weights all 1, bias 0, positions 0 -> token t = sum of patch t's pixels
    const spec = { name: "img", type: "image" as const, shape: [4, 4, 1] };
    const enc = imageEncoder(spec, 4, 2);
    const p = enc.init(new HostRng(5)) as any;
    p.patch.w.data.fill(1);
    p.positions.data.fill(0);
    const pixels = Float32Array.from({ length: 16 }, (_, i) => i); // pixel (r, c) = 4r + c
    const out = scoped(() => enc.apply(tensors(p), { input: constant(pixels, [1, 4, 4, 1]), present: constant([1], [1]) }).tokens);
    assert.deepEqual(out.shape, [1, 4, 4]);
    const sums = [0 + 1 + 4 + 5, 2 + 3 + 6 + 7, 8 + 9 + 12 + 13, 10 + 11 + 14 + 15];
    for (let t = 0; t < 4; t++) assert.equal(out.data[t * 4], sums[t], `patch ${t}`);
  });

  test("tabular: a categorical embedding's gradient trains under jit (jax-js scatter workaround)", () => {
    // Pins the workaround in src/encoders/tabular.ts: without the presence multiply
    // this step fails with "jit: routine primitive scatter input is not imm".
    const spec = mixedSpecs[1]!;
    const enc = encoderFor(spec, dim);
    const { layout, flat } = flattenParams(enc.init(new HostRng(6)));
    const host = hostInput(spec, [1, 1, 1], 7);
    const step = new TrainStep(layout, flat, (p, b) => {
      const e = enc.apply(p, { input: b.input as Tensor, present: b.present as Tensor });
      return { loss: e.pooled.square().mean() };
    }, { optimizer: { kind: "sgd", momentum: 0 } });
    try {
      const batch = { input: { data: host.input, shape: [B, 3] }, present: { data: host.present, shape: [B] } };
      const first = step.step(batch, 0.1, 1).loss!;
      const before = step.currentParams();
      step.step(batch, 0.1, 2);
      const after = step.currentParams();
      const table = layout.entries.find((e) => e.name === "categorical.table")!;
      let moved = 0;
      for (let i = table.offset; i < table.offset + table.size; i++) moved = Math.max(moved, Math.abs(after[i]! - before[i]!));
      assert.ok(Number.isFinite(first) && moved > 0, `embedding table did not move (max change ${moved})`);
    } finally {
      step.dispose();
    }
  });
});
