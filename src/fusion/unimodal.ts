/**
 * Unimodal baselines: the same encoder and head with every other modality
 * ignored. The floor each fusion method must beat, and the "what does one
 * modality know" column of the report (MultiBench reports them the same way,
 * Liang et al., NeurIPS 2021).
 *
 *   z = MLP(h_k) * s_k        (k the chosen modality; zero when it is missing)
 *
 * Parameters: sum_l (n_{l-1} + 1) n_l with n_0 = d_k. The other modalities'
 * encoders still exist in the model but nothing reads their output: the
 * train steps leave them as they are and the trainer does not count them
 * (src/engine/readLeaves.ts).
 */
import { FusionkitError } from "../errors.ts";
import { initMlp, mlp, type MlpParams } from "../engine/layers.ts";
import type { HostRng } from "../engine/random.ts";
import type { EncodedDims } from "../encoders/types.ts";
import { z } from "zod";
import { defaultsOf, rate, widths } from "./config.ts";
import type { FusionMethod } from "./types.ts";

const unimodalConfig = z.strictObject({
  /** widths of the MLP on the modality's pooled features (the last is the fused width) */
  hidden: widths().default([64]),
  dropout: rate().default(0.1),
});
export type UnimodalConfig = z.infer<typeof unimodalConfig>;
export type UnimodalParams = { mlp: MlpParams };

export const unimodalPrefix = "unimodal:";

function indexOf(modality: string, inputs: { name: string }[]): number {
  const i = inputs.findIndex((m) => m.name === modality);
  if (i < 0) {
    throw new FusionkitError(
      `method "${unimodalPrefix}${modality}" names a modality the dataset does not have; valid: ${inputs.map((m) => `${unimodalPrefix}${m.name}`).join(", ")}`,
      { field: "method" },
    );
  }
  return i;
}

export function unimodalMethod(modality: string): FusionMethod<UnimodalConfig, UnimodalParams> {
  return {
    name: `${unimodalPrefix}${modality}`,
    family: "unimodal",
    summary: `only the "${modality}" modality (baseline)`,
    citation: "unimodal baseline as in MultiBench, Liang et al., NeurIPS 2021",
    config: unimodalConfig,
    defaults: defaultsOf(unimodalConfig),
    check: (_config, inputs: EncodedDims[]) => void indexOf(modality, inputs),
    init(rng: HostRng, inputs: EncodedDims[], _outDim: number, config: UnimodalConfig): UnimodalParams {
      return { mlp: initMlp(rng, [inputs[indexOf(modality, inputs)]!.dim, ...config.hidden]) };
    },
    apply(p, encoded, ctx, config) {
      const e = encoded[indexOf(modality, encoded)]!;
      const B = e.present.shape[0]!;
      const h = mlp(p.mlp, e.pooled, { finalAct: true, dropout: config.dropout, rng: ctx.train ? ctx.rng : undefined });
      return { fused: h.mul(e.present.reshape([B, 1])) };
    },
    fusedDim: (_inputs, config) => config.hidden[config.hidden.length - 1]!,
  };
}
