/**
 * Losses, each the mean over the batch (weighted by `rowWeight` when given,
 * e.g. to ignore padding rows of a last partial batch): the supervised ones
 * and the contrastive InfoNCE.
 */
import { logSigmoid, logSoftmax, logSumExp, oneHot, where, type Tensor } from "./tensor.ts";

function weightedMean(perRow: Tensor, rowWeight?: Tensor): Tensor {
  if (!rowWeight) return perRow.mean();
  return perRow.mul(rowWeight).sum().div(rowWeight.sum().add(1e-12));
}

/** Softmax cross-entropy of logits [B, C] against integer-valued labels [B]. Max-shifted log-sum-exp. */
export function softmaxCrossEntropy(logits: Tensor, labels: Tensor, rowWeight?: Tensor): Tensor {
  const C = logits.shape[logits.ndim - 1]!;
  const nll = logSoftmax(logits, -1).mul(oneHot(labels, C)).sum(-1).neg();
  return weightedMean(nll, rowWeight);
}

/** Binary cross-entropy with logits [B, L] against 0/1 targets [B, L], stable for any logit. */
export function binaryCrossEntropyWithLogits(logits: Tensor, targets: Tensor, rowWeight?: Tensor): Tensor {
  // -[t log s(x) + (1 - t) log s(-x)]
  const perEntry = targets.mul(logSigmoid(logits)).add(targets.neg().add(1).mul(logSigmoid(logits.neg()))).neg();
  return weightedMean(perEntry.mean(-1), rowWeight);
}

export function meanSquaredError(pred: Tensor, target: Tensor, rowWeight?: Tensor): Tensor {
  const perRow = pred.sub(target).square();
  return weightedMean(perRow.ndim > 1 ? perRow.mean(-1) : perRow, rowWeight);
}

export function meanAbsoluteError(pred: Tensor, target: Tensor, rowWeight?: Tensor): Tensor {
  const perRow = pred.sub(target).abs();
  return weightedMean(perRow.ndim > 1 ? perRow.mean(-1) : perRow, rowWeight);
}

/**
 * Symmetric InfoNCE with in-batch negatives (CLIP: Radford et al., ICML 2021;
 * InfoNCE: van den Oord et al., 2018) between paired embeddings a, b [B, D]:
 *
 *   S = scale * a b^T                                         [B, B]
 *   L = mean_i 1/2 [ (-S_ii + log sum_j exp S_ij) + (-S_ii + log sum_j exp S_ji) ]
 *
 * the mean of the cross-entropies of every row of S (a -> b) and every column
 * (b -> a) against the diagonal. The one InfoNCE of the project: the `clip`
 * fusion method (src/fusion/contrastiveAlignment.ts) and contrastive alignment
 * (src/align/loss.ts, gradCache.ts) both call it. Which pairs take part:
 *  - rowWeight [B]: each row's weight in the mean (0: a padding row, or a row
 *    missing one of the two modalities). Without `pairMask`, a row of weight 0
 *    is no negative for the others either.
 *  - pairMask [B, B], symmetric: 1 where (i, j) takes part in the denominators
 *    (alignment leaves out the false negatives of a row's own group and the
 *    padding rows); it replaces the rule above. Its diagonal must be 1 for
 *    every row of non-zero weight.
 */
export function infoNCE(a: Tensor, b: Tensor, scale: Tensor | number, mask: { rowWeight?: Tensor; pairMask?: Tensor } = {}): Tensor {
  const B = a.shape[0]!;
  const { rowWeight, pairMask } = mask;
  const logits = a.matmul(b.swapLastAxes()).mul(scale);
  const positives = a.mul(b).sum(-1).mul(scale);
  // -1e9 rather than -inf: exp underflows to exactly 0 and the max shift in logSumExp stays finite
  const rowLogits = pairMask ? where(pairMask, logits, -1e9) : rowWeight ? where(rowWeight.reshape([1, B]), logits, -1e9) : logits;
  const columnLogits = pairMask ? rowLogits : rowWeight ? where(rowWeight.reshape([B, 1]), logits, -1e9) : logits;
  const rowLoss = logSumExp(rowLogits, -1).sub(positives);
  const columnLoss = logSumExp(columnLogits, 0).sub(positives);
  return weightedMean(rowLoss.add(columnLoss).mul(0.5), rowWeight);
}
