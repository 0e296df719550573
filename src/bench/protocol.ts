/** Messages between the bench's main thread and its worker threads. */
import type { BenchJob, JobContext, JobEpoch, JobOutput } from "./job.ts";

import type { PreparedDataset } from "../data/types.ts";

export type WorkerData = { dataset: PreparedDataset; warmup: { batchSize: number; encoderDim: number } };

export type ToWorker = { type: "job"; job: BenchJob; context?: JobContext };

export type ToMain =
  | { type: "ready" }
  | { type: "epoch"; index: number; epoch: JobEpoch }
  | { type: "result"; index: number; output: JobOutput }
  /** userError: a FusionkitError (bad config, divergence); otherwise a bug, with its stack */
  | { type: "failed"; index: number; message: string; userError: boolean; stack: string };
