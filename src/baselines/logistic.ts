/**
 * Multinomial logistic regression for the classical baselines:
 *   p(y | x) = softmax(x W + b),   W [D, C], b [C], zero-initialised
 *   minimise (1/N) sum_n CE(p(. | x_n), y_n) + (l2 / 2) ||W||^2
 * by minibatch Adam in the engine (a compiled TrainStep: D can be thousands,
 * the host would be slow), with the regularisation strength chosen on
 * validation from a small grid and early stopping on validation accuracy
 * (ties broken by validation cross-entropy) keeping the best epoch's W, b.
 * The grid and the stopping rule use validation exactly as the neural methods
 * do; test rows are never seen.
 */
import { flattenParams, unflattenHost, zerosParam, type Params } from "../engine/params.ts";
import { HostRng } from "../engine/random.ts";
import { TrainStep } from "../engine/step.ts";
import { softmaxCrossEntropy } from "../engine/losses.ts";
import type { HostArray, Tensor } from "../engine/tensor.ts";

export type LogisticOptions = {
  numClasses: number;
  seed: number;
  /** L2 strengths tried; the one with the best validation accuracy wins */
  l2Grid: number[];
  maxEpochs: number;
  patience: number;
  batchSize: number;
  lr: number;
};

export const logisticDefaults = { l2Grid: [1e-4, 1e-3, 1e-2], maxEpochs: 60, patience: 6, batchSize: 256, lr: 1e-2 };

export type LogisticFit = {
  w: Float32Array;
  b: Float32Array;
  dim: number;
  l2: number;
  bestEpoch: number;
  epochsRun: number;
  /** true when the chosen fit ran to maxEpochs without early stopping ending it */
  hitCap: boolean;
  valAccuracy: number;
  /** every grid point's best validation accuracy and when it stopped */
  grid: { l2: number; valAccuracy: number; valLoss: number; bestEpoch: number; epochsRun: number }[];
};

/** Class scores x W + b for every row, [n, C]. */
export function logisticScores(x: Float32Array, n: number, dim: number, w: Float32Array, b: Float32Array, C: number): Float32Array {
  const out = new Float32Array(n * C);
  for (let r = 0; r < n; r++) {
    const o = r * C;
    for (let c = 0; c < C; c++) out[o + c] = b[c]!;
    for (let d = 0; d < dim; d++) {
      const v = x[r * dim + d]!;
      if (v === 0) continue;
      const row = d * C;
      for (let c = 0; c < C; c++) out[o + c]! += v * w[row + c]!;
    }
  }
  return out;
}

/** Row-wise softmax of scores [n, C]. */
export function softmaxRows(scores: Float32Array, C: number): Float32Array {
  const out = new Float32Array(scores.length);
  for (let r = 0; r < scores.length / C; r++) {
    let max = -Infinity;
    for (let c = 0; c < C; c++) max = Math.max(max, scores[r * C + c]!);
    let sum = 0;
    for (let c = 0; c < C; c++) sum += out[r * C + c] = Math.exp(scores[r * C + c]! - max);
    for (let c = 0; c < C; c++) out[r * C + c]! /= sum;
  }
  return out;
}

function accuracyAndLoss(x: Float32Array, labels: Float32Array, dim: number, w: Float32Array, b: Float32Array, C: number): { accuracy: number; loss: number } {
  const n = labels.length;
  const probs = softmaxRows(logisticScores(x, n, dim, w, b, C), C);
  let hits = 0;
  let loss = 0;
  for (let r = 0; r < n; r++) {
    let best = 0;
    for (let c = 1; c < C; c++) if (probs[r * C + c]! > probs[r * C + best]!) best = c;
    if (best === labels[r]) hits++;
    loss -= Math.log(Math.max(1e-12, probs[r * C + labels[r]!]!));
  }
  return { accuracy: hits / Math.max(1, n), loss: loss / Math.max(1, n) };
}

function fitOne(train: { x: Float32Array; y: Float32Array }, val: { x: Float32Array; y: Float32Array }, dim: number, l2: number, o: LogisticOptions) {
  const C = o.numClasses;
  const n = train.y.length;
  const { layout, flat } = flattenParams({ w: zerosParam([dim, C]), b: zerosParam([C]) });
  const step = new TrainStep<{ w: HostArray; b: HostArray }, { x: Tensor; y: Tensor; weight: Tensor }>(
    layout,
    flat,
    (p, batch) => {
      const ce = softmaxCrossEntropy(batch.x.matmul(p.w).add(p.b), batch.y, batch.weight);
      return { loss: ce.add(p.w.mul(p.w).sum().mul(l2 / 2)) };
    },
    { optimizer: { kind: "adam" } },
  );
  const rng = new HostRng(o.seed).fork();
  // at least 8 steps per epoch, so a small train split still gets enough updates within the epoch cap
  const B = Math.max(1, Math.min(o.batchSize, Math.ceil(n / 8)));
  let best = { epoch: 0, accuracy: -1, loss: Infinity, params: flat };
  let epoch = 0;
  let stepCount = 0;
  try {
    for (epoch = 1; epoch <= o.maxEpochs; epoch++) {
      const order = rng.shuffle(Array.from({ length: n }, (_, i) => i));
      for (let start = 0; start < n; start += B) {
        const x = new Float32Array(B * dim);
        const y = new Float32Array(B);
        const weight = new Float32Array(B);
        for (let i = 0; i < B; i++) {
          const row = order[start + i] ?? order[0]!;
          x.set(train.x.subarray(row * dim, (row + 1) * dim), i * dim);
          y[i] = train.y[row]!;
          weight[i] = start + i < n ? 1 : 0;
        }
        step.step({ x: { data: x, shape: [B, dim] }, y: { data: y, shape: [B] }, weight: { data: weight, shape: [B] } }, o.lr, stepCount++);
      }
      const current = step.currentParams();
      const p = unflattenHost(layout, current) as unknown as { w: { data: Float32Array }; b: { data: Float32Array } };
      const v = accuracyAndLoss(val.x, val.y, dim, p.w.data, p.b.data, C);
      if (v.accuracy > best.accuracy || (v.accuracy === best.accuracy && v.loss < best.loss)) best = { epoch, accuracy: v.accuracy, loss: v.loss, params: current };
      if (epoch - best.epoch >= o.patience) break;
    }
  } finally {
    step.dispose();
  }
  const epochsRun = Math.min(epoch, o.maxEpochs);
  const p = unflattenHost(layout, best.params) as unknown as { w: { data: Float32Array }; b: { data: Float32Array } };
  return { w: p.w.data, b: p.b.data, bestEpoch: best.epoch, epochsRun, valAccuracy: best.accuracy, valLoss: best.loss, hitCap: epochsRun >= o.maxEpochs && epochsRun - best.epoch < o.patience };
}

/** Fits every grid point; keeps the one with the best validation accuracy (then loss; then the stronger penalty). */
export function fitLogistic(
  train: { x: Float32Array; y: Float32Array },
  val: { x: Float32Array; y: Float32Array },
  dim: number,
  options: LogisticOptions,
): LogisticFit {
  const fits = [...options.l2Grid].sort((a, b) => b - a).map((l2) => ({ l2, ...fitOne(train, val, dim, l2, options) }));
  let chosen = fits[0]!;
  for (const f of fits) if (f.valAccuracy > chosen.valAccuracy || (f.valAccuracy === chosen.valAccuracy && f.valLoss < chosen.valLoss)) chosen = f;
  return {
    w: chosen.w,
    b: chosen.b,
    dim,
    l2: chosen.l2,
    bestEpoch: chosen.bestEpoch,
    epochsRun: chosen.epochsRun,
    hitCap: chosen.hitCap,
    valAccuracy: chosen.valAccuracy,
    grid: fits.map((f) => ({ l2: f.l2, valAccuracy: f.valAccuracy, valLoss: f.valLoss, bestEpoch: f.bestEpoch, epochsRun: f.epochsRun })),
  };
}
