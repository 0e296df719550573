/**
 * A paired toy dataset built in memory: 12 concepts (4 colours x 3 shapes).
 * Modality "shape" is a vector: one-hot colour (4) + one-hot shape (3) +
 * 5 distractor dims, all with Gaussian noise (std `noise`, default 0.15), so every row's vector
 * is distinct. Modality "caption" is text: "[a|the] <colour> <shape>".
 * Label = the shape (3 classes, names "circle", "square", "star": words of the
 * vocabulary, so zero-shot prompts can work). Field "concept" groups rows.
 */
import type { PreparedDataset, SplitData, SplitName } from "../../src/data/types.ts";
import { HostRng } from "../../src/engine/random.ts";

export const colours = ["red", "green", "blue", "yellow"];
export const shapes = ["circle", "square", "star"];
const fillers = ["a", "the"];
export const vocabulary = ["<pad>", "<unk>", ...colours, ...shapes, ...fillers];
const T = 4;
const D = 12;

function makeSplit(n: number, rng: HostRng, name: string, noise: number): SplitData {
  const vectors = new Float32Array(n * D);
  const ids = new Float32Array(n * T);
  const mask = new Float32Array(n * T);
  const labels = new Float32Array(n);
  const concept: string[] = [];
  const rowIds: string[] = [];
  for (let i = 0; i < n; i++) {
    const c = i % colours.length;
    const s = Math.floor(i / colours.length) % shapes.length;
    for (let d = 0; d < D; d++) vectors[i * D + d] = noise * rng.normal();
    vectors[i * D + c]! += 1;
    vectors[i * D + 4 + s]! += 1;
    const words = [fillers[rng.int(2)]!, colours[c]!, shapes[s]!];
    words.forEach((w, t) => {
      ids[i * T + t] = vocabulary.indexOf(w);
      mask[i * T + t] = 1;
    });
    labels[i] = s;
    concept.push(`${colours[c]} ${shapes[s]}`);
    rowIds.push(`${name}-${i}`);
  }
  return {
    n,
    ids: rowIds,
    inputs: { shape: vectors, caption: ids },
    tokenMasks: { caption: mask },
    present: { shape: new Float32Array(n).fill(1), caption: new Float32Array(n).fill(1) },
    labels,
    fields: { concept },
  };
}

export function toyPairs(seed = 0, noise = 0.15, sizes: Record<SplitName, number> = { train: 240, val: 48, test: 48 }): PreparedDataset {
  const rng = new HostRng(seed);
  return {
    name: "toy-pairs",
    task: "classification",
    labelField: "shape",
    labelNames: shapes,
    modalities: [
      { name: "shape", type: "vector", shape: [D] },
      { name: "caption", type: "text", shape: [T], vocabSize: vocabulary.length, vocabulary, preprocessing: { lowercase: true } },
    ],
    splits: { train: makeSplit(sizes.train, rng, "train", noise), val: makeSplit(sizes.val, rng, "val", noise), test: makeSplit(sizes.test, rng, "test", noise) },
    skipped: [],
    cacheKey: `toy-pairs-${seed}`,
  };
}
