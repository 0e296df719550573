/**
 * Everything checked before any training starts, so a typo fails in a second
 * rather than after minutes (the CLI checks its output directory before): the
 * dataset loads and validates, every method name exists, every method accepts its
 * config on this dataset's encoders. Then the plan: the (method, seed) jobs,
 * seed-major so an interrupted bench has the same seeds for every method it
 * reached, and the per-run time budget.
 */
import { availableParallelism } from "node:os";
import { loadDataset } from "../data/load.ts";
import type { PreparedDataset } from "../data/types.ts";
import { FusionkitError } from "../errors.ts";
import { defaultMethodsFor, getMethod } from "../fusion/registry.ts";
import type { FusionMethod } from "../fusion/types.ts";
import { unimodalPrefix } from "../fusion/unimodal.ts";
import { linearBaselineNames } from "../baselines/linear.ts";
import { buildModel } from "../model/model.ts";
import { checkMethodConfig, checkTrainable } from "../train/preflight.ts";
import { buildSpec } from "../model/spec.ts";
import { explainDefaults, retrievalRequest } from "./extras.ts";
import type { BenchJob, EncoderSource } from "./job.ts";
import { encoderSourceIndices, unimodalSourceOf, warmStarts } from "./warmStart.ts";
import { checkOptions, type BenchOptions } from "./options.ts";

export type BenchPlan = {
  options: BenchOptions;
  dataset: PreparedDataset;
  datasetLoad: { ms: number; cacheHit: boolean; totalRows?: number };
  methods: { method: FusionMethod; config: Record<string, unknown>; overrides: Record<string, unknown> }[];
  seeds: number[];
  jobs: BenchJob[];
  workers: number;
  perRunBudgetMs: number | null;
};

/**
 * The modality dropout a bench trains `method` with: the bench's for every
 * method that reads several modalities and has none of its own; null (the
 * method's own, or none) for unimodal and linear rows and one-modality data.
 */
export function benchModalityDropout(method: Pick<FusionMethod, "family" | "modalityDropout">, modalities: number, p: number): number | null {
  if (method.family === "unimodal" || method.family === "linear" || modalities < 2 || method.modalityDropout !== undefined) return null;
  return p;
}

/**
 * The weight of the per-modality auxiliary losses a bench trains `method` with
 * (ModelSpec.unimodalAuxWeight): the bench's for every method that reads several
 * modalities; null for unimodal and linear rows and one-modality data.
 */
export function benchUnimodalAux(method: Pick<FusionMethod, "family">, modalities: number, lambda: number): number | null {
  if (method.family === "unimodal" || method.family === "linear" || modalities < 2 || lambda === 0) return null;
  return lambda;
}

function resolveMethods(options: BenchOptions, dataset: PreparedDataset): BenchPlan["methods"] {
  const chosen = options.methods
    ? options.methods.map((name) => getMethod(name, dataset.modalities))
    : [...defaultMethodsFor(dataset), ...(options.baselines ? linearBaselineNames(dataset).map((name) => getMethod(name, dataset.modalities)) : [])];
  const names = new Set(chosen.map((m) => m.name));
  for (const name of Object.keys(options.methodConfigs)) {
    if (!names.has(name)) {
      throw new FusionkitError(`--config has settings for "${name}", which this bench does not run. Methods in this bench: ${[...names].join(", ")}`, { field: "--config" });
    }
  }
  return chosen.map((method) => {
    const overrides = options.methodConfigs[method.name] ?? {};
    checkMethodConfig(method, overrides);
    return { method, config: { ...method.defaults, ...overrides }, overrides };
  });
}

/**
 * Warm start (src/bench/warmStart.ts): each multimodal job names, per modality,
 * the unimodal job of its seed it starts from: the plan's own job when the
 * bench runs that unimodal method, else the job that run would be (index -1),
 * which the fusion job then trains itself.
 */
function addEncoderSources(jobs: BenchJob[], methods: BenchPlan["methods"], dataset: PreparedDataset): void {
  for (const job of jobs) {
    const method = methods.find((m) => m.method.name === job.method)!.method;
    if (!warmStarts(method, dataset.modalities)) continue;
    const sources: Record<string, EncoderSource> = {};
    for (const modality of dataset.modalities) {
      const name = unimodalSourceOf(modality.name);
      const planned = jobs.find((j) => j.method === name && j.seed === job.seed);
      const unimodal = getMethod(name, dataset.modalities);
      sources[modality.name] = planned ? sourceOf(planned) : sourceOf({ ...job, index: -1, method: name, methodConfig: { ...unimodal.defaults }, modalityDropout: null, unimodalAux: null });
    }
    job.encodersFrom = sources;
  }
}

/** A job as an encoder source: the plain run, without the extras the bench asks of it. */
function sourceOf(job: BenchJob): EncoderSource {
  const { explain: _explain, retrieval: _retrieval, encodersFrom: _from, ...plain } = job;
  return plain;
}

export async function planBench(options: BenchOptions, log: (message: string) => void = () => {}): Promise<BenchPlan> {
  checkOptions(options);

  // Names that cannot exist whatever the dataset's modalities fail before the (possibly slow) dataset load.
  for (const name of options.methods ?? []) if (!name.startsWith(unimodalPrefix) && !name.startsWith("linear:")) getMethod(name, []);

  const loadStarted = performance.now();
  let cacheHit = false;
  const dataset = await loadDataset(options.data, {
    ...(options.maxRows !== undefined ? { maxRows: options.maxRows } : {}),
    ...(options.cacheDir !== undefined ? { cacheDir: options.cacheDir } : {}),
    ...(options.encoders !== undefined ? { encoders: options.encoders } : {}),
    ...(options.allowDownload !== undefined ? { allowDownload: options.allowDownload } : {}),
    ...(options.skipBadRows ? { skipBadRows: true } : {}),
    log: (message) => {
      if (/from cache/u.test(message)) cacheHit = true;
      log(message);
    },
  });
  const datasetLoad = { ms: performance.now() - loadStarted, cacheHit };
  if (dataset.splits.train.n === 0 || dataset.splits.val.n === 0 || dataset.splits.test.n === 0) {
    const sizes = `${dataset.splits.train.n} train / ${dataset.splits.val.n} val / ${dataset.splits.test.n} test`;
    throw new FusionkitError(`the bench needs rows in every split (early stopping uses val, the leaderboard uses test); "${dataset.name}" has ${sizes}. Use more rows or change the split fractions in dataset.json`);
  }
  checkTrainable(dataset, { allowMissingModality: options.allowMissingModality === true });

  const methods = resolveMethods(options, dataset);
  // Building each model runs the method's validate() against this dataset's encoders: a bad config fails now.
  for (const { method, config } of methods) {
    if (method.family === "linear") {
      if (dataset.task !== "classification") throw new FusionkitError(`${method.name}: the linear baselines need a classification task; "${dataset.name}" is ${dataset.task}`, { field: "--methods" });
      continue;
    }
    buildModel(buildSpec(dataset, { method, methodConfig: config, encoderDim: options.encoderDim }));
  }

  const seeds = Array.from({ length: options.seeds }, (_, i) => i);
  const jobs: BenchJob[] = [];
  const workers = Math.max(1, Math.min(options.workers ?? Math.min(2, availableParallelism()), methods.length * seeds.length));
  // Every run gets the same share of the total: budget x workers / runs (the workers train in parallel).
  const perRunBudgetMs = options.timeBudgetS !== undefined ? (options.timeBudgetS * 1000 * workers) / (methods.length * seeds.length) : null;
  // with warm start the unimodal runs come first in each seed: the fusion runs of that seed start from their encoders
  const ordered = options.warmStart ? [...methods.filter((m) => m.method.family === "unimodal"), ...methods.filter((m) => m.method.family !== "unimodal")] : methods;
  for (const seed of seeds) {
    for (const { method, config } of ordered) {
      // A logistic regression is a convex fit: one per bench (the first seed), paired with every seed of the others.
      if (method.family === "linear" && seed !== seeds[0]) continue;
      jobs.push({
        index: jobs.length,
        method: method.name,
        seed,
        methodConfig: config,
        epochs: options.epochs,
        batchSize: options.batchSize,
        lr: options.lr,
        // the logistic regressions choose their own L2 on validation (src/baselines/logistic.ts)
        lrGrid: method.family === "linear" ? [options.lr] : options.lrGrid,
        lrTrialEpochs: options.lrTrialEpochs,
        weightDecay: options.weightDecay,
        modalityDropout: benchModalityDropout(method, dataset.modalities.length, options.modalityDropout),
        unimodalAux: benchUnimodalAux(method, dataset.modalities.length, options.unimodalAux),
        textPooling: options.textPooling,
        patience: options.patience,
        encoderDim: options.encoderDim,
        timeBudgetMs: perRunBudgetMs,
        noiseLevels: options.noiseLevels,
        latencySamples: options.latencySamples,
        // one explanation per method, of its first seed's model
        ...(options.explain && seed === seeds[0] && method.family !== "linear" ? { explain: { ...explainDefaults } } : {}),
      });
    }
  }
  if (options.warmStart) {
    addEncoderSources(jobs, methods, dataset);
    const missing = [...new Set(jobs.flatMap((j) => Object.values(j.encodersFrom ?? {}).filter((s) => s.index < 0).map((s) => s.method)))];
    if (missing.length) log(`warm start: this bench does not run ${missing.join(", ")}; each multimodal run trains ${missing.length === 1 ? "it" : "them"} first for its seed (--no-warm-start: from random init)`);
  }
  // The alignment run rides on the first job, so it overlaps the other worker's runs rather than adding a serial phase at the end.
  const retrieval = options.retrieval ? retrievalRequest(dataset, options.encoderDim) : undefined;
  // (a neural job: the linear baselines' runner does no extras)
  // (and not a warm-start source: the runs that start from it would wait for the alignment run too)
  const sources = encoderSourceIndices(jobs);
  const neural = jobs.filter((j) => !j.method.startsWith("linear:"));
  const carrier = neural.find((j) => !sources.has(j.index)) ?? neural[0];
  if (retrieval && carrier) carrier.retrieval = retrieval;
  return { options, dataset, datasetLoad, methods, seeds, jobs, workers, perRunBudgetMs };
}
