/**
 * Vector modality: a fixed-length array of numbers per row (e.g. precomputed
 * embeddings), inline in the row or as rows of a .npy matrix. Kept as given:
 * embeddings usually carry meaning in their scale, so no standardisation.
 */
import { readFileSync } from "node:fs";
import { FusionkitError } from "../../errors.ts";
import { parseNpy, type NpyArray } from "../npy.ts";
import type { RawRow } from "../rows.ts";
import type { VectorModalityConfig } from "../schema.ts";
import type { ModalitySpec } from "../types.ts";
import { readArray, readNumberArray } from "../values.ts";
import { presenceOf, type EncodedModality, type ModalityPipeline, type Outcome } from "./pipeline.ts";

export class VectorPipeline implements ModalityPipeline<Float64Array> {
  readonly name: string;
  readonly fields: string[];
  private length: number | undefined;
  /** where the expected length came from, for the wrong-length message */
  private lengthOrigin: string;
  private readonly matrix: NpyArray | undefined;

  constructor(
    private readonly config: VectorModalityConfig,
    resolvePath: (relative: string) => { path: string; display: string },
    totalRows: number,
  ) {
    this.name = config.name;
    this.fields = config.field ? [config.field] : [];
    this.length = config.length;
    this.lengthOrigin = config.length !== undefined ? `"length": ${config.length} in dataset.json` : "the first row with this vector";
    if (config.file) this.matrix = loadMatrix(resolvePath(config.file), config, totalRows);
    if (this.matrix) this.length = this.matrix.shape[1];
  }

  parse(row: RawRow): Outcome<Float64Array> {
    const field = this.config.field ?? this.config.file!;
    let values: Float64Array;
    if (this.matrix) {
      const d = this.length!;
      values = this.matrix.data.slice(row.index * d, (row.index + 1) * d);
      const bad = values.findIndex((v) => !Number.isFinite(v));
      if (bad >= 0) return { problem: { field, reason: `row ${row.index} of ${this.config.file} has ${values[bad]} at column ${bad}; vectors must be finite numbers` } };
      return { value: values };
    }
    const cell = readArray(row.values![field], row.textual);
    if ("missing" in cell) return cell;
    if ("problem" in cell) return { problem: { field, reason: cell.problem } };
    const numbers = readNumberArray(cell.value, field);
    if ("problem" in numbers) return { problem: { field, reason: numbers.problem } };
    if ("missing" in numbers) return numbers;
    values = numbers.value;
    if (values.length === 0) return { problem: { field, reason: "empty vector; write null to mark the modality missing" } };
    if (this.length === undefined) {
      // No declared length: the first row with a vector fixes it, later rows must match.
      this.length = values.length;
    } else if (values.length !== this.length) {
      return { problem: { field, reason: `vector has length ${values.length}, expected ${this.length} (from ${this.lengthOrigin}). Fix the row, or set the field to null to mark it missing` } };
    }
    return { value: values };
  }

  fit(): void {}

  restore(spec: ModalitySpec): void {
    this.length = spec.shape[0];
    this.lengthOrigin = "the prepared training data";
  }

  spec(): ModalitySpec {
    return { name: this.name, type: "vector", shape: [this.length ?? 0], preprocessing: { length: this.length ?? 0 } };
  }

  encode(values: (Float64Array | undefined)[]): EncodedModality {
    const d = this.length ?? 0;
    const inputs = new Float32Array(values.length * d);
    values.forEach((value, row) => value && inputs.set(value, row * d));
    return { inputs, present: presenceOf(values) };
  }
}

function loadMatrix(file: { path: string; display: string }, config: VectorModalityConfig, totalRows: number): NpyArray {
  let matrix: NpyArray;
  try {
    matrix = parseNpy(readFileSync(file.path));
  } catch (error) {
    throw new FusionkitError(`cannot read the vector file for modality "${config.name}": ${(error as Error).message}`, { file: file.display });
  }
  if (matrix.shape.length !== 2) {
    throw new FusionkitError(`expected a 2-D array [rows, length], got shape (${matrix.shape.join(", ")})`, { file: file.display });
  }
  if (matrix.shape[0] !== totalRows) {
    throw new FusionkitError(`has ${matrix.shape[0]} rows but the rows file has ${totalRows} data rows; row i of the .npy must belong to data row i`, { file: file.display });
  }
  if (config.length !== undefined && matrix.shape[1] !== config.length) {
    throw new FusionkitError(`has vectors of length ${matrix.shape[1]} but dataset.json says "length": ${config.length}`, { file: file.display });
  }
  return matrix;
}
