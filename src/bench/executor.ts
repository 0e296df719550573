/**
 * Where a bench's jobs run. The runner (src/bench/runner.ts) plans, collects
 * results and writes the outputs; an executor only runs the planned jobs and
 * reports each through the pool events. The default runs them on worker
 * threads of this process (src/bench/pool.ts); `fusionkit bench --queue`
 * passes the Redis queue's (src/bench/queue/coordinator.ts).
 */
import type { BenchPlan } from "./plan.ts";
import { runJobsInWorkers, type PoolEvents } from "./pool.ts";
import type { BenchResults } from "./results.ts";

export type ExecutionInfo = {
  /** runs trained in parallel, as far as the executor knows (progress line, results.json) */
  workers: number;
  /** the progress line's "on ..." */
  where: string;
  /** recorded in results.json config.queue */
  queue?: NonNullable<BenchResults["config"]["queue"]>;
};

export interface JobExecutor {
  /** after the plan passed its checks, before the first job: connect, enqueue */
  start(plan: BenchPlan, log: (message: string) => void): Promise<ExecutionInfo>;
  /** resolves when every job reported a result or a failure, or with aborted: true when `signal` fired */
  run(plan: BenchPlan, events: PoolEvents, signal?: AbortSignal): Promise<{ aborted: boolean }>;
  /** always called, after run or after a failure of start/run */
  close(): Promise<void>;
}

export const localExecutor: JobExecutor = {
  async start(plan) {
    return { workers: plan.workers, where: `${plan.workers} worker${plan.workers > 1 ? "s" : ""}` };
  },
  run(plan, events, signal) {
    return runJobsInWorkers(plan.dataset, plan.jobs, plan.workers, { batchSize: plan.options.batchSize, encoderDim: plan.options.encoderDim }, events, signal);
  },
  async close() {},
};
