/**
 * Training pairs for alignment: the rows of a split in which every paired
 * modality is present (a row with its text missing teaches nothing about
 * image-text alignment), with a group id per row for the false-negative mask
 * (loss.ts), and padded training batches: the encoders' inputs
 * (src/train/batching.ts paddedInputs, the layout AlignModel.embed reads)
 * with the row weights and the pair mask.
 */
import type { ModalitySpec, SplitData } from "../data/types.ts";
import { FusionkitError } from "../errors.ts";
import type { HostBatch } from "../engine/step.ts";
import { paddedInputs } from "../train/batching.ts";
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

/** A padded training batch: embedding inputs + rowWeight [size] + pairMask [size, size]. */
export function trainBatch(split: SplitData, specs: ModalitySpec[], pairs: PairRows, rows: number[], size: number): HostBatch {
  const rowWeight = new Float32Array(size);
  rowWeight.fill(1, 0, Math.min(rows.length, size));
  const groups = Array.from({ length: size }, (_, i) => pairs.groups[i < rows.length ? rows[i]! : rows[0]!]!);
  return {
    ...paddedInputs(split, specs, rows, size),
    rowWeight: { data: rowWeight, shape: [size] },
    pairMask: { data: pairMask(rowWeight, groups), shape: [size, size] },
  };
}
