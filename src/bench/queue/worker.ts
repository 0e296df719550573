/**
 * `fusionkit worker`: pulls bench jobs from the Redis queue (BullMQ) and runs
 * them on worker threads with the bench's own job code (src/bench/job.ts via
 * src/bench/worker.ts), any number of these processes on any number of
 * machines. Per job: validate the JSON against the protocol schema, refuse it
 * when the coordinator's code version differs from this worker's, prepare the
 * dataset it names (or take it from the on-disk cache and this process's
 * memory) and refuse it when the content hash differs, run, return the result.
 *
 * Reliability, all of it BullMQ's: a job's lock is renewed every lockMs / 2
 * from this process's main thread, which never trains; if this process dies,
 * another worker's stalled-job check (every stalledCheckMs) finds the expired
 * lock and puts the job back in the queue, at most maxStalled times (a job that
 * kills every worker it meets does not loop forever). A job that fails (bad
 * data, a refused job, a crash in the engine) fails once: jobs are enqueued
 * with one attempt and failures are thrown as UnrecoverableError.
 */
import { hostname } from "node:os";
import { Queue, UnrecoverableError, Worker, type Job } from "bullmq";
import { Redis } from "ioredis";
import { loadDataset } from "../../data/load.ts";
import type { PreparedDataset } from "../../data/types.ts";
import { requirePositiveInteger } from "../../errors.ts";
import { checkReachable, redisOptions } from "./connection.ts";
import { codeVersion, datasetHash } from "./identity.ts";
import { firstIssue, queueJobSchema, queueName, type QueueJob, type QueueProgress, type QueueResult } from "./protocol.ts";
import { sourceEncoders, storeEncoders } from "./sharedEncoders.ts";
import { JobThreads, ThreadJobError } from "./threads.ts";
import { parseQueueUrl } from "./url.ts";

export type QueueWorkerOptions = {
  queue: string;
  /** jobs run at once, one worker thread each */
  concurrency: number;
  /** a job's lock lasts this long without renewal: a killed worker's job is retried after about this long */
  lockMs: number;
  /** how often this worker looks for other workers' stalled jobs */
  stalledCheckMs: number;
  /** times a job may be recovered from a dead worker before it is failed */
  maxStalled: number;
  cacheDir?: string;
  log: (line: string) => void;
};

type DatasetHost = { dataset: PreparedDataset; hash: string; threads: JobThreads };

export type QueueWorker = {
  name: string;
  codeVersion: string;
  /** stop taking jobs; `force` drops the running ones (another worker retries them), otherwise waits for them */
  close(force?: boolean): Promise<void>;
};

export async function startQueueWorker(options: QueueWorkerOptions): Promise<QueueWorker> {
  const connection = parseQueueUrl(options.queue);
  await checkReachable(connection);
  const name = `${hostname()}:${process.pid}`;
  const code = codeVersion();
  const log = options.log;
  /** prepared datasets and their threads; `users` counts the jobs holding one, so only an unused one is let go */
  const hosts = new Map<string, { host: Promise<DatasetHost>; users: number }>();
  // warm start: encoders stored by source jobs' workers, and those jobs' states (sharedEncoders.ts)
  const shared = new Redis(redisOptions(connection));
  const jobs = new Queue(queueName, { connection: redisOptions(connection) });
  let closing = false;

  /** The dataset a job names, with this worker's threads for it; the caller must call the returned release(). */
  const hostFor = (data: QueueJob): { host: Promise<DatasetHost>; release: () => void } => {
    const key = JSON.stringify([data.dataset.source, data.dataset.maxRows, data.dataset.skipBadRows === true, data.dataset.encoders ?? null, data.warmup]);
    let entry = hosts.get(key);
    if (!entry) {
      // each thread holds a copy of its dataset: another dataset's threads go when nothing uses them (a worker usually serves one bench at a time)
      for (const [other, unused] of hosts) {
        if (unused.users > 0) continue;
        hosts.delete(other);
        unused.host.then((h) => h.threads.close(), () => {});
      }
      const host = (async () => {
        const dataset = await loadDataset(data.dataset.source, {
          ...(data.dataset.maxRows !== null ? { maxRows: data.dataset.maxRows } : {}),
          ...(data.dataset.skipBadRows ? { skipBadRows: true } : {}),
          ...(data.dataset.encoders !== undefined ? { encoders: data.dataset.encoders } : {}),
          ...(data.dataset.allowDownload !== undefined ? { allowDownload: data.dataset.allowDownload } : {}),
          ...(options.cacheDir !== undefined ? { cacheDir: options.cacheDir } : {}),
          log: (message) => log(message),
        });
        const threads = new JobThreads({ dataset, warmup: data.warmup }, options.concurrency);
        return { dataset, hash: datasetHash(dataset), threads };
      })();
      const created = { host, users: 0 };
      entry = created;
      hosts.set(key, created);
      // a dataset that failed to load is tried again by the next job that names it (the files may have been fixed)
      host.catch(() => {
        if (hosts.get(key) === created) hosts.delete(key);
      });
    }
    const held = entry;
    held.users++;
    return { host: held.host, release: () => void held.users-- };
  };

  const processJob = async (job: Job<unknown, QueueResult>): Promise<QueueResult> => {
    const parsed = queueJobSchema.safeParse(job.data);
    if (!parsed.success) {
      throw new UnrecoverableError(`refused by worker ${name}: job ${job.id} is not a fusionkit bench job (${firstIssue(parsed.error)}); only \`fusionkit bench --queue\` should add jobs to the "${queueName}" queue`);
    }
    const data = parsed.data;
    const run = `${data.job.method} seed ${data.job.seed}`;
    if (data.codeVersion !== code) {
      throw new UnrecoverableError(
        `refused by worker ${name}: the bench was planned with ${data.codeVersion} but this worker runs ${code}. Run the same fusionkit (same commit, then npm ci) on the coordinator and every worker`,
      );
    }
    const { host: preparing, release } = hostFor(data);
    try {
      let host: DatasetHost;
      try {
        host = await preparing;
      } catch (error) {
        throw new UnrecoverableError(`worker ${name} cannot prepare dataset "${data.dataset.source}": ${(error as Error).message}`);
      }
      if (host.hash !== data.dataset.hash) {
        throw new UnrecoverableError(
          `refused by worker ${name}: dataset "${data.dataset.source}" prepared here has content hash ${host.hash.slice(0, 12)}, the bench's has ${data.dataset.hash.slice(0, 12)}. ` +
            `Give every machine the same dataset.json and rows (and the same --max-rows)`,
        );
      }
      const started = performance.now();
      let given = {};
      if (data.job.encodersFrom) {
        const { encoders, trainedHere } = await sourceEncoders(jobs, shared, data.bench, data.job.encodersFrom, { stopped: () => closing });
        given = encoders;
        const from = Object.keys(encoders).map((m) => data.job.encodersFrom![m]!.method);
        log(`${run} (job ${job.id}) starts from ${[...from.map((m) => `${m} (stored)`), ...trainedHere.map((m) => `${m}, trained here first`)].join("; ")}`);
      }
      log(`running ${run} (job ${job.id})`);
      try {
        const { encoders, ...output } = await host.threads.run(
          data.job,
          (epoch) => {
            // progress is for the coordinator's bars only: never let it fail the run
            job.updateProgress({ epoch } satisfies QueueProgress).catch(() => {});
          },
          { ...(Object.keys(given).length ? { encoders: given } : {}), ...(data.shareEncoder ? { shareEncoder: true } : {}) },
        );
        // the encoders go to Redis for the jobs that start from them, not back to the coordinator
        if (encoders) await storeEncoders(shared, data.bench, data.job.index, encoders);
        const threadMs = performance.now() - started;
        log(`finished ${run} (job ${job.id}) in ${(threadMs / 1000).toFixed(1)} s`);
        return { output, worker: name, threadMs };
      } catch (error) {
        if (error instanceof ThreadJobError) throw new UnrecoverableError(error.userError ? error.message : `${error.message}\n${error.threadStack}`);
        throw new UnrecoverableError((error as Error).message);
      }
    } finally {
      release();
    }
  };

  const worker = new Worker<unknown, QueueResult>(queueName, processJob, {
    connection: redisOptions(connection),
    concurrency: options.concurrency,
    lockDuration: options.lockMs,
    stalledInterval: options.stalledCheckMs,
    maxStalledCount: options.maxStalled,
    name,
  });
  worker.on("failed", (job, error) => log(`FAILED job ${job?.id ?? "?"}: ${error.message.split("\n")[0]}`));
  worker.on("stalled", (id) => log(`job ${id} stalled (its worker stopped renewing the lock): back in the queue for another worker`));
  let lastError = "";
  worker.on("error", (error) => {
    // ioredis repeats the same error on every reconnection attempt while Redis is down: say it once
    if (error.message !== lastError) log(`queue: ${error.message}`);
    lastError = error.message;
  });
  worker.on("active", () => (lastError = ""));
  await worker.waitUntilReady();
  log(`worker ${name} ready: queue "${queueName}" at ${connection.display}, concurrency ${options.concurrency}, ${code}`);

  return {
    name,
    codeVersion: code,
    async close(force = false) {
      closing = true;
      await worker.close(force);
      await jobs.close().catch(() => {});
      shared.disconnect();
      for (const { host } of hosts.values()) await host.then((h) => h.threads.close()).catch(() => {});
    },
  };
}

export function checkWorkerOptions(options: Pick<QueueWorkerOptions, "concurrency" | "lockMs" | "stalledCheckMs" | "maxStalled">): void {
  requirePositiveInteger(options.concurrency, "--concurrency");
  requirePositiveInteger(options.lockMs, "--lock-ms");
  requirePositiveInteger(options.stalledCheckMs, "--stalled-check-ms");
  requirePositiveInteger(options.maxStalled, "--max-stalled");
}
