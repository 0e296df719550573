/**
 * New raw rows -> SplitData with the preprocessing a dataset was prepared
 * with (vocabularies, codes, means/stds stored in its ModalitySpecs), through
 * the same modality pipelines as training, so predict/serve see exactly what
 * training saw: same tokeniser, same image decoding, same log-mel, same
 * missing-value rules, same row errors.
 */
import { FusionkitError } from "../errors.ts";
import { createPipeline } from "./modalities/index.ts";
import type { ModalityPipeline } from "./modalities/pipeline.ts";
import { loadFiles } from "./prepare.ts";
import { RowRejecter, type SkippedRow } from "./problems.ts";
import { resolve } from "node:path";
import type { RawRow } from "./rows.ts";
import { modalitySchema } from "./schema.ts";
import type { ModalitySpec, SplitData } from "./types.ts";
import { isMissing } from "./values.ts";

export type EncodeRowsOptions = {
  /** image/audio paths in the rows are relative to this */
  baseDir: string;
  /** drop bad rows (listed in `skipped`) instead of throwing */
  skipBadRows?: boolean;
  /** row field used as id (default "id"); rows without one are named file:line */
  idField?: string;
  /** pretrained encoders: embedding cache directory, or `cache: false` (serve: request rows are not kept on disk) */
  pretrained?: { cacheDir?: string; cache?: boolean };
};

/** Encodes `rows` for `specs`. Labels are not read: `labels` is all zeros (one per row). */
export async function encodeRawRows(rows: RawRow[], specs: ModalitySpec[], options: EncodeRowsOptions): Promise<{ data: SplitData; skipped: SkippedRow[] }> {
  const rejecter = new RowRejecter(options.skipBadRows ?? false);
  const pipelines = specs.map((spec) => restorePipeline(spec, options.baseDir, rows.length, options.pretrained));
  const idField = options.idField ?? "id";
  let parsed: { raw: RawRow; id: string; values: unknown[] }[] = [];
  for (const raw of rows) {
    if (raw.problem || !raw.values) {
      rejecter.reject(raw, raw.problem ?? { reason: "the row has no values" });
      continue;
    }
    const values: unknown[] = [];
    let failed = false;
    for (const pipeline of pipelines) {
      const outcome = pipeline.parse(raw);
      if ("problem" in outcome) {
        rejecter.reject(raw, outcome.problem);
        failed = true;
        break;
      }
      values.push("value" in outcome ? outcome.value : undefined);
    }
    if (failed) continue;
    const rawId = raw.values[idField];
    parsed.push({ raw, id: isMissing(rawId, raw.textual) || typeof rawId === "object" ? `${raw.file}:${raw.line}` : String(rawId), values });
  }
  parsed = await loadFiles(parsed, pipelines, rejecter);
  for (const [m, pipeline] of pipelines.entries()) await pipeline.precompute?.(parsed.map((row) => row.values[m]));
  const data: SplitData = {
    n: parsed.length,
    ids: parsed.map((row) => row.id),
    inputs: {},
    tokenMasks: {},
    present: {},
    labels: new Float32Array(parsed.length),
    fields: {},
  };
  pipelines.forEach((pipeline, m) => {
    const encoded = pipeline.encode(parsed.map((row) => row.values[m]));
    data.inputs[pipeline.name] = encoded.inputs;
    data.present[pipeline.name] = encoded.present;
    if (encoded.tokenMask) data.tokenMasks[pipeline.name] = encoded.tokenMask;
  });
  return { data, skipped: rejecter.skipped };
}

function restorePipeline(spec: ModalitySpec, baseDir: string, rowCount: number, pretrained: EncodeRowsOptions["pretrained"]): ModalityPipeline<unknown, unknown> {
  if (!spec.config) {
    throw new FusionkitError(`modality "${spec.name}" carries no dataset.json entry (prepared by an older fusionkit); prepare the dataset again`, { field: spec.name });
  }
  const config = modalitySchema.parse(spec.config);
  if (config.type === "vector" && config.file) {
    throw new FusionkitError(
      `modality "${spec.name}" was read from ${config.file}, a matrix aligned with the training rows; new rows must carry their vectors inline, so prepare the training data with "field" instead of "file"`,
      { field: spec.name },
    );
  }
  const pipeline = createPipeline(config, { baseDir, resolvePath: (path) => ({ path: resolve(baseDir, path), display: path }), totalRows: rowCount, ...(pretrained ? { pretrained } : {}) });
  pipeline.restore(spec);
  return pipeline;
}
