/**
 * Raw features for the classical baselines (`linear:<modality>`,
 * `linear:concat`): what a careful engineer would hand a logistic regression,
 * computed on the host from the prepared inputs, with every statistic fitted
 * on the TRAIN split only.
 *   image     the flattened pixels [H*W*C], standardised per pixel
 *   audio,    per-channel summary over the real frames: mean, std, min, max
 *   sequence  ([4*D]; for audio, log-mel summary statistics), standardised
 *   text      TF-IDF over the vocabulary: tf = 1 for each distinct word of the row
 *             (binary term frequency: the text encoder's bag, too, counts each
 *             distinct word once; validation accuracy on emoji 0.849 vs 0.822
 *             counting repeats, docs/encoders.md),
 *             idf = ln((1 + N) / (1 + df)) + 1 (sklearn's smooth idf), row
 *             L2-normalised; NOT standardised (that would blow up rare words).
 *             Words outside the train vocabulary are left out, as sklearn's
 *             TfidfVectorizer does: an "unknown" column never occurs in train
 *             (so its weight stays 0) but carries the largest idf, and in the
 *             row norm it shrank the known words of val/test rows towards the
 *             intercept (on emoji 37-42% of val/test words are unknown:
 *             linear:text 0.822 test with it, docs/fair-comparison.md)
 *   tabular   numeric columns as prepared (standardised upstream) + one-hot
 *             categorical codes
 *   vector    as is, standardised
 * A missing modality contributes zeros (the train mean after standardisation).
 *
 * Block balance: each modality's block is then scaled by one factor so that its
 * mean squared row norm over the train rows that have the modality is 1
 * (standardised pixels have ~H*W*C, TF-IDF rows exactly 1). linear:concat joins
 * the blocks side by side, plus one presence flag per modality when any row
 * misses it, so every block enters with the same mean squared norm and one L2
 * penalty treats them alike: unscaled, 3072 standardised pixels (row norm ~55)
 * beside TF-IDF (norm 1) made the text block look like noise to the penalty,
 * and linear:concat (0.510 test accuracy on emoji) lost to linear:text alone
 * (0.806). A constant factor on a single modality's features only moves its
 * best L2 along the grid, so the linear:<modality> rows are scaled the same way
 * and one grid serves every row.
 */
import type { ModalitySpec, PreparedDataset, SplitData, SplitName } from "../data/types.ts";
import { unknownId } from "../data/text.ts";
import type { Block } from "./design.ts";

/** One feature matrix per split, row-major [n, dim]; blocks: each modality's columns, with the factor that balanced it. */
export type FeatureSet = { dim: number; splits: Record<SplitName, Float32Array>; names: string[]; blocks: (Block & { scale: number })[] };

const splitNames: SplitName[] = ["train", "val", "test"];

function rowWidth(spec: ModalitySpec): number {
  return spec.shape.reduce((a, b) => a * b, 1);
}

/** Raw (unstandardised) features of one modality for one split, [n, dim]. */
function rawBlock(spec: ModalitySpec, split: SplitData, idf?: Float64Array): { dim: number; data: Float32Array } {
  const x = split.inputs[spec.name]!;
  const present = split.present[spec.name]!;
  const n = split.n;
  switch (spec.type) {
    case "image":
    case "vector": {
      const width = rowWidth(spec);
      const out = Float32Array.from(x);
      for (let r = 0; r < n; r++) if (present[r]! < 0.5) out.fill(0, r * width, (r + 1) * width);
      return { dim: width, data: out };
    }
    case "audio":
    case "sequence": {
      const [T, D] = spec.shape as [number, number];
      const mask = split.tokenMasks[spec.name];
      const out = new Float32Array(n * 4 * D);
      for (let r = 0; r < n; r++) {
        if (present[r]! < 0.5) continue;
        for (let d = 0; d < D; d++) {
          let count = 0, sum = 0, sq = 0, min = Infinity, max = -Infinity;
          for (let t = 0; t < T; t++) {
            if (mask && mask[r * T + t]! < 0.5) continue;
            const v = x[(r * T + t) * D + d]!;
            count++;
            sum += v;
            sq += v * v;
            min = Math.min(min, v);
            max = Math.max(max, v);
          }
          if (count === 0) continue;
          const mean = sum / count;
          const o = r * 4 * D;
          out[o + d] = mean;
          out[o + D + d] = Math.sqrt(Math.max(0, sq / count - mean * mean));
          out[o + 2 * D + d] = min;
          out[o + 3 * D + d] = max;
        }
      }
      return { dim: 4 * D, data: out };
    }
    case "text": {
      const T = spec.shape[0]!;
      const V = spec.vocabSize ?? 2;
      const out = new Float32Array(n * V);
      for (let r = 0; r < n; r++) {
        if (present[r]! < 0.5) continue;
        let length = 0;
        for (let t = 0; t < T; t++) {
          const id = Math.round(x[r * T + t]!);
          if (id <= unknownId || id >= V) continue;
          if (out[r * V + id] === 0) length++;
          out[r * V + id] = 1;
        }
        if (length === 0) continue;
        let norm = 0;
        for (let v = 0; v < V; v++) {
          const value = (out[r * V + v]! / length) * (idf ? idf[v]! : 1);
          out[r * V + v] = value;
          norm += value * value;
        }
        norm = Math.sqrt(norm);
        if (norm > 0) for (let v = 0; v < V; v++) out[r * V + v]! /= norm;
      }
      return { dim: V, data: out };
    }
    case "tabular": {
      const width = spec.shape[0]!;
      const cards = spec.categoricalCardinalities ?? [];
      const numeric = width - cards.length;
      const dim = numeric + cards.reduce((a, b) => a + b, 0);
      const out = new Float32Array(n * dim);
      for (let r = 0; r < n; r++) {
        if (present[r]! < 0.5) continue;
        for (let j = 0; j < numeric; j++) out[r * dim + j] = x[r * width + j]!;
        let offset = numeric;
        cards.forEach((card, c) => {
          const code = Math.round(x[r * width + numeric + c]!);
          if (code >= 0 && code < card) out[r * dim + offset + code] = 1;
          offset += card;
        });
      }
      return { dim, data: out };
    }
  }
}

/** Smooth IDF of each vocabulary id over the train rows. */
function fitIdf(spec: ModalitySpec, train: SplitData): Float64Array {
  const T = spec.shape[0]!;
  const V = spec.vocabSize ?? 2;
  const df = new Float64Array(V);
  const x = train.inputs[spec.name]!;
  let rows = 0;
  for (let r = 0; r < train.n; r++) {
    if (train.present[spec.name]![r]! < 0.5) continue;
    rows++;
    const seen = new Set<number>();
    for (let t = 0; t < T; t++) seen.add(Math.round(x[r * T + t]!));
    for (const id of seen) if (id > unknownId && id < V) df[id]!++;
  }
  return df.map((d) => Math.log((1 + rows) / (1 + d)) + 1);
}

/** z = (x - mean) / std per column with train statistics over rows where the modality is present; missing rows stay 0. */
function standardise(blocks: Record<SplitName, Float32Array>, dim: number, present: Record<SplitName, Float32Array>): void {
  const train = blocks.train;
  const mean = new Float64Array(dim);
  const sq = new Float64Array(dim);
  let rows = 0;
  for (let r = 0; r < present.train.length; r++) {
    if (present.train[r]! < 0.5) continue;
    rows++;
    for (let j = 0; j < dim; j++) {
      const v = train[r * dim + j]!;
      mean[j]! += v;
      sq[j]! += v * v;
    }
  }
  const std = new Float64Array(dim);
  for (let j = 0; j < dim; j++) {
    mean[j]! /= Math.max(1, rows);
    const variance = sq[j]! / Math.max(1, rows) - mean[j]! ** 2;
    // constant columns (a pixel always white) carry nothing: they become 0
    std[j] = variance > 1e-12 ? Math.sqrt(variance) : Infinity;
  }
  for (const name of splitNames) {
    const x = blocks[name];
    for (let r = 0; r < present[name].length; r++) {
      if (present[name][r]! < 0.5) continue;
      for (let j = 0; j < dim; j++) x[r * dim + j] = (x[r * dim + j]! - mean[j]!) / std[j]!;
    }
  }
}

/** Scales every split by the factor that makes the mean squared row norm of the present train rows 1; returns the factor. */
function balance(blocks: Record<SplitName, Float32Array>, dim: number, present: Float32Array): number {
  let sum = 0;
  let rows = 0;
  for (let r = 0; r < present.length; r++) {
    if (present[r]! < 0.5) continue;
    rows++;
    for (let j = 0; j < dim; j++) sum += blocks.train[r * dim + j]! ** 2;
  }
  const scale = sum > 0 ? 1 / Math.sqrt(sum / rows) : 1;
  for (const name of splitNames) {
    const x = blocks[name];
    for (let i = 0; i < x.length; i++) x[i]! *= scale;
  }
  return scale;
}

/** Standardised features of one modality for every split, balanced to mean squared row norm 1 on train. */
export function modalityFeatures(dataset: PreparedDataset, modality: string): FeatureSet {
  const spec = dataset.modalities.find((m) => m.name === modality);
  if (!spec) throw new Error(`no modality "${modality}" in dataset ${dataset.name}`);
  const idf = spec.type === "text" ? fitIdf(spec, dataset.splits.train) : undefined;
  let dim = 0;
  const splits = {} as Record<SplitName, Float32Array>;
  for (const name of splitNames) {
    const block = rawBlock(spec, dataset.splits[name], idf);
    dim = block.dim;
    splits[name] = block.data;
  }
  if (spec.type !== "text") standardise(splits, dim, { train: dataset.splits.train.present[modality]!, val: dataset.splits.val.present[modality]!, test: dataset.splits.test.present[modality]! });
  const scale = balance(splits, dim, dataset.splits.train.present[modality]!);
  return { dim, splits, names: [modality], blocks: [{ name: modality, offset: 0, dim, scale }] };
}

/** Every modality's features side by side, plus a presence flag per modality that is missing in some train row. */
export function concatFeatures(dataset: PreparedDataset, modalities: string[] = dataset.modalities.map((m) => m.name)): FeatureSet {
  const blocks = modalities.map((m) => modalityFeatures(dataset, m));
  const flags = modalities.filter((m) => dataset.splits.train.present[m]!.some((v) => v < 0.5));
  const dim = blocks.reduce((a, b) => a + b.dim, 0) + flags.length;
  const splits = {} as Record<SplitName, Float32Array>;
  for (const name of splitNames) {
    const n = dataset.splits[name].n;
    const out = new Float32Array(n * dim);
    for (let r = 0; r < n; r++) {
      let offset = 0;
      for (const b of blocks) {
        out.set(b.splits[name].subarray(r * b.dim, (r + 1) * b.dim), r * dim + offset);
        offset += b.dim;
      }
      flags.forEach((m, i) => (out[r * dim + offset + i] = dataset.splits[name].present[m]![r]!));
    }
    splits[name] = out;
  }
  let offset = 0;
  const placed = blocks.map((b, i) => {
    const block = { ...b.blocks[0]!, name: modalities[i]!, offset };
    offset += b.dim;
    return block;
  });
  return { dim, splits, names: modalities, blocks: placed };
}
