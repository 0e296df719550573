/**
 * The results.json contract: everything a bench measured, and nothing else.
 * The report (src/report) reads only this object, so any figure in the HTML
 * can be traced back to a field here.
 *
 * Statistics over seeds are `{ mean, std, n }` with the sample standard
 * deviation (n - 1 in the denominator; std = 0 when n = 1).
 */
import type { RetrievalReport } from "../align/report.ts";
import type { Task } from "../data/types.ts";
import type { EncoderSummary } from "../data/pretrained/summary.ts";
import type { ReportExplanation } from "../explain/report.ts";
import type { BenchComparisons } from "./comparisons.ts";
import type { TextEncoderKind } from "../encoders/text.ts";

export const resultsSchemaVersion = "fusionkit-bench/1";

/** where single-row latency was measured: ONNX Runtime (as `fusionkit serve` runs), jax-js, or a linear baseline's own scoring */
export type LatencyEngine = "onnxruntime" | "jax-js" | "linear";

export type Stat = { mean: number; std: number; n: number };

/** Named task metrics of one evaluation (accuracy, macroF1, rocAuc, microF1, mae, pearson). */
export type Metrics = Record<string, number>;

export type EpochRecord = { epoch: number; trainLoss: number; valMetric: number; ms: number };

export type NoiseRecord = { modality: string; sigma: number; metrics: Metrics };

/** One method trained and evaluated with one seed. */
export type RunResult = {
  seed: number;
  /** test-split metrics of the best-validation epoch's parameters */
  metrics: Metrics;
  /** classification: the predicted class of every test row, in split order (the paired significance test reads them) */
  testPredictions?: number[];
  /** hyperparameters chosen on validation for this run (learning rate, a baseline's L2), with what was tried */
  chosen?: Record<string, unknown>;
  /** the primary metric on validation at the best epoch */
  bestValMetric: number;
  bestEpoch: number;
  epochsRun: number;
  /** why training ended: neural runs: early-stopping, epochs (the cap) or time-budget; linear: rows: converged (tolerance met), iterations (L-BFGS cap) or no-progress (flat to float precision) */
  stoppedBy: "early-stopping" | "epochs" | "time-budget" | "converged" | "iterations" | "no-progress";
  trainMs: number;
  paramCount: number;
  /** single-row inference wall time over `latencySamples` test rows (after one warm-up row) */
  latencyMs: { p50: number; p95: number; samples: number; engine?: LatencyEngine };
  robustness: {
    /** modality name -> test metrics with that modality marked missing on every row */
    missing: Record<string, Metrics>;
    /** test metrics with Gaussian noise of std `sigma` (in standardised input units) on one modality */
    noise: NoiseRecord[];
  };
  history: EpochRecord[];
  /**
   * Flamingo-style tanh gates (tanh(alpha), tanh(beta); src/explain/views.ts
   * gateParameters) after every epoch, epoch 0 = the initialisation. Absent for
   * methods without gates.
   */
  gateHistory?: GateEpoch[];
};

/** gate parameter name (e.g. "fusion.layers.0.alpha") -> tanh of each of its values, after `epoch` epochs */
export type GateEpoch = { epoch: number; tanh: Record<string, number[]> };

/** One method's modality attributions (exact Shapley values) on the test split, from one seed's trained model. */
export type MethodExplanations = {
  /** the seed whose trained model was explained */
  seed: number;
  /** wall time of the explanation, in the worker */
  ms: number;
} & ({ report: ReportExplanation } | { error: string });

/** The bench's retrieval section: a short contrastive alignment run (src/align) and its test-split retrieval. */
export type BenchRetrieval = {
  pair: string[];
  matchField?: string;
  seed: number;
  epochs: number;
  epochsRun: number;
  bestEpoch: number;
  batchSize: number;
  trainRows: number;
  trainMs: number;
  /** training plus building the report section */
  ms: number;
} & ({ report: RetrievalReport } | { error: string });

export type MethodSummary = {
  metrics: Record<string, Stat>;
  paramCount: number;
  trainMs: Stat;
  latencyP50Ms: Stat;
  latencyP95Ms: Stat;
  epochsRun: Stat;
  /** primary metric per robustness condition */
  missing: Record<string, Stat>;
  noise: { modality: string; sigma: number; stat: Stat }[];
};

export type MethodResult = {
  name: string;
  family: string;
  summary: string;
  citation: string;
  /** the method's configuration as trained (its defaults merged with overrides) */
  config: Record<string, unknown>;
  /** hyperparameters this method trains with that differ from the shared ones, with the reason */
  configNotes: string[];
  /** the modality dropout it trained with, and whose it is: the method's own, or the bench's (--modality-dropout); absent: none */
  modalityDropout?: { p: number; from: "method" | "bench" };
  /**
   * "complete": every seed ran (a seed may have failed, see errors); "partial": interrupted after some seeds;
   * "not-run": interrupted before any; "failed": every seed failed
   */
  status: "complete" | "partial" | "not-run" | "failed";
  runs: RunResult[];
  /** seeds whose run threw (divergence, a crash), with the message */
  errors?: { seed: number; message: string }[];
  /** absent when no run finished */
  aggregate?: MethodSummary;
  /** absent with --no-explain, or when the explained seed's run did not finish */
  explanations?: MethodExplanations;
};

export type LeaderboardRow = {
  rank: number;
  method: string;
  family: string;
  metric: Stat;
  paramCount: number;
  trainS: Stat;
  latencyP50Ms: Stat;
  latencyP95Ms: Stat;
};

export type BenchResults = {
  schema: typeof resultsSchemaVersion;
  /** false when the bench was interrupted: some methods or seeds are missing */
  complete: boolean;
  interruption?: { reason: string; at: string };
  startedAt: string;
  finishedAt: string;
  wallMs: number;
  command: string[];
  environment: {
    node: string;
    platform: string;
    arch: string;
    cpus: number;
    cpuModel: string;
    packages: Record<string, string>;
  };
  dataset: {
    name: string;
    source: string;
    task: Task;
    description?: string;
    labelNames: string[];
    modalities: { name: string; type: string; shape: number[] }[];
    rows: { train: number; val: number; test: number };
    /** rows available before --max-rows subsampling, when subsampled */
    subsample?: { maxRows: number; note: string };
    cacheKey: string;
    /** rows dropped by --skip-bad-rows (absent when none) */
    skipped?: { file: string; line: number; field?: string; reason: string }[];
    loadMs: number;
    cacheHit: boolean;
    /** frozen pretrained encoders that prepared modalities (absent: every modality trained from scratch) */
    encoders?: EncoderSummary[];
  };
  config: {
    methods: string[];
    seeds: number[];
    epochs: number;
    /** total training budget in seconds, null when only --epochs bounds training */
    timeBudgetS: number | null;
    /** the training time each (method, seed) run was allowed, null when unbounded */
    perRunBudgetMs: number | null;
    batchSize: number;
    lr: number;
    /** learning rates each neural run tried on validation (one value: no search), and the epochs of each trial */
    lrGrid: number[];
    lrTrialEpochs: number;
    /** AdamW weight decay of every neural run */
    weightDecay: number;
    /** modality dropout the bench gave every multimodal method without its own (0: none) */
    modalityDropout: number;
    /** weight of the per-modality auxiliary losses of every multimodal method (0: none; absent in results written before it existed) */
    unimodalAux?: number;
    /** the text encoder of every neural run (absent in results written before it could be chosen: "ordered", then the only one) */
    textPooling?: TextEncoderKind;
    /** multimodal runs started their encoders from the same seed's unimodal runs (absent in results written before it existed: no) */
    warmStart?: boolean;
    patience: number;
    encoderDim: number;
    noiseLevels: number[];
    latencySamples: number;
    /** runs trained in parallel (one worker thread each); with --queue, the worker processes connected when the bench started */
    workers: number;
    /** present when `fusionkit worker` processes ran the jobs from a Redis queue (`fusionkit bench --queue`) */
    queue?: {
      /** the queue's URL, password redacted */
      url: string;
      name: string;
      /** this bench's id: its job ids are `${bench}-${index}` */
      bench: string;
      codeVersion: string;
      datasetHash: string;
      workersAtStart: number;
      /** worker (host:pid) -> runs whose result it returned */
      runsByWorker: Record<string, number>;
      /** worker (host:pid) -> wall time of those runs on its worker threads (what the queue adds is the rest) */
      workMsByWorker: Record<string, number>;
    };
    /** whether the bench explained each method (first seed) and ran the retrieval section */
    explain: boolean;
    retrieval: boolean;
    primaryMetric: { name: string; higherIsBetter: boolean };
  };
  methods: MethodResult[];
  leaderboard: LeaderboardRow[];
  /** absent with --no-retrieval, when the dataset has no image + text pair, or when the run carrying it did not finish */
  retrieval?: BenchRetrieval;
  /** prose for the report header: what is shared, what is cached, what is fair */
  notes: string[];
  /** paired significance tests behind the summary's claims, and convergence (epoch-cap) counts */
  comparisons?: BenchComparisons;
};
