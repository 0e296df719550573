/**
 * Early fusion: concatenate the modalities' features, then one joint network.
 * (fusionkit methods.md §1; the feature-level baseline of e.g. Baltrušaitis,
 * Ahuja & Morency, "Multimodal Machine Learning: A Survey and Taxonomy",
 * IEEE TPAMI 2019; MultiBench's ConcatEarly, Liang et al., NeurIPS 2021.)
 *
 *   u_m = ReLU(h_m W_m + b_m) * s_m          light per-modality projection, zero when missing
 *   x   = [u_1; ...; u_M; s_1, ..., s_M]     concatenation (+ presence flags)
 *   z   = MLP(x)                             one joint MLP, ReLU after every layer
 *
 * Parameters: sum_m (d_m + 1) p  +  sum_l (n_{l-1} + 1) n_l, with n_0 = M p + M.
 * Why the projection: modalities differ in scale and semantics (methods.md §1);
 * a per-modality linear map puts them on comparable footing before they mix.
 * Why the presence flags: with them the MLP can tell "missing" from "a
 * feature vector that happens to be zero" (s_m is 0/1, so they cost M inputs).
 * Sequences are pooled by their encoders first; concatenation per time step
 * (MultiBench's raw ConcatEarly) needs aligned time axes, which modalities here
 * do not share.
 */
import { z } from "zod";
import { initLinear, initMlp, linear, mlp, type LinearParams, type MlpParams } from "../engine/layers.ts";
import type { HostRng } from "../engine/random.ts";
import { concat, stack } from "../engine/tensor.ts";
import type { EncodedDims } from "../encoders/types.ts";
import { defaultsOf, integer, rate, requireModalities, widths } from "./config.ts";
import type { FusionMethod } from "./types.ts";

const earlyFusionConfig = z.strictObject({
  /** width of each modality's projection */
  projectDim: integer(1).default(32),
  /** widths of the joint MLP's layers (the last is the fused width) */
  hidden: widths().default([64, 64]),
  dropout: rate().default(0.1),
});
export type EarlyFusionConfig = z.infer<typeof earlyFusionConfig>;

export type EarlyFusionParams = { projections: LinearParams[]; joint: MlpParams };

export const earlyFusion: FusionMethod<EarlyFusionConfig, EarlyFusionParams> = {
  name: "early",
  family: "early",
  summary: "concatenate per-modality features, then one joint MLP",
  citation: "Baltrušaitis, Ahuja & Morency, IEEE TPAMI 2019 (survey); MultiBench ConcatEarly, Liang et al., NeurIPS 2021",
  config: earlyFusionConfig,
  defaults: defaultsOf(earlyFusionConfig),
  check: (_config, inputs) => requireModalities("early", inputs, 1),
  init(rng: HostRng, inputs: EncodedDims[], _outDim: number, config: EarlyFusionConfig): EarlyFusionParams {
    return {
      projections: inputs.map((m) => initLinear(rng, m.dim, config.projectDim, "he")),
      joint: initMlp(rng, [inputs.length * config.projectDim + inputs.length, ...config.hidden]),
    };
  },
  apply(p, encoded, ctx, config) {
    const B = encoded[0]!.present.shape[0]!;
    const parts = encoded.map((e, m) => linear(p.projections[m], e.pooled).relu().mul(e.present.reshape([B, 1])));
    const flags = stack(encoded.map((e) => e.present), 1);
    const fused = mlp(p.joint, concat([...parts, flags], 1), { finalAct: true, dropout: config.dropout, rng: ctx.train ? ctx.rng : undefined });
    return { fused };
  },
  fusedDim: (_inputs, config) => config.hidden[config.hidden.length - 1]!,
};

export const earlyFusionMethods: FusionMethod[] = [earlyFusion];
