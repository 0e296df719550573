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
import type { z } from "zod";
import type { HostRng, Rng } from "../engine/random.ts";
import type { ParamTree, Params } from "../engine/params.ts";
import type { HostArray, Tensor } from "../engine/tensor.ts";
import type { Encoded, EncodedDims } from "../encoders/types.ts";
import type { ExplainSpec, GateLeaf } from "./explain.ts";

export type Family =
  | "unimodal"
  | "early"
  | "intermediate"
  | "late"
  | "low-rank"
  | "contrastive"
  | "transformer"
  | "progressive"
  | "hybrid"
  /** classical baselines (logistic regression on raw features, src/baselines), not networks */
  | "linear";

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

export interface FusionMethod<Config extends object = Record<string, unknown>, P extends ParamTree = ParamTree> {
  /** the name users type: `--methods lmf,gmu` */
  name: string;
  family: Family;
  /** one line for --help and the report */
  summary: string;
  /** the paper, as "Authors, Venue Year" */
  citation: string;
  /**
   * The method's settings as ONE zod schema (src/fusion/config.ts): every field has its
   * default, its validation and its doc; `Config` is inferred from it. Users' overrides
   * go through parseMethodConfig, whose errors name the method and the field.
   */
  config: z.ZodType<Config>;
  /** what `config` parses `{}` to (defaultsOf(config)) */
  defaults: Config;
  /** true when the method needs `tokens` (sequence-level) rather than `pooled`. */
  usesTokens?: boolean;
  /** probability of dropping each modality per row during training (adaptive methods); default 0. */
  modalityDropout?: number;
  /** Checks that need the data (how many modalities, a width the heads must divide); throws FusionkitError naming the field. */
  check?(config: Config, inputs: EncodedDims[]): void;
  /** the method's parameters as a host tree; `apply` receives the same tree with Tensor leaves (Params<P>) */
  init(rng: HostRng, inputs: EncodedDims[], outDim: number, config: Config): P;
  apply(params: Params<P>, encoded: Encoded[], ctx: FusionContext, config: Config): FusionOutput;
  /** output width when the method returns `fused` (the model sizes its head from it). */
  fusedDim?(inputs: EncodedDims[], config: Config): number;
  /**
   * What each of `apply`'s explain tensors is (src/fusion/explain.ts): exactly the keys
   * `apply` returns, each with its kind, the modalities it is about and (implied) its
   * per-row shape. Required when `apply` returns `explain`; explain/, the report and the
   * web page read this instead of guessing from keys and shapes.
   */
  explains?(inputs: EncodedDims[], outDim: number, config: Config): ExplainSpec;
  /** The gate leaves of the method's own tree (Flamingo's alpha, beta: y = x + tanh(g) f(x)), paths below the method's subtree. */
  gates?(params: P, config: Config): GateLeaf[];
  /**
   * Optional second stage after training (late fusion's stacking meta-classifier):
   * fits extra parameters on the host from out-of-fold predictions of the TRAIN
   * split (k-fold cross-fitting, src/train/crossFit.ts), never from validation labels.
   * How the trainer calls it, once, after the main run (best-epoch parameters kept):
   *  1. deal the train rows into k folds (config `folds`, default 3); for each fold,
   *     train a fresh model on the other folds with the same options, run it over the
   *     fold's rows with train = false and keep this method's `explain` tensors
   *     (row-major, leading dimension n); assemble them in train-row order;
   *  2. newFusion = method.postFit(params.fusion, { explain, labels: train.labels }, config);
   *  3. put newFusion back at params.fusion; it has the same layout as `init`'s
   *     tree, so the flat vector, compiled eval steps and checkpoints stay valid.
   * Never pass validation or test rows: every method in a bench gets the same
   * supervision (validation only for early stopping), and the fitted parameters
   * must not see rows they score.
   */
  postFit?(params: P, outOfFold: PostFitData, config: Config): P;
}

/** What `postFit` receives: the method's own `explain` outputs over the train rows, each from a model that did not train on that row, and the train labels. */
export type PostFitData = { explain: Record<string, HostArray>; labels: Float32Array };
