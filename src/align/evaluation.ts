/**
 * The test-split evaluation `fusionkit align` runs and saves: retrieval in
 * every direction (optionally on filtered test rows, for cross-vendor and
 * cross-language transfer), the same on the training domain's test rows for
 * comparison when a train filter is set, and zero-shot classification from
 * class-name prompts when the pair has a text modality and the task is
 * classification.
 */
import type { PreparedDataset } from "../data/types.ts";
import { Embedder } from "./embedder.ts";
import { evaluateRetrieval } from "./evaluate.ts";
import { applyFilters, type RowFilter } from "./filters.ts";
import type { RankSummary } from "./retrieval.ts";
import type { AlignedModel } from "./trainer.ts";
import { templatesFor, zeroShotClassify, type ZeroShotResult } from "./zeroShot.ts";

export type AlignEvaluation = {
  testFilters: string[];
  /** retrieval on the (filtered) test split */
  test: Record<string, RankSummary>;
  /** with train filters: retrieval on the test rows that pass them (the training domain) */
  inDomain?: Record<string, RankSummary>;
  zeroShot?: ZeroShotResult;
};

export const describeFilters = (filters: RowFilter[]): string[] => filters.map((f) => `${f.field}=${f.values.join("|")}`);

export function evaluateAligned(
  aligned: Pick<AlignedModel, "model" | "layout" | "flat" | "matchField" | "options">,
  dataset: PreparedDataset,
  opts: { testFilters?: RowFilter[]; templates?: string[] } = {},
): AlignEvaluation {
  const specs = aligned.model.spec.modalities;
  const testFilters = opts.testFilters ?? [];
  const test = applyFilters(dataset.splits.test, testFilters, "test");
  const embedder = new Embedder(aligned.model, aligned.layout, aligned.flat);
  try {
    const result: AlignEvaluation = { testFilters: describeFilters(testFilters), test: evaluateRetrieval(embedder, test, specs, aligned.matchField) };
    const trainFilters = aligned.options.trainFilters;
    if (trainFilters.length) {
      result.inDomain = evaluateRetrieval(embedder, applyFilters(dataset.splits.test, trainFilters, "test"), specs, aligned.matchField);
    }
    const textSpec = specs.find((s) => s.type === "text");
    const itemSpec = specs.find((s) => s.type !== "text");
    if (dataset.task === "classification" && textSpec && itemSpec && test.n > 0) {
      result.zeroShot = zeroShotClassify(embedder, test, itemSpec, textSpec, dataset.labelNames, opts.templates ?? templatesFor(dataset.name));
    }
    return result;
  } finally {
    embedder.dispose();
  }
}
