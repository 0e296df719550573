/**
 * Hybrid / adaptive fusion: per-sample weights decide how much each modality
 * contributes (methods.md §8). Both methods train with modality dropout
 * (`modalityDropout` = 0.3: the model drops each modality per row with that
 * probability, keeping at least one), so the weights learn to cope with a
 * missing modality.
 *
 * GMU, Gated Multimodal Unit (Arevalo, Solorio, Montes-y-Gómez & González, ICLR
 * workshop 2017, "Gated Multimodal Units for Information Fusion"):
 *   h_m = tanh(x_m W_m + b_m)                                  [B, H] per modality
 *   M = 2:  z = sigmoid([x_1; x_2] W_z + b_z),  h = z * h_1 + (1 - z) * h_2
 *   M > 2:  g = [x_1; ...; x_M] W_z + b_z reshaped [B, M, H] (one gate per modality and unit),
 *           z = softmax over modalities,  h = sum_m z_m * h_m
 *   (The paper writes the projections without biases; they are kept here.)
 *   The two-modality gate is the M-way softmax over the logits (g, 0): softmax(g, 0)
 *   = (sigmoid(g), 1 - sigmoid(g)), so one code path serves both cases.
 *
 * Attention-weighted fusion (TorchMultimodal's AttentionFusionModule), with K weight sets ("heads"):
 *   w^k = softmax([e_1; ...; e_M] A^k + a^k) over modalities    [B, M] per head k = 1..K
 *   h   = [ sum_m w^k_m (e_m P_m + c_m)[slice k] ]_{k=1..K}       [B, dim], head k owns dim/K columns
 *   heads = 1 is TorchMultimodal's module exactly (one linear scoring layer, one
 *   weight per modality and row). Why more heads by default (4): with one weight set
 *   and two modalities, a linear head's score is f = w F_1(x_1) + (1 - w) F_2(x_2) with
 *   w / (1 - w) = G_1(x_1) G_2(x_2) (additive logits, G > 0). Dividing by (1 - w) G_2 > 0,
 *   sign f = sign(G_1 F_1 + F_2 / G_2) = sign(alpha(x_1) + beta(x_2)): an additive
 *   decision rule, as in late fusion, for ANY encoders. An XOR of the two modalities
 *   needs alpha_+ + beta_+ < 0, alpha_- + beta_- < 0, alpha_+ + beta_- > 0 and
 *   alpha_- + beta_+ > 0, whose sums contradict each other. With two or more weight
 *   sets it is expressible (head 1 reads x_1 where x_2 > 0, head 2 where x_2 < 0);
 *   test/fusion/adaptiveFusion.test.ts trains both on XOR. explain `weights` [B, M] is
 *   the mean over heads (it still sums to 1 over present modalities); `headWeights`
 *   [B, M, K] has each head's weights.
 *
 * Missing modalities (both methods): a missing modality's gate/weight logit is
 * set to -1e9 before the softmax, so its weight is exactly 0 and the present
 * modalities' weights sum to 1; its input x_m is zeroed. A row with no modality
 * present gets all-zero weights and a zero fused vector.
 * explain: `weights` [B, M] (GMU: the gates averaged over the H units, which also
 * sum to 1 over present modalities) and, for GMU, `gates` [B, M, H].
 */
import { z } from "zod";
import { initLinear, linear, type LinearParams } from "../engine/layers.ts";
import type { HostRng } from "../engine/random.ts";
import { concat, softmax, stack, where, type Tensor } from "../engine/tensor.ts";
import type { Encoded, EncodedDims } from "../encoders/types.ts";
import { defaultsOf, headsDivide, integer, requireModalities } from "./config.ts";
import { modalityNames } from "./explain.ts";
import type { FusionMethod } from "./types.ts";

const gmuConfig = z.strictObject({
  /** H, the fused width */
  dim: integer(1).default(32),
});
export type GmuConfig = z.infer<typeof gmuConfig>;

const attentionFusionConfig = z
  .strictObject({
    /** width of each modality's projection P_m (the fused width) */
    dim: integer(1).default(32),
    /** weight sets per row, each over its own dim/heads slice of the projections; 1 = TorchMultimodal */
    heads: integer(1).default(4),
  })
  .superRefine(headsDivide());
export type AttentionFusionConfig = z.infer<typeof attentionFusionConfig>;

export type GmuParams = { experts: LinearParams[]; gate: LinearParams };
export type AttentionFusionParams = { projections: LinearParams[]; scoring: LinearParams };

const MODALITY_DROPOUT = 0.3;

/**
 * Softmax over axis 1 (modalities) of logits [B, M, ...] restricted to the present
 * modalities (present [B, M]); weight 0 for a missing modality, all zeros for a row with none.
 */
export function presentSoftmax(logits: Tensor, present: Tensor): Tensor {
  const shape = [...present.shape, ...logits.shape.slice(2).map(() => 1)];
  const s = present.reshape(shape);
  return softmax(where(s, logits, -1e9), 1).mul(s);
}

/** Inputs zeroed where missing, and the [B, M] presence matrix. */
function maskedInputs(encoded: Encoded[]): { xs: Tensor[]; present: Tensor } {
  const B = encoded[0]!.present.shape[0]!;
  return {
    xs: encoded.map((e) => e.pooled.mul(e.present.reshape([B, 1]))),
    present: stack(encoded.map((e) => e.present), 1),
  };
}

export const gmu: FusionMethod<GmuConfig, GmuParams> = {
  name: "gmu",
  family: "hybrid",
  summary: "Gated Multimodal Unit: per-unit gates (sigmoid for 2 modalities, softmax for more) mix tanh projections",
  citation: "Arevalo, Solorio, Montes-y-Gómez & González, ICLR Workshop 2017",
  config: gmuConfig,
  defaults: defaultsOf(gmuConfig),
  modalityDropout: MODALITY_DROPOUT,
  check: (_config, inputs) => requireModalities("gmu", inputs, 1),
  init(rng: HostRng, inputs: EncodedDims[], _outDim: number, config: GmuConfig): GmuParams {
    requireModalities("gmu", inputs, 1);
    const M = inputs.length;
    const total = inputs.reduce((n, m) => n + m.dim, 0);
    return {
      experts: inputs.map((m) => initLinear(rng, m.dim, config.dim)),
      // M = 2: the paper's single sigmoid gate; otherwise one gate per modality.
      gate: initLinear(rng, total, M === 2 ? config.dim : M * config.dim),
    };
  },
  apply(p, encoded, _ctx, config) {
    const B = encoded[0]!.present.shape[0]!;
    const M = encoded.length;
    const H = config.dim;
    const { xs, present } = maskedInputs(encoded);
    const experts = stack(xs.map((x, m) => linear(p.experts[m], x).tanh()), 1);
    const g = linear(p.gate, concat(xs, 1));
    const gateLogits = M === 2 ? stack([g, g.mul(0)], 1) : g.reshape([B, M, H]);
    const gates = presentSoftmax(gateLogits, present);
    return { fused: gates.mul(experts).sum(1), explain: { gates, weights: gates.mean(2) } };
  },
  explains: (inputs, _outDim, config) => ({
    gates: { kind: "perModality", modalities: modalityNames(inputs), width: config.dim },
    weights: { kind: "modalityWeights", modalities: modalityNames(inputs) },
  }),
  fusedDim: (_inputs, config) => config.dim,
};

export const attentionFusion: FusionMethod<AttentionFusionConfig, AttentionFusionParams> = {
  name: "attention_fusion",
  family: "hybrid",
  summary: "attention-weighted sum of projected modalities, one softmax weight per modality and row",
  citation: "TorchMultimodal AttentionFusionModule (Meta AI, 2022)",
  config: attentionFusionConfig,
  defaults: defaultsOf(attentionFusionConfig),
  modalityDropout: MODALITY_DROPOUT,
  check: (_config, inputs) => requireModalities("attention_fusion", inputs, 1),
  init(rng: HostRng, inputs: EncodedDims[], _outDim: number, config: AttentionFusionConfig): AttentionFusionParams {
    requireModalities("attention_fusion", inputs, 1);
    const M = inputs.length;
    const total = inputs.reduce((n, m) => n + m.dim, 0);
    return {
      projections: inputs.map((m) => initLinear(rng, m.dim, config.dim)),
      scoring: initLinear(rng, total, M * config.heads),
    };
  },
  apply(p, encoded, _ctx, config) {
    const B = encoded[0]!.present.shape[0]!;
    const M = encoded.length;
    const { dim, heads } = config;
    const { xs, present } = maskedInputs(encoded);
    const scores = linear(p.scoring, concat(xs, 1)).reshape([B, M, heads]);
    const headWeights = presentSoftmax(scores, present);
    const projected = stack(xs.map((x, m) => linear(p.projections[m], x)), 1).reshape([B, M, heads, dim / heads]);
    const fused = projected.mul(headWeights.reshape([B, M, heads, 1])).sum(1).reshape([B, dim]);
    return { fused, explain: { weights: headWeights.mean(2), headWeights } };
  },
  explains: (inputs, _outDim, config) => ({
    weights: { kind: "modalityWeights", modalities: modalityNames(inputs) },
    headWeights: { kind: "perModality", modalities: modalityNames(inputs), width: config.heads },
  }),
  fusedDim: (_inputs, config) => config.dim,
};

export const hybridMethods: FusionMethod[] = [gmu, attentionFusion];
