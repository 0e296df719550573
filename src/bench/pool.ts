/**
 * Runs bench jobs on a few worker threads, in plan order, and stops them all
 * at once when the abort signal fires (Ctrl-C): finished results have already
 * been handed out through `onResult`; jobs in flight are dropped, never
 * reported half-done.
 *
 * Warm start (src/bench/warmStart.ts): a job that starts from unimodal runs'
 * encoders waits until those runs of this pool have ended, and is handed the
 * encoders they returned (kept here, never in the results); a worker with no
 * job ready waits for the next result. A source run that failed hands nothing,
 * and the job trains that unimodal model itself.
 *
 * A job that throws is reported through `onFailure` and the worker moves on;
 * a worker that dies (a crash inside the engine) is replaced, and its job is
 * reported as failed. A worker that dies before it is ready is an environment
 * problem, not a method's, so the whole pool fails with it.
 */
import { createRequire } from "node:module";
import { pathToFileURL } from "node:url";
import { Worker } from "node:worker_threads";
import type { PreparedDataset } from "../data/types.ts";
import type { ParamTree } from "../engine/params.ts";
import type { BenchJob, JobContext, JobEpoch, JobOutput } from "./job.ts";
import type { ToMain, ToWorker, WorkerData } from "./protocol.ts";
import { encoderSourceIndices } from "./warmStart.ts";

export type JobFailure = { message: string; userError: boolean; stack: string };

export type PoolEvents = {
  onStart?(job: BenchJob): void;
  onEpoch?(job: BenchJob, epoch: JobEpoch): void;
  onResult?(job: BenchJob, output: JobOutput): void;
  onFailure?(job: BenchJob, failure: JobFailure): void;
};

const workerUrl = new URL("./worker.ts", import.meta.url);

/**
 * The worker is TypeScript: it needs tsx's loader. A process started with
 * `--import tsx` passes that on through execArgv, but one that registered tsx
 * from code (bin/fusionkit.mjs) does not, and Node's own type stripping
 * cannot run this code base (parameter properties), so the loader is named
 * explicitly unless it is already there. Only module-loading flags are passed
 * on: workers refuse per-process V8 flags such as --expose-gc.
 */
const loaderFlags = new Set(["--import", "--require", "-r", "--loader", "--experimental-loader"]);

export function workerExecArgv(parent: string[] = process.execArgv): string[] {
  const kept: string[] = [];
  for (let i = 0; i < parent.length; i++) {
    const arg = parent[i]!;
    if (loaderFlags.has(arg) && i + 1 < parent.length) kept.push(arg, parent[++i]!);
    else if ([...loaderFlags].some((flag) => arg.startsWith(`${flag}=`))) kept.push(arg);
  }
  const loader = pathToFileURL(createRequire(import.meta.url).resolve("tsx")).href;
  const hasTsx = kept.some((arg) => arg === loader || arg === "tsx" || arg.endsWith("=tsx") || arg.endsWith(`=${loader}`));
  return hasTsx ? kept : [...kept, "--import", loader];
}

export function runJobsInWorkers(
  dataset: PreparedDataset,
  jobs: BenchJob[],
  workerCount: number,
  warmup: WorkerData["warmup"],
  events: PoolEvents,
  signal?: AbortSignal,
): Promise<{ aborted: boolean }> {
  return new Promise((resolve, reject) => {
    const waiting = [...jobs];
    const inPool = new Set(jobs.map((j) => j.index));
    // jobs some later job starts from: their encoders, by job index, once they have ended (undefined: it failed)
    const sources = new Set([...encoderSourceIndices(jobs)].filter((i) => inPool.has(i)));
    const ended = new Map<number, Record<string, ParamTree> | undefined>();
    const idle: (() => void)[] = [];
    let settled = false;
    const live = new Set<Worker>();
    const canStart = (job: BenchJob) => Object.values(job.encodersFrom ?? {}).every((s) => !inPool.has(s.index) || ended.has(s.index));
    const contextOf = (job: BenchJob): JobContext => {
      const encoders: Record<string, ParamTree> = {};
      for (const [modality, source] of Object.entries(job.encodersFrom ?? {})) {
        const encoder = ended.get(source.index)?.[modality];
        if (encoder) encoders[modality] = encoder;
      }
      return { ...(Object.keys(encoders).length ? { encoders } : {}), ...(sources.has(job.index) ? { shareEncoder: true } : {}) };
    };
    const end = (job: BenchJob, output?: JobOutput) => {
      if (sources.has(job.index)) ended.set(job.index, output?.encoders);
      for (const wake of idle.splice(0)) wake();
    };
    const execArgv = workerExecArgv();

    const settle = (outcome: { aborted: boolean } | Error) => {
      if (settled) return;
      settled = true;
      signal?.removeEventListener("abort", onAbort);
      for (const worker of live) void worker.terminate();
      live.clear();
      if (outcome instanceof Error) reject(outcome);
      else resolve(outcome);
    };
    const onAbort = () => settle({ aborted: true });

    const startWorker = () => {
      const worker = new Worker(workerUrl, { workerData: { dataset, warmup } satisfies WorkerData, execArgv });
      live.add(worker);
      let ready = false;
      let current: BenchJob | undefined;

      const assign = () => {
        // a worker that died while it waited for a job to become ready takes none
        if (settled || !live.has(worker)) return;
        if (waiting.length === 0) {
          live.delete(worker);
          void worker.terminate();
          if (live.size === 0) settle({ aborted: false });
          return;
        }
        const at = waiting.findIndex(canStart);
        if (at < 0) {
          idle.push(assign);
          return;
        }
        current = waiting.splice(at, 1)[0]!;
        events.onStart?.(current);
        worker.postMessage({ type: "job", job: current, context: contextOf(current) } satisfies ToWorker);
      };

      const died = (error: Error) => {
        if (settled || !live.has(worker)) return;
        live.delete(worker);
        if (!ready) {
          settle(new Error(`a bench worker failed to start: ${error.message}`, { cause: error }));
          return;
        }
        if (current) {
          events.onFailure?.(current, { message: `the worker running it died: ${error.message}`, userError: false, stack: error.stack ?? "" });
          end(current);
        }
        current = undefined;
        if (waiting.length > 0) startWorker();
        else if (live.size === 0) settle({ aborted: false });
      };

      worker.on("message", (message: ToMain) => {
        if (settled) return;
        switch (message.type) {
          case "ready":
            ready = true;
            assign();
            break;
          case "epoch":
            if (current) events.onEpoch?.(current, message.epoch);
            break;
          case "result": {
            const { encoders: _kept, ...output } = message.output;
            events.onResult?.(current!, output);
            end(current!, message.output);
            current = undefined;
            assign();
            break;
          }
          case "failed":
            events.onFailure?.(current!, { message: message.message, userError: message.userError, stack: message.stack });
            end(current!);
            current = undefined;
            assign();
            break;
        }
      });
      worker.on("error", died);
      worker.on("exit", (code) => died(new Error(`exited with code ${code}`)));
    };

    if (signal?.aborted) return settle({ aborted: true });
    signal?.addEventListener("abort", onAbort, { once: true });
    if (jobs.length === 0) return settle({ aborted: false });
    for (let i = 0; i < Math.min(workerCount, jobs.length); i++) startWorker();
  });
}
