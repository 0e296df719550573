/**
 * Retrieval evaluation of an alignment model on one split: distinct items per
 * modality (items.ts), embeddings (embedder.ts), and for every ordered pair of
 * modalities (a -> b: queries of a, candidates of b) the open_clip figures
 * (retrieval.ts).
 */
import type { ModalitySpec, SplitData } from "../data/types.ts";
import type { Embedder } from "./embedder.ts";
import { groupIds } from "./pairs.ts";
import { retrievalItems, trueMatches, type ItemSet } from "./items.ts";
import { retrievalSummary, type RankSummary } from "./retrieval.ts";

export type SplitEmbeddings = { items: Record<string, ItemSet>; embeddings: Record<string, Float32Array>; dim: number };

export function embedSplitItems(embedder: Embedder, split: SplitData, specs: ModalitySpec[], matchField?: string): SplitEmbeddings {
  const groups = groupIds(split, matchField);
  const items: Record<string, ItemSet> = {};
  const embeddings: Record<string, Float32Array> = {};
  for (const spec of specs) {
    items[spec.name] = retrievalItems(split, spec, groups);
    embeddings[spec.name] = embedder.embed(split, spec.name, items[spec.name]!.rows);
  }
  return { items, embeddings, dim: embedder.dim };
}

/** "image->text" etc. for every ordered pair of `names`. */
export function directions(names: string[]): [string, string][] {
  return names.flatMap((a) => names.filter((b) => b !== a).map((b) => [a, b] as [string, string]));
}

export function retrievalFromEmbeddings(e: SplitEmbeddings, names: string[]): Record<string, RankSummary> {
  const out: Record<string, RankSummary> = {};
  for (const [a, b] of directions(names)) {
    const matches = trueMatches(e.items[a]!, e.items[b]!);
    out[`${a}->${b}`] = retrievalSummary(e.embeddings[a]!, e.embeddings[b]!, e.dim, matches);
  }
  return out;
}

export function evaluateRetrieval(embedder: Embedder, split: SplitData, specs: ModalitySpec[], matchField?: string): Record<string, RankSummary> {
  if (split.n === 0) return {};
  return retrievalFromEmbeddings(embedSplitItems(embedder, split, specs, matchField), specs.map((s) => s.name));
}
