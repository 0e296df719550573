/**
 * The one interface every fusion method implements.
 *
 * A model = per-modality encoders (src/encoders) + a fusion module (one file per
 * family in this folder) + a task head (src/model). A fusion module receives the
 * encoded modalities with their presence masks and returns either the fused
 * representation (the model adds a linear head) or, for decision-level methods
 * (late fusion, a contrastive linear probe), the prediction logits themselves.
 * A method that must reach inside the encoders (progressive fusion feeds its fused
 * vector back into their input stage) reruns them through `ctx.encoders`.
 */
import type { HostRng, Rng } from "../engine/random.ts";
import type { ParamTree, Params } from "../engine/params.ts";
import type { HostArray, Tensor } from "../engine/tensor.ts";
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
  /**
   * The model's own per-modality encoders, bound to their parameters and this batch, for
   * methods that wrap them (progressive fusion's backward connections). `encoded` as passed
   * to `apply` is `encoders.encode()`; calling it again with a feedback term per modality
   * reruns every encoder with that term added at its input stage. Absent when a method is
   * run on bare features (the method tests), so a method that needs it must say so.
   */
  encoders?: EncoderStage;
};

export type EncoderStage = {
  dims: EncodedDims[];
  /** feedback[m] [B, dims[m].dim] enters encoder m's input stage (undefined: none). */
  encode(feedback?: (Tensor | undefined)[]): Encoded[];
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
   * fits extra parameters on the host from VALIDATION-split outputs only.
   * How the trainer calls it, once, after the last train step (best-epoch
   * parameters restored) and before any test evaluation:
   *  1. run the model over every val row with train = false (src/train/predict.ts
   *     `Predictor.predict(val)`), keeping this method's `explain` tensors
   *     (row-major, leading dimension n, padding rows dropped);
   *  2. newFusion = method.postFit(params.fusion, { explain, labels: val.labels }, config);
   *  3. put newFusion back at params.fusion; it has the same layout as `init`'s
   *     tree, so the flat vector, compiled eval steps and checkpoints stay valid.
   * Never pass train or test rows: the fitted parameters must not see rows they score.
   */
  postFit?(params: ParamTree, validation: PostFitData, config: Config): ParamTree;
}

/** What `postFit` receives: the method's own `explain` outputs over the validation rows, and their labels. */
export type PostFitData = { explain: Record<string, HostArray>; labels: Float32Array };
