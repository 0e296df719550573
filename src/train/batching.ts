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

function gather(source: Float32Array, width: number, rows: ArrayLike<number>, batchSize: number, into?: HostArray): Float32Array {
  const out = into?.data.length === batchSize * width ? into.data : new Float32Array(batchSize * width);
  for (let i = 0; i < batchSize; i++) {
    const row = i < rows.length ? rows[i]! : rows[0]!;
    out.set(source.subarray(row * width, (row + 1) * width), i * width);
  }
  return out;
}

/** The encoders' inputs of a batch on the host: per modality, its values, token mask (text, sequences) and presence flags. */
export type InputsHostBatch = {
  inputs: Record<string, HostArray>;
  tokenMasks: Record<string, HostArray>;
  present: Record<string, HostArray>;
};

/** A model batch on the host: ModelBatch's layout with HostArrays (it is a HostBatch). */
export type ModelHostBatch = InputsHostBatch & {
  labels: HostArray;
  rowWeight: HostArray;
};

/**
 * The inputs of rows `rows` of `split` for the modalities `specs`, padded to
 * `batchSize` rows with copies of the first: what an encoder reads (the
 * supervised batches below, and alignment's embedding batches).
 */
export function paddedInputs(split: SplitData, specs: ModalitySpec[], rows: ArrayLike<number>, batchSize: number, into?: InputsHostBatch): InputsHostBatch {
  const inputs: Record<string, HostArray> = {};
  const tokenMasks: Record<string, HostArray> = {};
  const present: Record<string, HostArray> = {};
  for (const spec of specs) {
    inputs[spec.name] = { data: gather(split.inputs[spec.name]!, rowSize(spec.shape), rows, batchSize, into?.inputs[spec.name]), shape: [batchSize, ...spec.shape] };
    const mask = split.tokenMasks[spec.name];
    if (mask) tokenMasks[spec.name] = { data: gather(mask, spec.shape[0]!, rows, batchSize, into?.tokenMasks[spec.name]), shape: [batchSize, spec.shape[0]!] };
    present[spec.name] = { data: gather(split.present[spec.name]!, 1, rows, batchSize, into?.present[spec.name]), shape: [batchSize] };
  }
  return { inputs, tokenMasks, present };
}

/**
 * Rows `rows` of `split` as one padded batch of `batchSize`: the inputs, the labels, and rowWeight 0 on the padding.
 * With `into` (an earlier batch of the same shapes that nothing reads any more), its arrays are
 * overwritten instead of allocated: a new 400 KB image batch per step cost 0.15 ms at the median
 * but 4.7 ms at the 90th percentile (fresh pages and garbage collection; docs/benchmarks.md).
 */

export function paddedBatch(
  split: SplitData,
  specs: ModalitySpec[],
  task: Task,
  outDim: number,
  rows: ArrayLike<number>,
  batchSize: number,
  into?: ModelHostBatch,
): ModelHostBatch {
  const width = labelWidth(task, outDim);
  const labels = { data: gather(split.labels, width, rows, batchSize, into?.labels), shape: width === 1 ? [batchSize] : [batchSize, width] };
  const rowWeight = into?.rowWeight.data.length === batchSize ? into.rowWeight.data : new Float32Array(batchSize);
  rowWeight.fill(0).fill(1, 0, Math.min(rows.length, batchSize));
  return { ...paddedInputs(split, specs, rows, batchSize, into), labels, rowWeight: { data: rowWeight, shape: [batchSize] } };
}

/** Row positions in chunks of at most `batchSize`. */
export function chunks(order: ArrayLike<number>, batchSize: number): number[][] {
  const out: number[][] = [];
  for (let start = 0; start < order.length; start += batchSize) out.push(Array.from({ length: Math.min(batchSize, order.length - start) }, (_, i) => order[start + i]!));
  return out;
}
