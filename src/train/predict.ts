/**
 * Inference over a split with a compiled EvalStep, in padded batches, with
 * the two perturbations robustness evaluation needs:
 *  - presentOverride {modality: 0}: that modality is treated as missing in every row;
 *  - noise {modality, sigma}: seeded Gaussian noise of std sigma added to the
 *    modality's (standardised) inputs in the rows where it is present
 *    (MultiBench's white-noise imperfection, Liang et al., NeurIPS 2021).
 * Scores: class probabilities (softmax), label probabilities (sigmoid), or
 * regression predictions mapped back to label units.
 */
import type { ModalitySpec, SplitData } from "../data/types.ts";
import { FusionkitError } from "../errors.ts";
import { flattenParams, type ParamLayout } from "../engine/params.ts";
import { HostRng } from "../engine/random.ts";
import { EvalStep } from "../engine/step.ts";
import type { HostArray, Tensor } from "../engine/tensor.ts";
import type { Model, ModelBatch, ModelParams } from "../model/model.ts";
import { chunks, paddedBatch, type ModelHostBatch } from "./batching.ts";
import type { TrainedModel } from "./trainer.ts";

export type PredictOptions = {
  batchSize?: number;
  presentOverride?: Record<string, 0 | 1>;
  noise?: { modality: string; sigma: number; seed?: number };
};

export type Predictions = {
  /** raw model outputs [n, outDim] (regression: standardised units) */
  logits: Float32Array;
  /** probabilities (classification, multilabel) or predictions in label units (regression), [n, outDim] */
  probs: Float32Array;
  /** per-row explanation tensors from the method (e.g. attention or gate weights), row-major with leading n */
  explain?: Record<string, HostArray>;
};

export class Predictor {
  private readonly step: EvalStep<ModelParams, ModelBatch>;

  constructor(readonly model: Model, layout: ParamLayout<ModelParams>, flat: Float32Array, readonly batchSize = 64) {
    this.step = new EvalStep<ModelParams, ModelBatch>(layout, flat, (params, batch) => {
      const out = model.apply(params, batch, { train: false });
      return { logits: out.logits, explain: out.explain ?? {} };
    });
  }

  setParams(flat: Float32Array): void {
    this.step.setParams(flat);
  }

  predict(split: SplitData, opts: PredictOptions = {}): Predictions {
    const { spec } = this.model;
    checkOptions(spec.modalities, opts);
    const outDim = spec.outDim;
    const logits = new Float32Array(split.n * outDim);
    const explainParts: Record<string, { data: Float32Array[]; rowShape: number[] }> = {};
    const noiseRng = opts.noise ? new HostRng(opts.noise.seed ?? 0) : undefined;
    let at = 0;
    for (const rows of chunks(Array.from({ length: split.n }, (_, i) => i), this.batchSize)) {
      const batch = paddedBatch(split, spec.modalities, spec.task, outDim, rows, this.batchSize);
      perturb(batch, spec.modalities, opts, rows.length, noiseRng);
      const out = this.step.run(batch) as { logits: HostArray; explain: Record<string, HostArray> };
      logits.set(out.logits.data.subarray(0, rows.length * outDim), at * outDim);
      for (const [name, value] of Object.entries(out.explain)) {
        const rowShape = value.shape.slice(1);
        const width = rowShape.reduce((a, b) => a * b, 1);
        (explainParts[name] ??= { data: [], rowShape }).data.push(value.data.slice(0, rows.length * width));
      }
      at += rows.length;
    }
    const result: Predictions = { logits, probs: toScores(this.model, logits) };
    if (Object.keys(explainParts).length) {
      result.explain = {};
      for (const [name, { data, rowShape }] of Object.entries(explainParts)) {
        const joined = new Float32Array(data.reduce((n, d) => n + d.length, 0));
        let offset = 0;
        for (const d of data) {
          joined.set(d, offset);
          offset += d.length;
        }
        result.explain[name] = { data: joined, shape: [split.n, ...rowShape] };
      }
    }
    return result;
  }

  dispose(): void {
    this.step.dispose();
  }
}

export function checkOptions(specs: ModalitySpec[], opts: PredictOptions): void {
  const names = specs.map((s) => s.name);
  const known = (name: string, field: string) => {
    if (!names.includes(name)) throw new FusionkitError(`unknown modality "${name}"; the model's modalities are ${names.join(", ")}`, { field });
  };
  for (const name of Object.keys(opts.presentOverride ?? {})) known(name, "presentOverride");
  if (opts.noise) {
    known(opts.noise.modality, "noise.modality");
    if (!(opts.noise.sigma >= 0)) throw new FusionkitError(`noise sigma must be >= 0, got ${opts.noise.sigma}`, { field: "noise.sigma" });
    if (specs.find((s) => s.name === opts.noise!.modality)!.type === "text") {
      throw new FusionkitError(`Gaussian noise is not defined on token ids; perturb the text modality "${opts.noise.modality}" before tokenising instead`, { field: "noise.modality" });
    }
  }
}

/** Applies presence overrides and noise to the real rows of a host batch, in place. */
export function perturb(b: ModelHostBatch, specs: ModalitySpec[], opts: PredictOptions, realRows: number, rng: HostRng | undefined): void {
  for (const [name, value] of Object.entries(opts.presentOverride ?? {})) if (value === 0) b.present[name]!.data.fill(0);
  if (!opts.noise || !rng || opts.noise.sigma === 0) return;
  const spec = specs.find((s) => s.name === opts.noise!.modality)!;
  const input = b.inputs[spec.name]!.data;
  const present = b.present[spec.name]!.data;
  const width = spec.shape.reduce((a, c) => a * c, 1);
  // tabular: only the numeric (standardised) columns; categorical codes are identities, not magnitudes
  const noisy = spec.type === "tabular" ? width - (spec.categoricalCardinalities?.length ?? 0) : width;
  for (let r = 0; r < realRows; r++) {
    if (present[r]! < 0.5) continue;
    for (let j = 0; j < noisy; j++) input[r * width + j]! += opts.noise.sigma * rng.normal();
  }
}

/** Scores from logits: softmax, sigmoid, or label units (shared with src/export/ortPredictor.ts). */
export function toScores(model: Model, logits: Float32Array): Float32Array {
  const { task, outDim, targetStats } = model.spec;
  const n = logits.length / outDim;
  const out = new Float32Array(logits.length);
  if (task === "regression") {
    const { mean, std } = targetStats ?? { mean: 0, std: 1 };
    for (let i = 0; i < logits.length; i++) out[i] = logits[i]! * std + mean;
  } else if (task === "multilabel") {
    for (let i = 0; i < logits.length; i++) out[i] = 1 / (1 + Math.exp(-logits[i]!));
  } else {
    for (let i = 0; i < n; i++) {
      let max = -Infinity;
      for (let c = 0; c < outDim; c++) max = Math.max(max, logits[i * outDim + c]!);
      let sum = 0;
      for (let c = 0; c < outDim; c++) sum += (out[i * outDim + c] = Math.exp(logits[i * outDim + c]! - max));
      for (let c = 0; c < outDim; c++) out[i * outDim + c]! /= sum;
    }
  }
  return out;
}

/** Predictions of a trained model on a split (compiles an EvalStep for the call). */
export function predict(trained: TrainedModel, split: SplitData, opts: PredictOptions = {}): Predictions {
  const { flat } = flattenParams(trained.params);
  const predictor = new Predictor(trained.model, trained.layout, flat, opts.batchSize ?? trained.options.batchSize);
  try {
    return predictor.predict(split, opts);
  } finally {
    predictor.dispose();
  }
}
