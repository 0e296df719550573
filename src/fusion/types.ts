/**
 * The one interface every fusion method implements.
 *
 * A model = per-modality encoders (src/encoders) + a fusion module (one file per
 * family in this folder) + a task head (src/model). A fusion module receives the
 * encoded modalities with their presence masks and returns either the fused
 * representation (the model adds a linear head) or, for decision-level methods
 * (late fusion, a contrastive linear probe), the prediction logits themselves.
 */
import type { HostRng, Rng } from "../engine/random.ts";
import type { ParamTree, Params } from "../engine/params.ts";
import type { Tensor } from "../engine/tensor.ts";
import type { Encoded, EncodedDims } from "../encoders/types.ts";

export type Family =
  | "unimodal"
  | "early"
  | "intermediate"
  | "late"
  | "low-rank"
  | "contrastive"
  | "transformer"
  | "progressive"
  | "hybrid";

export type FusionContext = {
  /** true inside a train step: dropout and modality dropout are active, `rng` is set. */
  train: boolean;
  rng?: Rng;
  /** size of the task output (classes, labels, or 1 for regression). */
  outDim: number;
};

export type FusionOutput =
  /** the fused representation [B, dim]; the model applies its head. */
  | { fused: Tensor; auxLoss?: Tensor; explain?: Record<string, Tensor> }
  /** decision-level methods produce logits [B, outDim] directly. */
  | { logits: Tensor; auxLoss?: Tensor; explain?: Record<string, Tensor> };

export interface FusionMethod<Config extends Record<string, unknown> = Record<string, unknown>> {
  /** the name users type: `--methods lmf,gmu` */
  name: string;
  family: Family;
  /** one line for --help and the report */
  summary: string;
  /** the paper, as "Authors, Venue Year" */
  citation: string;
  defaults: Config;
  /** true when the method needs `tokens` (sequence-level) rather than `pooled`. */
  usesTokens?: boolean;
  /** probability of dropping each modality per row during training (adaptive methods); default 0. */
  modalityDropout?: number;
  /** Throws FusionkitError naming the bad field and the valid options. */
  validate?(config: Config, inputs: EncodedDims[]): void;
  init(rng: HostRng, inputs: EncodedDims[], outDim: number, config: Config): ParamTree;
  apply(params: Params, encoded: Encoded[], ctx: FusionContext, config: Config): FusionOutput;
  /** output width when the method returns `fused` (the model sizes its head from it). */
  fusedDim?(inputs: EncodedDims[], config: Config): number;
  /**
   * Optional second stage after training (late fusion's stacking meta-classifier):
   * given validation-split logits per modality, fit extra parameters on the host.
   */
}
