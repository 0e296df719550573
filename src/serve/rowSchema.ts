/**
 * What a raw row may contain, derived from the exported model's metadata: one
 * row field (or, for tabular, one field per column) per modality, each
 * optional or null (= the modality or cell is missing). Rows are validated
 * with zod before any preprocessing, so a bad request is a 400 that names the
 * field (`rows[3].image`), never a 500 from deep inside the pipeline.
 *
 * Any other key is refused (a misspelt field would otherwise read as a
 * missing modality and get a confident prediction) except "id" and the label
 * field, unless the server was started with --ignore-unknown-fields.
 */
import { z } from "zod";
import type { ModalitySpec } from "../data/types.ts";
import { formatPath } from "../data/schema.ts";
import { rawTypeOf } from "../data/pretrained/config.ts";
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
  switch (rawTypeOf(spec) as ModalitySpec["type"]) {
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

/** The row fields the model reads, in modality order. */
export function inputFieldNames(fields: ModalityFields[]): string[] {
  return fields.flatMap(({ field, columns }) => (columns ? [...columns.numeric, ...columns.categorical] : [field]));
}

export type RowRules = {
  /** keys accepted besides the model's inputs and ignored ("id", the label field) */
  passThrough: string[];
  /** accept and ignore any other key instead of refusing it */
  ignoreUnknownFields?: boolean;
};

/** The zod schema of one raw row. */
export function rowSchema(fields: ModalityFields[], rules: RowRules = { passThrough: [], ignoreUnknownFields: true }): z.ZodType<Record<string, unknown>> {
  const shape: Record<string, z.ZodType> = {};
  for (const { spec, field, columns } of fields) {
    if (columns) {
      for (const c of columns.numeric) shape[c] = finite.nullable().optional();
      for (const c of columns.categorical) shape[c] = z.union([z.string(), finite]).nullable().optional();
    } else shape[field] = cellSchema(spec).nullable().optional();
  }
  if (rules.ignoreUnknownFields) return z.looseObject(shape);
  for (const key of rules.passThrough) if (!(key in shape)) shape[key] = z.unknown().optional();
  return z.strictObject(shape);
}

/** rows stay unknown here: each is checked against rowSchema separately (see requestSchema) */
export type PredictRequest = { rows: unknown[]; explain?: boolean };

/**
 * The request envelope; each row is checked separately with `rowSchema`
 * (the server validates rows in slices, so a 1,024-row body does not hold the
 * event loop for the whole validation).
 */
export function requestSchema(maxRows: number): z.ZodType<PredictRequest> {
  return z.strictObject({
    rows: z.array(z.unknown()).min(1, "send at least one row").max(maxRows, `at most ${maxRows} rows per request`),
    explain: z.boolean().optional(),
  });
}

/** The first problem as { field: "rows[3].image", message }; an unknown key names itself and the fields a row may carry. */
export function firstIssue(error: z.ZodError, fields: ModalityFields[] = [], rules?: RowRules, prefix: PropertyKey[] = []): { field: string; message: string } {
  const issue = { ...error.issues[0]!, path: [...prefix, ...error.issues[0]!.path] } as z.core.$ZodIssue;
  const at = formatPath(issue.path);
  if (issue.code === "unrecognized_keys") {
    const key = issue.keys[0]!;
    const field = `${at ? `${at}.` : ""}${key}`;
    if (issue.path.length === 0) return { field, message: `unknown field "${key}"; a request is {"rows": [...], "explain"?: true}` };
    const accepted = [...inputFieldNames(fields), ...(rules?.passThrough ?? [])].map((f) => `"${f}"`).join(", ");
    return { field, message: `unknown field "${key}"; a row may carry ${accepted}. Fix the name (a misspelt field would read as a missing modality), or start the server with --ignore-unknown-fields` };
  }
  return { field: at || "(body)", message: issue.message };
}

/** A JSON Schema of one row, for GET /model. */
export function rowJsonSchema(fields: ModalityFields[], rules?: RowRules): unknown {
  return z.toJSONSchema(rowSchema(fields, rules), { unrepresentable: "any" });
}
