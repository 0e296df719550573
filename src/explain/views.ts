/**
 * Method-specific views of one fused decision, read from what the fusion
 * method returns in `explain` (per-row tensors, leading axis = row) and from
 * the trained parameters. What each tensor is comes from the method's own
 * declaration (`FusionMethod.explains`, src/fusion/explain.ts; the model holds
 * it as `model.explains`), never from its key or shape:
 *
 *   attention            [Tq, Tk] (or [H, Tq, Tk], heads averaged): the query modality's tokens
 *                        over the context modalities' tokens, labelled with the row's words/patches/frames
 *   modalityWeights,     [M]: one weight per modality (GMU / attention fusion / late fusion's
 *   presence                  combiner weights), or 1 where the modality is present
 *   perModality          [M, width]: one vector per modality (GMU's per-unit gates)
 *   modalityPredictions, [M, C]: each modality's own class probabilities / its one-hot vote (late fusion)
 *   modalityVotes
 *   gate, scalar         []: one number per row (Flamingo's tanh gates, progressive fusion's change of z)
 *   pairSimilarity       [P]: cosine similarity per modality pair (CLIP)
 * A tensor the declaration does not name is passed through with its shape ("other").
 *
 * Gate parameters (Flamingo's alpha, beta: y = x + tanh(alpha) XAttn(...)) are the
 * leaves the method names in its own typed tree (`FusionMethod.gates`, through
 * `model.gates`); `gateParameters` reports them raw and through tanh. Their course over
 * training is recorded by the bench from the trainer's onEpoch `params()` (src/bench/extras.ts, gateEpoch).
 */
import type { ModalitySpec, SplitData } from "../data/types.ts";
import type { HostArray } from "../engine/tensor.ts";
import type { EncodedDims } from "../encoders/types.ts";
import type { ExplainOutput, ExplainSpec } from "../fusion/explain.ts";
import type { Model, ModelParams } from "../model/model.ts";

export type AttentionView = {
  kind: "attention";
  key: string;
  /** the querying modality */
  query: string;
  /** the modalities whose tokens are the keys, in key order */
  context: string[];
  queryLabels: string[];
  keyLabels: string[];
  /** 1 = real query token / real key in this row */
  queryMask: number[];
  keyMask: number[];
  /** [Tq][Tk] attention weights (heads averaged), with masked keys forced to exactly 0 */
  weights: number[][];
  /** per context modality: mean over real query tokens of the weight on its real keys */
  massByModality?: Record<string, number>;
  /** true when the row has no real key: the attention contributed nothing (its output is zeroed) */
  noContext: boolean;
};
export type ModalityWeightsView = { kind: "modalityWeights"; key: string; weights: Record<string, number> };
export type VotesView = { kind: "votes"; key: string; modality: string; scores: Record<string, number> };
export type ScalarView = { kind: "scalar"; key: string; value: number };
/** one vector per modality, e.g. GMU's per-unit gates [M, H] */
export type PerModalityView = { kind: "perModality"; key: string; values: Record<string, number[]> };
/** one score per modality pair, labelled "a~b" (CLIP's cosine similarities) */
export type PairsView = { kind: "pairs"; key: string; scores: Record<string, number> };
/** a tensor the method's declaration does not name, passed through */
export type OtherView = { kind: "other"; key: string; shape: number[]; values: number[] };
export type MethodView = AttentionView | ModalityWeightsView | VotesView | PerModalityView | PairsView | ScalarView | OtherView;

const round = (x: number) => Math.round(x * 1e6) / 1e6;

/** Short labels for a modality's tokens in one row: words for text, grid cells for images (a patch, or a CNN final-map position), steps for frames. */
export function tokenLabels(spec: ModalitySpec, dims: EncodedDims | undefined, split: SplitData, row: number): string[] {
  const T = dims?.tokens ?? 1;
  if (spec.type === "text") {
    const ids = split.inputs[spec.name]!.subarray(row * T, (row + 1) * T);
    return Array.from(ids, (id) => (id === 0 ? "<pad>" : id === 1 ? "<unk>" : (spec.vocabulary?.[id] ?? `#${id}`)));
  }
  if (spec.type === "image") {
    const side = Math.round(Math.sqrt(T));
    return Array.from({ length: T }, (_, t) => (side * side === T ? `${spec.name}[cell ${Math.floor(t / side)},${t % side}]` : `${spec.name}[cell ${t}]`));
  }
  if (T === 1) return [spec.name];
  return Array.from({ length: T }, (_, t) => `${spec.name}[t=${t}]`);
}

/** 1 where the modality's token is real in this row (token mask times presence). */
export function realTokens(spec: ModalitySpec, dims: EncodedDims | undefined, split: SplitData, row: number): number[] {
  const T = dims?.tokens ?? 1;
  const present = split.present[spec.name]![row]! > 0.5 ? 1 : 0;
  const mask = split.tokenMasks[spec.name];
  // The encoders produce one token per frame/word, so the split's mask is the token mask when the lengths agree.
  if (mask && mask.length === split.n * T) return Array.from(mask.subarray(row * T, (row + 1) * T), (v) => (v > 0.5 ? present : 0));
  return new Array(T).fill(present);
}

function rowSlice(value: HostArray, row: number): Float32Array {
  const width = value.shape.slice(1).reduce((a, b) => a * b, 1);
  return value.data.subarray(row * width, (row + 1) * width);
}

function attentionView(
  key: string,
  declared: Extract<ExplainOutput, { kind: "attention" }>,
  value: HostArray,
  row: number,
  ctx: { specs: ModalitySpec[]; dims: EncodedDims[]; split: SplitData },
): AttentionView {
  const rowShape = value.shape.slice(1);
  const [Tq, Tk] = rowShape.slice(-2) as [number, number];
  const heads = rowShape.length === 3 ? rowShape[0]! : 1;
  const data = rowSlice(value, row);
  const names = ctx.specs.map((s) => s.name);
  const specOf = (name: string) => ctx.specs[names.indexOf(name)]!;
  const dimsOf = (name: string) => ctx.dims[names.indexOf(name)];
  const { query, context } = declared;
  const queryLabels = tokenLabels(specOf(query), dimsOf(query), ctx.split, row);
  const queryMask = realTokens(specOf(query), dimsOf(query), ctx.split, row);
  const keyParts = context.map((c) => ({
    name: c,
    labels: tokenLabels(specOf(c), dimsOf(c), ctx.split, row),
    mask: realTokens(specOf(c), dimsOf(c), ctx.split, row),
  }));
  const keyLabels = keyParts.flatMap((p) => p.labels);
  const keyMask = keyParts.flatMap((p) => p.mask);
  const keyOwner = keyParts.flatMap((p) => p.labels.map(() => p.name));
  if (queryLabels.length !== Tq || keyLabels.length !== Tk) {
    throw new Error(`explain output "${key}" is declared as ${query} (${queryLabels.length} tokens) over ${context.join("+")} (${keyLabels.length}) but has per-row shape [${rowShape}]`);
  }
  const weights: number[][] = [];
  for (let i = 0; i < Tq; i++) {
    const line: number[] = [];
    for (let j = 0; j < Tk; j++) {
      let w = 0;
      for (let h = 0; h < heads; h++) w += data[(h * Tq + i) * Tk + j]!;
      // A row with no real key gets a uniform softmax over padding whose output the layer zeroes: show it as 0.
      line.push(keyMask[j] ? round(w / heads) : 0);
    }
    weights.push(line);
  }
  const mass: Record<string, number> = Object.fromEntries(context.map((c) => [c, 0]));
  const realQueries = queryMask.filter((v) => v).length;
  for (let i = 0; i < Tq; i++) {
    if (!queryMask[i]) continue;
    for (let j = 0; j < Tk; j++) mass[keyOwner[j]!]! += weights[i]![j]! / Math.max(1, realQueries);
  }
  return {
    kind: "attention",
    key,
    query,
    context,
    queryLabels,
    keyLabels,
    queryMask,
    keyMask,
    weights,
    massByModality: Object.fromEntries(Object.entries(mass).map(([k, v]) => [k, round(v)])),
    noContext: !keyMask.some((v) => v),
  };
}

/** Every explain tensor of one row as a view, read as the method declares it (`explains`, see the header). */
export function rowViews(
  explain: Record<string, HostArray> | undefined,
  explains: ExplainSpec,
  row: number,
  ctx: { specs: ModalitySpec[]; dims: EncodedDims[]; split: SplitData; classNames: string[] },
): MethodView[] {
  if (!explain) return [];
  const classLabel = (c: number) => ctx.classNames[c] ?? String(c);
  const views: MethodView[] = [];
  for (const [key, value] of Object.entries(explain)) {
    const declared = explains[key];
    const data = rowSlice(value, row);
    const perModality = (modalities: string[]) => {
      const width = data.length / Math.max(1, modalities.length);
      return modalities.map((n, m) => [n, Array.from(data.subarray(m * width, (m + 1) * width), round)] as const);
    };
    switch (declared?.kind) {
      case "attention":
        views.push(attentionView(key, declared, value, row, ctx));
        break;
      case "modalityWeights":
      case "presence":
        views.push({ kind: "modalityWeights", key, weights: Object.fromEntries(declared.modalities.map((n, m) => [n, round(data[m]!)])) });
        break;
      case "perModality":
        views.push({ kind: "perModality", key, values: Object.fromEntries(perModality(declared.modalities)) });
        break;
      case "modalityPredictions":
      case "modalityVotes":
        for (const [modality, scores] of perModality(declared.modalities)) {
          views.push({ kind: "votes", key, modality, scores: Object.fromEntries(scores.map((p, c) => [classLabel(c), p])) });
        }
        break;
      case "gate":
      case "scalar":
        views.push({ kind: "scalar", key, value: round(data[0]!) });
        break;
      case "pairSimilarity":
        views.push({ kind: "pairs", key, scores: Object.fromEntries(declared.pairs.map(([a, b], i) => [`${a}~${b}`, round(data[i]!)])) });
        break;
      case undefined:
        views.push({ kind: "other", key, shape: value.shape.slice(1), values: Array.from(data, round) });
        break;
    }
  }
  return views;
}

export type GateParameter = { name: string; values: number[]; tanh: number[] };

/** The gates the method names in its own parameters (`FusionMethod.gates`), raw and through tanh: their effect on the residual, y = x + tanh(g) f(x). */
export function gateParameters(model: Pick<Model, "gates">, params: ModelParams): GateParameter[] {
  return model.gates(params).map((g) => ({ name: g.name, values: Array.from(g.value.data, round), tanh: Array.from(g.value.data, (v) => round(Math.tanh(v))) }));
}
