/**
 * Mini-batches over a split: `batches` yields row indices (shuffled with a
 * seed, so an epoch's order is reproducible), `gatherRows` copies those rows
 * out of every array of the split into a batch with the SplitData layout.
 * For a different order per epoch pass seed + epoch.
 */
import { FusionkitError } from "../errors.ts";
import { seededRandom, shuffleInPlace } from "./random.ts";
import type { ModalitySpec, SplitData } from "./types.ts";

export type BatchOptions = {
  /** default false: rows in split order */
  shuffle?: boolean;
  /** default 0; only used with shuffle */
  seed?: number;
  /** default false: the last, smaller batch is kept */
  dropLast?: boolean;
};

export type Batch = {
  n: number;
  /** row positions in the split */
  indices: Int32Array;
  inputs: Record<string, Float32Array>;
  tokenMasks: Record<string, Float32Array>;
  present: Record<string, Float32Array>;
  labels: Float32Array;
};

/**
 * Yields `{ indices }` per batch. `specs` are checked against the split's
 * arrays once, up front, so a split prepared for other specs fails here
 * rather than as garbage deep inside a training step.
 */
export function* batches(split: SplitData, specs: ModalitySpec[], batchSize: number, options: BatchOptions = {}): Iterable<{ indices: Int32Array }> {
  if (!Number.isInteger(batchSize) || batchSize <= 0) throw new FusionkitError(`batch size must be a positive integer, got ${batchSize}`, { field: "batchSize" });
  checkLayout(split, specs);
  const order = Int32Array.from({ length: split.n }, (_, i) => i);
  if (options.shuffle) shuffleInPlace(order, seededRandom(options.seed ?? 0));
  for (let start = 0; start < split.n; start += batchSize) {
    const end = Math.min(start + batchSize, split.n);
    if (options.dropLast && end - start < batchSize) return;
    yield { indices: order.slice(start, end) };
  }
}

export function gatherRows(split: SplitData, specs: ModalitySpec[], indices: Int32Array): Batch {
  const batch: Batch = { n: indices.length, indices, inputs: {}, tokenMasks: {}, present: {}, labels: gather(split.labels, split.labels.length / Math.max(1, split.n), indices) };
  for (const spec of specs) {
    batch.inputs[spec.name] = gather(split.inputs[spec.name], rowSize(spec), indices);
    batch.present[spec.name] = gather(split.present[spec.name], 1, indices);
    const mask = split.tokenMasks[spec.name];
    if (mask) batch.tokenMasks[spec.name] = gather(mask, spec.shape[0], indices);
  }
  return batch;
}

function gather(source: Float32Array, width: number, indices: Int32Array): Float32Array {
  const out = new Float32Array(indices.length * width);
  indices.forEach((row, i) => out.set(source.subarray(row * width, (row + 1) * width), i * width));
  return out;
}

function rowSize(spec: ModalitySpec): number {
  return spec.shape.reduce((a, b) => a * b, 1);
}

function checkLayout(split: SplitData, specs: ModalitySpec[]): void {
  for (const spec of specs) {
    const inputs = split.inputs[spec.name];
    const expected = split.n * rowSize(spec);
    if (!inputs || inputs.length !== expected || split.present[spec.name]?.length !== split.n) {
      throw new Error(`split does not match modality "${spec.name}": expected ${expected} input values for ${split.n} rows of shape [${spec.shape.join(", ")}], found ${inputs?.length ?? "none"}`);
    }
  }
}
