/**
 * Host-side batches in the model's layout (src/model/model.ts ModelBatch),
 * always exactly `batchSize` rows: a short last batch is padded with copies
 * of row 0 and rowWeight 0, so every step has the same shapes and the
 * compiled step is traced once (jax-js retraces on every new shape).
 */
import type { ModalitySpec, SplitData, Task } from "../data/types.ts";
import type { HostArray } from "../engine/tensor.ts";

export function labelWidth(task: Task, outDim: number): number {
  return task === "multilabel" ? outDim : 1;
}

function rowSize(shape: number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

function gather(source: Float32Array, width: number, rows: ArrayLike<number>, batchSize: number): Float32Array {
  const out = new Float32Array(batchSize * width);
  for (let i = 0; i < batchSize; i++) {
    const row = i < rows.length ? rows[i]! : rows[0]!;
    out.set(source.subarray(row * width, (row + 1) * width), i * width);
  }
  return out;
}

/**
 * Rows `rows` of `split` as one padded batch of `batchSize`. `transform` may
 * edit the gathered host arrays in place (robustness evaluation: presence
 * overrides, noise) before they become a batch.
 */
/** A model batch on the host: ModelBatch's layout with HostArrays (it is a HostBatch). */
export type ModelHostBatch = {
  inputs: Record<string, HostArray>;
  tokenMasks: Record<string, HostArray>;
  present: Record<string, HostArray>;
  labels: HostArray;
  rowWeight: HostArray;
};

export function paddedBatch(
  split: SplitData,
  specs: ModalitySpec[],
  task: Task,
  outDim: number,
  rows: ArrayLike<number>,
  batchSize: number,
): ModelHostBatch {
  const arr = (data: Float32Array, shape: number[]): HostArray => ({ data, shape });
  const inputs: Record<string, HostArray> = {};
  const tokenMasks: Record<string, HostArray> = {};
  const present: Record<string, HostArray> = {};
  for (const spec of specs) {
    inputs[spec.name] = arr(gather(split.inputs[spec.name]!, rowSize(spec.shape), rows, batchSize), [batchSize, ...spec.shape]);
    const mask = split.tokenMasks[spec.name];
    if (mask) tokenMasks[spec.name] = arr(gather(mask, spec.shape[0]!, rows, batchSize), [batchSize, spec.shape[0]!]);
    present[spec.name] = arr(gather(split.present[spec.name]!, 1, rows, batchSize), [batchSize]);
  }
  const width = labelWidth(task, outDim);
  const labels = arr(gather(split.labels, width, rows, batchSize), width === 1 ? [batchSize] : [batchSize, width]);
  const rowWeight = new Float32Array(batchSize);
  rowWeight.fill(1, 0, Math.min(rows.length, batchSize));
  return { inputs, tokenMasks, present, labels, rowWeight: arr(rowWeight, [batchSize]) };
}

/** Row positions in chunks of at most `batchSize`. */
export function chunks(order: ArrayLike<number>, batchSize: number): number[][] {
  const out: number[][] = [];
  for (let start = 0; start < order.length; start += batchSize) out.push(Array.from({ length: Math.min(batchSize, order.length - start) }, (_, i) => order[start + i]!));
  return out;
}
