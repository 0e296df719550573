/**
 * `fusionkit data inspect`: what a prepared dataset holds (rows per split and
 * class, missing modalities, shapes) and what looks wrong (imbalance, tiny
 * splits, constant columns, skipped rows), as a structured summary and as text.
 */
import { loadDataset, type LoadOptions } from "./load.ts";
import { splitNames } from "./prepare.ts";
import { formatSkippedRow } from "./problems.ts";
import type { ModalitySpec, PreparedDataset, SplitData, SplitName } from "./types.ts";

/** Warn when the most frequent train class has more than this many times the rows of the rarest. */
export const imbalanceWarningRatio = 5;
/** Warn when a split has fewer rows than this: metrics on it are mostly noise. */
export const smallSplitRows = 20;

export type ModalitySummary = {
  name: string;
  type: ModalitySpec["type"];
  shape: number[];
  vocabSize?: number;
  /** rows where the modality is missing (present = 0), per split */
  missing: Record<SplitName, number>;
  /** tabular: per column, missing cells per split (imputed) */
  missingCells?: Record<string, Record<SplitName, number>>;
  /** tabular: per categorical column, values unseen in train per split */
  unseenCells?: Record<string, Record<SplitName, number>>;
  /** tabular/vector: columns with one value across present train rows */
  constantColumns: string[];
  /** tabular: which columns are categorical (the rest are numeric) */
  categoricalColumns: string[];
};

export type DatasetSummary = {
  name: string;
  task: PreparedDataset["task"];
  labelField: string;
  description?: string;
  cacheKey: string;
  rows: Record<SplitName, number>;
  /** classification/multilabel: class -> rows per split (multilabel: rows having the class) */
  perLabel: Record<string, Record<SplitName, number>>;
  /** regression: label statistics per split */
  labelStatistics?: Record<SplitName, { mean: number; std: number; min: number; max: number }>;
  modalities: ModalitySummary[];
  skipped: PreparedDataset["skipped"];
  warnings: string[];
};

export function summariseDataset(ds: PreparedDataset): DatasetSummary {
  const rows = mapSplits((name) => ds.splits[name].n);
  const perLabel: DatasetSummary["perLabel"] = {};
  for (const label of ds.labelNames) perLabel[label] = mapSplits(() => 0);
  let labelStatistics: DatasetSummary["labelStatistics"];
  if (ds.task === "classification") {
    for (const name of splitNames) for (const index of ds.splits[name].labels) perLabel[ds.labelNames[index]][name]++;
  } else if (ds.task === "multilabel") {
    const width = ds.labelNames.length;
    for (const name of splitNames) {
      ds.splits[name].labels.forEach((value, i) => {
        if (value === 1) perLabel[ds.labelNames[i % width]][name]++;
      });
    }
  } else {
    labelStatistics = mapSplits((name) => describeNumbers(ds.splits[name].labels));
  }

  const modalities = ds.modalities.map((spec) => summariseModality(spec, ds.splits));
  const warnings: string[] = [];
  if (ds.task !== "regression" && ds.labelNames.length > 1) {
    const counts = ds.labelNames.map((label) => ({ label, count: perLabel[label].train }));
    const most = counts.reduce((a, b) => (b.count > a.count ? b : a));
    const least = counts.reduce((a, b) => (b.count < a.count ? b : a));
    const ratio = most.count / Math.max(1, least.count);
    if (ratio > imbalanceWarningRatio) {
      warnings.push(`class imbalance ${ratio.toFixed(1)}:1 in train ("${most.label}" ${most.count} rows vs "${least.label}" ${least.count}); accuracy will flatter the majority class, look at per-class F1`);
    }
  }
  for (const name of splitNames) {
    if (rows[name] < smallSplitRows) warnings.push(`the ${name} split has only ${rows[name]} rows (< ${smallSplitRows}); its metrics will be noisy`);
  }
  for (const modality of modalities) {
    if (modality.constantColumns.length) {
      warnings.push(`modality "${modality.name}": constant in train, carries no information: ${modality.constantColumns.join(", ")}`);
    }
    for (const name of splitNames) {
      if (rows[name] > 0 && modality.missing[name] === rows[name]) warnings.push(`modality "${modality.name}" is missing in every ${name} row`);
    }
  }
  if (ds.skipped.length) warnings.push(`${ds.skipped.length} bad rows were skipped (listed below)`);

  return {
    name: ds.name,
    task: ds.task,
    labelField: ds.labelField,
    ...(ds.description !== undefined ? { description: ds.description } : {}),
    cacheKey: ds.cacheKey,
    rows,
    perLabel,
    ...(labelStatistics ? { labelStatistics } : {}),
    modalities,
    skipped: ds.skipped,
    warnings,
  };
}

export function inspectDataset(ds: PreparedDataset): string {
  return formatSummary(summariseDataset(ds));
}

/** What `fusionkit data inspect <dir|name>` prints. */
export async function runDataInspect(nameOrDir: string, options: LoadOptions = {}): Promise<string> {
  return inspectDataset(await loadDataset(nameOrDir, options));
}

export function formatSummary(summary: DatasetSummary): string {
  const lines: string[] = [];
  lines.push(`dataset ${summary.name}: ${summary.task}, label "${summary.labelField}"`);
  if (summary.description) lines.push(summary.description);
  lines.push("");
  const header = ["", ...splitNames, "total"];
  const table: string[][] = [header];
  const total = (counts: Record<SplitName, number>) => splitNames.reduce((sum, name) => sum + counts[name], 0);
  table.push(["rows", ...splitNames.map((name) => String(summary.rows[name])), String(total(summary.rows))]);
  for (const [label, counts] of Object.entries(summary.perLabel)) {
    table.push([`  ${label}`, ...splitNames.map((name) => String(counts[name])), String(total(counts))]);
  }
  if (summary.labelStatistics) {
    for (const key of ["mean", "std", "min", "max"] as const) {
      table.push([`  label ${key}`, ...splitNames.map((name) => formatNumber(summary.labelStatistics![name][key])), ""]);
    }
  }
  for (const modality of summary.modalities) {
    table.push([`missing ${modality.name}`, ...splitNames.map((name) => String(modality.missing[name])), String(total(modality.missing))]);
    for (const [column, counts] of Object.entries(modality.missingCells ?? {})) {
      const treatment = modality.categoricalColumns.includes(column) ? "coded unknown" : "imputed with train mean";
      if (total(counts) > 0) table.push([`  ${column}: missing cells (${treatment})`, ...splitNames.map((name) => String(counts[name])), String(total(counts))]);
    }
    for (const [column, counts] of Object.entries(modality.unseenCells ?? {})) {
      if (total(counts) > 0) table.push([`  ${column}: values unseen in train (coded unknown)`, ...splitNames.map((name) => String(counts[name])), String(total(counts))]);
    }
  }
  lines.push(...formatTable(table));
  lines.push("");
  lines.push("modalities:");
  for (const modality of summary.modalities) {
    lines.push(`  ${modality.name} (${modality.type}) shape [${modality.shape.join(", ")}]${modality.vocabSize !== undefined ? `, vocabulary ${modality.vocabSize}` : ""}`);
  }
  lines.push("");
  if (summary.warnings.length) {
    lines.push("warnings:");
    for (const warning of summary.warnings) lines.push(`  - ${warning}`);
  } else {
    lines.push("warnings: none");
  }
  if (summary.skipped.length) {
    lines.push("");
    lines.push(`skipped rows (${summary.skipped.length}):`);
    for (const row of summary.skipped) lines.push(`  ${formatSkippedRow(row)}`);
  }
  lines.push("");
  lines.push(`cache key ${summary.cacheKey.slice(0, 16)}`);
  return lines.join("\n");
}

function summariseModality(spec: ModalitySpec, splits: Record<SplitName, SplitData>): ModalitySummary {
  const summary: ModalitySummary = {
    name: spec.name,
    type: spec.type,
    shape: spec.shape,
    ...(spec.vocabSize !== undefined ? { vocabSize: spec.vocabSize } : {}),
    missing: mapSplits((name) => splits[name].present[spec.name].reduce((sum, present) => sum + (present ? 0 : 1), 0)),
    constantColumns: [],
    categoricalColumns: spec.categoricalColumns ?? [],
  };
  if (spec.type === "tabular") {
    const columns = [...(spec.numericColumns ?? []), ...(spec.categoricalColumns ?? [])];
    const perColumn = (cells: Record<SplitName, number[]> | undefined) =>
      cells ? Object.fromEntries(columns.map((column, c) => [column, mapSplits((name) => cells[name]?.[c] ?? 0)])) : undefined;
    const missingCells = perColumn(spec.missingCells);
    const unseenCells = perColumn(spec.unseenCells);
    if (missingCells) summary.missingCells = missingCells;
    if (unseenCells) summary.unseenCells = unseenCells;
    summary.constantColumns = constantColumns(splits.train, spec, columns);
  } else if (spec.type === "vector") {
    summary.constantColumns = constantColumns(splits.train, spec, Array.from({ length: spec.shape[0] }, (_, d) => `dimension ${d}`));
  }
  return summary;
}

/** Columns whose value is identical in every present train row (after preprocessing; imputed cells included). */
function constantColumns(train: SplitData, spec: ModalitySpec, columns: string[]): string[] {
  const width = columns.length;
  const inputs = train.inputs[spec.name];
  const present = train.present[spec.name];
  const first = new Float64Array(width).fill(NaN);
  const varies = new Array<boolean>(width).fill(false);
  for (let row = 0; row < train.n; row++) {
    if (!present[row]) continue;
    for (let c = 0; c < width; c++) {
      const value = inputs[row * width + c];
      if (Number.isNaN(first[c])) first[c] = value;
      else if (value !== first[c]) varies[c] = true;
    }
  }
  return columns.filter((_, c) => !varies[c] && !Number.isNaN(first[c]));
}

function describeNumbers(values: Float32Array): { mean: number; std: number; min: number; max: number } {
  if (values.length === 0) return { mean: NaN, std: NaN, min: NaN, max: NaN };
  let sum = 0;
  let min = Infinity;
  let max = -Infinity;
  for (const value of values) {
    sum += value;
    min = Math.min(min, value);
    max = Math.max(max, value);
  }
  const mean = sum / values.length;
  let squares = 0;
  for (const value of values) squares += (value - mean) ** 2;
  return { mean, std: Math.sqrt(squares / values.length), min, max };
}

function mapSplits<T>(f: (name: SplitName) => T): Record<SplitName, T> {
  return { train: f("train"), val: f("val"), test: f("test") };
}

function formatNumber(value: number): string {
  return Math.abs(value) >= 1e4 || (Math.abs(value) < 1e-2 && value !== 0) ? value.toExponential(2) : value.toFixed(3);
}

function formatTable(rows: string[][]): string[] {
  const widths = rows[0].map((_, c) => Math.max(...rows.map((row) => (row[c] ?? "").length)));
  return rows.map((row) => row.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]) : cell.padStart(widths[c]))).join("  ").trimEnd());
}
