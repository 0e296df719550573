/**
 * Raw rows -> SplitData with a trained model's stored preprocessing, for
 * `fusionkit predict`, `explain` and `serve`.
 *
 * `encodeRowsForModel` prefers the data layer's `encodeRawRows`, which runs the
 * training pipelines themselves (every modality type, images and audio
 * included); it needs each spec's dataset.json entry (`spec.config`, recorded
 * since the data layer added it). For specs without it, `prepareRows`
 * re-applies ModalitySpec.preprocessing by hand, following the rules of
 * src/data/modalities/*.ts (same tokeniser, same missing-value handling):
 *   vector:   the numbers as given
 *   tabular:  (x - mean) / std per numeric column (missing -> 0, the train mean);
 *             categorical value -> its train code (missing or unseen -> 0)
 *   text:     tokenise, cut to maxTokens, vocabulary id (unknown -> 1), mask
 *   sequence: steps cut to maxLength, standardised per dimension, mask
 * Image and audio rows need file decoding and are not supported here.
 * Row field names come from the dataset.json modality entries stored in the
 * checkpoint (config.json "modalityConfigs").
 */
import { existsSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import type { ModalitySpec, SplitData } from "../data/types.ts";
import { FusionkitError } from "../errors.ts";
import { builtinDatasets } from "../data/builtin/index.ts";
import { parseDatasetConfig } from "../data/schema.ts";
import { encodeTokens, tokenise } from "../data/text.ts";
import { isMissing, readArray, readNumber, readNumberArray } from "../data/values.ts";
import type { RawRow } from "../data/rows.ts";
import { encodeRawRows } from "../data/encodeRows.ts";
import type { SkippedRow } from "../data/problems.ts";

/**
 * Encodes raw rows for a model's modalities: through the training pipelines
 * when every spec records its dataset.json entry and reads its values from the
 * row (not from a .npy matrix aligned with the training rows), else by
 * `prepareRows`. `baseDir` resolves image/audio paths in the rows.
 */
export async function encodeRowsForModel(
  rows: RawRow[],
  specs: ModalitySpec[],
  modalityConfigs: Record<string, unknown>[] | undefined,
  baseDir: string,
  /** skipBadRows: drop bad rows (pushed to `skipped`) instead of throwing; only the pipeline path can skip, prepareRows always throws */
  options: { skipBadRows?: boolean; skipped?: SkippedRow[] } = {},
): Promise<SplitData> {
  const throughPipelines = specs.every((s) => s.config && !(s.type === "vector" && (s.config as { file?: string }).file));
  if (throughPipelines) {
    const { data, skipped } = await encodeRawRows(rows, specs, { baseDir, skipBadRows: options.skipBadRows ?? false });
    options.skipped?.push(...skipped);
    return data;
  }
  return prepareRows(rows, specs, modalityConfigs);
}

type Preprocessing = Record<string, any>;

/** The dataset.json modality entries of a dataset directory or built-in (for saving with a model). */
export function datasetModalityConfigs(nameOrDir: string): Record<string, unknown>[] | undefined {
  if (existsSync(nameOrDir)) {
    const configPath = statSync(nameOrDir).isFile() ? nameOrDir : join(nameOrDir, "dataset.json");
    if (!existsSync(configPath)) return undefined;
    return parseDatasetConfig(readFileSync(configPath, "utf8"), configPath).modalities as Record<string, unknown>[];
  }
  const builtin = builtinDatasets[nameOrDir];
  if (!builtin) return undefined;
  const generated = builtin({});
  return parseDatasetConfig(generated.config, `builtin:${generated.name}`).modalities as Record<string, unknown>[];
}

function fail(row: RawRow, field: string, reason: string): never {
  throw new FusionkitError(reason, { file: row.file, line: row.line, field });
}

/** Encodes `rows` for `specs`; labels are zero (unknown). */
export function prepareRows(rows: RawRow[], specs: ModalitySpec[], modalityConfigs: Record<string, unknown>[] | undefined): SplitData {
  const n = rows.length;
  const data: SplitData = {
    n,
    ids: rows.map((r, i) => {
      const id = r.values?.id;
      return typeof id === "string" || typeof id === "number" ? String(id) : `${r.file}:${r.line ?? i + 1}`;
    }),
    inputs: {},
    tokenMasks: {},
    present: {},
    labels: new Float32Array(n),
    fields: {},
  };
  for (const row of rows) if (!row.values) fail(row, row.problem?.field ?? "", row.problem?.reason ?? "the line is not a JSON object");
  for (const spec of specs) {
    const config = modalityConfigs?.find((c) => c.name === spec.name) ?? spec.config;
    const pre = (spec.preprocessing ?? {}) as Preprocessing;
    const width = spec.shape.reduce((a, b) => a * b, 1);
    const inputs = new Float32Array(n * width);
    const present = new Float32Array(n);
    const field = (config?.field as string | undefined) ?? undefined;
    const needField = () => {
      if (field) return field;
      throw new FusionkitError(
        `the model does not record which row field feeds modality "${spec.name}" (${spec.type}); retrain it with "fusionkit train" from a dataset directory or built-in`,
        { field: spec.name },
      );
    };
    switch (spec.type) {
      case "vector": {
        const f = needField();
        rows.forEach((row, i) => {
          const cell = readArray(row.values![f], row.textual);
          if ("missing" in cell) return;
          if ("problem" in cell) fail(row, f, cell.problem);
          const numbers = readNumberArray(cell.value, f);
          if ("problem" in numbers) fail(row, f, numbers.problem);
          if ("missing" in numbers) return;
          if (numbers.value.length !== width) fail(row, f, `vector has length ${numbers.value.length}, the model expects ${width}`);
          inputs.set(numbers.value, i * width);
          present[i] = 1;
        });
        break;
      }
      case "tabular": {
        const numeric = spec.numericColumns ?? [];
        const categorical = spec.categoricalColumns ?? [];
        const means = pre.means as number[];
        const stds = pre.stds as number[];
        const codes = (pre.categoryVocabularies as string[][]).map((v) => new Map(v.map((value, code) => [value, code])));
        rows.forEach((row, i) => {
          let any = false;
          numeric.forEach((column, c) => {
            const cell = readNumber(row.values![column], row.textual);
            if ("problem" in cell) fail(row, column, cell.problem);
            if ("value" in cell) {
              inputs[i * width + c] = (cell.value - means[c]!) / stds[c]!;
              any = true;
            }
          });
          categorical.forEach((column, c) => {
            const value = row.values![column];
            if (isMissing(value, row.textual)) return;
            any = true;
            inputs[i * width + numeric.length + c] = codes[c]!.get(String(value)) ?? 0;
          });
          // every column missing = the modality missing, as in training
          if (any) present[i] = 1;
          else inputs.fill(0, i * width, (i + 1) * width);
        });
        break;
      }
      case "text": {
        const f = needField();
        const T = spec.shape[0]!;
        const idOf = new Map((spec.vocabulary ?? []).map((token, id) => [token, id]));
        const mask = new Float32Array(n * T);
        rows.forEach((row, i) => {
          const value = row.values![f];
          if (isMissing(value, row.textual)) return;
          if (typeof value !== "string") fail(row, f, `text must be a string, got ${JSON.stringify(value)}`);
          const tokens = tokenise(value, pre.lowercase !== false);
          if (tokens.length === 0) return;
          encodeTokens(tokens, idOf, inputs, mask, i * T, T);
          present[i] = 1;
        });
        data.tokenMasks[spec.name] = mask;
        break;
      }
      case "sequence": {
        const f = needField();
        const [T, D] = spec.shape as [number, number];
        const mask = new Float32Array(n * T);
        rows.forEach((row, i) => {
          const cell = readArray(row.values![f], row.textual);
          if ("missing" in cell) return;
          if ("problem" in cell) fail(row, f, cell.problem);
          if (cell.value.length === 0) return;
          const steps = Math.min(cell.value.length, T);
          for (let t = 0; t < steps; t++) {
            const step = cell.value[t];
            if (!Array.isArray(step) || step.length !== D) fail(row, f, `step ${t} should be an array of ${D} numbers`);
            const numbers = readNumberArray(step as unknown[], `${f}[${t}]`);
            if ("problem" in numbers) fail(row, f, numbers.problem);
            if ("missing" in numbers) fail(row, f, `step ${t} is empty`);
            for (let d = 0; d < D; d++) inputs[i * T * D + t * D + d] = (numbers.value[d]! - pre.means[d]) / pre.stds[d];
          }
          mask.fill(1, i * T, i * T + steps);
          present[i] = 1;
        });
        data.tokenMasks[spec.name] = mask;
        break;
      }
      case "image":
      case "audio":
        throw new FusionkitError(
          `predicting from raw ${spec.type} rows is not supported yet (modality "${spec.name}" needs file decoding); use "fusionkit eval" on a prepared dataset instead`,
          { field: spec.name },
        );
    }
    data.inputs[spec.name] = inputs;
    data.present[spec.name] = present;
  }
  return data;
}
