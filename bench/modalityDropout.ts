/**
 * npm run bench:moddrop — what modality dropout (ModDrop) does to the
 * feature-level fusion methods on a dataset: each method trained once per
 * dropout probability with the same seed and settings, validation and test
 * accuracy printed side by side. The figures behind the bench's
 * --modality-dropout default (docs/fair-comparison.md).
 * Usage: npm run bench:moddrop -- [--data emoji] [--max-rows 4000] [--methods early,tfn,lmf,gmu]
 *        [--p 0,0.3] [--lr 2e-3] [--encoder-dim 64] [--epochs 30] [--patience 5] [--seed 0]
 */
import { loadDataset } from "../src/data/load.ts";
import { flattenParams } from "../src/engine/params.ts";
import { Predictor } from "../src/train/predict.ts";
import { evaluateSplit, trainModel } from "../src/train/trainer.ts";

const args = process.argv.slice(2);
const opt = (name: string, dflt: string) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1]! : dflt;
};
const data = opt("data", "emoji");
const dataset = await loadDataset(data, { maxRows: Number(opt("max-rows", "4000")) });
const methods = opt("methods", "early,tfn,lmf,gmu").split(",");
const ps = opt("p", "0,0.3").split(",").map(Number);
const settings = { seed: Number(opt("seed", "0")), epochs: Number(opt("epochs", "30")), patience: Number(opt("patience", "5")), lr: Number(opt("lr", "2e-3")), encoderDim: Number(opt("encoder-dim", "64")), batchSize: 32 };
console.log(`bench:moddrop ${data} (${dataset.splits.train.n}/${dataset.splits.val.n}/${dataset.splits.test.n} rows), ${JSON.stringify(settings)}, ${new Date().toISOString()}`);
console.log("| method | p | val accuracy | test accuracy | best epoch / run | train s |\n|---|--:|--:|--:|--:|--:|");
for (const method of methods) {
  for (const p of ps) {
    const started = performance.now();
    const trained = await trainModel(dataset, { method, ...settings, modalityDropout: p });
    const predictor = new Predictor(trained.model, trained.layout, flattenParams(trained.params).flat, 64);
    const test = evaluateSplit(predictor, dataset.splits.test, dataset);
    predictor.dispose();
    const val = trained.history[trained.bestEpoch - 1]!.valMetric;
    console.log(`| ${method} | ${p} | ${val.toFixed(3)} | ${test.accuracy!.toFixed(3)} | ${trained.bestEpoch}/${trained.history.length} | ${((performance.now() - started) / 1000).toFixed(0)} |`);
  }
}
