/**
 * Transformer / attention fusion: MulT and Flamingo-style gated cross-attention.
 *
 * ## MulT — Tsai et al., "Multimodal Transformer for Unaligned Multimodal
 * Language Sequences", ACL 2019 (name "mult")
 * Each modality's tokens are projected to a common width d and given sinusoidal
 * position encodings: X_m = H_m P_m + PE (the paper uses a 1-D convolution for
 * P_m; a per-token linear map here). For every ordered pair (target a <- source b),
 * a crossmodal transformer of L layers (default 1; the paper uses 4-5):
 *
 *   Z^0 = X_a
 *   Z^l = Z^{l-1} + CM_{b->a}( LN(Z^{l-1}), LN(X_b) )      CM(Q, C) = softmax((Q W_Q)(C W_K)^T / sqrt(d_h)) C W_V W_O
 *   Z^l = Z^l + FFN( LN(Z^l) )
 *
 * (pre-LN form; the source is always the low-level X_b, as in the paper). Then,
 * per target a, the crossmodal outputs are concatenated on the feature axis,
 * Z_a = [Z_{b1->a}; Z_{b2->a}; ...] of width (M-1) d, and pass S (default 1)
 * self-attention transformer layers and a final LayerNorm. Each target is pooled
 * (the last real token, as in the paper, or the masked mean: config `pool`) and
 * the M pooled vectors are concatenated: fused width M (M-1) d. For M = 3 this is
 * the paper's six crossmodal transformers (L->V, L->A, V->L, ...); any M >= 2
 * works the same way with M (M-1) of them.
 *
 * ## Gated cross-attention — Alayrac et al., "Flamingo: a Visual Language Model
 * for Few-Shot Learning", NeurIPS 2022 (name "flamingo")
 * The query modality (config `query`; default the first text modality, else the
 * first modality) is the "language" stream x; V = the other modalities' projected
 * tokens concatenated along time. Per layer (L, default 1):
 *
 *   y  = x + tanh(alpha) * XAttn( LN(x), V )          key mask: the others' real tokens
 *   y' = y + tanh(beta)  * FFW( LN(y) )
 *   x  = LMLayer(y')                                   self-attention + FFN over the language stream
 *
 * alpha = beta = 0 at initialisation, so the model starts as the unimodal
 * language model exactly (tanh(0) = 0; pinned by test/fusion/transformerFusion.test.ts).
 * In Flamingo the LM layers are a frozen pretrained language model; here
 * LMLayer is a pre-LN transformer layer trained from scratch (there is no
 * pretrained LM to freeze), so only the gating follows the paper. It attends
 * bidirectionally (the task is classification, not generation). The Perceiver
 * resampler is left out: V is the encoders' tokens. fused = maskedMean(LN(x)), width d.
 *
 * ## Missing modalities and padding
 * Token masks are multiplied by `present`, so padded or missing tokens are never
 * keys. MulT: a missing source gives a zero crossmodal update (engine `attention`
 * zeroes a query whose context has no real key), a missing target pools to a
 * zero block. Flamingo: missing other modalities give a zero cross-attention
 * update; a row whose query modality is missing uses one learned "empty" token as
 * its language stream (so it can still read the other modalities) instead of
 * the missing modality's tokens, which are then never read.
 *
 * explain:
 *   mult/layer<l>/<a><-<b>            crossmodal attention, averaged over heads [B, T_a, T_b]
 *   flamingo/layer<l>/<q><-<others>   gated cross-attention map [B, T_q, sum T_others]
 *   flamingo/layer<l>/tanh_alpha, .../tanh_beta   the gate values, repeated per row [B]
 *
 * The FFNs use GELU (smooth: finite-difference tests are not thrown off by kinks).
 */
import { FusionkitError } from "../errors.ts";
import {
  attention,
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
import { normalParam, zerosParam, type ParamTree, type Params } from "../engine/params.ts";
import { concat, constant, maximum, where, zeros, type Tensor } from "../engine/tensor.ts";
import type { HostArray } from "../engine/tensor.ts";
import type { Encoded, EncodedDims } from "../encoders/types.ts";
import {
  attentionBlock,
  dropoutStream,
  initAttentionBlock,
  othersContext,
  realTokenMask,
  type AttentionBlockParams,
} from "./intermediateFusion.ts";
import { z } from "zod";
import { defaultsOf, headsDivide, integer, oneOf, rate, requireModalities } from "./config.ts";
import { attentionKey, othersOf, type ExplainSpec } from "./explain.ts";
import type { FusionContext, FusionMethod, FusionOutput } from "./types.ts";

// ---- shared helpers ---------------------------------------------------------------

/** Sinusoidal position encodings [T, d] (Vaswani et al. 2017): sin on even, cos on odd features. */
export function sinusoidalPositions(T: number, d: number): Float32Array {
  const pe = new Float32Array(T * d);
  for (let t = 0; t < T; t++) {
    for (let i = 0; i < d; i++) {
      const angle = t / Math.pow(10000, (2 * Math.floor(i / 2)) / d);
      pe[t * d + i] = i % 2 === 0 ? Math.sin(angle) : Math.cos(angle);
    }
  }
  return pe;
}

/**
 * The state at each row's last real token (tokens are right-padded, so it is the
 * position where the mask drops from 1 to 0); zero for a row with no real token.
 */
export function lastRealToken(x: Tensor, mask: Tensor): Tensor {
  const [B, T] = mask.shape as [number, number];
  const next = T > 1 ? concat([mask.slice(1, 1, T), zeros([B, 1])], 1) : zeros([B, 1]);
  return maskedMean(x, maximum(mask.sub(next), 0));
}

// ---- MulT -------------------------------------------------------------------------

const multConfig = z
  .strictObject({
    /** common width d of the projected tokens */
    dim: integer(1).default(16),
    heads: integer(1).default(4),
    /** crossmodal transformer layers per ordered pair */
    layers: integer(1).default(1),
    /** self-attention layers per target over the concatenated crossmodal outputs */
    selfLayers: integer(0).default(1),
    ffnMultiplier: integer(1).default(2),
    /** "last": the last real token (the paper); "mean": masked mean over real tokens */
    pool: oneOf(["last", "mean"]).default("last"),
    dropout: rate().default(0),
  })
  .superRefine(headsDivide());
export type MultConfig = z.infer<typeof multConfig>;

type MultParams = {
  inputProjections: LinearParams[];
  /** crossmodal[a][j][l]: layer l of the transformer from the j-th other modality into target a */
  crossmodal: AttentionBlockParams[][][];
  /** selfAttention[a][l], width (M - 1) d */
  selfAttention: AttentionBlockParams[][];
  finalNorms: LayerNormParams[];
};

const MULT = "mult";

export const multimodalTransformer: FusionMethod<MultConfig, MultParams> = {
  name: MULT,
  family: "transformer",
  summary: "MulT: crossmodal transformers for every ordered modality pair, then self-attention per target",
  citation: "Tsai et al., ACL 2019",
  config: multConfig,
  defaults: defaultsOf(multConfig),
  usesTokens: true,
  check: (_config, inputs) => requireModalities(MULT, inputs, 2),
  fusedDim: (inputs, config) => inputs.length * (inputs.length - 1) * config.dim,

  init(rng, inputs, _outDim, config) {
    requireModalities(MULT, inputs, 2);
    const M = inputs.length;
    const targetDim = (M - 1) * config.dim;
    const params: MultParams = {
      inputProjections: inputs.map((m) => initLinear(rng, m.dim, config.dim)),
      crossmodal: inputs.map(() =>
        Array.from({ length: M - 1 }, () =>
          Array.from({ length: config.layers }, () => initAttentionBlock(rng, config.dim, config.ffnMultiplier, true)),
        ),
      ),
      selfAttention: inputs.map(() =>
        Array.from({ length: config.selfLayers }, () => initAttentionBlock(rng, targetDim, config.ffnMultiplier, false)),
      ),
      finalNorms: inputs.map(() => initLayerNorm(targetDim)),
    };
    return params;
  },

  apply(p: Params<MultParams>, encoded: Encoded[], ctx: FusionContext, config: MultConfig): FusionOutput {
    const M = encoded.length;
    const masks = encoded.map(realTokenMask);
    const drop = dropoutStream(ctx, config.dropout, 2 * M * ((M - 1) * config.layers + config.selfLayers));
    const low = encoded.map((e, m) => {
      const [, T] = e.tokens.shape as [number, number];
      return linear(p.inputProjections[m], e.tokens).add(constant(sinusoidalPositions(T, config.dim), [T, config.dim]));
    });
    const explain: Record<string, Tensor> = {};
    const pooled = encoded.map((target, a) => {
      const sources = encoded.map((_, b) => b).filter((b) => b !== a);
      const crossmodal = sources.map((b, j) => {
        let z = low[a]!;
        for (let l = 0; l < config.layers; l++) {
          const block = attentionBlock(p.crossmodal[a][j][l], z, low[b], masks[b]!, config.heads, drop);
          explain[attentionKey(`${MULT}/layer${l + 1}`, target.name, [encoded[b]!.name])] = block.weights.mean(1);
          z = block.out;
        }
        return z;
      });
      let z = concat(crossmodal, -1);
      for (let l = 0; l < config.selfLayers; l++) z = attentionBlock(p.selfAttention[a][l], z, undefined, masks[a]!, config.heads, drop).out;
      z = layerNorm(p.finalNorms[a], z);
      return config.pool === "last" ? lastRealToken(z, masks[a]!) : maskedMean(z, masks[a]!);
    });
    return { fused: concat(pooled, -1), explain };
  },

  explains(inputs, _outDim, config) {
    const spec: ExplainSpec = {};
    inputs.forEach((target, a) => {
      for (const source of othersOf(inputs, a)) {
        for (let l = 0; l < config.layers; l++) spec[attentionKey(`${MULT}/layer${l + 1}`, target.name, [source])] = { kind: "attention", query: target.name, context: [source] };
      }
    });
    return spec;
  },
};

// ---- Flamingo gated cross-attention -----------------------------------------------

const flamingoConfig = z
  .strictObject({
    dim: integer(1).default(32),
    heads: integer(1).default(4),
    /** gated cross-attention + language-model layer pairs */
    layers: integer(1).default(1),
    ffnMultiplier: integer(1).default(2),
    /** name of the "language" modality; "" picks the first text modality, else the first modality */
    query: z.string({ error: 'must be a modality name or ""' }).default(""),
    dropout: rate().default(0),
  })
  .superRefine(headsDivide());
export type FlamingoConfig = z.infer<typeof flamingoConfig>;

export type GatedCrossAttentionParams = {
  norm: LayerNormParams;
  attention: AttentionParams;
  /** scalar gates, zero at initialisation */
  alpha: HostArray;
  ffnNorm: LayerNormParams;
  ffn: MlpParams;
  beta: HostArray;
};

type FlamingoParams = {
  inputProjections: LinearParams[];
  /** the language stream of rows whose query modality is missing */
  emptyQuery: HostArray;
  layers: { gated: GatedCrossAttentionParams; languageModel: AttentionBlockParams }[];
  finalNorm: LayerNormParams;
};

const FLAMINGO = "flamingo";

/** Index of the language stream: the configured name, else the first text modality, else 0. */
export function queryIndex(inputs: { name: string; type: string }[], query: string): number {
  if (query) {
    const i = inputs.findIndex((m) => m.name === query);
    if (i < 0) {
      throw new FusionkitError(`query ${JSON.stringify(query)} is not a modality of this dataset; valid: ${inputs.map((m) => m.name).join(", ")} (or "" for automatic)`, {
        field: "query",
        layer: FLAMINGO,
      });
    }
    return i;
  }
  return Math.max(0, inputs.findIndex((m) => m.type === "text"));
}

/** The checks that need the data: two modalities, and a query that names one of them. */
function checkFlamingo(config: FlamingoConfig, inputs: EncodedDims[]): void {
  requireModalities(FLAMINGO, inputs, 2);
  queryIndex(inputs, config.query);
}

/** The language-model layer (the trainable stand-in for Flamingo's frozen LM layer). */
export function languageModelLayer(p: Params<AttentionBlockParams>, x: Tensor, mask: Tensor, heads: number, drop?: (x: Tensor) => Tensor): Tensor {
  return attentionBlock(p, x, undefined, mask, heads, drop).out;
}

export const gatedCrossAttention: FusionMethod<FlamingoConfig, FlamingoParams> = {
  name: FLAMINGO,
  family: "transformer",
  summary: "Flamingo gated cross-attention: a language stream reads the other modalities through tanh gates that start closed",
  citation: "Alayrac et al., NeurIPS 2022",
  config: flamingoConfig,
  defaults: defaultsOf(flamingoConfig),
  usesTokens: true,
  check: checkFlamingo,
  fusedDim: (_inputs, config) => config.dim,

  init(rng, inputs, _outDim, config) {
    checkFlamingo(config, inputs);
    const d = config.dim;
    const params: FlamingoParams = {
      inputProjections: inputs.map((m) => initLinear(rng, m.dim, d)),
      emptyQuery: normalParam(rng, [d], 1),
      layers: Array.from({ length: config.layers }, () => ({
        gated: {
          norm: initLayerNorm(d),
          attention: initAttention(rng, d, d, d),
          alpha: zerosParam([1]),
          ffnNorm: initLayerNorm(d),
          ffn: initMlp(rng, [d, config.ffnMultiplier * d, d], "gelu"),
          beta: zerosParam([1]),
        },
        languageModel: initAttentionBlock(rng, d, config.ffnMultiplier, false),
      })),
      finalNorm: initLayerNorm(d),
    };
    return params;
  },

  apply(p: Params<FlamingoParams>, encoded: Encoded[], ctx: FusionContext, config: FlamingoConfig): FusionOutput {
    const q = queryIndex(encoded, config.query);
    const language = encoded[q]!;
    const [B, T] = language.tokenMask.shape as [number, number];
    const masks = encoded.map(realTokenMask);
    const drop = dropoutStream(ctx, config.dropout, 4 * config.layers);
    const projected = encoded.map((e, m) => linear(p.inputProjections[m], e.tokens));

    // Rows without the language modality read the others through one learned token.
    const present = language.present.reshape([B, 1]);
    const firstOnly = constant(Float32Array.from({ length: T }, (_, t) => (t === 0 ? 1 : 0)), [1, T]);
    const languageMask = masks[q]!.add(present.neg().add(1).mul(firstOnly));
    let x = where(present.reshape([B, 1, 1]), projected[q]!, p.emptyQuery);

    const context = othersContext(projected, masks, q);
    const explain: Record<string, Tensor> = {};
    p.layers.forEach((layer, l) => {
      const g = layer.gated;
      const tanhAlpha = g.alpha.tanh();
      const tanhBeta = g.beta.tanh();
      const crossed = attention(g.attention, layerNorm(g.norm, x), context.tokens, { heads: config.heads, keyMask: context.mask });
      x = x.add(drop(crossed.out).mul(tanhAlpha));
      x = x.add(drop(mlp(g.ffn, layerNorm(g.ffnNorm, x), { act: "gelu" })).mul(tanhBeta));
      x = languageModelLayer(layer.languageModel, x, languageMask, config.heads, drop);
      const prefix = `${FLAMINGO}/layer${l + 1}`;
      explain[attentionKey(prefix, language.name, othersOf(encoded, q))] = crossed.weights.mean(1);
      explain[`${prefix}/tanh_alpha`] = tanhAlpha.broadcastTo([B]);
      explain[`${prefix}/tanh_beta`] = tanhBeta.broadcastTo([B]);
    });
    return { fused: maskedMean(layerNorm(p.finalNorm, x), languageMask), explain };
  },

  explains(inputs, _outDim, config) {
    const q = queryIndex(inputs, config.query);
    const spec: ExplainSpec = {};
    for (let l = 0; l < config.layers; l++) {
      const prefix = `${FLAMINGO}/layer${l + 1}`;
      spec[attentionKey(prefix, inputs[q]!.name, othersOf(inputs, q))] = { kind: "attention", query: inputs[q]!.name, context: othersOf(inputs, q) };
      spec[`${prefix}/tanh_alpha`] = { kind: "gate", parameter: `layers.${l}.gated.alpha` };
      spec[`${prefix}/tanh_beta`] = { kind: "gate", parameter: `layers.${l}.gated.beta` };
    }
    return spec;
  },

  gates: (params) =>
    params.layers.flatMap((layer, l) => [
      { name: `layers.${l}.gated.alpha`, value: layer.gated.alpha },
      { name: `layers.${l}.gated.beta`, value: layer.gated.beta },
    ]),
};

export const transformerMethods: FusionMethod[] = [
  multimodalTransformer,
  gatedCrossAttention,
];
