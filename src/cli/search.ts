/**
 * `fusionkit search`: nearest items to a text query in an aligned model's
 * embedding space. The index (embeddings of every distinct item of one
 * modality of the dataset, all splits) is built on first use and saved beside
 * the model (<model>/index-<modality>); it records the model's fingerprint,
 * so an index from another model is refused rather than searched.
 * Registration only; the run is src/cli/actions/search.ts.
 */
import type { Command } from "commander";
import { positiveInt } from "./options.ts";

export type SearchFlags = { model: string; query: string; modality?: string; k: number; index?: string; data?: string; rebuildIndex?: boolean; json?: boolean; skipBadRows?: boolean };

export function register(program: Command): void {
  program
    .command("search")
    .description("find the items nearest to a text query in an aligned model's embedding space (fusionkit align)")
    .requiredOption("--model <dir>", "directory written by fusionkit align")
    .requiredOption("--query <text>", "the text to search for, e.g. \"a red fruit\"")
    .option("--modality <name>", "which modality's items to search (default: the model's first non-text modality)")
    .option("--k <n>", "number of results", positiveInt, 5)
    .option("--index <dir>", "index directory (default <model>/index-<modality>)")
    .option("--data <name|dir>", "dataset to index when building (default: the one the model was trained on)")
    .option("--rebuild-index", "build the index again even if one exists")
    .option("--skip-bad-rows", "when building the index, skip rows that fail validation (listed in the output); on when the model was trained with it")
    .option("--json", "print the results as JSON")
    .action(async (flags: SearchFlags) => {
      const { runSearch } = await import("./actions/search.ts");
      await runSearch(flags);
    });
}
