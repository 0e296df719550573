/**
 * What a fusion method's explain outputs mean, declared by the method itself.
 *
 * `apply` returns its explain tensors by key (per-row tensors, leading axis =
 * row: they cross the compiled step, the ONNX graph and the web page by key);
 * `explains(inputs, outDim, config)` says, for exactly those keys, what each one
 * is. src/explain/views.ts, the report and the web page read the declaration and
 * never guess from a key's spelling or a tensor's shape. test/fusion/explainContract.test.ts
 * runs every registered method and checks that its tensors are the declared keys
 * with the declared per-row shapes (explainRowShape).
 *
 * Parameter gates (Flamingo's tanh(alpha), tanh(beta)) are declared the same way:
 * `gates(params, config)` names the method's own gate leaves in its typed tree.
 */
import type { EncodedDims } from "../encoders/types.ts";
import type { HostArray } from "../engine/tensor.ts";

export type ExplainOutput =
  /** per row [Tq, Tk]: attention of `query`'s tokens over the concatenated tokens of `context`, heads averaged */
  | { kind: "attention"; query: string; context: string[] }
  /** per row [M]: one weight per modality (GMU / attention fusion / late fusion's combiner weights) */
  | { kind: "modalityWeights"; modalities: string[] }
  /** per row [M]: 1 where the modality is present */
  | { kind: "presence"; modalities: string[] }
  /** per row [M, width]: one vector per modality (GMU's per-unit gates, attention fusion's per-head weights) */
  | { kind: "perModality"; modalities: string[]; width: number }
  /** per row [M, C]: each modality's own class probabilities beside the combined one (late fusion) */
  | { kind: "modalityPredictions"; modalities: string[] }
  /** per row [M, C]: each modality's vote, one-hot over the classes (late_vote) */
  | { kind: "modalityVotes"; modalities: string[] }
  /** per row []: the tanh of a gate parameter, y = x + tanh(g) f(x) (Flamingo); `parameter` is its path in the method's tree */
  | { kind: "gate"; parameter: string }
  /** per row []: one number that is not a gate (progressive fusion's change of z in a round) */
  | { kind: "scalar"; what: string }
  /** per row [P]: cosine similarity of each pair of modalities' embeddings (0 where one is missing) */
  | { kind: "pairSimilarity"; pairs: [string, string][] };

export type ExplainKind = ExplainOutput["kind"];

/** A method's explain outputs, by the key its `apply` uses. */
export type ExplainSpec = Record<string, ExplainOutput>;

/** A gate leaf of a method's parameter tree, by its path below the method's subtree. */
export type GateLeaf = { name: string; value: HostArray };

/** The per-row shape a declared output has (test/fusion/explainContract.test.ts holds every method to it). */
export function explainRowShape(output: ExplainOutput, inputs: EncodedDims[], outDim: number): number[] {
  const tokens = (name: string) => {
    const dims = inputs.find((d) => d.name === name);
    if (!dims) throw new Error(`explain output names modality "${name}", which the model does not have`);
    return dims.tokens;
  };
  switch (output.kind) {
    case "attention":
      return [tokens(output.query), output.context.reduce((n, c) => n + tokens(c), 0)];
    case "modalityWeights":
    case "presence":
      return [output.modalities.length];
    case "perModality":
      return [output.modalities.length, output.width];
    case "modalityPredictions":
    case "modalityVotes":
      return [output.modalities.length, outDim];
    case "gate":
    case "scalar":
      return [];
    case "pairSimilarity":
      return [output.pairs.length];
  }
}

/** The modalities' names in model order. */
export function modalityNames(inputs: { name: string }[]): string[] {
  return inputs.map((m) => m.name);
}

/** Every modality but the one at `skip`, in order: the context a modality's cross-attention reads. */
export function othersOf(inputs: { name: string }[], skip: number): string[] {
  return inputs.filter((_, i) => i !== skip).map((m) => m.name);
}

/** The key of an attention map: "<prefix>/<query><-<c1>+<c2>"; apply and explains build it with this one function. */
export function attentionKey(prefix: string, query: string, context: string[]): string {
  return `${prefix}/${query}<-${context.join("+")}`;
}
