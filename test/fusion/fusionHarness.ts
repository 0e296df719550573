/**
 * Test harness for fusion modules, used by the late, low-rank, adaptive and
 * contrastive fusion tests: Encoded inputs from host arrays, a finite-difference
 * check against a separate reference objective, the XOR interaction task, and a
 * small compiled train loop (fusion method + a linear head when it returns `fused`).
 */
import { initLinear, linear } from "../../src/engine/layers.ts";
import { softmaxCrossEntropy } from "../../src/engine/losses.ts";
import { flattenParams, unflattenHost, type ParamTree } from "../../src/engine/params.ts";
import { HostRng } from "../../src/engine/random.ts";
import { EvalStep, TrainStep, type HostBatch } from "../../src/engine/step.ts";
import { constant, type HostArray, type Tensor } from "../../src/engine/tensor.ts";
import type { Encoded, EncodedDims } from "../../src/encoders/types.ts";
import type { FusionMethod, FusionOutput } from "../../src/fusion/types.ts";

/** Host param tree -> Tensor tree inside a scope. */
export function tensors(tree: any): any {
  if (tree && tree.data instanceof Float32Array) return constant(tree.data, tree.shape);
  if (Array.isArray(tree)) return tree.map(tensors);
  return Object.fromEntries(Object.entries(tree).map(([k, v]) => [k, tensors(v)]));
}

export function vectorDims(widths: number[]): EncodedDims[] {
  return widths.map((dim, m) => ({ name: `m${m}`, type: "vector", dim, tokens: 1 }));
}

/**
 * Encoded inputs (inside a scope) from pooled features [B, d_m] and presence [B];
 * pooled is zeroed where the modality is missing, as encoders do.
 */
export function encodedFrom(pooled: Tensor[], present: Tensor[]): Encoded[] {
  return pooled.map((x, m) => {
    const B = x.shape[0]!;
    const s = present[m]!;
    const h = x.mul(s.reshape([B, 1]));
    return { name: `m${m}`, type: "vector", pooled: h, tokens: h.reshape([B, 1, x.shape[1]!]), tokenMask: s.reshape([B, 1]), present: s };
  });
}

export function ones(n: number): Float32Array {
  return new Float32Array(n).fill(1);
}

export { checkGradientAgainst } from "../engine/gradcheck.ts";

export type Split = { xs: Float32Array[]; present: Float32Array[]; labels: Float32Array; n: number };

/** Two 8-dim standard-normal modalities A, B; label = sign(A0) XOR sign(B0). Neither modality alone carries any information. */
export function xorTask(n: number, seed: number, width = 8): Split {
  const rng = new HostRng(seed);
  const a = new Float32Array(n * width);
  const b = new Float32Array(n * width);
  const labels = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    for (let d = 0; d < width; d++) {
      a[i * width + d] = rng.normal();
      b[i * width + d] = rng.normal();
    }
    labels[i] = a[i * width]! > 0 !== b[i * width]! > 0 ? 1 : 0;
  }
  return { xs: [a, b], present: [ones(n), ones(n)], labels, n };
}

/** Two 8-dim modalities; label = [A0 + B0 > 0]: each modality alone is informative (about 75%), together they decide. */
export function additiveTask(n: number, seed: number, width = 8): Split {
  const split = xorTask(n, seed, width);
  for (let i = 0; i < n; i++) split.labels[i] = split.xs[0]![i * width]! + split.xs[1]![i * width]! > 0 ? 1 : 0;
  return split;
}

function rows(split: Split, start: number, count: number): HostBatch {
  const batch: HostBatch = { labels: { data: split.labels.slice(start, start + count), shape: [count] } };
  split.xs.forEach((x, m) => {
    const width = x.length / split.n;
    batch[`x${m}`] = { data: x.slice(start * width, (start + count) * width), shape: [count, width] };
    batch[`s${m}`] = { data: split.present[m]!.slice(start, start + count), shape: [count] };
  });
  return batch;
}

function forward(method: FusionMethod, config: Record<string, unknown>, p: any, batch: any, M: number, outDim: number, train: boolean): { logits: Tensor; out: FusionOutput } {
  const pooled = Array.from({ length: M }, (_, m) => batch[`x${m}`] as Tensor);
  const present = Array.from({ length: M }, (_, m) => batch[`s${m}`] as Tensor);
  const out = method.apply(p.fusion, encodedFrom(pooled, present), { train, outDim }, config);
  return { logits: "logits" in out ? out.logits : linear(p.head, out.fused), out };
}

export type Trained = { params: ParamTree; flat: Float32Array; accuracy: (split: Split) => number; finalLoss: number; step: TrainStep };

/**
 * Trains method (+ a linear head when it returns `fused`) with Adam on minibatches
 * of `train`, loss = softmax CE + auxLoss, and returns the parameters and an accuracy function.
 */
export function trainFusion(
  method: FusionMethod,
  train: Split,
  opts: { config?: Record<string, unknown>; steps: number; batch: number; lr: number; seed?: number; outDim?: number; initial?: ParamTree },
): Trained {
  const config = { ...method.defaults, ...(opts.config ?? {}) };
  const M = train.xs.length;
  const outDim = opts.outDim ?? 2;
  const dims = vectorDims(train.xs.map((x) => x.length / train.n));
  const rng = new HostRng(opts.seed ?? 0);
  const tree: Record<string, ParamTree> = { fusion: method.init(rng.fork(), dims, outDim, config) };
  if (method.fusedDim) tree.head = initLinear(rng.fork(), method.fusedDim(dims, config), outDim) as unknown as ParamTree;
  const initial = opts.initial ?? (tree as ParamTree);
  const { layout, flat } = flattenParams(initial);
  const step = new TrainStep(
    layout,
    flat,
    (p, batch) => {
      const { logits, out } = forward(method, config, p, batch, M, outDim, true);
      const task = softmaxCrossEntropy(logits, batch.labels as Tensor);
      return { loss: out.auxLoss ? task.add(out.auxLoss) : task };
    },
    { optimizer: { kind: "adam" } },
  );
  let finalLoss = NaN;
  const perEpoch = Math.floor(train.n / opts.batch);
  for (let t = 0; t < opts.steps; t++) {
    finalLoss = step.step(rows(train, (t % perEpoch) * opts.batch, opts.batch), opts.lr, t + 1).loss!;
  }
  const trainedFlat = step.currentParams();
  const evalSteps = new Map<number, EvalStep>();
  const accuracy = (split: Split): number => {
    let evalStep = evalSteps.get(split.n);
    if (!evalStep) {
      evalStep = new EvalStep(layout, trainedFlat, (p, batch) => forward(method, config, p, batch, M, outDim, false).logits);
      evalSteps.set(split.n, evalStep);
    }
    const logits = (evalStep.run(rows(split, 0, split.n)) as HostArray).data;
    let correct = 0;
    for (let i = 0; i < split.n; i++) {
      let best = 0;
      for (let c = 1; c < outDim; c++) if (logits[i * outDim + c]! > logits[i * outDim + best]!) best = c;
      if (best === split.labels[i]) correct++;
    }
    return correct / split.n;
  };
  return { params: unflattenHost(layout, trainedFlat), flat: trainedFlat, accuracy, finalLoss, step };
}
