/**
 * Training pairs for alignment: the rows of a split in which every paired
 * modality is present (a row with its text missing teaches nothing about
 * image-text alignment), with a group id per row for the false-negative mask
 * (loss.ts), and padded host batches in the layout AlignModel.embed reads.
 */
import type { ModalitySpec, SplitData } from "../data/types.ts";
import { FusionkitError } from "../errors.ts";
import type { HostBatch } from "../engine/step.ts";
import type { HostArray } from "../engine/tensor.ts";
import { pairMask } from "./loss.ts";

export type PairRows = {
  /** row positions in the split with every paired modality present */
  rows: number[];
  /** per split row: integer group id (rows of the same group are true matches of each other) */
  groups: Int32Array;
};

/**
 * `matchField`: a SplitData field whose equal values mark true matches (emoji:
 * "emoji"); without it each row is its own group.
 */
export function pairRows(split: SplitData, specs: ModalitySpec[], matchField?: string): PairRows {
  const rows: number[] = [];
  for (let i = 0; i < split.n; i++) {
    if (specs.every((s) => split.present[s.name]![i]! > 0)) rows.push(i);
  }
  return { rows, groups: groupIds(split, matchField) };
}

export function groupIds(split: SplitData, matchField?: string): Int32Array {
  const groups = new Int32Array(split.n);
  if (!matchField) {
    groups.forEach((_, i) => (groups[i] = i));
    return groups;
  }
  const values = split.fields[matchField];
  if (!values) {
    throw new FusionkitError(`match field "${matchField}" is not a kept field of the dataset; kept fields: ${Object.keys(split.fields).join(", ") || "none"}`, { field: "matchField" });
  }
  const ids = new Map<string, number>();
  values.forEach((v, i) => {
    if (!ids.has(v)) ids.set(v, ids.size);
    groups[i] = ids.get(v)!;
  });
  return groups;
}

function gather(source: Float32Array, width: number, rows: ArrayLike<number>, size: number): Float32Array {
  const out = new Float32Array(size * width);
  for (let i = 0; i < size; i++) {
    const row = i < rows.length ? rows[i]! : rows[0]!;
    out.set(source.subarray(row * width, (row + 1) * width), i * width);
  }
  return out;
}

/** The embedding inputs of `rows`, padded to `size` rows with copies of the first. */
export function embedBatch(split: SplitData, specs: ModalitySpec[], rows: ArrayLike<number>, size: number): HostBatch {
  const inputs: Record<string, HostArray> = {};
  const tokenMasks: Record<string, HostArray> = {};
  const present: Record<string, HostArray> = {};
  for (const spec of specs) {
    const width = spec.shape.reduce((a, b) => a * b, 1);
    inputs[spec.name] = { data: gather(split.inputs[spec.name]!, width, rows, size), shape: [size, ...spec.shape] };
    const mask = split.tokenMasks[spec.name];
    if (mask) tokenMasks[spec.name] = { data: gather(mask, spec.shape[0]!, rows, size), shape: [size, spec.shape[0]!] };
    present[spec.name] = { data: gather(split.present[spec.name]!, 1, rows, size), shape: [size] };
  }
  return { inputs, tokenMasks, present };
}

/** A padded training batch: embedding inputs + rowWeight [size] + pairMask [size, size]. */
export function trainBatch(split: SplitData, specs: ModalitySpec[], pairs: PairRows, rows: number[], size: number): HostBatch {
  const rowWeight = new Float32Array(size);
  rowWeight.fill(1, 0, Math.min(rows.length, size));
  const groups = Array.from({ length: size }, (_, i) => pairs.groups[i < rows.length ? rows[i]! : rows[0]!]!);
  return {
    ...embedBatch(split, specs, rows, size),
    rowWeight: { data: rowWeight, shape: [size] },
    pairMask: { data: pairMask(rowWeight, groups), shape: [size, size] },
  };
}
