/**
 * One method under given training settings, run as the bench runs it (the
 * learning rate chosen per seed on validation from --grid over 2 trial epochs,
 * then trained to early stopping: patience 5, cap 30, width 64, batch 32), to
 * choose the bench's defaults (weight decay, learning-rate grid) by
 * validation. Prints per seed the chosen learning rate and every trial's
 * validation accuracy, the best validation and the test accuracy, the best
 * epoch / epochs run and the train loss at the best epoch; then the means.
 * Run: tsx bench/trainSettings.ts [--data emoji] [--max-rows 4000] [--method unimodal:text] [--seeds 3]
 *        [--grid 6.67e-4,2e-3,6e-3] [--weight-decay 0.01] [--modality-dropout 0.3] [--dropout 0.1]
 * (--modality-dropout: give 0.3 for a multimodal method to match the bench; unimodal rows get none there.)
 */
import { parseArgs } from "node:util";
import { chooseLearningRate } from "../src/bench/lrChoice.ts";
import { loadDataset } from "../src/data/load.ts";
import { startEngine } from "../src/engine/backend.ts";
import { taskMetrics } from "../src/eval/metrics.ts";
import { predict } from "../src/train/predict.ts";
import { trainModel, type TrainOptions } from "../src/train/trainer.ts";

const { values } = parseArgs({
  options: {
    data: { type: "string", default: "emoji" },
    "max-rows": { type: "string", default: "4000" },
    method: { type: "string", default: "unimodal:text" },
    seeds: { type: "string", default: "3" },
    grid: { type: "string", default: "6.67e-4,2e-3,6e-3" },
    "weight-decay": { type: "string", default: "0.01" },
    "modality-dropout": { type: "string" },
    dropout: { type: "string" },
  },
});
await startEngine();
const ds = await loadDataset(values.data, { maxRows: Number(values["max-rows"]) });
const grid = values.grid.split(",").map(Number);
const vals: number[] = [];
const tests: number[] = [];
console.log(`${values.method} on ${ds.name} (${ds.splits.train.n}/${ds.splits.val.n}/${ds.splits.test.n}), grid ${grid.join("/")}, weight decay ${values["weight-decay"]}, modality dropout ${values["modality-dropout"] ?? "none"}, head dropout ${values.dropout ?? "default"}; ${new Date().toISOString()}`);
for (let seed = 0; seed < Number(values.seeds); seed++) {
  const options: TrainOptions & { lr: number } = {
    method: values.method,
    seed,
    epochs: 30,
    batchSize: 32,
    lr: grid[Math.floor(grid.length / 2)]!,
    patience: 5,
    encoderDim: 64,
    weightDecay: Number(values["weight-decay"]),
    ...(values["modality-dropout"] !== undefined ? { modalityDropout: Number(values["modality-dropout"]) } : {}),
    ...(values.dropout !== undefined ? { dropout: Number(values.dropout) } : {}),
  };
  const choice = await chooseLearningRate(ds, options, grid, 2);
  const trained = await trainModel(ds, { ...options, lr: choice.lr });
  const best = trained.history[trained.bestEpoch - 1]!;
  const test = taskMetrics(ds.task, predict(trained, ds.splits.test).probs, ds.splits.test.labels, ds.labelNames.length).accuracy!;
  vals.push(best.valMetric);
  tests.push(test);
  const trials = choice.trials.map((t) => t.valMetric?.toFixed(3) ?? "diverged").join("/");
  console.log(`seed ${seed}: lr ${choice.lr} (trials ${trials}), val ${best.valMetric.toFixed(3)}, test ${test.toFixed(3)}, best epoch ${trained.bestEpoch}/${trained.history.length}, train loss there ${best.trainLoss.toFixed(3)}`);
}
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
console.log(`mean over ${vals.length} seeds: val ${mean(vals).toFixed(3)}, test ${mean(tests).toFixed(3)}`);
