/**
 * A dataset + a method choice -> the ModelSpec buildModel takes: output width
 * from the task, the method's defaults under the user's overrides, and for
 * regression the train-label statistics the model standardises targets with.
 */
import type { PreparedDataset, SplitData } from "../data/types.ts";
import { defaultEncoderDim, type ImageEncoderKind, type Pooling, type TextEncoderKind } from "../encoders/index.ts";
import { getMethod } from "../fusion/registry.ts";
import type { FusionMethod } from "../fusion/types.ts";
import type { ModelSpec } from "./model.ts";

export const specDefaults = { dropout: 0.1 };

/** What buildSpec reads (TrainOptions carries these among the training settings). */
export type SpecOptions = {
  method: FusionMethod | string;
  /** overrides of the method's defaults */
  methodConfig?: Record<string, unknown>;
  encoderDim?: number;
  /** dropout before the head */
  dropout?: number;
  /** overrides the method's modalityDropout */
  modalityDropout?: number;
  /** lambda of the per-modality auxiliary losses of a multimodal model (ModelSpec.unimodalAuxWeight); default 0 */
  unimodalAuxWeight?: number;
  /** "mean" = the plain mean over tokens the layout-keeping encoders replaced (docs/encoders.md) */
  encoderPooling?: Pooling;
  /** "patches" = the flattened-patch image encoder instead of the default CNN (docs/encoders.md) */
  imageEncoder?: ImageEncoderKind;
  /** "ordered" = attention pooling plus the bag of words instead of the bag alone (docs/encoders.md) */
  textEncoder?: TextEncoderKind;
};

export function outDimOf(dataset: Pick<PreparedDataset, "task" | "labelNames">): number {
  return dataset.task === "regression" ? 1 : dataset.labelNames.length;
}

/** Mean and std of the train labels: a regression model predicts standardised targets (large-scale targets train badly otherwise). */
function targetStats(train: SplitData): { mean: number; std: number } {
  let mean = 0;
  for (const y of train.labels) mean += y;
  mean /= Math.max(1, train.labels.length);
  let variance = 0;
  for (const y of train.labels) variance += (y - mean) ** 2;
  const std = Math.sqrt(variance / Math.max(1, train.labels.length));
  return { mean, std: std > 1e-12 ? std : 1 };
}

export function buildSpec(dataset: PreparedDataset, opts: SpecOptions): ModelSpec {
  const method = typeof opts.method === "string" ? getMethod(opts.method, dataset.modalities) : opts.method;
  const methodConfig = { ...method.defaults, ...(opts.methodConfig ?? {}) };
  const spec: ModelSpec = {
    modalities: dataset.modalities,
    task: dataset.task,
    outDim: outDimOf(dataset),
    method,
    methodConfig,
    encoderDim: opts.encoderDim ?? defaultEncoderDim,
    dropout: opts.dropout ?? specDefaults.dropout,
  };
  if (opts.modalityDropout !== undefined) spec.modalityDropout = opts.modalityDropout;
  if (opts.unimodalAuxWeight) spec.unimodalAuxWeight = opts.unimodalAuxWeight;
  if (opts.encoderPooling !== undefined) spec.encoderPooling = opts.encoderPooling;
  if (opts.imageEncoder !== undefined) spec.imageEncoder = opts.imageEncoder;
  if (opts.textEncoder !== undefined) spec.textEncoder = opts.textEncoder;
  if (dataset.task === "regression") spec.targetStats = targetStats(dataset.splits.train);
  return spec;
}

