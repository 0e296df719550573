/**
 * Intermediate (deep) fusion by bidirectional cross-attention.
 *
 * Separate encoders produce token sequences H_m [B, T_m, d_m]; each is projected
 * to a common width d (H_m <- H_m P_m). Then L blocks (default 1), each updating
 * every modality a from the previous block's states of the others:
 *
 *   H_a' = H_a  + MHA( LN(H_a), LN(C_a) )          keys masked by C_a's token mask
 *   H_a''= H_a' + FFN( LN(H_a') )                   FFN = Linear(d, k d) - GELU - Linear(k d, d)
 *   MHA(Q, C) = softmax( (Q W_Q)(C W_K)^T / sqrt(d_h) ) (C W_V) W_O, per head of width d_h = d / heads
 *
 * For M = 2, C_a = H_b: the pairwise co-attention of ViLBERT (Lu et al.,
 * NeurIPS 2019), H_a' = H_a + softmax(...)H_b W_V, and symmetrically H_b <- H_a in the same
 * block (both read the previous block's states). For M > 2 each modality attends
 * to the concatenation of all other modalities' tokens along the time axis,
 * C_a = [H_b; H_c; ...] (one softmax over all of their real tokens), so the cost
 * is one attention per modality rather than one per ordered pair.
 * GELU rather than ReLU in the FFN (as in BERT and ViT): it is smooth, so the
 * finite-difference gradient tests are not thrown off by ReLU kinks.
 * Output: fused = [maskedMean(H_1); ...; maskedMean(H_M)] W_out + b_out, width d.
 *
 * Reference: Vaswani et al., NeurIPS 2017 (multi-head attention); cross-modal
 * co-attention as in ViLBERT (Lu et al., NeurIPS 2019) and LXMERT (Tan & Bansal,
 * EMNLP 2019), which this block follows (pre-LN residual form).
 *
 * Missing modalities and padding: the token mask is multiplied by `present`
 * (modality dropout in the model changes `present` after encoding), so a missing
 * modality's tokens are never keys; a modality whose context has no real token
 * gets a zero attention update (engine `attention`); a missing modality's own
 * states are pooled with an all-zero mask, giving a zero block in the
 * concatenation. Changing a missing modality's tokens changes nothing.
 *
 * explain: `cross_attention/layer<l>/<a><-<others joined by +>` = attention
 * weights averaged over heads, [B, T_a, sum of the others' T].
 *
 * This file also holds the building blocks the transformer family reuses
 * (src/fusion/transformerFusion.ts): the pre-LN attention block, the masks and
 * the config checks.
 */
import { FusionkitError } from "../errors.ts";
import {
  attention,
  dropout,
  initAttention,
  initLayerNorm,
  initLinear,
  initMlp,
  layerNorm,
  linear,
  maskedMean,
  mlp,
  type AttentionParams,
  type LayerNormParams,
  type LinearParams,
  type MlpParams,
} from "../engine/layers.ts";
import type { ParamTree, Params } from "../engine/params.ts";
import type { HostRng } from "../engine/random.ts";
import { concat, type Tensor } from "../engine/tensor.ts";
import type { Encoded, EncodedDims } from "../encoders/types.ts";
import { z } from "zod";
import { defaultsOf, headsDivide, integer, rate, requireModalities } from "./config.ts";
import { attentionKey, othersOf, type ExplainSpec } from "./explain.ts";
import type { FusionContext, FusionMethod, FusionOutput } from "./types.ts";

// ---- building blocks ------------------------------------------------------------

/** [B, T] mask of real tokens in present rows (the model's modality dropout edits `present` only). */
export function realTokenMask(e: Encoded): Tensor {
  const B = e.present.shape[0]!;
  return e.tokenMask.mul(e.present.reshape([B, 1]));
}

/** Applies inverted dropout with a fresh key per call while training; identity otherwise. */
export function dropoutStream(ctx: FusionContext, rate: number, uses: number): (x: Tensor) => Tensor {
  if (!ctx.train || !ctx.rng || rate <= 0 || uses === 0) return (x) => x;
  const rngs = ctx.rng.split(uses);
  let next = 0;
  return (x) => dropout(x, rate, rngs[next++]);
}

/** A pre-LN attention block: x + MHA(LN(x), LN(context)), then x + FFN(LN(x)). */
export type AttentionBlockParams = {
  queryNorm: LayerNormParams;
  /** absent in self-attention blocks (context = the normalised query) */
  contextNorm?: LayerNormParams;
  attention: AttentionParams;
  ffnNorm: LayerNormParams;
  ffn: MlpParams;
};

export function initAttentionBlock(rng: HostRng, dim: number, ffnMultiplier: number, cross: boolean): AttentionBlockParams {
  return {
    queryNorm: initLayerNorm(dim),
    ...(cross ? { contextNorm: initLayerNorm(dim) } : {}),
    attention: initAttention(rng, dim, dim, dim),
    ffnNorm: initLayerNorm(dim),
    ffn: initMlp(rng, [dim, ffnMultiplier * dim, dim], "gelu"),
  };
}

/**
 * One block. `context` undefined means self-attention over `x` with `contextMask`
 * as the key mask. Returns the new states and the attention weights [B, heads, Tq, Tk].
 */
function contextNormOf(p: Params<AttentionBlockParams>): Params<LayerNormParams> {
  if (!p.contextNorm) throw new FusionkitError("a self-attention block (no contextNorm) was given a context to attend to", { layer: "attentionBlock" });
  return p.contextNorm;
}

export function attentionBlock(
  p: Params<AttentionBlockParams>,
  x: Tensor,
  context: Tensor | undefined,
  contextMask: Tensor,
  heads: number,
  drop: (x: Tensor) => Tensor = (v) => v,
): { out: Tensor; weights: Tensor } {
  const query = layerNorm(p.queryNorm, x);
  const keys = context === undefined ? query : layerNorm(contextNormOf(p), context);
  const attended = attention(p.attention, query, keys, { heads, keyMask: contextMask });
  const h = x.add(drop(attended.out));
  const out = h.add(drop(mlp(p.ffn, layerNorm(p.ffnNorm, h), { act: "gelu" })));
  return { out, weights: attended.weights };
}

/** Tokens and masks of every modality except `skip`, concatenated along time. */
export function othersContext(states: Tensor[], masks: Tensor[], skip: number): { tokens: Tensor; mask: Tensor } {
  const keep = states.map((_, i) => i).filter((i) => i !== skip);
  return { tokens: concat(keep.map((i) => states[i]!), 1), mask: concat(keep.map((i) => masks[i]!), 1) };
}


// ---- cross-attention fusion -----------------------------------------------------

const crossAttentionConfig = z
  .strictObject({
    /** common width d of every modality's tokens after projection, and of the fused output */
    dim: integer(1).default(32),
    heads: integer(1).default(4),
    /** number of bidirectional cross-attention blocks L */
    layers: integer(1).default(1),
    /** hidden width of the feed-forward sublayer = ffnMultiplier * dim */
    ffnMultiplier: integer(1).default(2),
    dropout: rate().default(0),
  })
  .superRefine(headsDivide());
export type CrossAttentionConfig = z.infer<typeof crossAttentionConfig>;

type CrossAttentionParams = {
  inputProjections: LinearParams[];
  /** layers[l][a]: the block that updates modality a in layer l */
  layers: AttentionBlockParams[][];
  output: LinearParams;
};

const CROSS_ATTENTION = "cross_attention";

export const crossAttentionFusion: FusionMethod<CrossAttentionConfig, CrossAttentionParams> = {
  name: CROSS_ATTENTION,
  family: "intermediate",
  summary: "bidirectional cross-attention between modality token sequences, masked-mean pooled and joined",
  citation: "Vaswani et al., NeurIPS 2017; cross-modal co-attention as in Lu et al. (ViLBERT), NeurIPS 2019",
  config: crossAttentionConfig,
  defaults: defaultsOf(crossAttentionConfig),
  usesTokens: true,
  check: (_config, inputs) => requireModalities(CROSS_ATTENTION, inputs, 2),
  fusedDim: (_inputs, config) => config.dim,

  init(rng, inputs, _outDim, config): CrossAttentionParams {
    requireModalities(CROSS_ATTENTION, inputs, 2);
    const params: CrossAttentionParams = {
      inputProjections: inputs.map((m) => initLinear(rng, m.dim, config.dim)),
      layers: Array.from({ length: config.layers }, () =>
        inputs.map(() => initAttentionBlock(rng, config.dim, config.ffnMultiplier, true)),
      ),
      output: initLinear(rng, inputs.length * config.dim, config.dim),
    };
    return params;
  },

  apply(p: Params<CrossAttentionParams>, encoded: Encoded[], ctx: FusionContext, config: CrossAttentionConfig): FusionOutput {
    const M = encoded.length;
    const masks = encoded.map(realTokenMask);
    const drop = dropoutStream(ctx, config.dropout, 2 * M * config.layers);
    let states = encoded.map((e, m) => linear(p.inputProjections[m], e.tokens));
    const explain: Record<string, Tensor> = {};
    for (let l = 0; l < config.layers; l++) {
      // Every modality reads the previous layer's states of the others: a symmetric update.
      states = states.map((x, a) => {
        const context = othersContext(states, masks, a);
        const block = attentionBlock(p.layers[l][a], x, context.tokens, context.mask, config.heads, drop);
        explain[attentionKey(`${CROSS_ATTENTION}/layer${l + 1}`, encoded[a]!.name, othersOf(encoded, a))] = block.weights.mean(1);
        return block.out;
      });
    }
    const pooled = states.map((x, m) => maskedMean(x, masks[m]!));
    return { fused: linear(p.output, concat(pooled, -1)), explain };
  },

  explains(inputs, _outDim, config) {
    const spec: ExplainSpec = {};
    for (let l = 0; l < config.layers; l++) {
      inputs.forEach((m, a) => (spec[attentionKey(`${CROSS_ATTENTION}/layer${l + 1}`, m.name, othersOf(inputs, a))] = { kind: "attention", query: m.name, context: othersOf(inputs, a) }));
    }
    return spec;
  },
};

export const intermediateMethods: FusionMethod[] = [crossAttentionFusion];
