/**
 * SplitData rows -> the exported graph's feeds (one float32 tensor per graph
 * input, names from exportModel.graphInputs). Used by `fusionkit serve`, the
 * export tests and bench/serve.ts, so all three feed the graph the same way.
 */
import type { ModalitySpec, SplitData } from "../data/types.ts";
import type { HostArray } from "../engine/tensor.ts";
import { graphInputs, type ExportedInput } from "./exportModel.ts";

function rowWidth(shape: (number | "batch")[]): number {
  return (shape.slice(1) as number[]).reduce((a, b) => a * b, 1);
}

/** Rows `rows` (default: all) of `split` as feeds; `presentOverride` marks a modality missing in every row. */
export function feedsFromSplit(
  split: SplitData,
  specs: ModalitySpec[],
  rows: number[] = Array.from({ length: split.n }, (_, i) => i),
  presentOverride: Record<string, 0 | 1> = {},
): Record<string, HostArray> {
  const feeds: Record<string, HostArray> = {};
  const B = rows.length;
  for (const input of graphInputs(specs)) {
    const source = sourceOf(split, input);
    const width = rowWidth(input.shape);
    const data = new Float32Array(B * width);
    rows.forEach((row, i) => data.set(source.subarray(row * width, (row + 1) * width), i * width));
    if (input.role === "present" && presentOverride[input.modality] === 0) data.fill(0);
    feeds[input.name] = { data, shape: [B, ...(input.shape.slice(1) as number[])] };
  }
  return feeds;
}

function sourceOf(split: SplitData, input: ExportedInput): Float32Array {
  const table = input.role === "input" ? split.inputs : input.role === "present" ? split.present : split.tokenMasks;
  const source = table[input.modality];
  if (!source) throw new Error(`feeds: the split has no ${input.role} array for modality "${input.modality}"`);
  return source;
}
