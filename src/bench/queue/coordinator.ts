/**
 * `fusionkit bench --queue`: the bench's jobs as BullMQ jobs on Redis, run by
 * any number of `fusionkit worker` processes. The runner plans, collects and
 * writes exactly as for a local bench; this executor enqueues the planned
 * jobs and reports each one's result or failure back through the pool events.
 *
 * Each run is reported exactly once: results are keyed by job index and the
 * first one wins, so a result seen twice (the completion event and the sweep,
 * or a job BullMQ ran twice after a lost lock) changes nothing. Completions
 * come from the queue's event stream, and a sweep every `sweepMs` reads the
 * state of every job still outstanding, so an event missed while Redis was
 * restarting delays a result but never loses it. A job that vanished from
 * Redis (a server restarted without persistence) is enqueued again under the
 * same id.
 *
 * Ctrl-C removes this bench's jobs that no worker has taken yet; the ones
 * running finish on their workers and expire from Redis after a week.
 */
import { randomBytes } from "node:crypto";
import { Job, Queue, QueueEvents } from "bullmq";
import { Redis } from "ioredis";
import type { ExecutionInfo, JobExecutor } from "../executor.ts";
import type { BenchJob } from "../job.ts";
import type { BenchPlan } from "../plan.ts";
import type { PoolEvents } from "../pool.ts";
import { encoderSourceIndices } from "../warmStart.ts";
import { encoderKey } from "./sharedEncoders.ts";
import { checkReachable, redisOptions } from "./connection.ts";
import { codeVersion, datasetHash } from "./identity.ts";
import { jobId, jobIndex, protocolVersion, queueName, type QueueJob, type QueueProgress, type QueueResult } from "./protocol.ts";
import { parseQueueUrl, type QueueConnection } from "./url.ts";

/** Finished jobs stay this long in Redis when the coordinator that enqueued them is gone (Ctrl-C, a crash). */
const keepSeconds = 7 * 24 * 3600;

export type QueueExecutorOptions = { sweepMs?: number };

/** Cleanup that must not hang the coordinator while Redis is unreachable (its commands wait for a reconnection). */
function within<T>(ms: number, work: Promise<T>): Promise<T | "timeout"> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<"timeout">((resolve) => (timer = setTimeout(() => resolve("timeout"), ms)));
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}

/** Deletes Redis keys with a short-lived client; 0 when Redis does not answer (the keys then expire). */
async function deleteKeys(connection: QueueConnection, keys: string[]): Promise<number> {
  const client = new Redis(redisOptions(connection));
  try {
    return await client.del(...keys);
  } catch {
    return 0;
  } finally {
    client.disconnect();
  }
}

export function queueExecutor(url: string, options: QueueExecutorOptions = {}): JobExecutor {
  const connection = parseQueueUrl(url);
  const sweepMs = options.sweepMs ?? 2000;
  let queue: Queue | undefined;
  let queueEvents: QueueEvents | undefined;
  let bench = "";
  let info: ExecutionInfo | undefined;
  let log: (message: string) => void = () => {};

  const jobData = (plan: BenchPlan, job: BenchJob, hash: string, code: string, sources: Set<number>): QueueJob => ({
    protocol: protocolVersion,
    bench,
    codeVersion: code,
    dataset: { source: plan.options.data, maxRows: plan.options.maxRows ?? null, skipBadRows: plan.options.skipBadRows === true,
      ...(plan.options.encoders !== undefined ? { encoders: plan.options.encoders } : {}),
      ...(plan.options.allowDownload !== undefined ? { allowDownload: plan.options.allowDownload } : {}),
      name: plan.dataset.name, hash },
    warmup: { batchSize: plan.options.batchSize, encoderDim: plan.options.encoderDim },
    job,
    ...(sources.has(job.index) ? { shareEncoder: true } : {}),
  });
  const jobOptions = (index: number) => ({ jobId: jobId(bench, index), attempts: 1, removeOnComplete: { age: keepSeconds }, removeOnFail: { age: keepSeconds } });
  let enqueue: (jobs: BenchJob[]) => Promise<void> = async () => {};

  return {
    async start(plan, logTo) {
      log = logTo;
      await checkReachable(connection);
      const redis = redisOptions(connection);
      queue = new Queue(queueName, { connection: redis });
      queueEvents = new QueueEvents(queueName, { connection: redis });
      let lastError = "";
      const onError = (error: Error) => {
        // ioredis repeats the same error on every reconnection attempt while Redis is down: say it once
        if (error.message !== lastError) log(`queue: ${error.message}`);
        lastError = error.message;
      };
      queue.on("error", onError);
      queueEvents.on("error", onError);
      await Promise.all([queue.waitUntilReady(), queueEvents.waitUntilReady()]);

      bench = randomBytes(8).toString("hex");
      const hash = datasetHash(plan.dataset);
      const code = codeVersion();
      const sources = encoderSourceIndices(plan.jobs);
      enqueue = async (jobs) => {
        await queue!.addBulk(jobs.map((job) => ({ name: `${job.method} seed ${job.seed}`, data: jobData(plan, job, hash, code, sources), opts: jobOptions(job.index) })));
      };
      const workers = await queue.getWorkersCount();
      await enqueue(plan.jobs);
      log(`queue: ${plan.jobs.length} jobs of bench ${bench} enqueued at ${connection.display}, ${workers} worker${workers === 1 ? "" : "s"} connected`);
      if (plan.jobs.some((job) => job.encodersFrom)) log("queue: warm start: the unimodal runs' workers store their encoders in Redis for the multimodal runs of their seed; a run whose source is neither stored nor running trains that unimodal model itself first");
      if (workers === 0) log(`queue: the jobs wait until a worker connects; start one with: npx fusionkit worker --queue ${connection.display}`);
      info = {
        workers: Math.max(1, workers),
        where: `the queue at ${connection.display} (${workers} worker${workers === 1 ? "" : "s"} connected)`,
        queue: { url: connection.display, name: queueName, bench, codeVersion: code, datasetHash: hash, workersAtStart: workers, runsByWorker: {}, workMsByWorker: {} },
      };
      return info;
    },

    run(plan, events, signal) {
      const q = queue!;
      const qe = queueEvents!;
      const pending = new Map(plan.jobs.map((job) => [job.index, job]));
      const started = new Set<number>();
      return new Promise((resolve) => {
        let settled = false;
        let sweeping = false;

        const cleanup = () => {
          settled = true;
          clearInterval(timer);
          signal?.removeEventListener("abort", onAbort);
          qe.off("active", onActive);
          qe.off("progress", onProgress);
          qe.off("completed", onCompleted);
          qe.off("failed", onFailed);
        };
        const done = async () => {
          cleanup();
          // every result is in results.json by now (the runner writes after each): the queue need not keep
          // them, nor the encoders the warm start shared through Redis (they would expire after a day)
          const shared = plan.jobs.flatMap((job) => Object.entries(job.encodersFrom ?? {}).filter(([, s]) => s.index >= 0).map(([m, s]) => encoderKey(bench, s.index, m)));
          const removed = await within(10_000, Promise.all([
            ...plan.jobs.map((job) => q.remove(jobId(bench, job.index)).catch(() => 0)),
            ...(shared.length ? [deleteKeys(connection, [...new Set(shared)])] : []),
          ]));
          if (removed === "timeout") log(`queue: Redis did not answer; bench ${bench}'s finished jobs stay there and expire after a week`);
          resolve({ aborted: false });
        };
        const onAbort = async () => {
          if (settled) return;
          cleanup();
          // jobs no worker has taken go; a job being run is locked (remove returns 0) and finishes where it runs
          const removed = await within(10_000, Promise.all([...pending.keys()].map((index) => q.remove(jobId(bench, index)).catch(() => 0))));
          if (removed === "timeout") {
            log(`queue: Redis did not answer; bench ${bench}'s waiting jobs could not be removed: workers will run them, and their results expire after a week`);
            return resolve({ aborted: true });
          }
          const left = removed.filter((n) => n === 0).length;
          log(`queue: removed ${removed.length - left} waiting job${removed.length - left === 1 ? "" : "s"} of bench ${bench}${left ? `; ${left} already running finish on their workers, unread` : ""}`);
          resolve({ aborted: true });
        };

        const accept = (index: number, outcome: { result: QueueResult } | { failure: string }) => {
          const job = pending.get(index);
          // a result seen twice (event and sweep, or a job run twice) is reported once
          if (settled || !job) return;
          pending.delete(index);
          if ("result" in outcome) {
            const { runsByWorker, workMsByWorker } = info!.queue!;
            const worker = outcome.result.worker;
            runsByWorker[worker] = (runsByWorker[worker] ?? 0) + 1;
            workMsByWorker[worker] = (workMsByWorker[worker] ?? 0) + outcome.result.threadMs;
            events.onResult?.(job, outcome.result.output);
          } else {
            events.onFailure?.(job, { message: outcome.failure, userError: true, stack: "" });
          }
          if (pending.size === 0) void done();
        };
        const completed = (index: number, value: unknown) => {
          const result = value as QueueResult | undefined;
          const job = pending.get(index);
          if (!job) return;
          if (result?.output?.result?.seed !== job.seed || typeof result.worker !== "string" || typeof result.threadMs !== "number") accept(index, { failure: `a worker returned a malformed result for ${job.method} seed ${job.seed}` });
          else accept(index, { result });
        };

        const onActive = ({ jobId: id }: { jobId: string }) => {
          const index = jobIndex(bench, id);
          if (index === undefined || !pending.has(index) || started.has(index)) return;
          started.add(index);
          events.onStart?.(pending.get(index)!);
        };
        const onProgress = ({ jobId: id, data }: { jobId: string; data: unknown }) => {
          const index = jobIndex(bench, id);
          const epoch = (data as QueueProgress | undefined)?.epoch;
          if (index !== undefined && pending.has(index) && epoch) events.onEpoch?.(pending.get(index)!, epoch);
        };
        const onCompleted = ({ jobId: id, returnvalue }: { jobId: string; returnvalue: unknown }) => {
          const index = jobIndex(bench, id);
          if (index !== undefined) completed(index, typeof returnvalue === "string" ? JSON.parse(returnvalue) : returnvalue);
        };
        const onFailed = ({ jobId: id, failedReason }: { jobId: string; failedReason: string }) => {
          const index = jobIndex(bench, id);
          if (index !== undefined) accept(index, { failure: failedReason });
        };

        const sweep = async () => {
          if (sweeping || settled) return;
          sweeping = true;
          try {
            const vanished: BenchJob[] = [];
            await Promise.all(
              [...pending.keys()].map(async (index) => {
                const id = jobId(bench, index);
                const state = await q.getJobState(id);
                if (state === "completed" || state === "failed") {
                  const job = await Job.fromId<QueueJob, QueueResult>(q, id);
                  if (!job) return;
                  if (state === "completed") completed(index, job.returnvalue);
                  else accept(index, { failure: job.failedReason });
                } else if (state === "unknown" && pending.has(index)) {
                  vanished.push(pending.get(index)!);
                }
              }),
            );
            if (vanished.length && !settled) {
              log(`queue: ${vanished.length} job${vanished.length === 1 ? "" : "s"} of bench ${bench} vanished from Redis (restarted without persistence?): enqueued again`);
              await enqueue(vanished);
            }
          } catch (error) {
            log(`queue: ${(error as Error).message}`);
          } finally {
            sweeping = false;
          }
        };

        qe.on("active", onActive);
        qe.on("progress", onProgress);
        qe.on("completed", onCompleted);
        qe.on("failed", onFailed);
        const timer = setInterval(() => void sweep(), sweepMs);
        if (signal?.aborted) return void onAbort();
        signal?.addEventListener("abort", onAbort, { once: true });
        if (pending.size === 0) return void done();
        void sweep();
      });
    },

    async close() {
      const closing = Promise.all([queueEvents?.close().catch(() => {}), queue?.close().catch(() => {})]);
      if ((await within(5000, closing)) === "timeout") {
        // Redis is gone: drop the connections rather than wait for it
        void queueEvents?.disconnect();
        void queue?.disconnect();
      }
    },
  };
}
