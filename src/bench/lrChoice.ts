/**
 * The bench's per-run learning-rate choice: every neural run tries each
 * learning rate of the grid for the same few epochs, keeps the one with the
 * best validation metric, and then trains to convergence with it. Every method
 * gets the same grid and the same trial epochs, so no method is ranked by how
 * well the one default learning rate happens to suit it (a small optimiser
 * sweep, as careful comparisons do; e.g. MultiBench tunes per method).
 *
 * A trial is the first `trialEpochs` epochs of the real run: same seed, same
 * warmup + cosine schedule spanning the full epoch cap, so the winner's trial
 * is paused there (src/train/trainer.ts openTraining) and the real run goes on
 * from it: the run is the one a fresh start at the chosen rate would make, step
 * for step (a test), without training its first epochs twice. The losers'
 * sessions are released as soon as the choice is made. Only validation labels
 * decide.
 */
import type { PreparedDataset } from "../data/types.ts";
import { FusionkitError } from "../errors.ts";
import { primaryMetric } from "../eval/metrics.ts";
import { openTraining, type OpenTraining, type TrainOptions } from "../train/trainer.ts";

export type LrTrial = {
  lr: number;
  /** best validation metric over the trial's epochs; null when the trial diverged */
  valMetric: number | null;
  /** the divergence message when it did */
  diverged?: string;
};

export type LrChoice = {
  lr: number;
  trials: LrTrial[];
  trialEpochs: number;
  /** wall time of all trials */
  searchMs: number;
  /** the winning trial, paused after its trial epochs: the caller continues it (`finish`) or releases it (`dispose`) */
  winner: OpenTraining;
};

/**
 * Tries every learning rate of `grid` for `trialEpochs` epochs of `base`'s run
 * and returns the best on validation (ties: the one nearest `base.lr` on a log
 * scale, so a flat grid keeps the default).
 */
export async function chooseLearningRate(dataset: PreparedDataset, base: TrainOptions & { lr: number }, grid: number[], trialEpochs: number): Promise<LrChoice> {
  if (grid.length === 0) throw new Error("chooseLearningRate: empty grid");
  const { higherIsBetter } = primaryMetric(dataset.task);
  const started = performance.now();
  const trials: LrTrial[] = [];
  const paused = new Map<number, OpenTraining>();
  // the caller's per-epoch callback reports the real run: the caller hands it to the winner (reportTo replays the trial epochs)
  const { onEpoch: _reportsTheRealRun, ...trialBase } = base;
  try {
    for (const lr of grid) {
      try {
        const training = await openTraining(dataset, { ...trialBase, lr });
        const { history } = await training.advance(trialEpochs);
        const values = history.map((h) => h.valMetric).filter(Number.isFinite);
        trials.push({ lr, valMetric: values.length ? (higherIsBetter ? Math.max(...values) : Math.min(...values)) : null });
        paused.set(trials.length - 1, training);
      } catch (error) {
        // a learning rate that diverges is a result of the search, not a failed run (advance released its sessions)
        if (!(error instanceof FusionkitError) || !/diverged/u.test(error.message)) throw error;
        trials.push({ lr, valMetric: null, diverged: error.message });
      }
    }
  } catch (error) {
    for (const training of paused.values()) await training.dispose();
    throw error;
  }
  const distance = (lr: number) => Math.abs(Math.log(lr / base.lr));
  let best: LrTrial | undefined;
  let bestIndex = -1;
  for (const [i, t] of trials.entries()) {
    if (t.valMetric === null) continue;
    if (
      best === undefined ||
      (higherIsBetter ? t.valMetric > best.valMetric! : t.valMetric < best.valMetric!) ||
      (t.valMetric === best.valMetric && distance(t.lr) < distance(best.lr))
    ) {
      best = t;
      bestIndex = i;
    }
  }
  for (const [i, training] of paused) if (i !== bestIndex) await training.dispose();
  if (best === undefined) {
    throw new FusionkitError(`training diverged at every learning rate tried (${grid.join(", ")}): lower --lr or give --lr-grid smaller values`, { field: "--lr-grid" });
  }
  return { lr: best.lr, trials, trialEpochs, searchMs: performance.now() - started, winner: paused.get(bestIndex)! };
}
