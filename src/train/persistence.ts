/**
 * saveModel / loadModel: a trained model as a directory with
 *   model.safetensors  every parameter as a named F32 tensor (names from the
 *                      parameter tree: "encoders.image.patch.w", "fusion.joint.0.b", ...)
 *   config.json        everything needed to rebuild the same model and prepare
 *                      raw rows the same way: method name + config, encoder
 *                      width, modality specs (with fitted preprocessing and
 *                      vocabularies), label names, task, training record.
 * Float32 values are written and read as raw bytes, so a loaded model gives
 * bit-identical outputs; the checkpoint's sha256 refuses a tampered file, and
 * the model fingerprint (src/engine/checkpoint.ts) refuses a config.json that
 * was edited or swapped after saving.
 */
import type { SkippedRow } from "../data/problems.ts";
import type { ModalitySpec, PreparedDataset, Task } from "../data/types.ts";
import { FusionkitError } from "../errors.ts";
import { loadCheckpoint, saveCheckpoint } from "../engine/checkpoint.ts";
import { fillSkeleton, layoutOf, namedLeaves } from "../engine/params.ts";
import { HostRng } from "../engine/random.ts";
import type { HostArray } from "../engine/tensor.ts";
import { getMethod } from "../fusion/registry.ts";
import { buildModel, type ModelSpec } from "../model/model.ts";
import { defaultTextEncoder, textEncoderKinds, type TextEncoderKind } from "../encoders/index.ts";
import type { EpochRecord, TrainedModel } from "./trainer.ts";
import { join } from "node:path";

export const modelFormat = "fusionkit-model";
/**
 * 2: encoders that keep layout (flattened patches, attention pooling) and progressive fusion's feedback into the encoders changed the parameter trees.
 * 3: the text encoder's kind (textEncoder: "bag" by default) and its reading of words (unknown words left out, each word once in the bag) changed predictions.
 */
export const modelFormatVersion = 3;

export type ModelConfigFile = {
  format: typeof modelFormat;
  version: number;
  method: string;
  family: string;
  methodConfig: Record<string, unknown>;
  encoderDim: number;
  dropout: number;
  modalityDropout?: number;
  /** lambda of the training-only per-modality heads (ModelSpec.unimodalAuxWeight); absent = none */
  unimodalAuxWeight?: number;
  /** "mean" only for measurement models (ModelSpec.encoderPooling); absent = the default encoders */
  encoderPooling?: "structured" | "mean";
  /** the image encoder when not the default CNN ("patches"); absent = "cnn" */
  imageEncoder?: "cnn" | "patches";
  /** the text encoder: "bag" (the default) or "ordered" */
  textEncoder: TextEncoderKind;
  task: Task;
  outDim: number;
  labelNames: string[];
  labelField: string;
  targetStats?: { mean: number; std: number };
  modalities: ModalitySpec[];
  /** where the training data came from and how it was loaded, so `eval` can prepare it identically */
  dataset: {
    name: string;
    cacheKey?: string;
    /** a dataset directory's absolute path (src/data/provenance.ts), or a built-in name */
    source?: string;
    /** sha256 of the directory's dataset.json, rows file and .npy files at training time */
    contentHash?: string;
    loadOptions?: SavedLoadOptions;
    /** rows dropped by --skip-bad-rows */
    skipped?: SkippedRow[];
  };
  /** the dataset.json modality entries (row field names), when known: `predict` reads raw rows through them */
  modalityConfigs?: Record<string, unknown>[];
  training: TrainedModel["options"] & { bestEpoch: number; stoppedBy?: TrainedModel["stoppedBy"]; trainMs: number; paramCount: number; history: EpochRecord[] };
};

/** how the training data was loaded, so eval can load it the same way (encoders: the --encoder choices, see src/data/pretrained; skipBadRows: --skip-bad-rows) */
export type SavedLoadOptions = { seed?: number; maxRows?: number; skipBadRows?: boolean; encoders?: Record<string, { model: string; output?: "pooled" | "tokens" } | null> };
export type SaveExtras = { source?: string; contentHash?: string; modalityConfigs?: Record<string, unknown>[]; loadOptions?: SavedLoadOptions; skipped?: SkippedRow[] };

/** Saves the model; returns its fingerprint (config + weights). */
export function saveModel(dir: string, trained: TrainedModel, dataset?: Pick<PreparedDataset, "name" | "cacheKey">, extras: SaveExtras = {}): string {
  const { spec } = trained;
  const config: ModelConfigFile = {
    format: modelFormat,
    version: modelFormatVersion,
    method: spec.method.name,
    family: spec.method.family,
    methodConfig: spec.methodConfig,
    encoderDim: spec.encoderDim,
    dropout: spec.dropout,
    ...(spec.modalityDropout !== undefined ? { modalityDropout: spec.modalityDropout } : {}),
    ...(spec.unimodalAuxWeight ? { unimodalAuxWeight: spec.unimodalAuxWeight } : {}),
    ...(spec.encoderPooling !== undefined ? { encoderPooling: spec.encoderPooling } : {}),
    ...(spec.imageEncoder !== undefined ? { imageEncoder: spec.imageEncoder } : {}),
    textEncoder: spec.textEncoder ?? defaultTextEncoder,
    task: spec.task,
    outDim: spec.outDim,
    labelNames: trained.labelNames,
    labelField: trained.labelField,
    ...(spec.targetStats ? { targetStats: spec.targetStats } : {}),
    modalities: spec.modalities,
    dataset: {
      name: dataset?.name ?? trained.datasetName,
      ...(dataset?.cacheKey ? { cacheKey: dataset.cacheKey } : {}),
      ...(extras.source ? { source: extras.source } : {}),
      ...(extras.contentHash ? { contentHash: extras.contentHash } : {}),
      ...(extras.loadOptions ? { loadOptions: extras.loadOptions } : {}),
      ...(extras.skipped?.length ? { skipped: extras.skipped } : {}),
    },
    ...(extras.modalityConfigs ? { modalityConfigs: extras.modalityConfigs } : {}),
    training: { ...trained.options, bestEpoch: trained.bestEpoch, ...(trained.stoppedBy ? { stoppedBy: trained.stoppedBy } : {}), trainMs: trained.trainMs, paramCount: trained.paramCount, history: trained.history },
  };
  return saveCheckpoint(dir, namedLeaves(trained.params), config);
}

export type LoadedModel = TrainedModel & { config: ModelConfigFile; dir: string; fingerprint: string };

/** What a config.json must have before it is read as a ModelConfigFile: the format, its version and the fields no model can be rebuilt without. */
function checkModelConfigFile(config: Record<string, unknown>, configPath: string): asserts config is ModelConfigFile {
  if (config.format !== modelFormat) {
    throw new FusionkitError(`not a fusionkit model config (format ${JSON.stringify(config.format)}); point --model at a directory written by "fusionkit train"`, { file: configPath, field: "format" });
  }
  if (config.version !== modelFormatVersion) {
    throw new FusionkitError(`model format version ${config.version} is not supported (this fusionkit reads version ${modelFormatVersion}); retrain the model`, { file: configPath, field: "version" });
  }
  for (const field of ["method", "task", "outDim", "modalities", "labelNames", "encoderDim", "textEncoder"] as const) {
    if (config[field] === undefined) throw new FusionkitError(`missing "${field}"; the config is damaged, retrain or restore it`, { file: configPath, field });
  }
}

export function loadModel(dir: string): LoadedModel {
  const { config, tensors, fingerprint } = loadCheckpoint(dir);
  checkModelConfigFile(config, join(dir, "config.json"));
  const method = getMethod(config.method, config.modalities);
  const spec: ModelSpec = {
    modalities: config.modalities,
    task: config.task,
    outDim: config.outDim,
    method,
    methodConfig: config.methodConfig,
    encoderDim: config.encoderDim,
    dropout: config.dropout,
  };
  if (config.modalityDropout !== undefined) spec.modalityDropout = config.modalityDropout;
  if (config.unimodalAuxWeight) spec.unimodalAuxWeight = config.unimodalAuxWeight;
  if (config.encoderPooling !== undefined) spec.encoderPooling = config.encoderPooling;
  if (config.imageEncoder !== undefined) spec.imageEncoder = config.imageEncoder;
  if (!(textEncoderKinds as readonly string[]).includes(config.textEncoder)) {
    throw new FusionkitError(`unknown text encoder ${JSON.stringify(config.textEncoder)}; use one of ${textEncoderKinds.join(", ")}`, { file: join(dir, "config.json"), field: "textEncoder" });
  }
  spec.textEncoder = config.textEncoder;
  if (config.targetStats) spec.targetStats = config.targetStats;
  const model = buildModel(spec);
  // The layout comes from a fresh init (values discarded): it fixes names, shapes and order.
  const template = model.init(new HostRng(0));
  const layout = layoutOf(template);
  const weightsFile = join(dir, "model.safetensors");
  const leaves: HostArray[] = layout.entries.map((entry) => {
    const t = tensors.get(entry.name);
    if (!t) {
      throw new FusionkitError(`parameter "${entry.name}" is missing: the weights do not belong to this config (method "${config.method}"); retrain or restore the pair`, { file: weightsFile, layer: entry.name });
    }
    if (t.shape.length !== entry.shape.length || t.shape.some((s, i) => s !== entry.shape[i])) {
      throw new FusionkitError(`parameter "${entry.name}" has shape [${t.shape}] but the config builds [${entry.shape}]; the weights do not belong to this config`, { file: weightsFile, layer: entry.name });
    }
    return t;
  });
  const extra = [...tensors.keys()].filter((name) => !layout.entries.some((e) => e.name === name));
  if (extra.length) {
    throw new FusionkitError(`unexpected parameters ${extra.slice(0, 3).map((n) => `"${n}"`).join(", ")}${extra.length > 3 ? ", ..." : ""}: the weights do not belong to this config`, { file: weightsFile });
  }
  const training = config.training;
  return {
    spec,
    model,
    params: fillSkeleton(layout.skeleton, leaves),
    layout,
    history: training?.history ?? [],
    bestEpoch: training?.bestEpoch ?? 0,
    ...(training?.stoppedBy ? { stoppedBy: training.stoppedBy } : {}),
    trainMs: training?.trainMs ?? 0,
    // what the trainer counted (the leaves its loss read); every leaf for a model saved without it
    paramCount: training?.paramCount ?? layout.total,
    labelNames: config.labelNames,
    labelField: config.labelField,
    datasetName: config.dataset?.name ?? "",
    options: {
      seed: training?.seed ?? 0,
      epochs: training?.epochs ?? 0,
      batchSize: training?.batchSize ?? 32,
      lr: training?.lr ?? 0,
      weightDecay: training?.weightDecay ?? 0,
      patience: training?.patience ?? 0,
      ...(training?.encoderInit ? { encoderInit: training.encoderInit } : {}),
    },
    config,
    dir,
    fingerprint,
  };
}
