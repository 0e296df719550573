/**
 * What travels through the queue. A job is JSON data describing one
 * (method, seed) run, never code: the worker validates it against
 * `queueJobSchema` and runs the registered method it names, so a job can ask
 * for nothing a bench could not. The result is the same JobOutput the local
 * worker threads return, plus which worker produced it.
 */
import { z } from "zod";
import type { BenchJob, JobEpoch, JobOutput } from "../job.ts";
import { textPoolings } from "../options.ts";

/** One queue for every bench: workers need only the Redis URL; each bench's jobs carry its id. */
export const queueName = "fusionkit-bench";

export const protocolVersion = 4;

const finite = z.number().refine(Number.isFinite, "must be a finite number");
const positiveInt = z.number().int().positive();

const sourceJobSchema = z.strictObject({
  /** -1: a unimodal run the bench does not make (src/bench/plan.ts addEncoderSources) */
  index: z.number().int().min(-1),
  method: z.string().min(1),
  seed: z.number().int().nonnegative(),
  methodConfig: z.record(z.string(), z.unknown()),
  epochs: positiveInt,
  batchSize: positiveInt,
  lr: finite.positive(),
  lrGrid: z.array(finite.positive()).min(1),
  lrTrialEpochs: positiveInt,
  weightDecay: finite.nonnegative(),
  modalityDropout: z.number().min(0).max(0.99).nullable(),
  unimodalAux: finite.nonnegative().nullable().optional(),
  textPooling: z.enum(textPoolings).optional(),
  patience: positiveInt,
  encoderDim: positiveInt,
  timeBudgetMs: finite.positive().nullable(),
  noiseLevels: z.array(finite.positive()),
  latencySamples: positiveInt,
});

const benchJobSchema = sourceJobSchema.extend({
  index: z.number().int().nonnegative(),
  explain: z.strictObject({ maxRows: positiveInt, samples: z.number().int().nonnegative(), imageSize: positiveInt }).optional(),
  retrieval: z
    .strictObject({ pair: z.array(z.string()), matchField: z.string().optional(), seed: z.number().int().nonnegative(), epochs: positiveInt, batchSize: positiveInt, encoderDim: positiveInt })
    .optional(),
  /** warm start: the unimodal jobs whose encoders this run starts from; a queue worker trains them itself (src/bench/warmStart.ts) */
  encodersFrom: z.record(z.string(), sourceJobSchema).optional(),
});

export const queueJobSchema = z.strictObject({
  protocol: z.literal(protocolVersion),
  /** the coordinator's id for this bench: job ids are `${bench}-${index}` */
  bench: z.string().regex(/^[0-9a-f]{8,32}$/u),
  /** codeVersion() of the coordinator */
  codeVersion: z.string().min(1),
  dataset: z.strictObject({
    /** built-in name or directory, as given to `fusionkit bench --data` (a directory is resolved on the worker, from its working directory) */
    source: z.string().min(1),
    maxRows: positiveInt.nullable(),
    /** --skip-bad-rows: the worker must drop the same rows to prepare the same dataset */
    skipBadRows: z.boolean().optional(),
    /** bench --encoder and --allow-download: pretrained encoders change the prepared dataset, so the worker prepares it the same way */
    encoders: z.record(z.string(), z.strictObject({ model: z.string(), output: z.enum(["pooled", "tokens"]).optional() }).nullable()).optional(),
    allowDownload: z.boolean().optional(),
    name: z.string(),
    /** datasetHash() of the coordinator's prepared dataset */
    hash: z.string().regex(/^[0-9a-f]{64}$/u),
  }),
  /** the worker thread's warm-up run (src/bench/warmup.ts) */
  warmup: z.strictObject({ batchSize: positiveInt, encoderDim: positiveInt }),
  job: benchJobSchema,
  /** warm start: other jobs start from this job's encoder, so its worker stores it in Redis (sharedEncoders.ts) */
  shareEncoder: z.boolean().optional(),
});

export type QueueJob = z.infer<typeof queueJobSchema>;

// The schema must accept every BenchJob the planner makes, and give back one the job code accepts.
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const _jobMatches: Same<Omit<z.infer<typeof benchJobSchema>, "methodConfig">, Omit<BenchJob, "methodConfig">> = true;
void _jobMatches;

/** What a worker returns for a job (stored by BullMQ as the job's return value). */
export type QueueResult = { output: JobOutput; worker: string; /** wall time of runJob in the worker thread */ threadMs: number };

/** Reported through job.updateProgress, for the coordinator's progress bars. */
export type QueueProgress = { epoch: JobEpoch };

export function jobId(bench: string, index: number): string {
  return `${bench}-${index}`;
}

/** The job index of one of `bench`'s job ids, or undefined for another bench's job. */
export function jobIndex(bench: string, id: string | undefined): number | undefined {
  if (!id?.startsWith(`${bench}-`)) return undefined;
  const index = Number(id.slice(bench.length + 1));
  return Number.isInteger(index) && index >= 0 ? index : undefined;
}

/** The first problem zod found, as "field.path: message". */
export function firstIssue(error: z.ZodError): string {
  const issue = error.issues[0]!;
  return `${issue.path.length ? issue.path.join(".") : "(the job)"}: ${issue.message}`;
}
