/**
 * Labels: parsing a row's label for the task, the class list (fitted on train),
 * and encoding into the layout SplitData.labels documents.
 */
import type { RowProblem } from "./problems.ts";
import type { RawRow } from "./rows.ts";
import type { Task } from "./types.ts";
import { readNumber } from "./values.ts";

export type LabelValue = string | string[] | number;
export type Parsed<T> = { value: T } | { problem: RowProblem };

export function parseLabel(row: RawRow, task: Task, field: string, separator: string): Parsed<LabelValue> {
  const raw = row.values![field];
  const missing = raw === undefined || raw === null || (typeof raw === "string" && raw.trim() === "");
  if (missing) {
    return { problem: { field, reason: `missing label. Every row needs a label in "${field}"; remove the row or fill in the label` } };
  }
  if (task === "classification") {
    if (typeof raw === "string") return { value: raw };
    // Integer class ids are common in exported data; they become class names "0", "1", ...
    if (typeof raw === "number" && Number.isInteger(raw)) return { value: String(raw) };
    return { problem: { field, reason: `label must be a class name (string), got ${JSON.stringify(raw)}` } };
  }
  if (task === "multilabel") {
    const list = typeof raw === "string" && row.textual ? raw.split(separator).map((s) => s.trim()).filter((s) => s !== "") : raw;
    if (Array.isArray(list) && list.every((v) => typeof v === "string")) return { value: [...new Set(list as string[])] };
    return { problem: { field, reason: `multilabel label must be an array of class names, e.g. ["cat", "outdoor"], got ${JSON.stringify(raw)}` } };
  }
  const number = readNumber(raw, row.textual);
  if ("value" in number) return { value: number.value };
  return { problem: { field, reason: `regression label: ${"problem" in number ? number.problem : "missing"}` } };
}

/** Sorted class names seen in train (sorted so the class order is the same on every run). */
export function fitLabelNames(task: Task, trainLabels: LabelValue[]): string[] {
  if (task === "regression") return [];
  const names = new Set<string>();
  for (const label of trainLabels) {
    if (Array.isArray(label)) label.forEach((name) => names.add(name));
    else names.add(label as string);
  }
  return [...names].sort();
}

/** The first class name of `label` that train never saw, if any. */
export function unseenLabel(label: LabelValue, known: Set<string>): string | undefined {
  if (typeof label === "number") return undefined;
  return (Array.isArray(label) ? label : [label]).find((name) => !known.has(name));
}

export function encodeLabels(task: Task, labels: LabelValue[], labelNames: string[]): Float32Array {
  if (task === "regression") return Float32Array.from(labels as number[]);
  const indexOf = new Map(labelNames.map((name, i) => [name, i]));
  if (task === "classification") return Float32Array.from(labels as string[], (name) => indexOf.get(name)!);
  const encoded = new Float32Array(labels.length * labelNames.length);
  labels.forEach((label, row) => {
    for (const name of label as string[]) encoded[row * labelNames.length + indexOf.get(name)!] = 1;
  });
  return encoded;
}
