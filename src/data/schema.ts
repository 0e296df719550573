/**
 * The `dataset.json` schema: what a user writes next to their rows file to
 * describe the task, the label, the split and the modalities.
 *
 * Objects are strict so a typo ("szie") is an error rather than a silently
 * ignored option. zod's issues are rewritten into one readable message that
 * names dataset.json and the field path (see `parseDatasetConfig`).
 */
import { z } from "zod";
import { FusionkitError } from "../errors.ts";
import { encoderSchema } from "./pretrained/config.ts";

const fieldName = z.string().min(1, "must be a non-empty field name");

const vectorModality = z.strictObject({
  name: fieldName,
  type: z.literal("vector"),
  /** row field holding an array of numbers (omit when `file` is given). */
  field: fieldName.optional(),
  /** expected length; when omitted, the first row that has the vector fixes it. */
  length: z.number().int().positive().optional(),
  /** a .npy file of shape [rows, length], row i = the i-th data row of the rows file. */
  file: z.string().regex(/\.npy$/i, "must be a .npy file").optional(),
});

const tabularModality = z.strictObject({
  name: fieldName,
  type: z.literal("tabular"),
  numeric: z.array(fieldName).default([]),
  categorical: z.array(fieldName).default([]),
});

const textModality = z.strictObject({
  name: fieldName,
  type: z.literal("text"),
  field: fieldName,
  maxTokens: z.number().int().positive().default(16),
  lowercase: z.boolean().default(true),
  /** most frequent train tokens kept; the rest map to unknown (id 1). */
  maxVocab: z.number().int().positive().default(5000),
  /** a frozen pretrained encoder (docs/pretrained.md); the text then becomes a vector (or token sequence) modality. */
  encoder: encoderSchema.optional(),
});

const imageModality = z.strictObject({
  name: fieldName,
  type: z.literal("image"),
  /** row field holding an image path, relative to the dataset directory. */
  field: fieldName,
  size: z.number().int().positive().max(1024).default(32),
  channels: z.union([z.literal(3), z.literal(1)]).default(3),
  /** a frozen pretrained encoder (docs/pretrained.md); the image then becomes a vector (or patch sequence) modality. */
  encoder: encoderSchema.optional(),
});

const isPowerOfTwo = (n: number) => n >= 16 && (n & (n - 1)) === 0;

const audioModality = z.strictObject({
  name: fieldName,
  type: z.literal("audio"),
  /** row field holding a .wav path, relative to the dataset directory. */
  field: fieldName,
  /** clips at another rate are resampled to this one. */
  sampleRate: z.number().int().positive().default(16000),
  nMels: z.number().int().positive().default(40),
  /** frames kept per clip (longer clips are cut, shorter ones padded and masked). */
  frames: z.number().int().positive().default(100),
  fftSize: z.number().int().refine(isPowerOfTwo, "must be a power of two, at least 16").default(512),
  /** samples between frames; default 10 ms at `sampleRate`. */
  hopLength: z.number().int().positive().optional(),
});

const sequenceModality = z.strictObject({
  name: fieldName,
  type: z.literal("sequence"),
  /** row field holding an array of steps, each an array of `dim` numbers. */
  field: fieldName,
  maxLength: z.number().int().positive().default(64),
  dim: z.number().int().positive(),
});

export const modalitySchema = z.discriminatedUnion("type", [
  vectorModality,
  tabularModality,
  textModality,
  imageModality,
  audioModality,
  sequenceModality,
]);

const splitFieldSchema = z.strictObject({
  /** row field whose value is "train", "val" or "test". */
  field: fieldName,
});

const fractionsSchema = z
  .strictObject({ train: z.number().gt(0).max(1), val: z.number().min(0).max(1), test: z.number().min(0).max(1) })
  .refine((f) => Math.abs(f.train + f.val + f.test - 1) < 1e-6, "train + val + test must sum to 1");

const seededSplitSchema = z.strictObject({
  seed: z.number().int().default(0),
  fractions: fractionsSchema.default({ train: 0.7, val: 0.15, test: 0.15 }),
  /** rows sharing this field's value always land in the same split. */
  groupBy: fieldName.optional(),
  /** classification: split each class separately so every class keeps its share (default true). */
  stratify: z.boolean().default(true),
});

export const datasetConfigSchema = z
  .strictObject({
    name: z.string().min(1).optional(),
    description: z.string().optional(),
    task: z.enum(["classification", "multilabel", "regression"]),
    /** row field holding the label: a class name, an array of class names (multilabel) or a number. */
    label: fieldName,
    /** rows file next to dataset.json: JSON lines (default data.jsonl) or CSV (.csv). */
    rows: z.string().regex(/\.(jsonl|csv)$/i, "must end in .jsonl or .csv").default("data.jsonl"),
    /** row field used as the row's stable id (else "file:line"). */
    id: fieldName.default("id"),
    /** multilabel labels in a CSV cell are separated by this string. */
    labelSeparator: z.string().min(1).default("|"),
    split: z.union([splitFieldSchema, seededSplitSchema]).default({
      seed: 0,
      fractions: { train: 0.7, val: 0.15, test: 0.15 },
      stratify: true,
    }),
    /** extra string fields copied through to SplitData.fields (e.g. for per-group reports). */
    keepFields: z.array(fieldName).default([]),
    modalities: z.array(modalitySchema).min(1, "list at least one modality"),
  })
  .superRefine((config, ctx) => {
    const seen = new Set<string>();
    config.modalities.forEach((modality, i) => {
      if (seen.has(modality.name)) {
        ctx.addIssue({ code: "custom", path: ["modalities", i, "name"], message: `duplicate modality name "${modality.name}"` });
      }
      seen.add(modality.name);
      if (modality.type === "vector" && !modality.field && !modality.file) {
        ctx.addIssue({ code: "custom", path: ["modalities", i], message: 'a vector modality needs "field" (inline arrays) or "file" (a .npy matrix)' });
      }
      if (modality.type === "vector" && modality.field && modality.file) {
        ctx.addIssue({ code: "custom", path: ["modalities", i], message: 'give either "field" or "file", not both' });
      }
      if (modality.type === "tabular" && modality.numeric.length + modality.categorical.length === 0) {
        ctx.addIssue({ code: "custom", path: ["modalities", i], message: 'a tabular modality needs at least one column in "numeric" or "categorical"' });
      }
    });
  });

export type DatasetConfig = z.infer<typeof datasetConfigSchema>;
export type ModalityConfig = z.infer<typeof modalitySchema>;
export type SeededSplitConfig = z.infer<typeof seededSplitSchema>;
export type VectorModalityConfig = z.infer<typeof vectorModality>;
export type TabularModalityConfig = z.infer<typeof tabularModality>;
export type TextModalityConfig = z.infer<typeof textModality>;
export type ImageModalityConfig = z.infer<typeof imageModality>;
export type AudioModalityConfig = z.infer<typeof audioModality>;
export type SequenceModalityConfig = z.infer<typeof sequenceModality>;

export function isSeededSplit(split: DatasetConfig["split"]): split is SeededSplitConfig {
  return !("field" in split);
}

/**
 * Parse dataset.json text (or an already-built object, for built-in datasets).
 * `file` is the name shown in error messages.
 */
export function parseDatasetConfig(source: string | unknown, file: string): DatasetConfig {
  let json: unknown = source;
  if (typeof source === "string") {
    try {
      json = JSON.parse(source);
    } catch (error) {
      throw new FusionkitError(`is not valid JSON (${(error as Error).message}). Fix the syntax; a JSON linter points at the exact spot.`, { file });
    }
  }
  const result = datasetConfigSchema.safeParse(json);
  if (result.success) return result.data;
  const problems = result.error.issues.map((issue) => ({ path: formatPath(issue.path), text: describeIssue(issue, json) }));
  if (problems.length === 1) {
    const [{ path, text }] = problems;
    throw new FusionkitError(`${text}. See docs/data.md for the dataset.json fields.`, path ? { file, field: path } : { file });
  }
  const listed = problems.map(({ path, text }) => `${path ? `"${path}"` : "top level"}: ${text}`);
  throw new FusionkitError(`${problems.length} problems:\n  ${listed.join("\n  ")}\nSee docs/data.md for the dataset.json fields.`, { file });
}

/** ["modalities", 1, "size"] -> "modalities[1].size" */
export function formatPath(path: readonly PropertyKey[]): string {
  let text = "";
  for (const part of path) {
    if (typeof part === "number") text += `[${part}]`;
    else text += text ? `.${String(part)}` : String(part);
  }
  return text;
}

function describeIssue(issue: z.core.$ZodIssue, json: unknown): string {
  switch (issue.code) {
    case "unrecognized_keys":
      return `unknown key${issue.keys.length > 1 ? "s" : ""} ${issue.keys.map((k) => `"${k}"`).join(", ")} (check the spelling)`;
    case "invalid_type": {
      const received = valueAt(json, issue.path);
      if (received === undefined) return `required (expected ${issue.expected})`;
      return `expected ${issue.expected}, got ${describeValue(received)}`;
    }
    case "invalid_value":
      return `expected one of ${issue.values.map((v) => JSON.stringify(v)).join(", ")}, got ${describeValue(valueAt(json, issue.path))}`;
    case "invalid_union":
      if ("discriminator" in issue && issue.discriminator) {
        return `expected one of "vector", "tabular", "text", "image", "audio", "sequence", got ${describeValue(valueAt(json, issue.path))}`;
      }
      if (formatPath(issue.path) === "split") return `expected {"field": "..."} or {"seed", "fractions", "groupBy"?}`;
      return issue.message;
    default:
      return issue.message;
  }
}

function valueAt(json: unknown, path: readonly PropertyKey[]): unknown {
  let value = json;
  for (const part of path) {
    if (value === null || typeof value !== "object") return undefined;
    value = (value as Record<PropertyKey, unknown>)[part];
  }
  return value;
}

function describeValue(value: unknown): string {
  if (value === undefined) return "nothing";
  const text = JSON.stringify(value);
  return text.length > 40 ? `${text.slice(0, 37)}...` : text;
}
