/**
 * An aligned model on disk: the engine's checkpoint pair (src/engine/checkpoint.ts)
 *   model.safetensors  encoders.<modality>.*, heads.<modality>.{w,b}, logitScale
 *   config.json        format "fusionkit-align", the paired modality specs (with
 *                      vocabularies and fitted preprocessing), widths, match
 *                      field, dataset, training record and the evaluation figures.
 * The model's fingerprint is the sha256 of model.safetensors: a search index
 * records it, so an index built by another model (or an older training into the
 * same directory) is refused instead of silently returning wrong neighbours.
 */
import { createHash } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { SkippedRow } from "../data/problems.ts";
import type { ModalitySpec, PreparedDataset } from "../data/types.ts";
import { FusionkitError } from "../errors.ts";
import { loadCheckpoint, saveCheckpoint } from "../engine/checkpoint.ts";
import { fillSkeleton, flattenParams, layoutOf, namedLeaves, type ParamLayout, type ParamTree } from "../engine/params.ts";
import { HostRng } from "../engine/random.ts";
import type { HostArray } from "../engine/tensor.ts";
import { buildAlignModel, type AlignModel, type AlignParamTree, type AlignSpec } from "./alignModel.ts";
import type { AlignedModel, AlignEpoch } from "./trainer.ts";

export const alignFormat = "fusionkit-align";
export const alignFormatVersion = 1;

export type AlignConfigFile = {
  format: typeof alignFormat;
  version: number;
  pair: string[];
  modalities: ModalitySpec[];
  encoderDim: number;
  embedDim: number;
  initLogitScale: number;
  head?: "pooled" | "tokens";
  matchField?: string;
  labelNames: string[];
  /** where the data came from and how it was loaded (search rebuilds an index from it) */
  dataset: { name: string; cacheKey?: string; source?: string; contentHash?: string; seed?: number; maxRows?: number; skipBadRows?: boolean; skipped?: SkippedRow[] };
  training: AlignedModel["options"] & { bestEpoch: number; trainMs: number; paramCount: number; trainRows: number; history: AlignEpoch[] };
  /** test-split figures written by `fusionkit align` (retrieval, zero-shot, transfer) */
  evaluation?: Record<string, unknown>;
};

export type LoadedAlignedModel = {
  spec: AlignSpec;
  model: AlignModel;
  params: AlignParamTree;
  layout: ParamLayout<AlignParamTree>;
  flat: Float32Array;
  config: AlignConfigFile;
  dir: string;
  fingerprint: string;
};

export function saveAligned(
  dir: string,
  aligned: AlignedModel,
  dataset: Pick<PreparedDataset, "name" | "cacheKey" | "labelNames">,
  extras: { source?: string; contentHash?: string; seed?: number; maxRows?: number; skipBadRows?: boolean; skipped?: SkippedRow[]; evaluation?: Record<string, unknown> } = {},
): string {
  const config: AlignConfigFile = {
    format: alignFormat,
    version: alignFormatVersion,
    pair: aligned.spec.modalities.map((m) => m.name),
    modalities: aligned.spec.modalities,
    encoderDim: aligned.spec.encoderDim,
    embedDim: aligned.spec.embedDim,
    initLogitScale: aligned.spec.initLogitScale,
    ...(aligned.spec.head ? { head: aligned.spec.head } : {}),
    ...(aligned.matchField ? { matchField: aligned.matchField } : {}),
    labelNames: dataset.labelNames,
    dataset: {
      name: dataset.name,
      ...(dataset.cacheKey ? { cacheKey: dataset.cacheKey } : {}),
      ...(extras.source ? { source: extras.source } : {}),
      ...(extras.contentHash ? { contentHash: extras.contentHash } : {}),
      ...(extras.seed !== undefined ? { seed: extras.seed } : {}),
      ...(extras.maxRows !== undefined ? { maxRows: extras.maxRows } : {}),
      ...(extras.skipBadRows ? { skipBadRows: true } : {}),
      ...(extras.skipped?.length ? { skipped: extras.skipped } : {}),
    },
    training: { ...aligned.options, bestEpoch: aligned.bestEpoch, trainMs: aligned.trainMs, paramCount: aligned.paramCount, trainRows: aligned.trainRows, history: aligned.history },
    ...(extras.evaluation ? { evaluation: extras.evaluation } : {}),
  };
  saveCheckpoint(dir, namedLeaves(aligned.params), config);
  return modelFingerprint(dir);
}

/** sha256 of the weights file: equal fingerprints = the same parameters. */
export function modelFingerprint(dir: string): string {
  const weights = join(dir, "model.safetensors");
  if (!existsSync(weights)) throw new FusionkitError(`no model.safetensors; point --model at a directory written by "fusionkit align"`, { file: weights });
  return createHash("sha256").update(readFileSync(weights)).digest("hex");
}

/** What a config.json must have before it is read as an AlignConfigFile: the format, its version and the fields the pair cannot be rebuilt without. */
function checkAlignConfigFile(config: Record<string, unknown>, configPath: string): asserts config is AlignConfigFile {
  if (config.format !== alignFormat) {
    const hint = config.format === "fusionkit-model" ? ` (this is a "fusionkit train" model; search needs one written by "fusionkit align")` : "";
    throw new FusionkitError(`not an aligned model (format ${JSON.stringify(config.format)})${hint}`, { file: configPath, field: "format" });
  }
  if (config.version !== alignFormatVersion) {
    throw new FusionkitError(`aligned-model format version ${config.version} is not supported (this fusionkit reads ${alignFormatVersion}); retrain with "fusionkit align"`, { file: configPath, field: "version" });
  }
  for (const field of ["modalities", "encoderDim", "embedDim"] as const) {
    if (config[field] === undefined) throw new FusionkitError(`missing "${field}"; the config is damaged, retrain or restore it`, { file: configPath, field });
  }
}

export function loadAligned(dir: string): LoadedAlignedModel {
  const { config, tensors } = loadCheckpoint(dir);
  checkAlignConfigFile(config, join(dir, "config.json"));
  const spec: AlignSpec = { modalities: config.modalities, encoderDim: config.encoderDim, embedDim: config.embedDim, initLogitScale: config.initLogitScale ?? 1 / 0.07, ...(config.head ? { head: config.head } : {}) };
  const model = buildAlignModel(spec);
  const layout = layoutOf(model.init(new HostRng(0)));
  const weightsFile = join(dir, "model.safetensors");
  const leaves: HostArray[] = layout.entries.map((entry) => {
    const t = tensors.get(entry.name);
    if (!t) throw new FusionkitError(`parameter "${entry.name}" is missing: the weights do not belong to this config; retrain or restore the pair`, { file: weightsFile, layer: entry.name });
    if (t.shape.length !== entry.shape.length || t.shape.some((s, i) => s !== entry.shape[i])) {
      throw new FusionkitError(`parameter "${entry.name}" has shape [${t.shape}] but the config builds [${entry.shape}]`, { file: weightsFile, layer: entry.name });
    }
    return t;
  });
  const params = fillSkeleton<AlignParamTree>(layout.skeleton, leaves);
  return { spec, model, params, layout, flat: flattenParams(params).flat, config, dir, fingerprint: modelFingerprint(dir) };
}
