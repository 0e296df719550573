/** Shared helpers for model/encoder tests: host trees to Tensors, and a mixed-modality spec set. */
import type { ModalitySpec } from "../../src/data/types.ts";
import { constant } from "../../src/engine/tensor.ts";

/** Host param tree -> Tensor tree inside a scope. */
export function tensors(tree: any): any {
  if (tree && tree.data instanceof Float32Array) return constant(tree.data, tree.shape);
  if (Array.isArray(tree)) return tree.map(tensors);
  return Object.fromEntries(Object.entries(tree).map(([k, v]) => [k, tensors(v)]));
}

/** One spec of every modality type, small. */
export const mixedSpecs: ModalitySpec[] = [
  { name: "vec", type: "vector", shape: [5] },
  { name: "tab", type: "tabular", shape: [3], numericColumns: ["x", "y"], categoricalColumns: ["colour"], categoricalCardinalities: [4] },
  { name: "txt", type: "text", shape: [6], vocabSize: 12 },
  { name: "img", type: "image", shape: [8, 8, 3] },
  { name: "aud", type: "audio", shape: [7, 4] },
  { name: "seq", type: "sequence", shape: [5, 3] },
];

export function maxAbs(a: Float32Array): number {
  return a.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
}
