/**
 * The data contract between src/data and everything downstream.
 *
 * A PreparedDataset is what loaders produce after validation and preprocessing
 * (fitted on train only). Everything is plain typed arrays, row-major, so the
 * engine can move a batch across the jit boundary as a handful of buffers.
 */

export type Task = "classification" | "multilabel" | "regression";
export type ModalityType = "vector" | "tabular" | "text" | "image" | "audio" | "sequence";
export type SplitName = "train" | "val" | "test";

/** What downstream code needs to know about one modality after preprocessing. */
export type ModalitySpec = {
  name: string;
  type: ModalityType;
  /**
   * Per-row shape of `inputs[name]`:
   *  vector:   [d]
   *  tabular:  [numeric.length + categorical.length]   (numeric standardised; categorical as integer codes stored as floats)
   *  text:     [T]         token ids (0 = padding, 1 = unknown), stored as floats
   *  image:    [H, W, C]   values in [0, 1]
   *  audio:    [T, nMels]  log-mel frames, standardised with train statistics
   *  sequence: [T, D]      standardised with train statistics
   */
  shape: number[];
  /** text: vocabulary size including padding (0) and unknown (1). */
  vocabSize?: number;
  /** text: id -> token (index = id). */
  vocabulary?: string[];
  /** tabular: names of the numeric columns (first in the row) and categorical columns (after). */
  numericColumns?: string[];
  categoricalColumns?: string[];
  /** tabular: per categorical column, the number of codes including the unknown bucket (code 0). */
  categoricalCardinalities?: number[];
  /**
   * tabular: per split, per column (numeric then categorical), cells that were missing
   * (numeric imputed with the train mean, i.e. 0 after standardisation; categorical coded 0).
   * Rows where every column is missing count as the modality missing instead.
   */
  missingCells?: Record<SplitName, number[]>;
  /** tabular: per split, per column, categorical values train never saw (coded 0, like missing). */
  unseenCells?: Record<SplitName, number[]>;
  /** The modality's dataset.json entry with defaults filled in (row field names, options): with `preprocessing` it is all encodeRawRows needs. */
  config?: Record<string, unknown>;
  /** Fitted preprocessing statistics, kept so export/serve can prepare raw rows the same way. */
  preprocessing?: Record<string, unknown>;
};

export type SplitData = {
  n: number;
  /** a stable id per row (from the row's id field, else `${file}:${line}`). */
  ids: string[];
  /** modality name -> Float32Array of length n * prod(spec.shape). Missing rows are zero-filled. */
  inputs: Record<string, Float32Array>;
  /** modality name -> Float32Array [n, T] (1 = real token/frame, 0 = padding), for text, audio and sequence. */
  tokenMasks: Record<string, Float32Array>;
  /** modality name -> Float32Array [n] (1 = present, 0 = missing). */
  present: Record<string, Float32Array>;
  /**
   * classification: Float32Array [n] of class indices
   * multilabel:     Float32Array [n, labelNames.length] of 0/1
   * regression:     Float32Array [n]
   */
  labels: Float32Array;
  /** extra string fields kept per row (e.g. vendor, language, subcategory, group). */
  fields: Record<string, string[]>;
  /**
   * the split's group of each row (the split.groupBy value) when the dataset splits by group;
   * absent when rows were split one by one. The bench's significance test resamples whole groups.
   */
  groups?: string[];
};

export type PreparedDataset = {
  name: string;
  task: Task;
  labelField: string;
  /** class names (classification, multilabel); empty for regression. */
  labelNames: string[];
  modalities: ModalitySpec[];
  splits: Record<SplitName, SplitData>;
  /** rows skipped with --skip-bad-rows: where and why. Empty when none. */
  skipped: { file: string; line: number; field?: string; reason: string }[];
  /** hash of data + options that keyed the preprocessing cache. */
  cacheKey: string;
  /** human-readable provenance for reports (source, licence, notes). */
  description?: string;
};
