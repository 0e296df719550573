/**
 * A saved search index: the unit embeddings of every distinct item of one
 * modality of a dataset (all splits), their ids and display fields, and the
 * fingerprint of the model that embedded them.
 *
 *   <dir>/embeddings.safetensors   "embeddings" [n, dim] F32 (checksummed)
 *   <dir>/index.json               format, model fingerprint, modality, items
 *
 * Search is exact: score = z_query . z_item (cosine similarity, the vectors are
 * unit norm) for every item, then the top k by score. At n items x dim floats
 * that is one matrix-vector product, ~n*dim multiply-adds: 7,000 items x 64 is
 * 0.5 M, well under a millisecond. docs/retrieval.md says where that stops
 * being enough and what to use instead (IVF / HNSW libraries).
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { PreparedDataset, SplitData } from "../data/types.ts";
import { FusionkitError } from "../errors.ts";
import { decodeSafetensors, encodeSafetensors } from "../engine/checkpoint.ts";
import { writeFilesAtomic } from "../io/atomicWrite.ts";
import { Embedder } from "./embedder.ts";
import { concatSplits } from "./filters.ts";
import { retrievalItems } from "./items.ts";
import { groupIds } from "./pairs.ts";
import type { LoadedAlignedModel } from "./persistence.ts";
import { topK } from "./retrieval.ts";
import { encodeTexts, requireKnownWord } from "./textQueries.ts";

export const indexFormat = "fusionkit-index";
export const indexFormatVersion = 1;

export type IndexItem = { id: string; label?: string; fields: Record<string, string>; text?: string };

export type SearchIndex = {
  format: typeof indexFormat;
  version: number;
  modelFingerprint: string;
  modality: string;
  dataset: string;
  dim: number;
  items: IndexItem[];
  /** [items.length, dim], row-major, unit rows */
  embeddings: Float32Array;
};

export type SearchHit = { rank: number; score: number } & IndexItem;

/** Words of a token-id row, padding dropped (for showing text items). */
function decodeText(ids: Float32Array, vocabulary: string[]): string {
  return Array.from(ids)
    .filter((id) => id > 0)
    .map((id) => vocabulary[id] ?? "<unk>")
    .join(" ");
}

/** Embeds every distinct `modality` item of the dataset's splits with the model. */
export function buildIndex(aligned: LoadedAlignedModel, dataset: PreparedDataset, modality: string): SearchIndex {
  const spec = aligned.spec.modalities.find((m) => m.name === modality);
  if (!spec) {
    throw new FusionkitError(`the model aligns ${aligned.config.pair.join(", ")}; it cannot index "${modality}"`, { field: "modality" });
  }
  if (!dataset.modalities.some((m) => m.name === modality)) {
    throw new FusionkitError(`dataset "${dataset.name}" has no modality "${modality}"; its modalities: ${dataset.modalities.map((m) => m.name).join(", ")}`, { field: "modality" });
  }
  const all: SplitData = concatSplits([dataset.splits.train, dataset.splits.val, dataset.splits.test]);
  const items = retrievalItems(all, spec, groupIds(all));
  const embedder = new Embedder(aligned.model, aligned.layout, aligned.flat);
  let embeddings: Float32Array;
  try {
    embeddings = embedder.embed(all, modality, items.rows);
  } finally {
    embedder.dispose();
  }
  const T = spec.shape[0]!;
  const labelWidth = all.labels.length / Math.max(1, all.n);
  return {
    format: indexFormat,
    version: indexFormatVersion,
    modelFingerprint: aligned.fingerprint,
    modality,
    dataset: dataset.name,
    dim: aligned.spec.embedDim,
    items: items.rows.map((row, i) => ({
      id: items.ids[i]!,
      ...(labelWidth === 1 && dataset.labelNames.length ? { label: dataset.labelNames[all.labels[row]!] } : {}),
      fields: items.fields[i]!,
      ...(spec.type === "text" && spec.vocabulary ? { text: decodeText(all.inputs[modality]!.subarray(row * T, (row + 1) * T), spec.vocabulary) } : {}),
    })),
    embeddings,
  };
}

export function saveIndex(dir: string, index: SearchIndex): void {
  const { embeddings, ...meta } = index;
  // index.json last: it is the pair's commit marker (src/io/atomicWrite.ts)
  writeFilesAtomic([
    { path: join(dir, "embeddings.safetensors"), data: encodeSafetensors([["embeddings", { data: embeddings, shape: [index.items.length, index.dim] }]]) },
    { path: join(dir, "index.json"), data: JSON.stringify(meta) + "\n" },
  ]);
}

export function indexExists(dir: string): boolean {
  return existsSync(join(dir, "index.json")) && existsSync(join(dir, "embeddings.safetensors"));
}

export function loadIndex(dir: string): SearchIndex {
  const metaPath = join(dir, "index.json");
  const weightsPath = join(dir, "embeddings.safetensors");
  for (const f of [metaPath, weightsPath]) if (!existsSync(f)) throw new FusionkitError(`missing index file; build the index with "fusionkit search --rebuild-index"`, { file: f });
  let meta: Omit<SearchIndex, "embeddings">;
  try {
    meta = JSON.parse(readFileSync(metaPath, "utf8"));
  } catch (e) {
    throw new FusionkitError(`index metadata is not valid JSON (${(e as Error).message}); rebuild it with --rebuild-index`, { file: metaPath });
  }
  if (meta.format !== indexFormat || meta.version !== indexFormatVersion) {
    throw new FusionkitError(`not a fusionkit search index of version ${indexFormatVersion} (format ${JSON.stringify(meta.format)}, version ${meta.version}); rebuild it with --rebuild-index`, { file: metaPath });
  }
  const t = decodeSafetensors(readFileSync(weightsPath), weightsPath).tensors.get("embeddings");
  if (!t || t.shape[0] !== meta.items.length || t.shape[1] !== meta.dim) {
    throw new FusionkitError(`embeddings do not match the index's ${meta.items.length} items of width ${meta.dim}; rebuild it with --rebuild-index`, { file: weightsPath });
  }
  return { ...meta, embeddings: t.data };
}

/** Refuses an index that another model (or another training run into the same directory) built. */
export function checkIndexModel(index: SearchIndex, aligned: LoadedAlignedModel, indexDir: string): void {
  if (index.modelFingerprint !== aligned.fingerprint) {
    throw new FusionkitError(
      `the index was built by another model (index fingerprint ${index.modelFingerprint.slice(0, 12)}, model ${aligned.dir} is ${aligned.fingerprint.slice(0, 12)}): ` +
        `its embeddings live in a different space, so its neighbours would be meaningless. Rebuild it with --rebuild-index, or point --index at the index of this model`,
      { file: join(indexDir, "index.json"), field: "modelFingerprint" },
    );
  }
}

/** The unit embedding of a text query, refusing empty and all-unknown queries. */
export function embedQuery(aligned: LoadedAlignedModel, query: string): { embedding: Float32Array; unknownWords: string[] } {
  const textSpec = aligned.spec.modalities.find((m) => m.type === "text");
  if (!textSpec) throw new FusionkitError(`search queries are text, but the model aligns ${aligned.config.pair.join(", ")} (no text modality)`, { field: "query" });
  if (query.trim() === "") throw new FusionkitError(`the query is empty; give a text such as --query "a red fruit"`, { field: "query" });
  const encoded = encodeTexts(textSpec, [query]);
  requireKnownWord(query, encoded);
  const embedder = new Embedder(aligned.model, aligned.layout, aligned.flat);
  try {
    return { embedding: embedder.embedInputs(textSpec.name, encoded.ids, encoded.mask, 1), unknownWords: encoded.unknown[0]! };
  } finally {
    embedder.dispose();
  }
}

/** The k items most similar to a unit query embedding, best first. */
export function searchIndex(index: SearchIndex, query: Float32Array, k: number): SearchHit[] {
  if (query.length !== index.dim) throw new FusionkitError(`query embedding has width ${query.length}, the index ${index.dim}`, { field: "query" });
  const n = index.items.length;
  const scores = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (let d = 0; d < index.dim; d++) s += query[d]! * index.embeddings[i * index.dim + d]!;
    scores[i] = s;
  }
  return topK(scores, k).map(({ index: i, score }, r) => ({ rank: r + 1, score, ...index.items[i]! }));
}
