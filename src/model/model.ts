/**
 * A model = per-modality encoders (src/encoders) + one fusion method
 * (src/fusion) + a linear task head when the method returns a fused vector.
 *
 *   h_m = E_m(x_m) * s_m                       (s_m: presence, after modality dropout)
 *   fused = F(h_1..h_M)  ->  logits = dropout(fused) W_head + b_head
 *   (decision-level methods return logits directly)
 *   loss = task loss(logits, y; row weights) + auxLoss
 *        + lambda * mean_m task loss(h_m W_m + b_m, y; row weights * s_m)   (unimodalAuxWeight)
 *
 * The last term is optional (lambda = 0 by default; the bench sets it, docs/fair-comparison.md):
 * per-modality auxiliary heads in the spirit of Gradient Blending (Wang, Tran & Feiszli,
 * CVPR 2020), with equal fixed weights. A jointly trained fusion model learns mostly from its
 * strongest modality and leaves the other encoders under-trained (the paper's "modality
 * competition"); a loss on each encoder's own prediction trains every encoder. The heads
 * are used in training only: predictions come from the fused head alone.
 *
 * The model knows nothing about which fusion it runs; it only sizes the head
 * from `method.fusedDim`, and hands the method its encoders bound to this batch
 * (`ctx.encoders`) so a method may rerun them with input-stage feedback. Batch rows with rowWeight 0 are padding (the last
 * partial batch is padded to full size so the compiled step traces once).
 */
import type { ModalitySpec, Task } from "../data/types.ts";
import { encoderFor, type ImageEncoderKind, type ModalityEncoder, type Pooling, type TextEncoderKind } from "../encoders/index.ts";
import type { EncodedDims } from "../encoders/types.ts";
import { FusionkitError } from "../errors.ts";
import { dropout, initLinear, linear, type LinearParams } from "../engine/layers.ts";
import { binaryCrossEntropyWithLogits, meanSquaredError, softmaxCrossEntropy } from "../engine/losses.ts";
import { countParams, type ParamTree, type Params } from "../engine/params.ts";
import type { HostRng, Rng } from "../engine/random.ts";
import { maximum, type Tensor } from "../engine/tensor.ts";
import type { LossOutput } from "../engine/step.ts";
import { resolveMethodConfig } from "../fusion/config.ts";
import type { ExplainSpec, GateLeaf } from "../fusion/explain.ts";
import type { EncoderStage, FusionMethod } from "../fusion/types.ts";

export type ModelSpec = {
  modalities: ModalitySpec[];
  task: Task;
  /** classes, labels, or 1 for regression */
  outDim: number;
  method: FusionMethod;
  /** the method's defaults merged with the user's overrides */
  methodConfig: Record<string, unknown>;
  encoderDim: number;
  /** "mean": the plain-mean encoders the current ones replaced, for side-by-side measurement only (src/encoders/pooling.ts); default "structured" */
  encoderPooling?: Pooling;
  /** "patches": the flattened-patch image encoder instead of the default CNN (src/encoders/index.ts) */
  imageEncoder?: ImageEncoderKind;
  /** "ordered": text pooled by attention over the tokens plus the bag of words, instead of the default bag alone (src/encoders/text.ts) */
  textEncoder?: TextEncoderKind;
  /** dropout on the fused representation before the head */
  dropout: number;
  /** overrides method.modalityDropout when set */
  modalityDropout?: number;
  /**
   * lambda of the unimodal auxiliary losses (multimodal models only; 0 or absent: none): one
   * linear head per modality on its pooled encoding, trained beside the fused head (see the header)
   */
  unimodalAuxWeight?: number;
  /** regression: the model predicts (y - mean) / std; predictions are mapped back */
  targetStats?: { mean: number; std: number };
};

/** A batch of B rows as Tensors, in the SplitData layout. */
export type ModelBatch = {
  inputs: Record<string, Tensor>;
  tokenMasks: Record<string, Tensor>;
  present: Record<string, Tensor>;
  /** classification [B] class ids; multilabel [B, L]; regression [B] */
  labels: Tensor;
  /** [B] 1 for real rows, 0 for padding */
  rowWeight: Tensor;
};

export type ModelContext = { train: boolean; rng?: Rng };
export type ModelOutput = {
  logits: Tensor;
  auxLoss?: Tensor;
  explain?: Record<string, Tensor>;
  /** training only, when unimodalAuxWeight > 0: each modality's auxiliary-head logits and its presence after modality dropout */
  unimodal?: { logits: Tensor; present: Tensor }[];
};

/** The model's parameter tree: one subtree per encoder, the method's own, and the head when the method returns `fused`. */
export type ModelParams = { encoders: Record<string, ParamTree>; fusion: ParamTree; head?: LinearParams; unimodalHeads?: Record<string, LinearParams> };

export type Model = {
  spec: ModelSpec;
  /** the method's settings as its schema parsed them (defaults filled in) */
  config: Record<string, unknown>;
  encoders: ModalityEncoder[];
  inputDims: EncodedDims[];
  /** what each explain tensor of `apply` is, as the method declares it (src/fusion/explain.ts); {} for a method without any */
  explains: ExplainSpec;
  /** the method's gate leaves in a model tree, named by their path from the root ("fusion.layers.0.gated.alpha") */
  gates(params: ModelParams): GateLeaf[];
  init(rng: HostRng): ModelParams;
  apply(params: Params<ModelParams>, batch: ModelBatch, ctx: ModelContext): ModelOutput;
  /** task loss + auxLoss, weighted by rowWeight; the TrainStep's LossFn. */
  loss(params: Params<ModelParams>, batch: ModelBatch, rng: Rng): LossOutput;
};

export function buildModel(spec: ModelSpec): Model {
  if (spec.modalities.length === 0) throw new FusionkitError("a model needs at least one modality", { layer: "Model" });
  const encoders = spec.modalities.map((m) => encoderFor(m, spec.encoderDim, spec.encoderPooling, spec.imageEncoder, spec.textEncoder));
  const inputDims = encoders.map((e) => e.dims);
  const { method } = spec;
  // The method's schema fills defaults and rejects bad fields, naming the method and field.
  const config = resolveMethodConfig(method, spec.methodConfig, inputDims);
  const fusedDim = method.fusedDim?.(inputDims, config);
  const modalityDropout = spec.modalityDropout ?? method.modalityDropout ?? 0;
  if (!((spec.unimodalAuxWeight ?? 0) >= 0)) throw new FusionkitError(`unimodalAuxWeight must be >= 0, got ${spec.unimodalAuxWeight}`, { layer: "Model", field: "unimodalAuxWeight" });
  // a unimodal baseline reads one modality: it has no other encoder to train
  const unimodalAuxWeight = spec.modalities.length > 1 && method.family !== "unimodal" ? (spec.unimodalAuxWeight ?? 0) : 0;
  const explains = method.explains?.(inputDims, spec.outDim, config) ?? {};
  const gates = (params: ModelParams): GateLeaf[] => (method.gates?.(params.fusion, config) ?? []).map((g) => ({ ...g, name: `fusion.${g.name}` }));

  function init(rng: HostRng): ModelParams {
    const encoderParams: Record<string, ParamTree> = {};
    for (const e of encoders) encoderParams[e.spec.name] = e.init(rng.fork());
    const tree: ModelParams = {
      encoders: encoderParams,
      fusion: method.init(rng.fork(), inputDims, spec.outDim, config),
    };
    if (fusedDim !== undefined) tree.head = initLinear(rng.fork(), fusedDim, spec.outDim);
    if (unimodalAuxWeight > 0) {
      const heads: Record<string, LinearParams> = {};
      for (const [i, e] of encoders.entries()) heads[e.spec.name] = initLinear(rng.fork(), inputDims[i]!.dim, spec.outDim);
      tree.unimodalHeads = heads;
    }
    return tree;
  }

  function apply(params: Params<ModelParams>, batch: ModelBatch, ctx: ModelContext): ModelOutput {
    const [dropRng, fusionRng, headRng] = ctx.train && ctx.rng ? ctx.rng.split(3) : [];
    let present = spec.modalities.map((m) => batch.present[m.name]!);
    if (ctx.train && dropRng && modalityDropout > 0) present = dropModalities(present, modalityDropout, dropRng);
    const stage: EncoderStage = {
      dims: inputDims,
      encode: (feedback) =>
        encoders.map((e, i) =>
          e.apply(params.encoders[e.spec.name]!, {
            input: batch.inputs[e.spec.name]!,
            tokenMask: batch.tokenMasks[e.spec.name],
            present: present[i]!,
            ...(feedback?.[i] ? { feedback: feedback[i] } : {}),
          }),
        ),
    };
    const fusionCtx = { train: ctx.train, rng: fusionRng, outDim: spec.outDim, encoders: stage };
    const encoded = stage.encode();
    const out = method.apply(params.fusion, encoded, fusionCtx, config);
    let logits: Tensor;
    if ("logits" in out) logits = out.logits;
    else {
      if (!params.head) {
        throw new FusionkitError(`method "${method.name}" returned a fused vector but declares no fusedDim, so the model has no head for it`, { layer: "Model" });
      }
      logits = linear(params.head, dropout(out.fused, spec.dropout, headRng));
    }
    const heads = params.unimodalHeads;
    const unimodal = ctx.train && heads ? encoded.map((e, i) => ({ logits: linear(heads[e.name]!, e.pooled), present: present[i]! })) : undefined;
    return { logits, ...(out.auxLoss ? { auxLoss: out.auxLoss } : {}), ...(out.explain ? { explain: out.explain } : {}), ...(unimodal ? { unimodal } : {}) };
  }

  function loss(params: Params<ModelParams>, batch: ModelBatch, rng: Rng): LossOutput {
    const out = apply(params, batch, { train: true, rng });
    const taskLoss = lossForTask(spec, out.logits, batch.labels, batch.rowWeight);
    let total = out.auxLoss ? taskLoss.add(out.auxLoss) : taskLoss;
    const metrics: Record<string, Tensor> = out.auxLoss ? { taskLoss, auxLoss: out.auxLoss } : {};
    if (out.unimodal) {
      // rows whose modality is missing (or dropped) carry no unimodal loss: their pooled vector is zero
      const unimodalLoss = out.unimodal
        .map((u) => lossForTask(spec, u.logits, batch.labels, batch.rowWeight.mul(u.present)))
        .reduce((sum, l) => sum.add(l))
        .div(out.unimodal.length);
      total = total.add(unimodalLoss.mul(unimodalAuxWeight));
      metrics.taskLoss = taskLoss;
      metrics.unimodalLoss = unimodalLoss;
    }
    return { loss: total, metrics };
  }

  return { spec, config, encoders, inputDims, explains, gates, init, apply, loss };
}

export function lossForTask(spec: Pick<ModelSpec, "task" | "targetStats">, logits: Tensor, labels: Tensor, rowWeight: Tensor): Tensor {
  switch (spec.task) {
    case "classification":
      return softmaxCrossEntropy(logits, labels, rowWeight);
    case "multilabel":
      return binaryCrossEntropyWithLogits(logits, labels, rowWeight);
    case "regression": {
      const B = logits.shape[0]!;
      const stats = spec.targetStats ?? { mean: 0, std: 1 };
      return meanSquaredError(logits.reshape([B]), labels.sub(stats.mean).div(stats.std), rowWeight);
    }
  }
}

/**
 * Modality dropout: each modality's presence is zeroed per row with
 * probability p, but never all of them: a row that lost every modality gets
 * one back, chosen uniformly (u in [m/M, (m+1)/M) picks modality m).
 */
export function dropModalities(present: Tensor[], p: number, rng: Rng): Tensor[] {
  const M = present.length;
  const B = present[0]!.shape[0]!;
  const [keepRng, pickRng] = rng.split(2);
  const keep = keepRng!.bernoulli(1 - p, [M, B]);
  const keeps = present.map((_, m) => keep.slice(0, m, m + 1).reshape([B]));
  let allDropped = keeps[0]!.neg().add(1);
  for (const k of keeps.slice(1)) allDropped = allDropped.mul(k.neg().add(1));
  const u = pickRng!.uniform([B]);
  return present.map((s, m) => {
    const picked = u.greater(m / M - 1e-7).mul(u.less((m + 1) / M));
    return s.mul(maximum(keeps[m]!, picked.mul(allDropped)));
  });
}

export function parameterCount(model: Model, rng: HostRng): number {
  return countParams(model.init(rng));
}
