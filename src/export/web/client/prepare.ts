/**
 * What a person entered in the page -> the exported graph's inputs for one row,
 * with the preprocessing the model was trained with (model.json `modalities`).
 *
 * Text, tabular and sequence cells go through the training pipelines
 * themselves (src/data/modalities, restored from the fitted spec), so the page
 * tokenises, standardises and codes exactly as `fusionkit predict` does.
 * Vectors are read with the same cell reader; images arrive decoded by the
 * browser and are resized by ./image.ts; audio arrives as log-mel frames from
 * ./audio.ts. A modality left empty is missing: zeros and presence 0, which
 * is what the model saw for a missing modality in training.
 */
import type { SequenceModalityConfig, TabularModalityConfig, TextModalityConfig } from "../../../data/schema.ts";
import type { ModalitySpec } from "../../../data/types.ts";
import type { RawRow } from "../../../data/rows.ts";
import type { EncodedModality, ModalityPipeline, Outcome } from "../../../data/modalities/pipeline.ts";
import { standardiseInto } from "../../../data/modalities/pipeline.ts";
import { SequencePipeline } from "../../../data/modalities/sequence.ts";
import { TabularPipeline } from "../../../data/modalities/tabular.ts";
import { TextPipeline } from "../../../data/modalities/text.ts";
import { readArray, readNumberArray } from "../../../data/values.ts";
import { prepareImagePixels } from "./image.ts";

/** A decoded picture at its own size, RGBA bytes not premultiplied. */
export type DecodedImage = { rgba: Uint8ClampedArray | Uint8Array; width: number; height: number };
/** Log-mel frames of a clip before standardisation (src/data/audio.ts LogMel). */
export type AudioFrames = { values: Float32Array; realFrames: number };

/** One modality's raw cell as the form holds it; undefined = left empty (missing). */
export type RawCell =
  | { type: "text"; text: string }
  | { type: "tabular"; values: Record<string, string | number | null> }
  | { type: "vector" | "sequence"; json: string }
  | { type: "image"; image: DecodedImage }
  | { type: "audio"; frames: AudioFrames };

/** One row in the graph's layout, per modality: inputs, presence and (text, audio, sequence) token mask. */
export type PreparedRow = {
  inputs: Record<string, Float32Array>;
  present: Record<string, number>;
  tokenMasks: Record<string, Float32Array>;
};

/** A cell the model cannot take, with the pipeline's own reason. */
export class CellProblem extends Error {
  constructor(
    readonly modality: string,
    readonly field: string | undefined,
    reason: string,
  ) {
    super(reason);
  }
}

const size = (shape: number[]) => shape.reduce((a, b) => a * b, 1);

/** The dataset.json entry a pipeline needs, rebuilt from the fitted spec when the model predates `spec.config`. */
function configOf(spec: ModalitySpec): Record<string, unknown> {
  if (spec.config) return spec.config;
  const pre = (spec.preprocessing ?? {}) as Record<string, unknown>;
  switch (spec.type) {
    case "text":
      return { name: spec.name, type: "text", field: spec.name, lowercase: pre.lowercase ?? true, maxTokens: spec.shape[0], maxVocab: spec.vocabSize ?? 0 };
    case "tabular":
      return { name: spec.name, type: "tabular", numeric: spec.numericColumns ?? [], categorical: spec.categoricalColumns ?? [] };
    case "sequence":
      return { name: spec.name, type: "sequence", field: spec.name, maxLength: spec.shape[0], dim: spec.shape[1] };
    default:
      return { name: spec.name, type: spec.type, field: spec.name };
  }
}

function restored(spec: ModalitySpec): ModalityPipeline<unknown, unknown> {
  const config = configOf(spec);
  const pipeline =
    spec.type === "text" ? new TextPipeline(config as TextModalityConfig)
      : spec.type === "tabular" ? new TabularPipeline(config as TabularModalityConfig)
        : new SequencePipeline(config as SequenceModalityConfig);
  pipeline.restore(spec);
  return pipeline as ModalityPipeline<unknown, unknown>;
}

/** The row field(s) of a modality, as the pipelines read them. */
export function fieldOf(spec: ModalitySpec): string {
  return String(configOf(spec).field ?? spec.name);
}

function throughPipeline(spec: ModalitySpec, values: Record<string, unknown>, textual: boolean): EncodedModality {
  const pipeline = restored(spec);
  const row: RawRow = { file: "page", line: 1, index: 0, values, textual };
  const outcome: Outcome<unknown> = pipeline.parse(row);
  if ("problem" in outcome) throw new CellProblem(spec.name, outcome.problem.field, outcome.problem.reason);
  return pipeline.encode(["value" in outcome ? outcome.value : undefined]);
}

function missing(spec: ModalitySpec): EncodedModality {
  const hasMask = spec.type === "text" || spec.type === "audio" || spec.type === "sequence";
  return { inputs: new Float32Array(size(spec.shape)), present: new Float32Array(1), ...(hasMask ? { tokenMask: new Float32Array(spec.shape[0]!) } : {}) };
}

function encodeVector(spec: ModalitySpec, json: string): EncodedModality {
  const cell = readArray(json, true);
  if ("missing" in cell) return missing(spec);
  if ("problem" in cell) throw new CellProblem(spec.name, undefined, cell.problem);
  const numbers = readNumberArray(cell.value, spec.name);
  if ("problem" in numbers) throw new CellProblem(spec.name, undefined, numbers.problem);
  if ("missing" in numbers) return missing(spec);
  if (numbers.value.length !== spec.shape[0]) throw new CellProblem(spec.name, undefined, `vector has length ${numbers.value.length}, the model takes ${spec.shape[0]} numbers`);
  return { inputs: Float32Array.from(numbers.value), present: Float32Array.of(1) };
}

function encodeImage(spec: ModalitySpec, image: DecodedImage): EncodedModality {
  const [height, , channels] = spec.shape as [number, number, number];
  return { inputs: prepareImagePixels(image.rgba, image.width, image.height, height, channels as 1 | 3), present: Float32Array.of(1) };
}

/** src/data/modalities/audio.ts `encode`: standardise the real frames per mel band, mask the padding. */
function encodeAudio(spec: ModalitySpec, frames: AudioFrames): EncodedModality {
  const [T, nMels] = spec.shape as [number, number];
  const { means, stds } = spec.preprocessing as { means: number[]; stds: number[] };
  const inputs = new Float32Array(T * nMels);
  const tokenMask = new Float32Array(T);
  standardiseInto(frames.values, frames.realFrames, nMels, { means, stds }, inputs, 0);
  tokenMask.fill(1, 0, frames.realFrames);
  return { inputs, tokenMask, present: Float32Array.of(1) };
}

export function encodeCell(spec: ModalitySpec, cell: RawCell | undefined): EncodedModality {
  if (!cell) return missing(spec);
  switch (cell.type) {
    case "text":
      return throughPipeline(spec, { [fieldOf(spec)]: cell.text }, false);
    case "tabular":
      return throughPipeline(spec, cell.values, false);
    case "sequence":
      // the form holds the steps as JSON text, the pipeline's CSV-cell path parses it
      return throughPipeline(spec, { [fieldOf(spec)]: cell.json }, true);
    case "vector":
      return encodeVector(spec, cell.json);
    case "image":
      return encodeImage(spec, cell.image);
    case "audio":
      return encodeAudio(spec, cell.frames);
  }
}

/** The whole row; throws a CellProblem for the first cell the model cannot take. */
export function prepareRow(specs: ModalitySpec[], cells: Record<string, RawCell | undefined>): PreparedRow {
  const row: PreparedRow = { inputs: {}, present: {}, tokenMasks: {} };
  for (const spec of specs) {
    const encoded = encodeCell(spec, cells[spec.name]);
    row.inputs[spec.name] = encoded.inputs;
    row.present[spec.name] = encoded.present[0]!;
    if (encoded.tokenMask) row.tokenMasks[spec.name] = encoded.tokenMask;
  }
  return row;
}
