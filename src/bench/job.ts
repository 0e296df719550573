/**
 * One bench job: train one method with one seed, then evaluate it. Runs inside
 * a worker thread (src/bench/worker.ts) but knows nothing about threads: it is
 * a function of the dataset and the job description, reporting epochs through
 * a callback.
 */
import type { PreparedDataset } from "../data/types.ts";
import { countParams, type ParamTree } from "../engine/params.ts";
import { getMethod } from "../fusion/registry.ts";
import { trainModel, type EpochInfo } from "../train/trainer.ts";
import { evaluateTrained } from "./evaluate.ts";
import type { RunResult } from "./results.ts";

export type BenchJob = {
  /** position in the plan, for progress and ordering */
  index: number;
  method: string;
  seed: number;
  methodConfig: Record<string, unknown>;
  epochs: number;
  batchSize: number;
  lr: number;
  patience: number;
  encoderDim: number;
  /** null: no time limit (epochs and early stopping only) */
  timeBudgetMs: number | null;
  noiseLevels: number[];
  latencySamples: number;
};

export type JobEpoch = Pick<EpochInfo, "epoch" | "epochs" | "trainLoss" | "valMetric" | "ms" | "best">;

/**
 * Parameters that can change the output. A unimodal baseline's model still
 * holds the other modalities' encoders (nothing reads them, see
 * src/fusion/unimodal.ts), so they are not counted against it.
 */
export function activeParamCount(method: { family: string; name: string }, params: ParamTree, total: number): number {
  if (method.family !== "unimodal") return total;
  const modality = method.name.slice(method.name.indexOf(":") + 1);
  const encoders = (params as Record<string, Record<string, ParamTree>>).encoders ?? {};
  let unused = 0;
  for (const [name, tree] of Object.entries(encoders)) if (name !== modality) unused += countParams(tree);
  return total - unused;
}

export async function runJob(dataset: PreparedDataset, job: BenchJob, onEpoch?: (epoch: JobEpoch) => void): Promise<RunResult> {
  const method = getMethod(job.method, dataset.modalities);
  const trained = await trainModel(dataset, {
    method,
    methodConfig: job.methodConfig,
    seed: job.seed,
    epochs: job.epochs,
    batchSize: job.batchSize,
    lr: job.lr,
    patience: job.patience,
    encoderDim: job.encoderDim,
    ...(job.timeBudgetMs !== null ? { timeBudgetMs: job.timeBudgetMs } : {}),
    onEpoch: (info) => onEpoch?.({ epoch: info.epoch, epochs: info.epochs, trainLoss: info.trainLoss, valMetric: info.valMetric, ms: info.ms, best: info.best }),
  });
  const history = trained.history.map((h) => ({ epoch: h.epoch, trainLoss: h.trainLoss, valMetric: h.valMetric, ms: h.ms }));
  const last = history.length;
  const stoppedByBudget = job.timeBudgetMs !== null && last < job.epochs && trained.trainMs > job.timeBudgetMs && last - trained.bestEpoch < job.patience;
  const evaluation = evaluateTrained(trained, dataset, { noiseLevels: job.noiseLevels, latencySamples: job.latencySamples, seed: job.seed, batchSize: 64 });
  return {
    seed: job.seed,
    ...evaluation,
    bestValMetric: trained.history[trained.bestEpoch - 1]?.valMetric ?? NaN,
    bestEpoch: trained.bestEpoch,
    epochsRun: last,
    stoppedBy: last >= job.epochs ? "epochs" : stoppedByBudget ? "time-budget" : "early-stopping",
    trainMs: trained.trainMs,
    paramCount: activeParamCount(method, trained.params, trained.paramCount),
    history,
  };
}
