/**
 * What every modality type implements: parse a row's cell (sync, cheap
 * checks), optionally load a file it points to (images, audio), fit statistics
 * on the train split, and encode a split into the typed-array layout of
 * src/data/types.ts.
 */
import type { RowProblem } from "../problems.ts";
import type { RawRow } from "../rows.ts";
import type { ModalitySpec } from "../types.ts";

export type Outcome<T> = { value: T } | { missing: true } | { problem: RowProblem };

export type EncodedModality = {
  inputs: Float32Array;
  present: Float32Array;
  /** text, audio, sequence: [n, T] real-step mask */
  tokenMask?: Float32Array;
  /** tabular: per column, cells that were missing in this split (numeric: imputed with the train mean; categorical: unknown code 0) */
  missingCells?: number[];
  /** tabular: per column, categorical values train never saw (coded 0); 0 for numeric columns */
  unseenCells?: number[];
};

export interface ModalityPipeline<Parsed = unknown, Loaded = Parsed> {
  readonly name: string;
  /** row fields this modality reads; a field that appears in no row at all is reported as a likely typo */
  readonly fields: string[];
  parse(row: RawRow): Outcome<Parsed>;
  /** only for modalities whose cells point at files */
  load?(value: Parsed): Promise<Outcome<Loaded>>;
  /** sees only the train split's present values */
  fit(train: Loaded[]): void;
  /** takes the fitted state from a spec that `fit` + `spec` produced earlier (to encode new rows the same way) */
  restore(spec: ModalitySpec): void;
  spec(): ModalitySpec;
  /** pretrained encoders: embed every present value (all splits at once, batched, cached) before `spec` and `encode` */
  precompute?(values: (Loaded | undefined)[]): Promise<void>;
  /** `undefined` = missing in that row: zero-filled, present = 0 */
  encode(values: (Loaded | undefined)[]): EncodedModality;
}

export function presenceOf(values: unknown[]): Float32Array {
  return Float32Array.from(values, (value) => (value === undefined ? 0 : 1));
}

/**
 * Per-dimension mean and population standard deviation over [steps, dim]
 * blocks (two passes: sum-of-squares loses digits on columns like box-office
 * gross ~1e9). A constant dimension gets std 1 so it standardises to 0
 * instead of dividing by zero.
 */
export function fitStandardiser(blocks: { values: ArrayLike<number>; steps: number }[], dim: number): { means: number[]; stds: number[] } {
  const means = new Float64Array(dim);
  const squares = new Float64Array(dim);
  let count = 0;
  for (const { values, steps } of blocks) {
    for (let i = 0; i < steps * dim; i++) means[i % dim] += values[i];
    count += steps;
  }
  if (count > 0) for (let d = 0; d < dim; d++) means[d] /= count;
  for (const { values, steps } of blocks) {
    for (let i = 0; i < steps * dim; i++) squares[i % dim] += (values[i] - means[i % dim]) ** 2;
  }
  const stds = Array.from(squares, (sum, d) => {
    const std = count > 0 ? Math.sqrt(sum / count) : 0;
    // Relative threshold: the mean of identical values can differ from them in the last bit.
    return std > 1e-9 * Math.max(1, Math.abs(means[d])) ? std : 1;
  });
  return { means: Array.from(means), stds };
}

/** (x - mean) / std into `out`, for `steps` steps of `dim` values. */
export function standardiseInto(values: ArrayLike<number>, steps: number, dim: number, stats: { means: number[]; stds: number[] }, out: Float32Array, offset: number): void {
  for (let t = 0; t < steps; t++) {
    for (let d = 0; d < dim; d++) out[offset + t * dim + d] = (values[t * dim + d] - stats.means[d]) / stats.stds[d];
  }
}
