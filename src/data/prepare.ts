/**
 * From validated config + raw rows to a PreparedDataset. User datasets and
 * the built-ins both come through here, so they get the same checks.
 *
 *   1. parse each row (label, split, group, id, every modality)   bad row -> error or skipped
 *   2. load files the rows point at (images, audio), in parallel  bad file -> error or skipped
 *   3. assign splits (split field, or seeded by group)
 *   4. class list from train; val/test rows with a class train lacks -> error or skipped
 *   5. fit preprocessing on train only, encode every split
 */
import { cpus } from "node:os";
import { FusionkitError } from "../errors.ts";
import { encodeLabels, fitLabelNames, parseLabel, unseenLabel, type LabelValue } from "./labels.ts";
import { createPipeline, type PipelineContext } from "./modalities/index.ts";
import type { ModalityPipeline, Outcome } from "./modalities/pipeline.ts";
import { RowRejecter, type RowProblem } from "./problems.ts";
import type { RawRow } from "./rows.ts";
import { isSeededSplit, type DatasetConfig } from "./schema.ts";
import { assignSeededSplit } from "./split.ts";
import type { ModalitySpec, PreparedDataset, SplitData, SplitName } from "./types.ts";
import { isMissing } from "./values.ts";

export const splitNames: SplitName[] = ["train", "val", "test"];

/** Everything prepare needs, whether it came from a directory or a built-in generator. */
export type RowSource = {
  name: string;
  description?: string;
  config: DatasetConfig;
  /** shown in dataset-level errors ("dataset.json" or "builtin:emoji") */
  configFile: string;
  /** image/audio/.npy paths are relative to this */
  baseDir: string;
  /** displays a path relative to the dataset for messages */
  resolvePath: (relative: string) => { path: string; display: string };
  rows: RawRow[];
  /** data rows in the rows file, including any past maxRows */
  totalRows: number;
  /** the rows file as shown in messages */
  rowsFile: string;
};

export type PrepareOptions = { skipBadRows?: boolean; seed?: number; pretrained?: PipelineContext["pretrained"] };

type ParsedRow = {
  raw: RawRow;
  id: string;
  label: LabelValue;
  split?: SplitName;
  group: string;
  fields: Record<string, string>;
  /** per modality, in config order: the parsed (then loaded) value, undefined when missing */
  values: unknown[];
};

/** How many files are decoded at once: sharp and fs work off the libuv pool, so a few per core keeps it busy. */
const loadConcurrency = Math.max(4, cpus().length * 4);

export async function prepareDataset(source: RowSource, options: PrepareOptions = {}): Promise<Omit<PreparedDataset, "cacheKey">> {
  const { config } = source;
  const rejecter = new RowRejecter(options.skipBadRows ?? false);
  const pipelines = config.modalities.map((modality) =>
    createPipeline(modality, { baseDir: source.baseDir, resolvePath: source.resolvePath, totalRows: source.totalRows, ...(options.pretrained ? { pretrained: options.pretrained } : {}) }),
  );
  checkFieldsAppear(source, pipelines);

  let rows = parseRows(source, pipelines, rejecter);
  rows = await loadFiles(rows, pipelines, rejecter);
  assignSplits(rows, config, options.seed);

  const labelNames = fitLabelNames(config.task, rows.filter((row) => row.split === "train").map((row) => row.label));
  const known = new Set(labelNames);
  rows = rows.filter((row) => {
    const unseen = row.split === "train" ? undefined : unseenLabel(row.label, known);
    if (unseen === undefined) return true;
    rejecter.reject(row.raw, {
      field: config.label,
      reason: `class "${unseen}" is in the ${row.split} split but never in train, so no model can learn it. Add train rows of "${unseen}", or move this row to train`,
    });
    return false;
  });

  const bySplit = Object.fromEntries(splitNames.map((name) => [name, rows.filter((row) => row.split === name)])) as Record<SplitName, ParsedRow[]>;
  for (const name of splitNames) {
    if (bySplit[name].length > 0) continue;
    const how = isSeededSplit(config.split)
      ? `the seeded split put no rows in it (${rows.length} usable rows); add rows or raise "split.fractions.${name}"`
      : `no usable row has "${config.split.field}": "${name}"; mark some rows "${name}"`;
    throw new FusionkitError(`the ${name} split is empty: ${how}${rejecter.skipped.length ? ` (${rejecter.skipped.length} rows were skipped as bad)` : ""}`, {
      file: source.configFile,
      field: "split",
    });
  }

  // Frozen encoders embed every split's rows in one batched, cached pass; they fit nothing, so val/test cannot leak into training.
  for (const [m, pipeline] of pipelines.entries()) await pipeline.precompute?.(rows.map((row) => row.values[m]));
  const specs: ModalitySpec[] = pipelines.map((pipeline, m) => {
    pipeline.fit(bySplit.train.map((row) => row.values[m]).filter((value) => value !== undefined));
    return { ...pipeline.spec(), config: { ...config.modalities[m] } };
  });
  const splits = {} as Record<SplitName, SplitData>;
  for (const name of splitNames) {
    splits[name] = encodeSplit(bySplit[name], pipelines, specs, name, config, labelNames);
  }
  return {
    name: source.name,
    task: config.task,
    labelField: config.label,
    labelNames,
    modalities: specs,
    splits,
    // Rejections happen in phases (parse, file decoding, class check); the report lists them in file order.
    skipped: [...rejecter.skipped].sort((a, b) => (a.file === b.file ? a.line - b.line : a.file < b.file ? -1 : 1)),
    ...(source.description !== undefined ? { description: source.description } : {}),
  };
}

/** A modality field or column that no row has is almost always a typo in dataset.json, not data that is all missing. */
function checkFieldsAppear(source: RowSource, pipelines: ModalityPipeline<unknown, unknown>[]): void {
  const { config } = source;
  const wanted = new Map<string, string>();
  wanted.set(config.label, "label");
  if (!isSeededSplit(config.split)) wanted.set(config.split.field, "split.field");
  else if (config.split.groupBy) wanted.set(config.split.groupBy, "split.groupBy");
  for (const field of config.keepFields) wanted.set(field, "keepFields");
  config.modalities.forEach((modality, m) => pipelines[m].fields.forEach((field) => wanted.set(field, `modalities[${m}] ("${modality.name}")`)));
  const seen = new Set<string>();
  for (const row of source.rows) {
    if (!row.values) continue;
    for (const field of wanted.keys()) if (row.values[field] !== undefined) seen.add(field);
    if (seen.size === wanted.size) return;
  }
  if (!source.rows.some((row) => row.values)) return; // every row is unparseable: the row errors say more
  const absent = [...wanted.keys()].filter((field) => !seen.has(field));
  const scope = source.rows.length < source.totalRows ? `none of the first ${source.rows.length} rows (maxRows) of ${source.rowsFile}` : `no row of ${source.rowsFile}`;
  throw new FusionkitError(
    `${absent.map((field) => `"${field}" (used by ${wanted.get(field)})`).join(", ")} ${absent.length > 1 ? "appear" : "appears"} in ${scope}. Check the spelling in dataset.json against the row fields`,
    { file: source.configFile, field: absent[0] },
  );
}

function parseRows(source: RowSource, pipelines: ModalityPipeline<unknown, unknown>[], rejecter: RowRejecter): ParsedRow[] {
  const { config } = source;
  const parsed: ParsedRow[] = [];
  const lineOfId = new Map<string, number>();
  for (const raw of source.rows) {
    const problem = raw.problem ?? parseRow(raw, config, pipelines, lineOfId, parsed);
    if (problem) rejecter.reject(raw, problem);
  }
  return parsed;
}

/** Appends the parsed row to `out`, or returns its first problem. */
function parseRow(raw: RawRow, config: DatasetConfig, pipelines: ModalityPipeline<unknown, unknown>[], lineOfId: Map<string, number>, out: ParsedRow[]): RowProblem | undefined {
  const values = raw.values!;
  const label = parseLabel(raw, config.task, config.label, config.labelSeparator);
  if ("problem" in label) return label.problem;

  const rawId = values[config.id];
  let id = `${raw.file}:${raw.line}`;
  if (!isMissing(rawId, raw.textual)) {
    if (typeof rawId !== "string" && typeof rawId !== "number") return { field: config.id, reason: `id must be a string or number, got ${JSON.stringify(rawId)}` };
    id = String(rawId);
    const previous = lineOfId.get(id);
    if (previous !== undefined) return { field: config.id, reason: `id "${id}" is already used on line ${previous}; ids must be unique` };
    lineOfId.set(id, raw.line);
  }

  let split: SplitName | undefined;
  let group = id;
  if (!isSeededSplit(config.split)) {
    const value = values[config.split.field];
    if (value !== "train" && value !== "val" && value !== "test") {
      return { field: config.split.field, reason: `split must be "train", "val" or "test", got ${JSON.stringify(value ?? null)}` };
    }
    split = value;
  } else if (config.split.groupBy) {
    const value = values[config.split.groupBy];
    if (isMissing(value, raw.textual) || typeof value === "object") {
      return { field: config.split.groupBy, reason: `missing group value: with "groupBy" every row needs one (a string or number), or it could leak across splits` };
    }
    group = String(value);
  }

  const fields: Record<string, string> = {};
  for (const field of config.keepFields) {
    const value = values[field];
    fields[field] = value === undefined || value === null ? "" : typeof value === "object" ? JSON.stringify(value) : String(value);
  }

  const modalityValues: unknown[] = [];
  for (const pipeline of pipelines) {
    const outcome = pipeline.parse(raw);
    if ("problem" in outcome) return outcome.problem;
    modalityValues.push("value" in outcome ? outcome.value : undefined);
  }
  out.push({ raw, id, label: label.value, split, group, fields, values: modalityValues });
  return undefined;
}

/**
 * Loads every file cell with bounded concurrency. Jobs start in file order
 * and, when not skipping, stop starting after the first failure; waiting for
 * the ones in flight then means every earlier row has been checked, so the
 * error reported is the first bad file in file order, whatever the timing.
 */
export async function loadFiles<Row extends { raw: RawRow; values: unknown[] }>(rows: Row[], pipelines: ModalityPipeline<unknown, unknown>[], rejecter: RowRejecter): Promise<Row[]> {
  const jobs: { row: number; modality: number }[] = [];
  rows.forEach((row, r) => pipelines.forEach((pipeline, m) => pipeline.load && row.values[m] !== undefined && jobs.push({ row: r, modality: m })));
  if (jobs.length === 0) return rows;
  const problems = new Map<number, RowProblem>();
  let next = 0;
  let failed = false;
  const worker = async () => {
    while (next < jobs.length && !failed) {
      const { row, modality } = jobs[next++];
      const outcome: Outcome<unknown> = await pipelines[modality].load!(rows[row].values[modality]);
      if ("problem" in outcome) {
        if (!problems.has(row)) problems.set(row, outcome.problem);
        if (!rejecter.skipBadRows) failed = true;
      } else {
        rows[row].values[modality] = "value" in outcome ? outcome.value : undefined;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(loadConcurrency, jobs.length) }, worker));
  const kept: Row[] = [];
  rows.forEach((row, r) => {
    const problem = problems.get(r);
    if (problem) rejecter.reject(row.raw, problem);
    else kept.push(row);
  });
  return kept;
}

function assignSplits(rows: ParsedRow[], config: DatasetConfig, seedOverride: number | undefined): void {
  const split = config.split;
  if (!isSeededSplit(split)) return;
  const stratify = split.stratify && config.task === "classification";
  const assigned = assignSeededSplit(
    rows.map((row) => ({ group: row.group, stratum: stratify ? (row.label as string) : "" })),
    split.fractions,
    seedOverride ?? split.seed,
  );
  rows.forEach((row, i) => (row.split = assigned[i]));
}

function encodeSplit(rows: ParsedRow[], pipelines: ModalityPipeline<unknown, unknown>[], specs: ModalitySpec[], split: SplitName, config: DatasetConfig, labelNames: string[]): SplitData {
  const data: SplitData = {
    n: rows.length,
    ids: rows.map((row) => row.id),
    inputs: {},
    tokenMasks: {},
    present: {},
    labels: encodeLabels(config.task, rows.map((row) => row.label), labelNames),
    fields: Object.fromEntries(config.keepFields.map((field) => [field, rows.map((row) => row.fields[field])])),
    ...(isSeededSplit(config.split) && config.split.groupBy ? { groups: rows.map((row) => row.group) } : {}),
  };
  pipelines.forEach((pipeline, m) => {
    const encoded = pipeline.encode(rows.map((row) => row.values[m]));
    data.inputs[pipeline.name] = encoded.inputs;
    data.present[pipeline.name] = encoded.present;
    if (encoded.tokenMask) data.tokenMasks[pipeline.name] = encoded.tokenMask;
    if (encoded.missingCells) (specs[m].missingCells ??= {} as Record<SplitName, number[]>)[split] = encoded.missingCells;
    if (encoded.unseenCells) (specs[m].unseenCells ??= {} as Record<SplitName, number[]>)[split] = encoded.unseenCells;
  });
  return data;
}
