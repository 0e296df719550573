import { before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { resolveMethodConfig } from "../../src/fusion/config.ts";
import { startEngine } from "../../src/engine/backend.ts";
import { countParams } from "../../src/engine/params.ts";
import { HostRng } from "../../src/engine/random.ts";
import type { HostArray } from "../../src/engine/tensor.ts";
import { FusionkitError } from "../../src/errors.ts";
import { denseHierarchicalFusion, progressiveFusion, progressiveMethods, type DenseFusionConfig } from "../../src/fusion/progressiveFusion.ts";
import { assertFinite, checkMethodGradient, dimsOf, hostModality, maxAbsDiff, runMethod, trainOnXor, type HostModality } from "./methodHarness.ts";

before(startEngine);

// B = 3 rows of two vector modalities (1 token each); row 1 lacks "b", row 2 lacks both.
const modA = () => hostModality("a", 3, 1, 5, 1, { present: [1, 1, 0] });
const modB = () => hostModality("b", 3, 1, 4, 2, { present: [1, 0, 0] });

// ---- a float64 host reference of dense fusion, written from the equations -----------------
// (progressive fusion wraps the model's encoders, so its tests are in progressiveModel.test.ts)

type Matrix = number[][];
const relu = (v: number) => Math.max(0, v);
function hostLinear(p: { w: HostArray; b: HostArray }, x: Matrix): Matrix {
  const [inDim, outDim] = p.w.shape as [number, number];
  return x.map((row) => {
    assert.equal(row.length, inDim);
    return Array.from({ length: outDim }, (_, j) => row.reduce((s, v, i) => s + v * p.w.data[i * outDim + j]!, p.b.data[j]!));
  });
}
const hcat = (parts: Matrix[]): Matrix => parts[0]!.map((_, r) => parts.flatMap((p) => p[r]!));
const mapM = (x: Matrix, f: (v: number) => number): Matrix => x.map((row) => row.map(f));
/** x_m as the encoder contract gives it: the (1-token) input, zero when missing. */
const pooledOf = (m: HostModality): Matrix =>
  Array.from({ length: m.B }, (_, r) => Array.from(m.tokens.slice(r * m.d, (r + 1) * m.d), (v) => v * m.present[r]!));
const maskRows = (x: Matrix, m: HostModality): Matrix => x.map((row, r) => row.map((v) => v * m.present[r]!));

function denseReference(p: any, mods: HostModality[], cfg: DenseFusionConfig): Matrix {
  let h = mods.map(pooledOf);
  let s: Matrix | undefined;
  for (let l = 0; l < cfg.layers; l++) {
    h = h.map((x, m) => mapM(hostLinear(p.modality[m][l], x), relu));
    const contributions = h.map((x, m) => maskRows(x, mods[m]!));
    s = mapM(hostLinear(p.shared[l], hcat(s ? [s, ...contributions] : contributions)), relu);
  }
  return s!;
}

function assertMatches(engine: HostArray, reference: Matrix, what: string): void {
  assert.deepEqual(engine.shape, [reference.length, reference[0]!.length]);
  const worst = maxAbsDiff(engine.data, Float32Array.from(reference.flat()));
  assert.ok(worst < 1e-4, `${what}: engine and float64 reference differ by ${worst}`);
}

// ---- dense fusion -------------------------------------------------------------------------

describe("dense_fusion: equations and missing modalities", () => {
  const config = (o: Partial<DenseFusionConfig> = {}): DenseFusionConfig => ({ ...denseHierarchicalFusion.defaults, dim: 6, hidden: 5, ...o });

  for (const layers of [1, 3]) {
    test(`L = ${layers}: s^L matches a float64 evaluation of s^l = act(W_s s^(l-1) + sum_m U_m h_m^l + b)`, () => {
      const cfg = config({ layers });
      const mods = [modA(), modB()];
      const params = denseHierarchicalFusion.init(new HostRng(6), dimsOf(mods), 2, cfg);
      assertMatches(runMethod(denseHierarchicalFusion, params, mods, cfg).fused, denseReference(params, mods, cfg), `L = ${layers}`);
    });
  }

  test("M = 3: one stack per modality, all read by the shared layers", () => {
    const cfg = config({ layers: 2 });
    const mods = [modA(), modB(), hostModality("c", 3, 1, 3, 13, { present: [0, 1, 1] })];
    const params = denseHierarchicalFusion.init(new HostRng(14), dimsOf(mods), 2, cfg);
    assertMatches(runMethod(denseHierarchicalFusion, params, mods, cfg).fused, denseReference(params, mods, cfg), "M = 3");
  });

  test("parameter shapes: modality stacks of L layers, shared layers reading [s^(l-1); h_1^l; ...]", () => {
    const p = denseHierarchicalFusion.init(new HostRng(7), dimsOf([modA(), modB()]), 2, config()) as any;
    assert.deepEqual(p.modality[0].map((l: any) => l.w.shape), [[5, 5], [5, 5], [5, 5]]);
    assert.deepEqual(p.modality[1].map((l: any) => l.w.shape), [[4, 5], [5, 5], [5, 5]]);
    assert.deepEqual(p.shared.map((l: any) => l.w.shape), [[10, 6], [16, 6], [16, 6]]);
  });

  test("a missing modality's input does not change the output; outputs stay finite", () => {
    const cfg = config();
    const params = denseHierarchicalFusion.init(new HostRng(8), dimsOf([modA(), modB()]), 2, cfg);
    const base = runMethod(denseHierarchicalFusion, params, [modA(), modB()], cfg).fused.data;
    assertFinite(base, "fused");
    const staleB: HostModality = { ...modB(), tokens: modB().tokens.map((v, i) => (i >= 4 ? -30 : v)), droppedAfterEncoding: true };
    assert.ok(maxAbsDiff(base, runMethod(denseHierarchicalFusion, params, [modA(), staleB], cfg).fused.data) < 1e-6);
    const changedB = modB();
    changedB.tokens[0] = 2;
    assert.ok(maxAbsDiff(base, runMethod(denseHierarchicalFusion, params, [modA(), changedB], cfg).fused.data) > 1e-4);
  });

  test("finite differences w.r.t. each modality's input", () => {
    const cfg = config({ activation: "tanh" });
    const mods = [hostModality("a", 3, 1, 5, 9), hostModality("b", 3, 1, 4, 10)];
    const params = denseHierarchicalFusion.init(new HostRng(9), dimsOf(mods), 2, cfg);
    checkMethodGradient(denseHierarchicalFusion, params, mods, cfg, 0);
    checkMethodGradient(denseHierarchicalFusion, params, mods, cfg, 1);
  });
});

describe("progressive family: learning", () => {
  test("dense_fusion learns sign(a0) XOR sign(b0) to >= 0.85 test accuracy", () => {
    const r = trainOnXor(denseHierarchicalFusion, denseHierarchicalFusion.defaults, { steps: 300, lr: 0.01 });
    assert.ok(r.accuracy >= 0.85, `test accuracy ${r.accuracy} (final loss ${r.finalLoss})`);
  });
});

describe("progressive family: config validation", () => {
  const dims = dimsOf([modA(), modB()]);
  const rejects = (m: any, cfg: Record<string, unknown>, pattern: RegExp) =>
    assert.throws(() => resolveMethodConfig(m, cfg, dims), (e: Error) => e instanceof FusionkitError && pattern.test(e.message), `expected ${pattern}`);
  test("rounds < 1, layers < 1, a zero width and an unknown activation are rejected with the valid range", () => {
    rejects(progressiveFusion, { ...progressiveFusion.defaults, rounds: 0 }, /rounds must be an integer >= 1, got 0/);
    rejects(progressiveFusion, { ...progressiveFusion.defaults, dim: 0 }, /dim must be an integer >= 1/);
    rejects(denseHierarchicalFusion, { ...denseHierarchicalFusion.defaults, layers: 0 }, /layers must be an integer >= 1, got 0/);
    rejects(denseHierarchicalFusion, { ...denseHierarchicalFusion.defaults, hidden: 2.5 }, /hidden must be an integer >= 1/);
    rejects(denseHierarchicalFusion, { ...denseHierarchicalFusion.defaults, activation: "swish" }, /activation must be one of relu, gelu, tanh, sigmoid/);
  });
  test("the family exports progressive and dense_fusion", () => {
    assert.deepEqual(progressiveMethods.map((m) => [m.name, m.family]), [["progressive", "progressive"], ["dense_fusion", "progressive"]]);
  });
});
