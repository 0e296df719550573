/**
 * Method-specific views of one fused decision, read from what the fusion
 * method returns in `explain` (per-row tensors, leading axis = row) and from
 * the trained parameters. The model does not say what each tensor means, so it
 * is recognised by name and per-row shape (M modalities, C outputs):
 *
 *   [Tq, Tk] or [H, Tq, Tk], key "<...>/<a><-<b>+<c>"   attention of modality a's tokens
 *        over the concatenated tokens of b, c, ... (heads averaged): cross-attention maps
 *        (intermediateFusion.ts `cross_attention/...`, transformerFusion.ts `mult/...`, `flamingo/...`)
 *   [M, C]                           per-modality predictions beside the combined one:
 *        late fusion's `probabilities` (methods.md §3)
 *   [M, H]                           one vector per modality: GMU's per-unit `gates`
 *   [C], key segment "vote..."       late fusion's vote counts per class
 *   [C], a modality name in the key  that modality's own prediction
 *   [M]                              one weight per modality: GMU / attention-fusion
 *        `weights` (methods.md §8), late fusion's combiner `weights` and `present`
 *   [] or [1]                        a scalar per row (Flamingo's `tanh_alpha`, `tanh_beta`)
 *   [Tq, Tk] keyed "...attention..." an unlabelled attention map
 *   anything else                    passed through with its shape
 * Ambiguity (M = C): a [M]-long tensor is read as per-modality unless its key says "vote".
 *
 * Parameters named `alpha` / `beta` are Flamingo's tanh gates (methods.md §6,
 * y = x + tanh(alpha) XAttn(...)); `gateParameters` reports tanh of them from
 * the trained parameter tree. Their course over training is recorded by the
 * bench from the trainer's onEpoch `params()` (src/bench/extras.ts, gateEpoch).
 */
import type { ModalitySpec, SplitData } from "../data/types.ts";
import type { ParamTree } from "../engine/params.ts";
import type { HostArray } from "../engine/tensor.ts";
import type { EncodedDims } from "../encoders/types.ts";

export type AttentionView = {
  kind: "attention";
  key: string;
  /** the querying modality, when the key names it */
  query?: string;
  /** the modalities whose tokens are the keys, in key order */
  context?: string[];
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
/** one score per class that is not a probability of any one modality, e.g. late fusion's vote counts */
export type ClassScoresView = { kind: "classScores"; key: string; scores: Record<string, number> };
export type OtherView = { kind: "other"; key: string; shape: number[]; values: number[] };
export type MethodView = AttentionView | ModalityWeightsView | VotesView | PerModalityView | ClassScoresView | ScalarView | OtherView;

const round = (x: number) => Math.round(x * 1e6) / 1e6;

/** "cross_attention/layer1/text<-image+audio" -> { query: "text", context: ["image", "audio"] } */
export function parseAttentionKey(key: string, names: string[]): { query: string; context: string[] } | undefined {
  const last = key.split("/").pop()!;
  const arrow = last.indexOf("<-");
  if (arrow < 0) return undefined;
  const query = last.slice(0, arrow);
  const context = last.slice(arrow + 2).split("+");
  if (!names.includes(query) || !context.every((c) => names.includes(c))) return undefined;
  return { query, context };
}

/** Short labels for a modality's tokens in one row: words for text, patch positions for images, steps for frames. */
export function tokenLabels(spec: ModalitySpec, dims: EncodedDims | undefined, split: SplitData, row: number): string[] {
  const T = dims?.tokens ?? 1;
  if (spec.type === "text") {
    const ids = split.inputs[spec.name]!.subarray(row * T, (row + 1) * T);
    return Array.from(ids, (id) => (id === 0 ? "<pad>" : id === 1 ? "<unk>" : (spec.vocabulary?.[id] ?? `#${id}`)));
  }
  if (spec.type === "image") {
    const side = Math.round(Math.sqrt(T));
    return Array.from({ length: T }, (_, t) => (side * side === T ? `${spec.name}[patch ${Math.floor(t / side)},${t % side}]` : `${spec.name}[patch ${t}]`));
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
  value: HostArray,
  row: number,
  ctx: { specs: ModalitySpec[]; dims: EncodedDims[]; split: SplitData },
): AttentionView {
  const rowShape = value.shape.slice(1);
  const [Tq, Tk] = rowShape.slice(-2) as [number, number];
  const heads = rowShape.length === 3 ? rowShape[0]! : 1;
  const data = rowSlice(value, row);
  const names = ctx.specs.map((s) => s.name);
  const parsed = parseAttentionKey(key, names);
  const specOf = (name: string) => ctx.specs[names.indexOf(name)]!;
  const dimsOf = (name: string) => ctx.dims[names.indexOf(name)];
  let queryLabels = Array.from({ length: Tq }, (_, t) => `query ${t}`);
  let queryMask = new Array<number>(Tq).fill(1);
  let keyLabels = Array.from({ length: Tk }, (_, t) => `key ${t}`);
  let keyMask = new Array<number>(Tk).fill(1);
  const keyOwner: string[] = [];
  if (parsed) {
    const q = specOf(parsed.query);
    const ql = tokenLabels(q, dimsOf(parsed.query), ctx.split, row);
    const keyParts = parsed.context.map((c) => ({
      name: c,
      labels: tokenLabels(specOf(c), dimsOf(c), ctx.split, row),
      mask: realTokens(specOf(c), dimsOf(c), ctx.split, row),
    }));
    const kl = keyParts.flatMap((p) => p.labels);
    // Only trust the labels when the token counts match the map (a method may pool or resample tokens).
    if (ql.length === Tq) {
      queryLabels = ql;
      queryMask = realTokens(q, dimsOf(parsed.query), ctx.split, row);
    }
    if (kl.length === Tk) {
      keyLabels = kl;
      keyMask = keyParts.flatMap((p) => p.mask);
      for (const p of keyParts) keyOwner.push(...p.labels.map(() => p.name));
    }
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
  const noContext = !keyMask.some((v) => v);
  const view: AttentionView = {
    kind: "attention",
    key,
    queryLabels,
    keyLabels,
    queryMask,
    keyMask,
    weights,
    noContext,
    ...(parsed ? { query: parsed.query, context: parsed.context } : {}),
  };
  if (keyOwner.length === Tk) {
    const mass: Record<string, number> = Object.fromEntries(parsed!.context.map((c) => [c, 0]));
    const realQueries = queryMask.filter((v) => v).length;
    for (let i = 0; i < Tq; i++) {
      if (!queryMask[i]) continue;
      for (let j = 0; j < Tk; j++) mass[keyOwner[j]!]! += weights[i]![j]! / Math.max(1, realQueries);
    }
    view.massByModality = Object.fromEntries(Object.entries(mass).map(([k, v]) => [k, round(v)]));
  }
  return view;
}

/** Every explain tensor of one row as a view (see the header for how each is recognised). */
export function rowViews(
  explain: Record<string, HostArray> | undefined,
  row: number,
  ctx: { specs: ModalitySpec[]; dims: EncodedDims[]; split: SplitData; classNames: string[] },
): MethodView[] {
  if (!explain) return [];
  const names = ctx.specs.map((s) => s.name);
  const M = names.length;
  const C = ctx.classNames.length;
  const classLabel = (c: number) => ctx.classNames[c] ?? String(c);
  const views: MethodView[] = [];
  for (const [key, value] of Object.entries(explain)) {
    const rowShape = value.shape.slice(1);
    const data = rowSlice(value, row);
    const rank = rowShape.length;
    const segments = key.toLowerCase().split(/[/:.]/);
    const namedModality = names.find((n) => key.split(/[/:.]/).includes(n));
    const classScores = (offset: number) => Object.fromEntries(Array.from({ length: C }, (_, c) => [classLabel(c), round(data[offset + c]!)]));
    if ((rank === 2 || rank === 3) && key.includes("<-")) {
      views.push(attentionView(key, value, row, ctx));
    } else if (rank === 2 && rowShape[0] === M && rowShape[1] === C && C > 0) {
      names.forEach((n, m) => views.push({ kind: "votes", key, modality: n, scores: classScores(m * C) }));
    } else if (rank === 2 && rowShape[0] === M) {
      const width = rowShape[1]!;
      views.push({ kind: "perModality", key, values: Object.fromEntries(names.map((n, m) => [n, Array.from(data.subarray(m * width, (m + 1) * width), round)])) });
    } else if (rank === 1 && rowShape[0] === C && C > 0 && segments.some((s) => s.startsWith("vote"))) {
      views.push({ kind: "classScores", key, scores: classScores(0) });
    } else if (rank === 1 && rowShape[0] === C && C > 0 && namedModality !== undefined) {
      views.push({ kind: "votes", key, modality: namedModality, scores: classScores(0) });
    } else if (rank === 1 && rowShape[0] === M) {
      views.push({ kind: "modalityWeights", key, weights: Object.fromEntries(names.map((n, m) => [n, round(data[m]!)])) });
    } else if (data.length === 1) {
      views.push({ kind: "scalar", key, value: round(data[0]!) });
    } else if ((rank === 2 || rank === 3) && segments.some((s) => s.includes("attention") || s.includes("attn"))) {
      views.push(attentionView(key, value, row, ctx));
    } else {
      views.push({ kind: "other", key, shape: rowShape, values: Array.from(data, round) });
    }
  }
  return views;
}

export type GateParameter = { name: string; values: number[]; tanh: number[] };

/**
 * Flamingo-style tanh gates in a trained parameter tree: every `alpha` leaf and
 * the `beta` beside it (a layer norm's `beta` sits beside `gamma`, never beside
 * an `alpha`, so it is not picked up), reported raw and through tanh: their
 * effect on the residual, y = x + tanh(alpha) XAttn(...).
 */
export function gateParameters(params: ParamTree): GateParameter[] {
  const out: GateParameter[] = [];
  const isLeaf = (x: unknown): x is HostArray => x !== null && typeof x === "object" && (x as HostArray).data instanceof Float32Array;
  const walk = (node: unknown, path: string) => {
    if (node === null || typeof node !== "object" || isLeaf(node)) return;
    const entries = Array.isArray(node) ? node.map((v, i) => [String(i), v] as const) : Object.entries(node as object);
    const record = node as Record<string, unknown>;
    if (!Array.isArray(node) && isLeaf(record.alpha)) {
      for (const name of ["alpha", "beta"]) {
        const leaf = record[name];
        if (isLeaf(leaf)) out.push({ name: path ? `${path}.${name}` : name, values: Array.from(leaf.data, round), tanh: Array.from(leaf.data, (v) => round(Math.tanh(v))) });
      }
    }
    for (const [key, value] of entries) walk(value, path ? `${path}.${key}` : key);
  };
  walk(params, "");
  return out;
}
