/** The run of `fusionkit eval` (registered in src/cli/eval.ts) and the model/dataset compatibility check. */
import type { ModalitySpec, PreparedDataset } from "../../data/types.ts";
import { loadDataset } from "../../data/load.ts";
import { skippedRowsReport } from "../../data/problems.ts";
import { checkProvenance } from "../../data/provenance.ts";
import { startEngine } from "../../engine/backend.ts";
import { flattenParams } from "../../engine/params.ts";
import { FusionkitError } from "../../errors.ts";
import { loadModel, type LoadedModel } from "../../train/persistence.ts";
import { Predictor } from "../../train/predict.ts";
import { evaluateSplit } from "../../train/trainer.ts";
import { formatMetrics } from "../options.ts";
import type { EvalFlags } from "../eval.ts";

/**
 * The model only makes sense on data prepared exactly as its training data
 * was: same modalities and shapes, same vocabularies and statistics (they are
 * fitted on train, so another split seed gives other statistics).
 */
export function checkCompatible(model: LoadedModel, dataset: PreparedDataset): void {
  const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);
  const describe = (s: ModalitySpec) => `${s.name} (${s.type} [${s.shape.join(", ")}])`;
  const ours = model.spec.modalities;
  const theirs = dataset.modalities;
  if (ours.length !== theirs.length || ours.some((s, i) => s.name !== theirs[i]!.name || s.type !== theirs[i]!.type || !same(s.shape, theirs[i]!.shape))) {
    throw new FusionkitError(
      `dataset "${dataset.name}" has modalities ${theirs.map(describe).join(", ")} but the model was trained on ${ours.map(describe).join(", ")}`,
      { file: model.dir },
    );
  }
  for (let i = 0; i < ours.length; i++) {
    if (!same(ours[i]!.preprocessing, theirs[i]!.preprocessing) || !same(ours[i]!.vocabulary, theirs[i]!.vocabulary)) {
      throw new FusionkitError(
        `modality "${ours[i]!.name}" of dataset "${dataset.name}" was preprocessed with other statistics or vocabulary than the model's training data (a different split seed or data). Load the data exactly as for training (${JSON.stringify(model.config.dataset.loadOptions ?? { seed: model.options.seed })})`,
        { file: model.dir },
      );
    }
  }
  if (!same(model.labelNames, dataset.labelNames)) {
    throw new FusionkitError(`dataset "${dataset.name}" has classes [${dataset.labelNames.join(", ")}] but the model predicts [${model.labelNames.join(", ")}]`, { file: model.dir });
  }
}

export async function runEval(flags: EvalFlags): Promise<void> {
  if (!["train", "val", "test"].includes(flags.split)) throw new FusionkitError(`--split must be train, val or test, got "${flags.split}"`, { field: "split" });
  await startEngine();
  const model = loadModel(flags.model);
  const recorded = model.config.dataset;
  const source = flags.data ?? recorded.source ?? recorded.name;
  // the recorded data must still be what the model was trained on (an explicit --data is the user's choice)
  if (flags.data === undefined && recorded.source) checkProvenance({ source: recorded.source, ...(recorded.contentHash ? { contentHash: recorded.contentHash } : {}) }, flags.model);
  // the same seed, row limit and bad-row handling as training, so splits and fitted preprocessing match
  const loadOptions = { ...(recorded.loadOptions ?? { seed: model.options.seed }), ...(flags.skipBadRows ? { skipBadRows: true } : {}) };
  const dataset = await loadDataset(source, { ...loadOptions, log: (m) => console.error(m) });
  for (const line of skippedRowsReport(dataset.skipped)) console.error(line);
  checkCompatible(model, dataset);
  const predictor = new Predictor(model.model, model.layout, flattenParams(model.params).flat, model.options.batchSize);
  try {
    const split = dataset.splits[flags.split as "train" | "val" | "test"];
    console.log(`${model.config.method} on ${dataset.name} ${flags.split} (${split.n} rows): ${formatMetrics(evaluateSplit(predictor, split, dataset))}`);
  } finally {
    predictor.dispose();
  }
}
