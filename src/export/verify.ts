/**
 * `fusionkit export` checks the graph it wrote: sample rows go through the
 * jax-js model and through the ONNX graph in onnxruntime-node, and the
 * largest difference of logits and scores must stay within the tolerance.
 *
 * The rows are synthetic, drawn from each modality's spec (standardised
 * values, token ids inside the vocabulary, codes inside each categorical
 * column, pixels in [0, 1], random token lengths) with some modalities
 * missing, so every input of the graph (values, presence flags, token masks)
 * is exercised without needing the training data at export time.
 */
import type { ModalitySpec, SplitData } from "../data/types.ts";
import { flattenParams } from "../engine/params.ts";
import { HostRng } from "../engine/random.ts";
import { Predictor } from "../train/predict.ts";
import type { TrainedModel } from "../train/trainer.ts";
import { feedsFromSplit } from "./feeds.ts";
import { createOnnxRunner } from "./runtime.ts";

/** |jax-js - onnx| / max(1, |jax-js|): absolute for probabilities and logits, relative for large regression predictions */
export const verifyTolerance = 1e-4;
export const verifyRows = 32;

export type Verification = {
  /** "synthetic": rows drawn from the modality specs */
  rows: number;
  source: "synthetic";
  /** largest |jax-js - onnxruntime| / max(1, |jax-js|) over logits and scores of every row */
  maxError: number;
  tolerance: number;
  runtime: string;
};

const hasTokenMask = (spec: ModalitySpec) => spec.type === "text" || spec.type === "audio" || spec.type === "sequence";

/** `n` rows drawn from the specs; row 0 has every modality, the last none, the rest miss each one with probability 1/4. */
export function syntheticSplit(specs: ModalitySpec[], n: number, seed = 0): SplitData {
  const rng = new HostRng(seed);
  const split: SplitData = { n, ids: Array.from({ length: n }, (_, i) => `synthetic${i}`), inputs: {}, tokenMasks: {}, present: {}, labels: new Float32Array(n), fields: {} };
  for (const spec of specs) {
    const width = spec.shape.reduce((a, b) => a * b, 1);
    const inputs = new Float32Array(n * width);
    const present = new Float32Array(n);
    const mask = hasTokenMask(spec) ? new Float32Array(n * spec.shape[0]!) : undefined;
    for (let i = 0; i < n; i++) {
      present[i] = i === 0 ? 1 : i === n - 1 ? 0 : rng.uniform() < 0.25 ? 0 : 1;
      const row = inputs.subarray(i * width, (i + 1) * width);
      if (spec.type === "text") {
        const T = spec.shape[0]!;
        const length = 1 + rng.int(T);
        for (let t = 0; t < length; t++) row[t] = 2 + rng.int(Math.max(1, (spec.vocabSize ?? 3) - 2));
        for (let t = 0; t < length; t++) mask![i * T + t] = 1;
      } else if (spec.type === "tabular") {
        const numeric = spec.numericColumns?.length ?? 0;
        for (let c = 0; c < numeric; c++) row[c] = rng.normal();
        (spec.categoricalCardinalities ?? []).forEach((cardinality, c) => (row[numeric + c] = rng.int(Math.max(1, cardinality))));
      } else if (spec.type === "image") {
        for (let k = 0; k < width; k++) row[k] = rng.uniform();
      } else if (spec.type === "sequence" || spec.type === "audio") {
        const [T, D] = [spec.shape[0]!, spec.shape[1]!];
        const length = 1 + rng.int(T);
        for (let k = 0; k < length * D; k++) row[k] = rng.normal();
        for (let t = 0; t < length; t++) mask![i * T + t] = 1;
      } else {
        for (let k = 0; k < width; k++) row[k] = rng.normal();
      }
      if (present[i] === 0) row.fill(0);
    }
    split.inputs[spec.name] = inputs;
    split.present[spec.name] = present;
    if (mask) split.tokenMasks[spec.name] = mask;
  }
  return split;
}

function maxError(engine: Float32Array, onnx: Float32Array): number {
  if (engine.length !== onnx.length) return Infinity;
  let worst = 0;
  for (let i = 0; i < engine.length; i++) {
    const d = Math.abs(engine[i]! - onnx[i]!) / Math.max(1, Math.abs(engine[i]!));
    // NaN on either side counts as an infinite error
    if (!(d <= worst)) worst = Number.isNaN(d) ? Infinity : d;
  }
  return worst;
}

/** Runs `rows` synthetic rows through the jax-js model and the graph `bytes`; returns the largest difference. */
export async function verifyAgainstEngine(trained: Pick<TrainedModel, "spec" | "model" | "layout" | "params">, bytes: Uint8Array, scoreName: string, rows = verifyRows): Promise<Verification> {
  const specs = trained.spec.modalities;
  const split = syntheticSplit(specs, rows);
  const predictor = new Predictor(trained.model, trained.layout, flattenParams(trained.params).flat, rows);
  const runner = await createOnnxRunner(bytes);
  try {
    const engine = predictor.predict(split);
    const out = await runner.run(feedsFromSplit(split, specs));
    const error = Math.max(maxError(engine.logits, out.logits!.data), maxError(engine.probs, out[scoreName]!.data));
    return { rows, source: "synthetic", maxError: error, tolerance: verifyTolerance, runtime: "onnxruntime-node" };
  } finally {
    predictor.dispose();
    await runner.release();
  }
}
