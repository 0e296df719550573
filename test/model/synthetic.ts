/**
 * In-memory PreparedDatasets for model, trainer and fusion tests (no files, no cache).
 */
import type { ModalitySpec, PreparedDataset, SplitData, SplitName, Task } from "../../src/data/types.ts";
import { HostRng } from "../../src/engine/random.ts";

export type RowMaker = (rng: HostRng) => { inputs: Record<string, number[]>; tokenMasks?: Record<string, number[]>; present?: Record<string, number>; label: number | number[] };

/** Builds a dataset with `sizes` rows per split from a row generator. */
export function makeDataset(opts: {
  name?: string;
  task?: Task;
  labelNames: string[];
  modalities: ModalitySpec[];
  sizes: Record<SplitName, number>;
  seed: number;
  row: RowMaker;
}): PreparedDataset {
  const rng = new HostRng(opts.seed);
  const task = opts.task ?? "classification";
  const split = (n: number, name: SplitName): SplitData => {
    const inputs: Record<string, Float32Array> = {};
    const tokenMasks: Record<string, Float32Array> = {};
    const present: Record<string, Float32Array> = {};
    const width = (s: ModalitySpec) => s.shape.reduce((a, b) => a * b, 1);
    const hasMask = (s: ModalitySpec) => s.type === "text" || s.type === "audio" || s.type === "sequence";
    for (const s of opts.modalities) {
      inputs[s.name] = new Float32Array(n * width(s));
      present[s.name] = new Float32Array(n);
      if (hasMask(s)) tokenMasks[s.name] = new Float32Array(n * s.shape[0]!);
    }
    const labelWidth = task === "multilabel" ? opts.labelNames.length : 1;
    const labels = new Float32Array(n * labelWidth);
    for (let i = 0; i < n; i++) {
      const r = opts.row(rng);
      for (const s of opts.modalities) {
        const here = r.present?.[s.name] ?? 1;
        present[s.name]![i] = here;
        if (!here) continue;
        inputs[s.name]!.set(r.inputs[s.name]!, i * width(s));
        if (hasMask(s)) tokenMasks[s.name]!.set(r.tokenMasks?.[s.name] ?? new Array(s.shape[0]).fill(1), i * s.shape[0]!);
      }
      if (Array.isArray(r.label)) labels.set(r.label, i * labelWidth);
      else labels[i] = r.label;
    }
    return { n, ids: Array.from({ length: n }, (_, i) => `${name}-${i}`), inputs, tokenMasks, present, labels, fields: {} };
  };
  return {
    name: opts.name ?? "synthetic",
    task,
    labelField: "label",
    labelNames: opts.labelNames,
    modalities: opts.modalities,
    splits: { train: split(opts.sizes.train, "train"), val: split(opts.sizes.val, "val"), test: split(opts.sizes.test, "test") },
    skipped: [],
    cacheKey: `synthetic-${opts.seed}`,
  };
}

/**
 * Two vector modalities A and B of `dims` each; label = sign(A0) XOR sign(B0);
 * the other dimensions are Gaussian distractors. Neither modality alone says
 * anything about the label (each is independent of it), together they decide it.
 */
export function xorDataset(opts: { seed: number; dims?: number; sizes?: Record<SplitName, number> }): PreparedDataset {
  const d = opts.dims ?? 8;
  return makeDataset({
    name: "xor",
    labelNames: ["same", "different"],
    modalities: [
      { name: "A", type: "vector", shape: [d] },
      { name: "B", type: "vector", shape: [d] },
    ],
    sizes: opts.sizes ?? { train: 768, val: 192, test: 384 },
    seed: opts.seed,
    row: (rng) => {
      const a = Array.from({ length: d }, () => rng.normal());
      const b = Array.from({ length: d }, () => rng.normal());
      return { inputs: { A: a, B: b }, label: (a[0]! > 0) !== (b[0]! > 0) ? 1 : 0 };
    },
  });
}
