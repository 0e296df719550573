/**
 * Sequence modality: an array of steps per row, each an array of `dim`
 * numbers (e.g. sensor readings, landmarks per video frame). Cut to maxLength,
 * padded and masked, standardised per dimension with train statistics over
 * real steps. An empty sequence counts as missing.
 */
import type { RawRow } from "../rows.ts";
import type { SequenceModalityConfig } from "../schema.ts";
import type { ModalitySpec } from "../types.ts";
import { readArray, readNumberArray } from "../values.ts";
import { fitStandardiser, presenceOf, standardiseInto, type EncodedModality, type ModalityPipeline, type Outcome } from "./pipeline.ts";

export type Steps = { values: Float64Array; steps: number };

export class SequencePipeline implements ModalityPipeline<Steps> {
  readonly name: string;
  readonly fields: string[];
  private stats = { means: [] as number[], stds: [] as number[] };

  constructor(private readonly config: SequenceModalityConfig) {
    this.name = config.name;
    this.fields = [config.field];
  }

  parse(row: RawRow): Outcome<Steps> {
    const { field, dim, maxLength } = this.config;
    const cell = readArray(row.values![field], row.textual);
    if ("missing" in cell) return cell;
    if ("problem" in cell) return { problem: { field, reason: cell.problem } };
    if (cell.value.length === 0) return { missing: true };
    // Steps beyond maxLength are validated too: a corrupt tail is still a corrupt row.
    const values = new Float64Array(Math.min(cell.value.length, maxLength) * dim);
    for (let t = 0; t < cell.value.length; t++) {
      const step = cell.value[t];
      if (!Array.isArray(step) || step.length !== dim) {
        return { problem: { field, reason: `step ${t} should be an array of ${dim} numbers ("dim": ${dim}), got ${Array.isArray(step) ? `${step.length} values` : JSON.stringify(step)}` } };
      }
      const numbers = readNumberArray(step, `${field}[${t}]`);
      if ("problem" in numbers) return { problem: { field, reason: numbers.problem } };
      if ("value" in numbers && t < maxLength) values.set(numbers.value, t * dim);
    }
    return { value: { values, steps: Math.min(cell.value.length, maxLength) } };
  }

  fit(train: Steps[]): void {
    this.stats = fitStandardiser(train, this.config.dim);
  }

  restore(spec: ModalitySpec): void {
    const { means, stds } = spec.preprocessing as { means: number[]; stds: number[] };
    this.stats = { means, stds };
  }

  spec(): ModalitySpec {
    const { maxLength, dim } = this.config;
    return { name: this.name, type: "sequence", shape: [maxLength, dim], preprocessing: { maxLength, dim, means: this.stats.means, stds: this.stats.stds } };
  }

  encode(values: (Steps | undefined)[]): EncodedModality {
    const { maxLength, dim } = this.config;
    const inputs = new Float32Array(values.length * maxLength * dim);
    const tokenMask = new Float32Array(values.length * maxLength);
    values.forEach((sequence, row) => {
      if (!sequence) return;
      standardiseInto(sequence.values, sequence.steps, dim, this.stats, inputs, row * maxLength * dim);
      tokenMask.fill(1, row * maxLength, row * maxLength + sequence.steps);
    });
    return { inputs, tokenMask, present: presenceOf(values) };
  }
}
