/** The run of `fusionkit align` (registered in src/cli/align.ts). */
import { join } from "node:path";
import { resolvePair, trainAlignment } from "../../align/trainer.ts";
import { describeFilters, evaluateAligned } from "../../align/evaluation.ts";
import { saveAligned } from "../../align/persistence.ts";
import { retrievalForReport } from "../../align/report.ts";
import type { RankSummary } from "../../align/retrieval.ts";
import { templatesFor } from "../../align/zeroShot.ts";
import { loadDataset } from "../../data/load.ts";
import { skippedRowsReport } from "../../data/problems.ts";
import { describeProvenance } from "../../data/provenance.ts";
import { writeFileAtomic } from "../../io/atomicWrite.ts";
import { checkModelOutDir } from "../../io/outputs.ts";
import { checkTrainable } from "../../train/preflight.ts";
import { startEngine } from "../../engine/backend.ts";
import type { AlignFlags } from "../align.ts";
import { encoderLoadOptions } from "../encoderOptions.ts";

/** The built-in datasets' true-match field (rows of one emoji are all true matches of each other). */
export const builtinMatchFields: Record<string, string> = { emoji: "emoji" };

export function formatRecall(direction: string, s: RankSummary): string {
  const pct = (x: number | undefined) => (x === undefined || Number.isNaN(x) ? "n/a" : `${(100 * x).toFixed(1)}%`);
  return (
    `${direction.padEnd(14)} R@1 ${pct(s.recall["1"])}  R@5 ${pct(s.recall["5"])}  R@10 ${pct(s.recall["10"])}  ` +
    `(chance R@10 ${pct(s.chance["10"])})  mean rank ${s.meanRank.toFixed(1)}  median rank ${s.medianRank}  [${s.queries} queries x ${s.candidates} candidates]`
  );
}

export async function runAlign(flags: AlignFlags): Promise<void> {
  const pair = flags.pair.split(",").map((s) => s.trim()).filter(Boolean);
  // the output is checked before the data is prepared and the model trained
  const out = flags.out ?? join("runs", `align-${pair.join("-").replace(/[^A-Za-z0-9_.-]+/g, "_")}`);
  checkModelOutDir(out, { force: flags.force === true, command: "align" });
  await startEngine();
  const dataset = await loadDataset(flags.data, {
    ...(await encoderLoadOptions(flags)),
    seed: flags.seed,
    ...(flags.maxRows !== undefined ? { maxRows: flags.maxRows } : {}),
    ...(flags.skipBadRows ? { skipBadRows: true } : {}),
    log: (m) => console.error(m),
  });
  for (const line of skippedRowsReport(dataset.skipped)) console.error(line);
  resolvePair(dataset, pair); // a modality the dataset lacks fails here, before any output
  checkTrainable(dataset, { modalities: pair, needsClasses: false, allowMissingModality: flags.allowMissingModality === true });
  const matchField = flags.matchField ?? builtinMatchFields[dataset.name];
  const trainFilters = flags.trainFilter;
  console.log(
    `aligning ${pair.join(" + ")} on ${dataset.name} (batch ${flags.batchSize} x ${flags.accumulate} = ${flags.batchSize * flags.accumulate} in-batch rows, seed ${flags.seed}` +
      `${trainFilters.length ? `, train on ${describeFilters(trainFilters).join(", ")}` : ""}${matchField ? `, true matches by ${matchField}` : ""})`,
  );
  const aligned = await trainAlignment(dataset, {
    pair,
    ...(matchField ? { matchField } : {}),
    seed: flags.seed,
    epochs: flags.epochs,
    batchSize: flags.batchSize,
    accumulate: flags.accumulate,
    lr: flags.lr,
    patience: flags.patience,
    encoderDim: flags.encoderDim,
    embedDim: flags.embedDim,
    trainFilters,
    ...(flags.timeBudget !== undefined ? { timeBudgetMs: flags.timeBudget * 1000 } : {}),
    onEpoch: (e) =>
      console.log(
        `epoch ${String(e.epoch).padStart(String(e.epochs).length)}/${e.epochs}  loss ${e.trainLoss.toFixed(4)}  scale ${e.logitScale.toFixed(1)}  ` +
          `val mean recall ${Number.isNaN(e.valScore) ? "n/a" : e.valScore.toFixed(4)}  ${e.ms.toFixed(0)} ms${e.best ? "  *" : ""}`,
      ),
  });
  const templates = flags.template.length ? flags.template : templatesFor(dataset.name);
  const evaluation = evaluateAligned(aligned, dataset, { testFilters: flags.testFilter, templates });
  console.log(`best epoch ${aligned.bestEpoch}; test${evaluation.testFilters.length ? ` (${evaluation.testFilters.join(", ")})` : ""}:`);
  for (const [direction, s] of Object.entries(evaluation.test)) console.log(`  ${formatRecall(direction, s)}`);
  if (evaluation.inDomain) {
    console.log(`test rows of the training domain (${describeFilters(trainFilters).join(", ")}), for comparison:`);
    for (const [direction, s] of Object.entries(evaluation.inDomain)) console.log(`  ${formatRecall(direction, s)}`);
  }
  if (evaluation.zeroShot) {
    const z = evaluation.zeroShot;
    const unknown = Object.entries(z.unknownWords).filter(([, words]) => words.length).map(([c, words]) => `${c}: ${words.join(" ")}`);
    console.log(
      `zero-shot ${z.modality} classification: accuracy ${(100 * z.accuracy).toFixed(1)}% over ${z.items} items, ${z.classes} classes ` +
        `(uniform chance ${(100 * z.uniformChance).toFixed(1)}%, majority ${(100 * z.majorityChance).toFixed(1)}%); templates ${z.templates.map((t) => JSON.stringify(t)).join(", ")}`,
    );
    if (unknown.length) console.log(`  class-name words outside the text vocabulary (they map to <unk>): ${unknown.join("; ")}`);
    if (z.unknownTemplateWords.length) console.log(`  template words outside the vocabulary: ${z.unknownTemplateWords.join(", ")}`);
  }
  saveAligned(out, aligned, dataset, {
    ...describeProvenance(flags.data),
    seed: flags.seed,
    ...(flags.maxRows !== undefined ? { maxRows: flags.maxRows } : {}),
    ...(flags.skipBadRows ? { skipBadRows: true, skipped: dataset.skipped } : {}),
    evaluation,
  });
  const report = await retrievalForReport(aligned, dataset, { filters: flags.testFilter });
  writeFileAtomic(join(out, "retrieval.json"), JSON.stringify(report) + "\n");
  console.log(`${aligned.paramCount} parameters, ${(aligned.trainMs / 1000).toFixed(1)} s; saved ${out} (model, config with the figures, retrieval.json for the report)`);
}
