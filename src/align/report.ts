/**
 * The retrieval section of the report, as one JSON-able object the report
 * renders without knowing how it was made:
 *  - recall: every direction's Recall@1/5/10, chance level, mean/median rank;
 *  - similarity: cosine similarities between a sample of n items of one
 *    modality and the first true match of each in the other (the diagonal is
 *    the true pairs: a good model shows a bright diagonal);
 *  - examples: the top-k candidates of a few queries, each marked match or not,
 *    images as PNG data URIs (sharp), texts as the words the model saw.
 */
import type { ModalitySpec, PreparedDataset, SplitData } from "../data/types.ts";
import { HostRng } from "../engine/random.ts";
import { imageDataUri } from "../explain/inputs.ts";
import type { AlignModel, AlignParamTree } from "./alignModel.ts";
import type { ParamLayout } from "../engine/params.ts";
import { Embedder } from "./embedder.ts";
import { embedSplitItems, retrievalFromEmbeddings } from "./evaluate.ts";
import { applyFilters, type RowFilter } from "./filters.ts";
import { trueMatches, type ItemSet } from "./items.ts";
import { similarityMatrix, topK, type RankSummary } from "./retrieval.ts";

export type ReportItem = { id: string; label?: string; text?: string; thumbnail?: string };

export type RetrievalReport = {
  kind: "retrieval";
  dataset: string;
  split: string;
  pair: string[];
  matchField?: string;
  filters: string[];
  recall: Record<string, RankSummary>;
  similarity: { rowModality: string; columnModality: string; rows: ReportItem[]; columns: ReportItem[]; values: number[][] };
  examples: { queryModality: string; candidateModality: string; k: number; queries: { query: ReportItem; hits: (ReportItem & { rank: number; score: number; match: boolean })[] }[] };
};

export type RetrievalReportOptions = {
  split?: "train" | "val" | "test";
  filters?: RowFilter[];
  matchField?: string;
  /** items in the similarity matrix (default 8) */
  sampleSize?: number;
  /** example queries (default 3) and hits per query (default 5) */
  queries?: number;
  k?: number;
  seed?: number;
};

const round = (x: number) => Math.round(x * 1e4) / 1e4;

async function describeItem(spec: ModalitySpec, split: SplitData, items: ItemSet, i: number, labelNames: string[]): Promise<ReportItem> {
  const row = items.rows[i]!;
  const width = spec.shape.reduce((a, b) => a * b, 1);
  const values = split.inputs[spec.name]!.subarray(row * width, (row + 1) * width);
  const label = Number.isNaN(items.labels[i]) ? undefined : labelNames[items.labels[i]!];
  const out: ReportItem = { id: items.ids[i]!, ...(label !== undefined ? { label } : {}) };
  if (spec.type === "image") out.thumbnail = await imageDataUri(values, spec.shape, 48);
  if (spec.type === "text" && spec.vocabulary) {
    out.text = Array.from(values)
      .filter((id) => id > 0)
      .map((id) => spec.vocabulary![id] ?? "<unk>")
      .join(" ");
  }
  return out;
}

/**
 * Builds the section for an aligned model (trained or loaded) on one split
 * of the dataset it was trained on.
 */
export async function retrievalForReport(
  aligned: { model: AlignModel; layout: ParamLayout<AlignParamTree>; flat: Float32Array; matchField?: string },
  dataset: PreparedDataset,
  opts: RetrievalReportOptions = {},
): Promise<RetrievalReport> {
  const splitName = opts.split ?? "test";
  const filters = opts.filters ?? [];
  const split = applyFilters(dataset.splits[splitName], filters, splitName);
  const specs = aligned.model.spec.modalities;
  const names = specs.map((s) => s.name);
  const matchField = opts.matchField ?? aligned.matchField;
  const embedder = new Embedder(aligned.model, aligned.layout, aligned.flat);
  let e;
  try {
    e = embedSplitItems(embedder, split, specs, matchField);
  } finally {
    embedder.dispose();
  }
  const recall = retrievalFromEmbeddings(e, names);
  // Queries in words read best: text queries against the other modality when there is text.
  const querySpec = specs.find((s) => s.type === "text") ?? specs[1]!;
  const candidateSpec = specs.find((s) => s !== querySpec)!;
  const queries = e.items[querySpec.name]!;
  const candidates = e.items[candidateSpec.name]!;
  const matches = trueMatches(queries, candidates);
  const rng = new HostRng(opts.seed ?? 0);
  const withMatch = rng.shuffle(queries.rows.map((_, i) => i).filter((i) => matches[i]!.length > 0));

  // one query per candidate, so the matrix has one true pair per row and column (the diagonal)
  const sample: number[] = [];
  const used = new Set<number>();
  for (const q of withMatch) {
    if (sample.length >= (opts.sampleSize ?? 8)) break;
    if (matches[q]!.some((c) => used.has(c))) continue;
    matches[q]!.forEach((c) => used.add(c));
    sample.push(q);
  }
  const D = e.dim;
  const pick = (embeddings: Float32Array, indices: number[]) => {
    const out = new Float32Array(indices.length * D);
    indices.forEach((i, r) => out.set(embeddings.subarray(i * D, (i + 1) * D), r * D));
    return out;
  };
  const sampleCandidates = sample.map((q) => matches[q]![0]!);
  const sims = similarityMatrix(pick(e.embeddings[querySpec.name]!, sample), pick(e.embeddings[candidateSpec.name]!, sampleCandidates), D);
  const values = sample.map((_, r) => sampleCandidates.map((_, c) => round(sims[r * sample.length + c]!)));

  const k = opts.k ?? 5;
  const exampleQueries = withMatch.slice(0, opts.queries ?? 3);
  const all = similarityMatrix(pick(e.embeddings[querySpec.name]!, exampleQueries), e.embeddings[candidateSpec.name]!, D);
  const C = candidates.rows.length;
  const examples = [];
  for (const [r, q] of exampleQueries.entries()) {
    const hits = [];
    for (const [rank, hit] of topK(all.subarray(r * C, (r + 1) * C), k).entries()) {
      hits.push({ ...(await describeItem(candidateSpec, split, candidates, hit.index, dataset.labelNames)), rank: rank + 1, score: round(hit.score), match: matches[q]!.includes(hit.index) });
    }
    examples.push({ query: await describeItem(querySpec, split, queries, q, dataset.labelNames), hits });
  }
  return {
    kind: "retrieval",
    dataset: dataset.name,
    split: splitName,
    pair: names,
    ...(matchField ? { matchField } : {}),
    filters: filters.map((f) => `${f.field}=${f.values.join("|")}`),
    recall,
    similarity: {
      rowModality: querySpec.name,
      columnModality: candidateSpec.name,
      rows: await Promise.all(sample.map((i) => describeItem(querySpec, split, queries, i, dataset.labelNames))),
      columns: await Promise.all(sampleCandidates.map((i) => describeItem(candidateSpec, split, candidates, i, dataset.labelNames))),
      values,
    },
    examples: { queryModality: querySpec.name, candidateModality: candidateSpec.name, k, queries: examples },
  };
}
