/**
 * Late (decision-level) fusion: methods.md §3. One independent unimodal
 * predictor per modality, p_m = softmax(l_m), l_m = MLP_m(h_m); then a combiner
 * over the present modalities S (s_m = 1):
 *   late_mean      p = (1/|S|) sum_{m in S} p_m
 *   late_weighted  p = sum_{m in S} w_m p_m,  w = softmax(a) renormalised over S
 *                  (a: M learned logits; w_m = exp(a_m) / sum_{k in S} exp(a_k))
 *   late_vote      majority vote argmax_c sum_{m in S} 1[argmax p_m = c], ties
 *                  broken by the summed probability P_c = sum_{m in S} p_{m,c}.
 *                  Output distribution q_c = (v_c + P_c / (|S|+1)) / (|S| + |S|/(|S|+1)):
 *                  the vote share smoothed by probability mass. Since P_c <= |S|,
 *                  the smoothing term is < 1, so one vote always outweighs it and
 *                  argmax q is exactly the tie-broken majority vote; q > 0 wherever
 *                  some p_{m,c} > 0, so cross-entropy and probability metrics work on log q.
 *   late_stacking  meta-classifier g([p_1..p_M]) fitted on out-of-fold predictions
 *                  of the TRAIN split (k-fold cross-fitting, `folds` = k; Wolpert 1992;
 *                  see stacking.ts, src/train/crossFit.ts and FusionMethod.postFit),
 *                  never on validation labels. Until postFit has run it answers like late_mean.
 * Logits returned: log p (a normalised log-distribution), [B, C]. Classification only.
 * Missing modalities: a modality with s_m = 0 is left out of S for every
 * combiner (and out of the unimodal losses); a row with no modality present
 * gets uniform logits (zeros).
 * explain: `probabilities` [B, M, C] per-modality p_m (zeros where missing), `present`
 * [B, M]; late_mean and late_weighted add `weights` [B, M], late_vote `votes` [B, M, C]
 * (one-hot). late_stacking's postFit reads `probabilities` and `present` of the out-of-fold train rows.
 *
 * Training (each unimodal model independently, the combiner on stop-gradient
 * unimodal outputs). The intended objective is
 *   L = CE(combine(sg p_1..sg p_M), y) + (1/B) sum_rows sum_m s_m CE(l_m, y).
 * The model computes CE(logits, y) itself and a fusion module gets no labels
 * (FusionContext carries none), so the unimodal term is delivered by gradient
 * routing, exactly for softmax cross-entropy:
 *   logits = log p + sum_m s_m (l_m - sg l_m)            (value: log p)
 *   aux    = (1/B) sum_rows sum_m s_m (LSE(l_m) - <sg q, l_m>),  q = softmax(log p)
 *   auxLoss = aux - sg(aux)                               (value: 0)
 * d CE(logits, y)/d l_m = s_m (q - y) and d aux/d l_m = s_m (p_m - q), summing to
 * s_m (p_m - y) = d CE(l_m, y)/d l_m: each unimodal model gets precisely its own
 * cross-entropy gradient (test/fusion/lateFusion.test.ts pins this against finite
 * differences), and the reported loss is the fused prediction's cross-entropy.
 * Exact when the task loss is softmax cross-entropy averaged over the batch's rows
 * (rowWeight all 1); in a padded last batch the padding rows (rowWeight 0) still
 * receive the label-free aux part.
 */
import { FusionkitError } from "../errors.ts";
import { initMlp, mlp, type MlpParams } from "../engine/layers.ts";
import { constantParam, isHostArray, zerosParam, type ParamTree } from "../engine/params.ts";
import type { HostRng } from "../engine/random.ts";
import { logSoftmax, logSumExp, maximum, oneHot, softmax, stack, stopGradient, where, type HostArray, type Tensor } from "../engine/tensor.ts";
import type { Encoded, EncodedDims } from "../encoders/types.ts";
import { fitStacking } from "./stacking.ts";
import { z } from "zod";
import { atLeast, defaultsOf, integer, requireModalities } from "./config.ts";
import { modalityNames, type ExplainSpec } from "./explain.ts";
import type { FusionMethod, FusionOutput, PostFitData } from "./types.ts";

const lateFusionConfig = z.strictObject({
  /** hidden width of each unimodal MLP (0 = a linear classifier) */
  hidden: integer(0).default(32),
});
export type LateFusionConfig = z.infer<typeof lateFusionConfig>;

const stackingConfig = lateFusionConfig.extend({
  /** L2 penalty of the meta-classifier's weights */
  l2: atLeast(0).default(1e-3),
  /** gradient steps of the meta-classifier fit */
  iterations: integer(1).default(500),
  /** k of the k-fold cross-fitting that gives the meta-classifier its training predictions */
  folds: integer(2).default(3),
});
export type StackingConfig = z.infer<typeof stackingConfig>;

type Combiner = "mean" | "weighted" | "vote" | "stacking";

// Missing entries get this log-value: exp(-1e9 - anything finite) is exactly 0 in float32.
const MASKED = -1e9;

/** [B, M] presence matrix. */
function presenceOf(encoded: Encoded[]): Tensor {
  return stack(encoded.map((e) => e.present), 1);
}

/** Rows with at least one modality present keep `logProbs`; others get uniform logits (0). */
function uniformWhereNonePresent(logProbs: Tensor, present: Tensor): Tensor {
  return where(present.sum(1, true).greater(0.5), logProbs, 0);
}

/** late_mean: log of the mean probability over present modalities. logProbs [B, M, C], present [B, M] -> [B, C]. */
export function meanCombiner(logProbs: Tensor, present: Tensor): Tensor {
  const [B, M] = logProbs.shape as [number, number, number];
  const masked = where(present.reshape([B, M, 1]), logProbs, MASKED);
  const count = maximum(present.sum(1, true), 1);
  return uniformWhereNonePresent(logSumExp(masked, 1).sub(count.log()), present);
}

/**
 * late_weighted: w = softmax(weightLogits) renormalised over present modalities.
 * Returns log sum_m w_m p_m [B, C] and the per-row weights w [B, M] (0 where missing).
 */
export function weightedCombiner(logProbs: Tensor, present: Tensor, weightLogits: Tensor): { logProbs: Tensor; weights: Tensor } {
  const [B, M] = logProbs.shape as [number, number, number];
  const maskedLogits = where(present, weightLogits.reshape([1, M]), MASKED);
  const logWeights = maskedLogits.sub(logSumExp(maskedLogits, 1, true));
  const terms = where(present.reshape([B, M, 1]), logProbs.add(logWeights.reshape([B, M, 1])), MASKED);
  return { logProbs: uniformWhereNonePresent(logSumExp(terms, 1), present), weights: logWeights.exp().mul(present) };
}

/**
 * late_vote: majority vote with ties broken by summed probability, returned as
 * log q (see the header for q). probs [B, M, C], present [B, M].
 * Also returns each modality's vote [B, M, C] (one-hot, 0 where missing).
 */
export function voteCombiner(probs: Tensor, present: Tensor): { logProbs: Tensor; votes: Tensor } {
  const [B, M, C] = probs.shape as [number, number, number];
  const s = present.reshape([B, M, 1]);
  const votes = oneHot(probs.argmax(2), C).mul(s);
  const n = present.sum(1, true);
  const score = votes.sum(1).add(probs.mul(s).sum(1).div(n.add(1)));
  const q = score.div(maximum(n.add(n.div(n.add(1))), 1e-6));
  // log of a vote share: q is 0 only where every present p_{m,c} underflowed to 0.
  return { logProbs: uniformWhereNonePresent(maximum(q, 1e-30).log(), present), votes };
}

/** late_stacking's meta-classifier in the engine: log g(x), x = [s_m (p_m - 1/C)]_m. */
export function stackingCombiner(probs: Tensor, present: Tensor, p: { w: Tensor; b: Tensor }): Tensor {
  const [B, M, C] = probs.shape as [number, number, number];
  const features = probs.sub(1 / C).mul(present.reshape([B, M, 1])).reshape([B, M * C]);
  return logSoftmax(features.matmul(p.w).add(p.b), -1);
}

/** The combiner's leaves: late_weighted has weightLogits, late_stacking w, b and fitted, the others none. */
type CombinerParams = { weightLogits?: HostArray; w?: HostArray; b?: HostArray; fitted?: HostArray };
export type LateFusionParams = { unimodal: MlpParams[]; combiner: CombinerParams };

/** A combiner leaf that init creates for this combiner (a missing one means a checkpoint of another method). */
function leaf(t: Tensor | undefined, name: string): Tensor {
  if (!t) throw new FusionkitError(`late fusion parameters have no combiner.${name}; the checkpoint belongs to another late-fusion method`, { layer: "late" });
  return t;
}

function combinerParams(combiner: Combiner, M: number, C: number): CombinerParams {
  switch (combiner) {
    case "weighted":
      // zero logits: starts as the plain mean
      return { weightLogits: zerosParam([M]) };
    case "stacking":
      // `fitted` = 0 until postFit has run: the method then answers like late_mean.
      return { w: zerosParam([M * C, C]), b: zerosParam([C]), fitted: constantParam([1], 0) };
    default:
      return {};
  }
}

/** late_stacking's settings, or the other combiners' (`hidden` alone). */
type LateConfig = LateFusionConfig & Partial<StackingConfig>;

function lateFusionMethod(combiner: Combiner, summary: string): FusionMethod<LateConfig, LateFusionParams> {
  const name = `late_${combiner}`;
  const schema: z.ZodType<LateConfig> = combiner === "stacking" ? stackingConfig : lateFusionConfig;
  const method: FusionMethod<LateConfig, LateFusionParams> = {
    name,
    family: "late",
    summary,
    citation:
      combiner === "stacking"
        ? "Wolpert, Neural Networks 1992 (stacked generalization); decision-level fusion as surveyed by Baltrušaitis et al., IEEE TPAMI 2019"
        : "decision-level fusion, Baltrušaitis, Ahuja & Morency, IEEE TPAMI 2019 (survey)",
    // Only late_stacking has l2 and iterations; the others read `hidden` alone.
    config: schema,
    defaults: defaultsOf(schema),
    check: (_config, inputs) => requireModalities(name, inputs, 1),
    init(rng: HostRng, inputs: EncodedDims[], outDim: number, config: LateConfig) {
      requireModalities(name, inputs, 1);
      if (outDim < 2) {
        throw new FusionkitError(`late fusion combines class probabilities and needs a classification task with at least 2 classes (outDim is ${outDim})`, { layer: name });
      }
      const sizes = (d: number) => (config.hidden > 0 ? [d, config.hidden, outDim] : [d, outDim]);
      return {
        unimodal: inputs.map((m) => initMlp(rng, sizes(m.dim))),
        combiner: combinerParams(combiner, inputs.length, outDim),
      };
    },
    apply(p, encoded, ctx): FusionOutput {
      const B = encoded[0]!.present.shape[0]!;
      const present = presenceOf(encoded);
      const unimodalLogits = encoded.map((e, m) => mlp(p.unimodal[m]!, e.pooled));
      // The combiner sees stop-gradient unimodal outputs (it never trains the unimodal models).
      const logProbs = stack(unimodalLogits.map((l) => logSoftmax(stopGradient(l), -1)), 1);
      const probs = logProbs.exp();
      // explain: a missing modality's probabilities are reported as zeros (it had no say).
      const explain: Record<string, Tensor> = { probabilities: probs.mul(present.reshape([B, encoded.length, 1])), present };
      let combined: Tensor;
      switch (combiner) {
        case "mean":
          combined = meanCombiner(logProbs, present);
          explain.weights = present.div(maximum(present.sum(1, true), 1));
          break;
        case "weighted": {
          const out = weightedCombiner(logProbs, present, leaf(p.combiner.weightLogits, "weightLogits"));
          combined = out.logProbs;
          explain.weights = out.weights;
          break;
        }
        case "vote": {
          const out = voteCombiner(probs, present);
          combined = out.logProbs;
          explain.votes = out.votes;
          break;
        }
        case "stacking": {
          // stop-gradient: the meta-classifier is fitted by postFit on out-of-fold train predictions, never by training steps.
          const fitted = { w: stopGradient(leaf(p.combiner.w, "w")), b: stopGradient(leaf(p.combiner.b, "b")) };
          combined = where(stopGradient(leaf(p.combiner.fitted, "fitted")).reshape([1, 1]), stackingCombiner(probs, present, fitted), meanCombiner(logProbs, present));
          break;
        }
      }
      // Gradient routing (header): value log p, gradient s_m (p_m - y) into each unimodal model.
      const q = softmax(stopGradient(combined), -1);
      let logits = combined;
      let aux: Tensor | undefined;
      unimodalLogits.forEach((l, m) => {
        const s = encoded[m]!.present.reshape([B, 1]);
        logits = logits.add(l.sub(stopGradient(l)).mul(s));
        const consistency = logSumExp(l, -1, true).sub(l.mul(q).sum(-1, true)).mul(s).mean();
        aux = aux ? aux.add(consistency) : consistency;
      });
      return { logits, auxLoss: aux!.sub(stopGradient(aux!)), explain };
    },
    explains(inputs) {
      const modalities = modalityNames(inputs);
      const spec: ExplainSpec = { probabilities: { kind: "modalityPredictions", modalities }, present: { kind: "presence", modalities } };
      if (combiner === "mean" || combiner === "weighted") spec.weights = { kind: "modalityWeights", modalities };
      if (combiner === "vote") spec.votes = { kind: "modalityVotes", modalities };
      return spec;
    },
  };
  if (combiner === "stacking") {
    method.postFit = (params, outOfFold, config) => fitStackingFromPredictions(params, outOfFold, stackingConfig.parse(config));
  }
  return method;
}

/** postFit of late_stacking: fits W, b on out-of-fold unimodal probabilities of the train rows (explain.probabilities [N, M, C]). */
export function fitStackingFromPredictions(params: LateFusionParams, outOfFold: PostFitData, config: StackingConfig): LateFusionParams {
  const probs = outOfFold.explain.probabilities;
  const present = outOfFold.explain.present;
  if (!probs || !present || !isHostArray(probs) || probs.shape.length !== 3 || !params.combiner?.w) {
    throw new FusionkitError(
      "late_stacking postFit needs the method's own parameters and its out-of-fold explain outputs `probabilities` [N, M, C] and `present` [N, M]",
      { layer: "late_stacking" },
    );
  }
  const [N, M, C] = probs.shape as [number, number, number];
  const perModality = (data: Float32Array, width: number) =>
    Array.from({ length: M }, (_, m) => {
      const out = new Float32Array(N * width);
      for (let n = 0; n < N; n++) out.set(data.subarray((n * M + m) * width, (n * M + m + 1) * width), n * width);
      return out;
    });
  const fit = fitStacking(perModality(probs.data, C), outOfFold.labels, {
    numClasses: C,
    present: perModality(present.data, 1),
    l2: config.l2,
    iterations: config.iterations,
  });
  return { ...params, combiner: { w: fit.w, b: fit.b, fitted: constantParam([1], 1) } };
}

export const lateMethods: FusionMethod[] = [
  lateFusionMethod("mean", "decision-level: one classifier per modality, mean of their probabilities"),
  lateFusionMethod("weighted", "decision-level: one classifier per modality, learned softmax weights over present modalities"),
  lateFusionMethod("vote", "decision-level: one classifier per modality, majority vote (ties by summed probability)"),
  lateFusionMethod("stacking", "decision-level: one classifier per modality, logistic-regression meta-classifier fit on out-of-fold train predictions (3-fold cross-fitting)"),
];
