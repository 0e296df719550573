/** The run of `fusionkit search` (registered in src/cli/search.ts): build or load the index, embed the query, rank. */
import { join } from "node:path";
import { loadAligned, type LoadedAlignedModel } from "../../align/persistence.ts";
import { buildIndex, checkIndexModel, embedQuery, indexExists, loadIndex, saveIndex, searchIndex, type SearchIndex } from "../../align/searchIndex.ts";
import { loadDataset } from "../../data/load.ts";
import { skippedRowsReport } from "../../data/problems.ts";
import { checkWritableDir } from "../../io/outputs.ts";
import { startEngine } from "../../engine/backend.ts";
import { FusionkitError } from "../../errors.ts";
import type { SearchFlags } from "../search.ts";

/** The dataset the model was trained on, prepared the same way; its specs must equal the model's (same vocabulary). */
async function buildFreshIndex(aligned: LoadedAlignedModel, modality: string, data: string | undefined, skip: boolean): Promise<SearchIndex> {
  const source = data ?? aligned.config.dataset.source ?? aligned.config.dataset.name;
  const { seed, maxRows } = aligned.config.dataset;
  const skipBadRows = skip || aligned.config.dataset.skipBadRows === true;
  const dataset = await loadDataset(source, {
    ...(seed !== undefined ? { seed } : {}),
    ...(maxRows !== undefined ? { maxRows } : {}),
    ...(skipBadRows ? { skipBadRows: true } : {}),
    log: (m) => console.error(m),
  });
  for (const line of skippedRowsReport(dataset.skipped)) console.error(line);
  const trained = aligned.spec.modalities.find((m) => m.name === modality);
  const prepared = dataset.modalities.find((m) => m.name === modality);
  if (trained && prepared) {
    const same = JSON.stringify(trained.shape) === JSON.stringify(prepared.shape) && JSON.stringify(trained.vocabulary ?? null) === JSON.stringify(prepared.vocabulary ?? null);
    if (!same) {
      throw new FusionkitError(
        `dataset "${source}" prepares modality "${modality}" differently from the model's training data (another shape or vocabulary), so the model cannot embed its items; index the dataset the model was trained on`,
        { field: "data" },
      );
    }
  }
  return buildIndex(aligned, dataset, modality);
}


export async function runSearch(flags: SearchFlags): Promise<void> {
  if (flags.query.trim() === "") throw new FusionkitError(`the query is empty; give a text such as --query "a red fruit"`, { field: "query" });
  await startEngine();
  const aligned = loadAligned(flags.model);
  const modality = flags.modality ?? aligned.spec.modalities.find((m) => m.type !== "text")?.name ?? aligned.spec.modalities[0]!.name;
  if (!aligned.config.pair.includes(modality)) {
    throw new FusionkitError(`the model aligns ${aligned.config.pair.join(", ")}; there is no "${modality}" to search`, { field: "modality" });
  }
  const indexDir = flags.index ?? join(flags.model, `index-${modality}`);
  let index: SearchIndex;
  if (flags.rebuildIndex || !indexExists(indexDir)) {
    checkWritableDir(indexDir, "search index", "--index");
    index = await buildFreshIndex(aligned, modality, flags.data, flags.skipBadRows === true);
    saveIndex(indexDir, index);
    console.error(`indexed ${index.items.length} ${modality} items of ${index.dataset} into ${indexDir}`);
  } else {
    index = loadIndex(indexDir);
    if (index.modality !== modality) {
      throw new FusionkitError(`the index holds "${index.modality}" items, not "${modality}"; pass --modality ${index.modality} or another --index`, { file: join(indexDir, "index.json"), field: "modality" });
    }
  }
  checkIndexModel(index, aligned, indexDir);
  const { embedding, unknownWords } = embedQuery(aligned, flags.query);
  const hits = searchIndex(index, embedding, flags.k);
  if (flags.json) {
    console.log(JSON.stringify({ query: flags.query, modality, unknownWords, hits }, null, 2));
    return;
  }
  if (unknownWords.length) console.log(`(not in the vocabulary, ignored: ${unknownWords.join(", ")})`);
  for (const hit of hits) {
    const fields = Object.entries(hit.fields).map(([k, v]) => `${k}=${v}`).join(" ");
    console.log(`${String(hit.rank).padStart(2)}. ${hit.score.toFixed(4)}  ${hit.id}${hit.label ? `  [${hit.label}]` : ""}${hit.text ? `  "${hit.text}"` : ""}  ${fields}`);
  }
}
