/**
 * What a raw row may contain, derived from the exported model's metadata: one
 * row field (or, for tabular, one field per column) per modality, each
 * optional or null (= the modality or cell is missing). Rows are validated
 * with zod before any preprocessing, so a bad request is a 400 that names the
 * field (`rows[3].image`), never a 500 from deep inside the pipeline.
 */
import { z } from "zod";
import type { ModalitySpec } from "../data/types.ts";
import { formatPath } from "../data/schema.ts";
import type { ExportMetadata } from "../export/exportModel.ts";

/** Row field names per modality: from the dataset.json entry the model recorded, else the modality name. */
export type ModalityFields = { spec: ModalitySpec; field: string; columns?: { numeric: string[]; categorical: string[] } };

export function modalityFields(metadata: Pick<ExportMetadata, "modalities" | "modalityConfigs">): ModalityFields[] {
  return metadata.modalities.map((spec) => {
    const config = metadata.modalityConfigs?.find((c) => c.name === spec.name) ?? spec.config;
    const field = typeof config?.field === "string" ? config.field : spec.name;
    if (spec.type === "tabular") {
      return { spec, field, columns: { numeric: spec.numericColumns ?? [], categorical: spec.categoricalColumns ?? [] } };
    }
    return { spec, field };
  });
}

const finite = z.number().refine(Number.isFinite, "must be a finite number");

function cellSchema(spec: ModalitySpec): z.ZodType {
  switch (spec.type) {
    case "vector":
      return z.array(finite).length(spec.shape[0]!, `must be an array of ${spec.shape[0]} numbers`);
    case "text":
      return z.string();
    case "image":
      return z.string().min(1, "must be an image path relative to the model directory");
    case "audio":
      return z.string().min(1, "must be a .wav path relative to the model directory");
    case "sequence":
      return z.array(z.array(finite).length(spec.shape[1]!, `each step must be an array of ${spec.shape[1]} numbers`));
    case "tabular":
      throw new Error("tabular cells are per column");
  }
}

/** The zod schema of one raw row (extra fields such as an id or the label are allowed and ignored). */
export function rowSchema(fields: ModalityFields[]): z.ZodType<Record<string, unknown>> {
  const shape: Record<string, z.ZodType> = {};
  for (const { spec, field, columns } of fields) {
    if (columns) {
      for (const c of columns.numeric) shape[c] = finite.nullable().optional();
      for (const c of columns.categorical) shape[c] = z.union([z.string(), finite]).nullable().optional();
    } else shape[field] = cellSchema(spec).nullable().optional();
  }
  return z.looseObject(shape) as unknown as z.ZodType<Record<string, unknown>>;
}

export type PredictRequest = { rows: Record<string, unknown>[]; explain?: boolean };

export function requestSchema(fields: ModalityFields[], maxRows: number): z.ZodType<PredictRequest> {
  return z.strictObject({
    rows: z.array(rowSchema(fields)).min(1, "send at least one row").max(maxRows, `at most ${maxRows} rows per request`),
    explain: z.boolean().optional(),
  }) as unknown as z.ZodType<PredictRequest>;
}

/** The first problem as { field: "rows[3].image", message }. */
export function firstIssue(error: z.ZodError): { field: string; message: string } {
  const issue = error.issues[0]!;
  return { field: formatPath(issue.path) || "(body)", message: issue.message };
}

/** A JSON Schema of one row, for GET /model. */
export function rowJsonSchema(fields: ModalityFields[]): unknown {
  return z.toJSONSchema(rowSchema(fields), { unrepresentable: "any" });
}
