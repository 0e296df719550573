/**
 * runBench: plan (all checks), run every (method, seed) job on worker threads,
 * and return the BenchResults. It writes no file: whoever keeps the results
 * (the CLI writes results.json and report.html, src/cli/actions/benchOutputs.ts)
 * gets them through `onSnapshot` as the bench goes, and the final ones as the
 * return value.
 *
 * Honesty on interruption: after every finished run `onSnapshot` receives the
 * results so far with `complete: false`, and only a bench that ran every job
 * returns `complete: true`. An abort (Ctrl-C through `signal`) stops the
 * workers at once, drops the runs in flight and returns what finished, marked
 * incomplete with the reason. A run that fails (divergence, a crash) is
 * recorded under its method with the message; it does not stop the others.
 */
import { primaryMetric } from "../eval/metrics.ts";
import { describeEnvironment } from "./environment.ts";
import { localExecutor, type ExecutionInfo, type JobExecutor } from "./executor.ts";
import type { BenchJob } from "./job.ts";
import { benchNotes } from "./notes.ts";
import { benchDefaults, defaultMaxRows, withDefaults, type BenchOptions } from "./options.ts";
import { benchModalityDropout, planBench, type BenchPlan } from "./plan.ts";
import { quietReporter, type BenchReporter } from "./progress.ts";
import { resultsSchemaVersion, type BenchResults, type BenchRetrieval, type MethodExplanations, type MethodResult, type RunResult } from "./results.ts";
import { buildLeaderboard, summariseRuns } from "./summary.ts";
import { encoderSummaries } from "../data/pretrained/summary.ts";
import { compareMethods } from "./comparisons.ts";

export type BenchContext = {
  signal?: AbortSignal;
  reporter?: BenchReporter;
  /** recorded in results.json */
  command?: string[];
  /** where the jobs run: worker threads here by default; `--queue` passes src/bench/queue's */
  executor?: JobExecutor;
  /**
   * The results so far (`complete: false`) after every finished run, e.g. to
   * write them. A throw (a full disk) stops the bench: runs that cannot be
   * recorded are wasted time; runBench then rejects with that error.
   */
  onSnapshot?: (results: BenchResults) => void;
  /**
   * Once the plan's checks passed and the executor started, before the first
   * run: where the CLI creates its output directory, so that a bench refused
   * by its checks or its executor (an unreachable queue) leaves none behind,
   * and a directory that cannot be made costs no run. A throw stops the bench.
   */
  onStart?: () => void;
};

type Finished = { job: BenchJob; result?: RunResult; error?: string; explanations?: MethodExplanations; retrieval?: BenchRetrieval };

export async function runBench(partial: Partial<BenchOptions>, context: BenchContext = {}): Promise<BenchResults> {
  const reporter = context.reporter ?? quietReporter;
  const startedAt = new Date();
  const started = performance.now();
  const options = withDefaults(partial);
  const plan = await planBench(options, (message) => reporter.log(message));

  const finished: Finished[] = [];
  let execution: ExecutionInfo | undefined;
  const assemble = (state: { complete: boolean; interruption?: string }): BenchResults =>
    assembleResults(plan, finished, { ...state, startedAt, wallMs: performance.now() - started, command: context.command ?? process.argv.slice(1), execution });
  // A failed snapshot (a full disk) stops the bench. It is called from the worker
  // pool's message handlers, where a throw would be an uncaught exception.
  const stop = new AbortController();
  let snapshotFailure: unknown;
  const checkpoint = () => {
    if (snapshotFailure !== undefined || !context.onSnapshot) return;
    try {
      context.onSnapshot(assemble({ complete: false }));
    } catch (error) {
      snapshotFailure = error;
      stop.abort(error);
    }
  };
  const signal = context.signal ? AbortSignal.any([context.signal, stop.signal]) : stop.signal;

  const metric = primaryMetric(plan.dataset.task);
  const executor = context.executor ?? localExecutor;
  let aborted = false;
  try {
    execution = await executor.start(plan, (message) => reporter.log(message));
    context.onStart?.();
    reporter.start({ jobs: plan.jobs, methods: plan.methods.map((m) => m.method.name), seeds: plan.seeds, workers: execution.workers, where: execution.where, metricName: metric.name });
    try {
      ({ aborted } = await executor.run(
        plan,
        {
          onStart: (job) => reporter.jobStart(job),
          onEpoch: (job, epoch) => reporter.epoch(job, epoch),
          onResult: (job, { result, explanations, retrieval }) => {
            finished.push({ job, result, ...(explanations ? { explanations } : {}), ...(retrieval ? { retrieval } : {}) });
            reporter.jobEnd(job, { result });
            checkpoint();
          },
          onFailure: (job, failure) => {
            finished.push({ job, error: failure.userError ? failure.message : `${failure.message}\n${failure.stack}` });
            reporter.jobEnd(job, { failure });
            checkpoint();
          },
        },
        signal,
      ));
    } finally {
      reporter.stop();
    }
  } finally {
    await executor.close();
  }
  // what onSnapshot kept is the last snapshot it could take (complete: false), or none
  if (snapshotFailure !== undefined) throw snapshotFailure;
  const reason = aborted ? abortReason(context.signal) : undefined;
  return assemble(aborted ? { complete: false, interruption: reason! } : { complete: true });
}

function subsampleNote(options: BenchOptions): string {
  const sized = options.maxRows === defaultMaxRows[options.data] && partialDefaults(options);
  return (
    `the bench used the first ${options.maxRows} rows of the dataset (--max-rows; built-in datasets order their rows so this is a sample across classes)` +
    (sized ? `. This is the default sample for "${options.data}", taken to halve the default bench's time; --max-rows 100000 runs the full dataset` : "")
  );
}

function partialDefaults(options: BenchOptions): boolean {
  return options.encoderDim === benchDefaults.encoderDim && options.epochs === benchDefaults.epochs;
}

function abortReason(signal: AbortSignal | undefined): string {
  const reason = signal?.reason as unknown;
  if (reason instanceof Error && reason.name !== "AbortError") return reason.message;
  if (typeof reason === "string") return reason;
  return "interrupted";
}

function assembleResults(
  plan: BenchPlan,
  finished: Finished[],
  state: { complete: boolean; interruption?: string; startedAt: Date; wallMs: number; command: string[]; execution: ExecutionInfo | undefined },
): BenchResults {
  const { options, dataset } = plan;
  const retrieval = finished.find((f) => f.retrieval)?.retrieval;
  const metric = primaryMetric(dataset.task);
  const methods: MethodResult[] = plan.methods.map(({ method, config, overrides }) => {
    const mine = finished.filter((f) => f.job.method === method.name).sort((a, b) => a.job.seed - b.job.seed);
    const runs = mine.flatMap((f) => (f.result ? [f.result] : []));
    const errors = mine.flatMap((f) => (f.error !== undefined ? [{ seed: f.job.seed, message: f.error }] : []));
    const explanations = mine.find((f) => f.explanations)?.explanations;
    const configNotes = Object.entries(overrides).map(([k, v]) => `${k} = ${JSON.stringify(v)} (set with --config; default ${JSON.stringify(method.defaults[k])})`);
    const fromBench = benchModalityDropout(method, dataset.modalities.length, options.modalityDropout);
    const modalityDropout: MethodResult["modalityDropout"] =
      (method.modalityDropout ?? 0) > 0 ? { p: method.modalityDropout!, from: "method" } : fromBench ? { p: fromBench, from: "bench" } : undefined;
    if (modalityDropout?.from === "method") configNotes.push(`modality dropout p = ${modalityDropout.p} during training (part of the method)`);
    const expected = method.family === "linear" ? 1 : plan.seeds.length;
    const status: MethodResult["status"] =
      errors.length > 0 && runs.length === 0 && mine.length === expected
        ? "failed"
        : mine.length === expected
          ? "complete"
          : mine.length > 0
            ? "partial"
            : "not-run";
    return {
      name: method.name,
      family: method.family,
      summary: method.summary,
      citation: method.citation,
      config,
      configNotes,
      ...(modalityDropout ? { modalityDropout } : {}),
      status,
      runs,
      ...(errors.length ? { errors } : {}),
      ...(runs.length ? { aggregate: summariseRuns(runs, metric.name) } : {}),
      ...(explanations ? { explanations } : {}),
    };
  });
  const results: BenchResults = {
    schema: resultsSchemaVersion,
    complete: state.complete,
    ...(state.interruption ? { interruption: { reason: state.interruption, at: new Date().toISOString() } } : {}),
    startedAt: state.startedAt.toISOString(),
    finishedAt: new Date().toISOString(),
    wallMs: state.wallMs,
    command: state.command,
    environment: describeEnvironment(),
    dataset: {
      name: dataset.name,
      source: options.data,
      task: dataset.task,
      ...(dataset.description ? { description: dataset.description } : {}),
      labelNames: dataset.labelNames,
      modalities: dataset.modalities.map((m) => ({ name: m.name, type: m.type, shape: m.shape })),
      rows: { train: dataset.splits.train.n, val: dataset.splits.val.n, test: dataset.splits.test.n },
      ...(options.maxRows !== undefined
        ? { subsample: { maxRows: options.maxRows, note: subsampleNote(options) } }
        : {}),
      cacheKey: dataset.cacheKey,
      ...(dataset.skipped.length ? { skipped: dataset.skipped } : {}),
      loadMs: plan.datasetLoad.ms,
      cacheHit: plan.datasetLoad.cacheHit,
      ...(encoderSummaries(dataset.modalities).length ? { encoders: encoderSummaries(dataset.modalities) } : {}),
    },
    config: {
      methods: plan.methods.map((m) => m.method.name),
      seeds: plan.seeds,
      epochs: options.epochs,
      timeBudgetS: options.timeBudgetS ?? null,
      perRunBudgetMs: plan.perRunBudgetMs,
      batchSize: options.batchSize,
      lr: options.lr,
      lrGrid: options.lrGrid,
      lrTrialEpochs: options.lrTrialEpochs,
      weightDecay: options.weightDecay,
      modalityDropout: options.modalityDropout,
      unimodalAux: options.unimodalAux,
      textPooling: options.textPooling,
      warmStart: options.warmStart,
      patience: options.patience,
      encoderDim: options.encoderDim,
      noiseLevels: options.noiseLevels,
      latencySamples: options.latencySamples,
      workers: state.execution?.workers ?? plan.workers,
      ...(state.execution?.queue ? { queue: state.execution.queue } : {}),
      explain: options.explain,
      retrieval: options.retrieval,
      primaryMetric: metric,
    },
    methods,
    leaderboard: [],
    ...(retrieval ? { retrieval } : {}),
    notes: [],
  };
  results.leaderboard = buildLeaderboard(methods, metric);
  results.comparisons = compareMethods(methods, dataset.splits.test.labels, dataset.task === "classification", dataset.splits.test.groups);
  results.notes = benchNotes(results);
  return results;
}
