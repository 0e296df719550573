/**
 * Prediction and exact modality Shapley values of one row in the page, the
 * way `fusionkit serve` computes them (src/serve/onnxModel.ts): the row is
 * repeated for all 2^M coalitions S, copy S with every modality outside S
 * marked missing (presence 0), and the copies go through the graph as ONE
 * batch. v(S) is the explained class's probability (regression: the
 * prediction) in copy S; the explained class is the predicted one, read from
 * the full coalition's copy, which is the row itself. phi comes from
 * src/explain/shapley.ts's formula, the same code the CLI runs.
 */
import type { ExportedInput, ExportMetadata } from "../../exportModel.ts";
import { shapleyFromValues, shapleyWeights } from "../../../explain/shapley.ts";
import type { PreparedRow } from "./prepare.ts";

export type Feed = { data: Float32Array; dims: number[] };

export type PageResult = {
  /** the explained class index (regression: 0) */
  target: number;
  /** class name, or the predicted value for regression */
  prediction: string | number;
  /** the full row's scores: probabilities (classification, multilabel) or the prediction */
  scores: number[];
  /** phi per modality, in model.json's modality order */
  phi: number[];
  /** v(no modality) and v(all modalities as given): sum of phi = full - empty */
  empty: number;
  full: number;
  /** modalities left empty in the row (their phi is exactly 0) */
  missing: string[];
  /** the graph's other outputs for the full row (attention maps, gates), by output name */
  extras: Record<string, Feed>;
};

const width = (input: ExportedInput) => (input.shape.slice(1) as number[]).reduce((a, b) => a * b, 1);

function rowSource(row: PreparedRow, input: ExportedInput): Float32Array {
  if (input.role === "input") return row.inputs[input.modality]!;
  if (input.role === "tokenMask") return row.tokenMasks[input.modality]!;
  return Float32Array.of(row.present[input.modality]!);
}

/** The graph feeds for the 2^M coalition copies of `row`: copy S keeps modality m present iff bit m of S is set. */
export function coalitionFeeds(metadata: Pick<ExportMetadata, "inputs" | "modalities">, row: PreparedRow): Record<string, Feed> {
  const names = metadata.modalities.map((m) => m.name);
  const coalitions = 2 ** names.length;
  const feeds: Record<string, Feed> = {};
  for (const input of metadata.inputs) {
    const w = width(input);
    const source = rowSource(row, input);
    if (source.length !== w) throw new Error(`page: ${input.name} has ${source.length} values, the graph takes ${w}`);
    const data = new Float32Array(coalitions * w);
    const bit = 1 << names.indexOf(input.modality);
    for (let S = 0; S < coalitions; S++) {
      if (input.role === "present" && !(S & bit)) continue;
      data.set(source, S * w);
    }
    feeds[input.name] = { data, dims: [coalitions, ...(input.shape.slice(1) as number[])] };
  }
  return feeds;
}

/** Prediction, phi and the full row's extra outputs from the outputs of the coalition batch. */
export function explainOutputs(metadata: Pick<ExportMetadata, "task" | "outDim" | "labelNames" | "modalities" | "outputs">, row: PreparedRow, outputs: Record<string, Feed>): PageResult {
  const names = metadata.modalities.map((m) => m.name);
  const M = names.length;
  const all = 2 ** M - 1;
  const { outDim, task } = metadata;
  const scoreName = task === "regression" ? "prediction" : "probabilities";
  const scoresAll = outputs[scoreName]!.data;
  const scores = Array.from(scoresAll.subarray(all * outDim, (all + 1) * outDim));
  let target = 0;
  if (task !== "regression") for (let c = 1; c < outDim; c++) if (scores[c]! > scores[target]!) target = c;
  const values = Float64Array.from({ length: all + 1 }, (_, S) => scoresAll[S * outDim + target]!);
  const phi = Array.from(shapleyFromValues(values, M, shapleyWeights(M)));
  const extras: Record<string, Feed> = {};
  for (const output of metadata.outputs) {
    if (output.name === "logits" || output.name === scoreName) continue;
    const feed = outputs[output.name];
    if (!feed) continue;
    const per = feed.data.length / (all + 1);
    extras[output.name] = { data: feed.data.slice(all * per, (all + 1) * per), dims: [1, ...feed.dims.slice(1)] };
  }
  return {
    target,
    prediction: task === "regression" ? scores[0]! : task === "multilabel" ? metadata.labelNames.filter((_, c) => scores[c]! > 0.5).join(", ") : metadata.labelNames[target]!,
    scores,
    phi,
    empty: values[0]!,
    full: values[all]!,
    missing: names.filter((name) => row.present[name]! < 0.5),
    extras,
  };
}
