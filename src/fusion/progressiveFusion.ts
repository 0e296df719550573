/**
 * Progressive / hierarchical fusion: fusion at several depths instead of once.
 *
 * ## Progressive Fusion — Shankar, Thompson & Fiterau, "Progressive Fusion for
 * Multimodal Integration", arXiv 2209.00302 (2022) (name "progressive")
 * Backward connections feed the fused representation back into the unimodal
 * encoders' input stage, so a late-fusion model gets the cross-modal context
 * early fusion has, while each modality keeps its own encoder:
 *
 *   z^0 = 0
 *   for t = 1..R (config `rounds`, default 2):
 *     h_m^t = E_m( x_m ; G_m(z^{t-1}) )        per modality m, G_m(z) = z W_m^G   (no bias)
 *     z^t   = ReLU( [s_1 h_1^t ; ... ; s_M h_M^t] W_F + b_F )
 *   fused = z^R   (the model's linear head reads it)
 *
 * E_m is the model's own encoder for modality m (src/encoders), reached through
 * `ctx.encoders`: G_m(z) is added to its input-stage features, i.e. to the output
 * of its first linear map before any nonlinearity (vector: x W + b before the
 * ReLU; tabular: the numeric projection plus categorical embeddings before the
 * MLP; text: token + position embeddings; image: the tokens' linear map +
 * positions, which for the default CNN encoder comes after its convolutions
 * and for the patch encoder is the patch embedding; audio/sequence: the
 * per-frame projection before the convolution), broadcast over tokens. Where
 * that first map is linear and reads the input, adding G_m(z) there is exactly
 * the paper's concatenation [x_m ; c] of a context vector to the encoder input
 * (c entering through its own block of the first weight matrix); for the CNN
 * the context joins the convolved features instead of the pixels.
 *
 * What differs from, or is our reading of, the paper (no public code is known):
 *  - G_m is linear and bias-free, so z^0 = 0 means round 1 is the plain encoders;
 *    R = 1 is therefore exactly the model without backward connections.
 *  - The same E_m, G_m and F serve every round (R changes the compute, not the
 *    parameter count); the rounds are unrolled and trained end to end, gradients
 *    flowing through every round, and the prediction is made from z^R only.
 *  - F is one Linear-ReLU layer of width `dim` over the concatenated pooled
 *    features; the paper allows any fusion operator there.
 *  - Each round reruns every encoder: R rounds cost about R times the encoder compute.
 *
 * ## Dense Multimodal Fusion — Hu, Wang, Nie & Li, "Dense Multimodal Fusion
 * for Hierarchically Joint Representation", ICASSP 2019, arXiv 1810.03414
 * (name "dense_fusion")
 * Modality-specific stacks and a shared fusion stack side by side, the shared
 * layer at each depth reading that depth's modality layers:
 *
 *   h_m^0 = x_m,   h_m^l = act( h_m^{l-1} W_m^l + b_m^l ),             l = 1..L (default 3)
 *   s^0 = 0,       s^l = act( s^{l-1} W_s^l + sum_m s_m h_m^l U_m^l + b^l )
 *   fused = s^L
 *
 * (W_s^1 is left out: it multiplies s^0 = 0.) The sum over m is one matmul of
 * the concatenation [s^{l-1}; s_1 h_1^l; ...] with the stacked [W_s; U_1; ...].
 *
 * Any number of modalities: both methods are written for M >= 1 (one E_m, G_m
 * or one stack per modality; F and the shared layers read the concatenation),
 * so nothing is pairwise and M = 2 is not special.
 *
 * Missing modalities: s_m in {0, 1} is `present`. In progressive fusion the
 * encoders zero a missing modality's h_m themselves, feedback or not (the rule in
 * src/encoders/common.ts); in dense fusion h_m^l is not zero (the stacks have
 * biases) and is multiplied by s_m before it reaches a shared layer. Either way a
 * missing modality contributes nothing, and changing its input changes nothing.
 * With every modality missing both methods still return a finite vector (the
 * fusion layers' biases through ReLU).
 */
import {
  activate,
  initLinear,
  initMlp,
  linear,
  mlp,
  type Activation,
  type LinearParams,
  type MlpParams,
} from "../engine/layers.ts";
import { glorotParam, type ParamTree, type Params } from "../engine/params.ts";
import { concat, type HostArray, type Tensor } from "../engine/tensor.ts";
import type { Encoded, EncodedDims } from "../encoders/types.ts";
import { FusionkitError } from "../errors.ts";
import { z } from "zod";
import { defaultsOf, integer, oneOf, requireModalities } from "./config.ts";
import type { ExplainSpec } from "./explain.ts";
import type { FusionContext, FusionMethod, FusionOutput } from "./types.ts";

/** h [B, d] with rows of missing modalities zeroed. */
function presentOnly(h: Tensor, e: Encoded): Tensor {
  return h.mul(e.present.reshape([e.present.shape[0]!, 1]));
}

// ---- progressive fusion ------------------------------------------------------------

const progressiveConfig = z.strictObject({
  /** width of the fused representation z */
  dim: integer(1).default(32),
  /** fusion rounds R; R = 1 has no backward connection */
  rounds: integer(1).default(2),
});
export type ProgressiveConfig = z.infer<typeof progressiveConfig>;

type ProgressiveParams = {
  /** G_m: z -> input-stage feedback for encoder m (bias-free) */
  feedback: { w: HostArray }[];
  /** F: [h_1; ...; h_M] -> z */
  fusion: LinearParams;
};

const PROGRESSIVE = "progressive";

/** The explain key of round t's change of z (apply and explains share it). */
const changeKey = (t: number) => `${PROGRESSIVE}/round${t}/change`;


export const progressiveFusion: FusionMethod<ProgressiveConfig, ProgressiveParams> = {
  name: PROGRESSIVE,
  family: "progressive",
  summary: "progressive fusion: the fused vector is fed back into every encoder's input stage for R rounds",
  citation: "Shankar, Thompson & Fiterau, arXiv 2209.00302 (2022)",
  config: progressiveConfig,
  defaults: defaultsOf(progressiveConfig),
  check: (_config, inputs) => requireModalities(PROGRESSIVE, inputs, 1),
  fusedDim: (_inputs, config) => config.dim,

  init(rng, inputs, _outDim, config) {
    requireModalities(PROGRESSIVE, inputs, 1);
    const totalDim = inputs.reduce((n, m) => n + m.dim, 0);
    const params: ProgressiveParams = {
      feedback: inputs.map((m) => ({ w: glorotParam(rng, [config.dim, m.dim]) })),
      fusion: initLinear(rng, totalDim, config.dim, "he"),
    };
    return params;
  },

  apply(p: Params<ProgressiveParams>, encoded: Encoded[], ctx: FusionContext, config: ProgressiveConfig): FusionOutput {
    if (config.rounds > 1 && !ctx.encoders) {
      throw new FusionkitError("progressive fusion with rounds > 1 reruns the encoders, so it must run inside a model (buildModel)", {
        layer: PROGRESSIVE,
      });
    }
    // s_m h_m: the encoders already zero a missing modality's pooled vector.
    const fuse = (h: Encoded[]) => linear(p.fusion, concat(h.map((e) => e.pooled), -1)).relu();
    let z = fuse(encoded);
    const explain: Record<string, Tensor> = {};
    explain[changeKey(1)] = z.square().sum(-1).sqrt();
    for (let t = 2; t <= config.rounds; t++) {
      // Backward connections: G_m(z^{t-1}) enters encoder m's input stage; encoders mask missing rows to zero as always.
      const h = ctx.encoders!.encode(encoded.map((_, m) => z.matmul(p.feedback[m].w)));
      const next = fuse(h);
      // How much round t moved the fused vector: ||z^t - z^{t-1}|| per row (the feedback's effect).
      explain[changeKey(t)] = next.sub(z).square().sum(-1).sqrt();
      z = next;
    }
    return { fused: z, explain };
  },

  explains(_inputs, _outDim, config) {
    const spec: ExplainSpec = { [changeKey(1)]: { kind: "scalar", what: "||z^1||, the first round's fused vector" } };
    for (let t = 2; t <= config.rounds; t++) spec[changeKey(t)] = { kind: "scalar", what: `||z^${t} - z^${t - 1}||, how far the backward connection moved z` };
    return spec;
  },
};

// ---- dense multimodal fusion ---------------------------------------------------------

const denseFusionConfig = z.strictObject({
  /** width of the shared fusion layers s^l (and of the output) */
  dim: integer(1).default(32),
  /** width of the modality-specific layers h_m^l */
  hidden: integer(1).default(32),
  /** depth L of both stacks */
  layers: integer(1).default(3),
  activation: oneOf(["relu", "gelu", "tanh", "sigmoid"]).default("relu"),
});
export type DenseFusionConfig = z.infer<typeof denseFusionConfig>;

type DenseFusionParams = {
  /** modality[m][l]: h_m^{l-1} -> h_m^l */
  modality: LinearParams[][];
  /** shared[l]: [s^{l-1}; h_1^l; ...; h_M^l] -> s^l (no s^0 block at l = 0) */
  shared: LinearParams[];
};

const DENSE = "dense_fusion";
export const denseHierarchicalFusion: FusionMethod<DenseFusionConfig, DenseFusionParams> = {
  name: DENSE,
  family: "progressive",
  summary: "dense multimodal fusion: a shared fusion layer at every depth of the modality-specific stacks",
  citation: "Hu, Wang, Nie & Li, ICASSP 2019",
  config: denseFusionConfig,
  defaults: defaultsOf(denseFusionConfig),
  check: (_config, inputs) => requireModalities(DENSE, inputs, 1),
  fusedDim: (_inputs, config) => config.dim,

  init(rng, inputs, _outDim, config) {
    requireModalities(DENSE, inputs, 1);
    const scheme = config.activation === "relu" ? "he" : "glorot";
    const M = inputs.length;
    const params: DenseFusionParams = {
      modality: inputs.map((m) =>
        Array.from({ length: config.layers }, (_, l) => initLinear(rng, l === 0 ? m.dim : config.hidden, config.hidden, scheme)),
      ),
      shared: Array.from({ length: config.layers }, (_, l) =>
        initLinear(rng, (l === 0 ? 0 : config.dim) + M * config.hidden, config.dim, scheme),
      ),
    };
    return params;
  },

  apply(p: Params<DenseFusionParams>, encoded: Encoded[], _ctx: FusionContext, config: DenseFusionConfig): FusionOutput {
    let h = encoded.map((e) => e.pooled);
    let s: Tensor | undefined;
    for (let l = 0; l < config.layers; l++) {
      h = h.map((x, m) => activate(linear(p.modality[m][l], x), config.activation));
      const contributions = h.map((x, m) => presentOnly(x, encoded[m]!));
      s = activate(linear(p.shared[l], concat(s ? [s, ...contributions] : contributions, -1)), config.activation);
    }
    return { fused: s! };
  },
};

export const progressiveMethods: FusionMethod[] = [
  progressiveFusion,
  denseHierarchicalFusion,
];
