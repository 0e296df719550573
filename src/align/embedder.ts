/**
 * Inference for the alignment model: unit-norm embeddings of chosen rows of a
 * split, one modality at a time, through a compiled EvalStep per modality in
 * fixed-size padded batches (so each is traced once).
 */
import type { ModalitySpec, SplitData } from "../data/types.ts";
import type { ParamLayout } from "../engine/params.ts";
import { EvalStep, type HostBatch } from "../engine/step.ts";
import type { HostArray } from "../engine/tensor.ts";
import type { AlignInputs, AlignModel, AlignParamTree } from "./alignModel.ts";
import { paddedInputs } from "../train/batching.ts";

export class Embedder {
  private readonly steps = new Map<string, EvalStep<AlignParamTree, AlignInputs>>();
  private flat: Float32Array;

  constructor(readonly model: AlignModel, readonly layout: ParamLayout<AlignParamTree>, flat: Float32Array, readonly batchSize = 64) {
    this.flat = flat;
  }

  get dim(): number {
    return this.model.spec.embedDim;
  }

  private stepFor(modality: string): EvalStep<AlignParamTree, AlignInputs> {
    let step = this.steps.get(modality);
    if (!step) {
      step = new EvalStep<AlignParamTree, AlignInputs>(this.layout, this.flat, (params, batch) => this.model.embed(params, batch, [modality])[modality]!);
      this.steps.set(modality, step);
    }
    return step;
  }

  setParams(flat: Float32Array): void {
    this.flat = flat;
    for (const step of this.steps.values()) step.setParams(flat);
  }

  /** Embeddings [rows.length, dim] of `modality` for the given split rows. */
  embed(split: SplitData, modality: string, rows: number[]): Float32Array {
    const spec = this.specOf(modality);
    return this.embedBatches(modality, rows.length, (start, end) => paddedInputs(split, [spec], rows.slice(start, end), this.batchSize));
  }

  /** Embeddings of a host array of n inputs of `modality` (e.g. tokenised queries), with optional token masks. */
  embedInputs(modality: string, inputs: Float32Array, tokenMasks: Float32Array | undefined, n: number): Float32Array {
    const spec = this.specOf(modality);
    const split: SplitData = {
      n,
      ids: Array.from({ length: n }, (_, i) => String(i)),
      inputs: { [modality]: inputs },
      tokenMasks: tokenMasks ? { [modality]: tokenMasks } : {},
      present: { [modality]: new Float32Array(n).fill(1) },
      labels: new Float32Array(n),
      fields: {},
    };
    return this.embedBatches(modality, n, (start, end) =>
      paddedInputs(split, [spec], Array.from({ length: end - start }, (_, i) => start + i), this.batchSize),
    );
  }

  private embedBatches(modality: string, n: number, batchAt: (start: number, end: number) => HostBatch): Float32Array {
    const step = this.stepFor(modality);
    const out = new Float32Array(n * this.dim);
    for (let start = 0; start < n; start += this.batchSize) {
      const end = Math.min(n, start + this.batchSize);
      const z = step.run(batchAt(start, end)) as HostArray;
      out.set(z.data.subarray(0, (end - start) * this.dim), start * this.dim);
    }
    return out;
  }

  private specOf(modality: string): ModalitySpec {
    const spec = this.model.spec.modalities.find((m) => m.name === modality);
    if (!spec) throw new Error(`Embedder: the model has no modality "${modality}"`);
    return spec;
  }

  dispose(): void {
    for (const step of this.steps.values()) step.dispose();
    this.steps.clear();
  }
}
