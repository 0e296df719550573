/**
 * One bench job: train one method with one seed, then evaluate it. Runs inside
 * a worker thread (src/bench/worker.ts) but knows nothing about threads: it is
 * a function of the dataset and the job description, reporting epochs through
 * a callback.
 */
import type { PreparedDataset } from "../data/types.ts";
import type { TextEncoderKind } from "../encoders/text.ts";
import type { ParamTree } from "../engine/params.ts";
import { getMethod } from "../fusion/registry.ts";
import { buildModel, type Model } from "../model/model.ts";
import { buildSpec } from "../model/spec.ts";
import { trainModel, type EpochInfo, type TrainedModel, type TrainOptions } from "../train/trainer.ts";
import { evaluateTrained } from "./evaluate.ts";
import { recordPhases, takePhases, timePhase, timePhaseSync } from "../train/phaseTimes.ts";
import { chooseLearningRate, type LrChoice } from "./lrChoice.ts";
import { explainTrained, gateEpoch, initialGates, runRetrieval, type ExplainRequest, type RetrievalRequest } from "./extras.ts";
import type { BenchRetrieval, GateEpoch, MethodExplanations, RunResult } from "./results.ts";
import type { StopReason } from "../train/fit.ts";
import { modalityOfUnimodal } from "./warmStart.ts";

export type BenchJob = {
  /** position in the plan, for progress and ordering */
  index: number;
  method: string;
  seed: number;
  methodConfig: Record<string, unknown>;
  epochs: number;
  batchSize: number;
  lr: number;
  /** learning rates tried on validation before the run (src/bench/lrChoice.ts); one value: no search */
  lrGrid: number[];
  /** epochs each learning-rate trial trains */
  lrTrialEpochs: number;
  /** AdamW weight decay (BenchOptions.weightDecay) */
  weightDecay: number;
  /** the bench's modality dropout for this method (null: the method's own, or none) */
  modalityDropout: number | null;
  /** the bench's per-modality auxiliary-loss weight for this method (null: none); absent in jobs from an older bench */
  unimodalAux?: number | null;
  /** the text encoder (ModelSpec.textEncoder); absent in jobs from an older bench: the default */
  textPooling?: TextEncoderKind;
  patience: number;
  encoderDim: number;
  /** null: no time limit (epochs and early stopping only) */
  timeBudgetMs: number | null;
  noiseLevels: number[];
  latencySamples: number;
  /** explain the trained model (the bench asks it of each method's first seed) */
  explain?: ExplainRequest;
  /** also run the bench's one alignment run for the retrieval section (after this job's own work) */
  retrieval?: RetrievalRequest;
  /**
   * Warm start (src/bench/warmStart.ts): per modality, the unimodal job of the same seed whose
   * trained encoder this run starts from. Its `index` is its place in the plan, or -1 when the
   * plan does not run it (the job then trains it itself).
   */
  encodersFrom?: Record<string, EncoderSource>;
};

/** A unimodal job a warm-started job takes an encoder from: a plain run (no extras, no warm start of its own). */
export type EncoderSource = Omit<BenchJob, "encodersFrom" | "explain" | "retrieval">;

/** What the executor hands a job beside its description (src/bench/pool.ts). */
export type JobContext = {
  /** trained encoders by modality, from the runs named in `encodersFrom`; a missing one is trained by the job */
  encoders?: Record<string, ParamTree>;
  /** return the trained model's encoder of the unimodal method's modality in `JobOutput.encoders` (a later job starts from it) */
  shareEncoder?: boolean;
};

/** A finished job: the run, and what the job was asked for beside it. */
export type JobOutput = {
  result: RunResult;
  explanations?: MethodExplanations;
  retrieval?: BenchRetrieval;
  /** with JobContext.shareEncoder: the trained encoder of the unimodal method's modality (never written to results.json) */
  encoders?: Record<string, ParamTree>;
};

export type JobEpoch = Pick<EpochInfo, "epoch" | "epochs" | "trainLoss" | "valMetric" | "ms" | "best">;

export async function runJob(dataset: PreparedDataset, job: BenchJob, onEpoch?: (epoch: JobEpoch) => void, context: JobContext = {}): Promise<JobOutput> {
  const started = performance.now();
  takePhases();
  const encoderInit = await startingEncoders(dataset, job, context.encoders ?? {});
  const output = await runJobUntimed(dataset, job, onEpoch, encoderInit, context.shareEncoder === true);
  recordPhases({ method: job.method, seed: job.seed, wallMs: Math.round(performance.now() - started) });
  return output;
}

/**
 * The encoders a warm-started job begins from: the ones handed over, and for
 * any modality without one, the encoder of its unimodal job trained here (the
 * same job description and seed: the same encoder as that run's).
 */
async function startingEncoders(dataset: PreparedDataset, job: BenchJob, given: Record<string, ParamTree>): Promise<Record<string, ParamTree> | undefined> {
  if (!job.encodersFrom) return undefined;
  const encoders: Record<string, ParamTree> = {};
  for (const [modality, source] of Object.entries(job.encodersFrom)) {
    encoders[modality] =
      given[modality] ??
      (await timePhase("warm start: unimodal run trained in this job", async () => {
        const output = await runJobUntimed(dataset, source, undefined, undefined, true);
        return output.encoders![modality]!;
      }));
  }
  return encoders;
}

async function runJobUntimed(
  dataset: PreparedDataset,
  job: BenchJob,
  onEpoch: ((epoch: JobEpoch) => void) | undefined,
  encoderInit: Record<string, ParamTree> | undefined,
  shareEncoder: boolean,
): Promise<JobOutput> {
  const method = getMethod(job.method, dataset.modalities);
  if (method.family === "linear") {
    const { runLinearJob } = await import("./linearJob.ts");
    return timePhaseSync("linear baseline", () => runLinearJob(dataset, job));
  }
  const gates: GateEpoch[] = [];
  // the model trainModel builds (same spec): it names its method's gate parameters
  let gateModel: Model | undefined;
  const options: TrainOptions = {
    method,
    methodConfig: job.methodConfig,
    seed: job.seed,
    epochs: job.epochs,
    batchSize: job.batchSize,
    lr: job.lr,
    weightDecay: job.weightDecay,
    patience: job.patience,
    encoderDim: job.encoderDim,
    ...(job.modalityDropout !== null ? { modalityDropout: job.modalityDropout } : {}),
    ...(job.unimodalAux ? { unimodalAuxWeight: job.unimodalAux } : {}),
    ...(job.textPooling ? { textEncoder: job.textPooling } : {}),
    ...(job.timeBudgetMs !== null ? { timeBudgetMs: job.timeBudgetMs } : {}),
    ...(encoderInit ? { encoderInit } : {}),
    onEpoch: (info) => {
      // only a method that had gates at initialisation reads its parameters back each epoch
      if (gateModel && gates.length) gates.push(gateEpoch(gateModel, info.epoch, info.params())!);
      onEpoch?.({ epoch: info.epoch, epochs: info.epochs, trainLoss: info.trainLoss, valMetric: info.valMetric, ms: info.ms, best: info.best });
    },
  };
  let lrChoice: LrChoice | undefined;
  if (job.lrGrid.length > 1) {
    lrChoice = await timePhase("lr trials (incl. their open, steps, validation)", () => chooseLearningRate(dataset, { ...options, lr: job.lr }, job.lrGrid, job.lrTrialEpochs));
    options.lr = lrChoice.lr;
  } else if (job.lrGrid.length === 1) {
    options.lr = job.lrGrid[0]!;
  }
  // epoch 0: trainModel initialises this very model with this seed (building it again is cheap: no engine work)
  gateModel = buildModel(buildSpec(dataset, options));
  const initial = initialGates(gateModel, job.seed);
  if (initial) gates.push(initial);
  let trained: TrainedModel & { stoppedBy: StopReason };
  if (lrChoice) {
    // the winning trial goes on from its trial epochs: the same run as a fresh start at its rate (src/bench/lrChoice.ts)
    lrChoice.winner.reportTo(options.onEpoch!);
    trained = await lrChoice.winner.finish();
  } else {
    trained = await trainModel(dataset, options);
  }
  const history = trained.history.map((h) => ({ epoch: h.epoch, trainLoss: h.trainLoss, valMetric: h.valMetric, ms: h.ms }));
  const last = history.length;
  const evaluation = await timePhase("test evaluation", () => evaluateTrained(trained, dataset, { noiseLevels: job.noiseLevels, latencySamples: job.latencySamples, seed: job.seed, batchSize: 64 }));
  const result: RunResult = {
    seed: job.seed,
    ...evaluation,
    bestValMetric: trained.history[trained.bestEpoch - 1]?.valMetric ?? NaN,
    bestEpoch: trained.bestEpoch,
    epochsRun: last,
    stoppedBy: benchStopReason(trained.stoppedBy),
    trainMs: trained.trainMs,
    paramCount: trained.paramCount,
    chosen: {
      lr: options.lr,
      ...(lrChoice ? { lrTrials: lrChoice.trials, lrTrialEpochs: lrChoice.trialEpochs, lrSearchMs: lrChoice.searchMs } : {}),
      weightDecay: trained.options.weightDecay,
      ...(trained.spec.unimodalAuxWeight ? { unimodalAux: trained.spec.unimodalAuxWeight } : {}),
      ...(job.encodersFrom ? { warmStartFrom: Object.values(job.encodersFrom).map((source) => source.method) } : {}),
    },
    history,
    ...(gates.length ? { gateHistory: gates } : {}),
  };
  const modality = modalityOfUnimodal(method.name);
  const encoder = shareEncoder && method.family === "unimodal" ? trained.params.encoders[modality] : undefined;
  return {
    result,
    ...(encoder ? { encoders: { [modality]: encoder } } : {}),
    ...(job.explain ? { explanations: await timePhase("explain", () => explainTrained(trained, dataset, job.seed, job.explain!)) } : {}),
    ...(job.retrieval ? { retrieval: await timePhase("retrieval", () => runRetrieval(dataset, job.retrieval!)) } : {}),
  };
}

/** The training loop's own reason; a finished bench run is never paused (only its learning-rate trials are). */
function benchStopReason(reason: StopReason): RunResult["stoppedBy"] {
  if (reason === "paused") throw new Error("a bench run ended paused: its learning-rate trial was not continued to the end");
  return reason;
}
