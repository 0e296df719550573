/** `fusionkit data inspect <name|dir>`: rows per split and label, missing modalities, warnings. The summary is built by src/data/inspect.ts, loaded when the command runs. */
import type { Command } from "commander";
import { positiveInt, seedInt } from "./options.ts";

export function register(program: Command): void {
  const data = program.command("data").description("look at datasets before training");
  data
    .command("inspect")
    .description("summarise a dataset: rows per split and class, missing modalities and cells, warnings")
    .argument("<dataset>", "a dataset directory (with dataset.json) or a built-in name (emoji, movies)")
    .option("--max-rows <n>", "use only the first n rows", positiveInt)
    .option("--skip-bad-rows", "skip rows that fail validation instead of stopping at the first")
    .option("--seed <n>", "seed of a seeded split", seedInt)
    .action(async (dataset: string, opts: { maxRows?: number; skipBadRows?: boolean; seed?: number }) => {
      const { runDataInspect } = await import("../data/inspect.ts");
      const report = await runDataInspect(dataset, {
        ...(opts.maxRows !== undefined ? { maxRows: opts.maxRows } : {}),
        ...(opts.skipBadRows ? { skipBadRows: true } : {}),
        ...(opts.seed !== undefined ? { seed: opts.seed } : {}),
      });
      console.log(report);
    });
}
