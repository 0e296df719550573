/**
 * A worker's first training run pays one-time costs (wasm compilation of the
 * engine's kernels, V8 warming the host code): several seconds on a small
 * machine. Without a warm-up those seconds would land on whichever method
 * happened to run first in each worker and make its training time look worse.
 * So every worker first trains a throwaway model, for one epoch on a few rows,
 * and discards it.
 */
import type { PreparedDataset, SplitData } from "../data/types.ts";
import { listMethods } from "../fusion/registry.ts";
import { unimodalPrefix } from "../fusion/unimodal.ts";
import { trainModel } from "../train/trainer.ts";
import { subsetSplit } from "../align/filters.ts";

function head(split: SplitData, rows: number): SplitData {
  return subsetSplit(split, Array.from({ length: Math.min(rows, split.n) }, (_, i) => i));
}

export async function warmUp(dataset: PreparedDataset, options: { batchSize: number; encoderDim: number }): Promise<void> {
  const small: PreparedDataset = {
    ...dataset,
    splits: { train: head(dataset.splits.train, 2 * options.batchSize), val: head(dataset.splits.val, 8), test: head(dataset.splits.test, 8) },
  };
  // Early fusion reads every modality's encoder, so all of them get compiled once.
  const method = listMethods().find((m) => m.name === "early") ?? `${unimodalPrefix}${dataset.modalities[0]!.name}`;
  await trainModel(small, { method, epochs: 1, batchSize: options.batchSize, encoderDim: options.encoderDim, seed: 12345 });
}
