/**
 * Shared scaffolding for the fusion-method tests (intermediate, transformer,
 * progressive): building `Encoded` inputs from host arrays, running a method
 * eagerly, finite-difference checks through a method, and a small compiled
 * training loop (method + linear head) on an interaction task generated here.
 */
import assert from "node:assert/strict";
import { initLinear, linear, maskedMean } from "../../src/engine/layers.ts";
import { softmaxCrossEntropy } from "../../src/engine/losses.ts";
import { flattenParams, type ParamTree } from "../../src/engine/params.ts";
import { HostRng, Rng, stepKey } from "../../src/engine/random.ts";
import { EvalStep, TrainStep, type HostBatch } from "../../src/engine/step.ts";
import { adopt, constant, scoped, type HostArray, type Tensor } from "../../src/engine/tensor.ts";
import type { Encoded, EncodedDims } from "../../src/encoders/types.ts";
import type { FusionMethod, FusionOutput } from "../../src/fusion/types.ts";
import { checkGradient, randomArray } from "../engine/gradcheck.ts";

/** Host param tree -> Tensor tree inside a scope. */
export function tensors(tree: any): any {
  if (tree && tree.data instanceof Float32Array) return constant(tree.data, tree.shape);
  if (Array.isArray(tree)) return tree.map(tensors);
  return Object.fromEntries(Object.entries(tree).map(([k, v]) => [k, tensors(v)]));
}

/**
 * One modality on the host: tokens [B, T, d], mask [B, T], present [B].
 * `droppedAfterEncoding`: `present` was zeroed after the encoder ran (the model's
 * modality dropout does this), so tokenMask and pooled still carry the row's data.
 */
export type HostModality = {
  name: string;
  tokens: Float32Array;
  mask: Float32Array;
  present: Float32Array;
  B: number;
  T: number;
  d: number;
  droppedAfterEncoding?: boolean;
};

export function hostModality(name: string, B: number, T: number, d: number, seed: number, opts: { mask?: number[]; present?: number[] } = {}): HostModality {
  return {
    name,
    tokens: randomArray(B * T * d, seed),
    mask: new Float32Array(opts.mask ?? new Array(B * T).fill(1)),
    present: new Float32Array(opts.present ?? new Array(B).fill(1)),
    B,
    T,
    d,
  };
}

export function dimsOf(mods: HostModality[]): EncodedDims[] {
  return mods.map((m) => ({ name: m.name, type: "sequence", dim: m.d, tokens: m.T }));
}

/**
 * The `Encoded` contract as an encoder would produce it: tokenMask already
 * multiplied by present, pooled = masked mean (zero for a missing modality).
 * `tokens` may be replaced by a Tensor (the gradient-check variable).
 */
export function encodedOf(m: HostModality, tokens?: Tensor): Encoded {
  const t = tokens ?? constant(m.tokens, [m.B, m.T, m.d]);
  const present = constant(m.present, [m.B]);
  const mask = constant(m.mask, [m.B, m.T]);
  const tokenMask = m.droppedAfterEncoding ? mask : mask.mul(present.reshape([m.B, 1]));
  return { name: m.name, type: "sequence", tokens: t, tokenMask, present, pooled: maskedMean(t, tokenMask) };
}

export function fusedOf(out: FusionOutput): Tensor {
  assert.ok("fused" in out, "expected a fused output");
  return out.fused;
}

/** Runs the method eagerly with fixed parameters and returns the fused output and explain tensors on the host. */
export function runMethod(
  method: FusionMethod<any>,
  params: ParamTree,
  mods: HostModality[],
  config: Record<string, unknown>,
  /** run in training mode with this seed for the fusion's PRNG key (dropout) */
  trainSeed?: number,
): { fused: HostArray; explain: Record<string, HostArray> } {
  return scoped(() => {
    const ctx = trainSeed === undefined ? { train: false, outDim: 2 } : { train: true, rng: new Rng(adopt(stepKey(trainSeed))), outDim: 2 };
    const out = method.apply(tensors(params), mods.map((m) => encodedOf(m)), ctx, config);
    return { fused: fusedOf(out), explain: out.explain ?? {} };
  }) as { fused: HostArray; explain: Record<string, HostArray> };
}

/** Finite differences of sum(fused) w.r.t. modality `which`'s tokens. */
export function checkMethodGradient(method: FusionMethod<any>, params: ParamTree, mods: HostModality[], config: Record<string, unknown>, which: number): void {
  const m = mods[which]!;
  checkGradient(
    (x) => {
      const encoded = mods.map((mod, i) => encodedOf(mod, i === which ? x : undefined));
      // A fixed random readout makes every fused unit matter to the checked scalar.
      const fused = fusedOf(method.apply(tensors(params), encoded, { train: false, outDim: 2 }, config));
      return fused.mul(constant(randomArray(fused.shape[1]!, 77), [fused.shape[1]!])).tanh();
    },
    m.tokens.slice(),
    [m.B, m.T, m.d],
    { samples: 12 },
  );
}

export function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  assert.equal(a.length, b.length);
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i]! - b[i]!));
  return worst;
}

export function assertFinite(a: Float32Array, what: string): void {
  for (let i = 0; i < a.length; i++) assert.ok(Number.isFinite(a[i]!), `${what}: non-finite value ${a[i]} at ${i}`);
}

// ---- the interaction task ---------------------------------------------------------

/**
 * Two modalities "a" and "b", each T tokens of width d with standard normal
 * entries; label = sign(sum_t a[t,0]) XOR sign(sum_t b[t,0]) (for T = 1:
 * sign(a0) XOR sign(b0)). Summing over tokens keeps the label invariant to token
 * order, so methods without positional information can learn it too. Neither
 * modality alone says anything about the label (50% at best), so a method must
 * model the cross-modal interaction.
 */
export function xorBatch(n: number, rng: HostRng, T = 1, d = 8): HostBatch {
  const a = new Float32Array(n * T * d);
  const b = new Float32Array(n * T * d);
  const labels = new Float32Array(n);
  for (let i = 0; i < a.length; i++) a[i] = rng.normal();
  for (let i = 0; i < b.length; i++) b[i] = rng.normal();
  const firstFeatureSum = (x: Float32Array, r: number) => {
    let s = 0;
    for (let t = 0; t < T; t++) s += x[(r * T + t) * d]!;
    return s;
  };
  for (let r = 0; r < n; r++) labels[r] = firstFeatureSum(a, r) > 0 !== firstFeatureSum(b, r) > 0 ? 1 : 0;
  const mask = { data: new Float32Array(n * T).fill(1), shape: [n, T] };
  const present = { data: new Float32Array(n).fill(1), shape: [n] };
  return {
    a: { tokens: { data: a, shape: [n, T, d] }, mask, present },
    b: { tokens: { data: b, shape: [n, T, d] }, mask, present },
    labels: { data: labels, shape: [n] },
  };
}

function encodedFromBatch(batch: any, name: "a" | "b"): Encoded {
  const m = batch[name];
  return { name, type: "sequence", tokens: m.tokens, tokenMask: m.mask, present: m.present, pooled: maskedMean(m.tokens, m.mask) };
}

/**
 * Trains method + linear head (2 classes) with Adam on fresh XOR batches and
 * returns the accuracy on a held-out set of 1,000 rows.
 */
export function trainOnXor(
  method: FusionMethod<any>,
  config: Record<string, unknown>,
  opts: { steps: number; batch?: number; lr?: number; T?: number; d?: number; seed?: number },
): { accuracy: number; finalLoss: number } {
  const T = opts.T ?? 1;
  const d = opts.d ?? 8;
  const batchSize = opts.batch ?? 64;
  const rng = new HostRng(opts.seed ?? 7);
  const dims: EncodedDims[] = [
    { name: "a", type: "sequence", dim: d, tokens: T },
    { name: "b", type: "sequence", dim: d, tokens: T },
  ];
  const fusedDim = method.fusedDim!(dims, config);
  const tree = { fusion: method.init(rng.fork(), dims, 2, config), head: initLinear(rng.fork(), fusedDim, 2) } as unknown as ParamTree;
  const { layout, flat } = flattenParams(tree);
  const forward = (p: any, batch: any, train: boolean, fusionRng?: any): Tensor => {
    const out = method.apply(p.fusion, [encodedFromBatch(batch, "a"), encodedFromBatch(batch, "b")], { train, rng: fusionRng, outDim: 2 }, config);
    return linear(p.head, fusedOf(out));
  };
  const step = new TrainStep(layout, flat, (p, batch, stepRng) => ({ loss: softmaxCrossEntropy(forward(p, batch, true, stepRng), batch.labels as Tensor) }), {
    optimizer: { kind: "adam" },
  });
  let finalLoss = NaN;
  for (let s = 0; s < opts.steps; s++) finalLoss = step.step(xorBatch(batchSize, rng, T, d), opts.lr ?? 1e-2, s).loss!;
  const evaluate = new EvalStep(layout, step.currentParams(), (p, batch) => forward(p, batch, false).argmax(1));
  const testSet = xorBatch(1000, new HostRng(12345), T, d);
  const predicted = evaluate.run(testSet) as HostArray;
  const labels = (testSet.labels as HostArray).data;
  let correct = 0;
  for (let i = 0; i < labels.length; i++) correct += predicted.data[i] === labels[i] ? 1 : 0;
  step.dispose();
  evaluate.dispose();
  return { accuracy: correct / labels.length, finalLoss };
}
