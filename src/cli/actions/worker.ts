/**
 * The run of `fusionkit worker` (registered in src/cli/worker.ts): works until
 * stopped. The first Ctrl-C (or SIGTERM) stops taking jobs and lets the running
 * ones finish; a second one stops at once, and the jobs it dropped are retried
 * by another worker once their locks expire.
 */
import { checkWorkerOptions, startQueueWorker } from "../../bench/queue/worker.ts";
import type { WorkerFlags } from "../worker.ts";

export async function runWorkerCommand(flags: WorkerFlags): Promise<void> {
  const options = { queue: flags.queue, concurrency: flags.concurrency, lockMs: flags.lockMs, stalledCheckMs: flags.stalledCheckMs, maxStalled: flags.maxStalled };
  checkWorkerOptions(options);
  const log = (line: string) => process.stderr.write(`${new Date().toISOString().slice(11, 19)} ${line}\n`);
  const worker = await startQueueWorker({ ...options, log });
  await new Promise<void>((resolve) => {
    let stopping = false;
    const stop = (signal: string) => {
      if (stopping) {
        log(`${signal} again: stopping now; the dropped jobs go to another worker when their locks expire`);
        // not worker.close(true): with Redis unreachable it would wait for a reconnection
        process.exit(130);
      }
      stopping = true;
      log(`${signal}: taking no more jobs, finishing the running ones (${signal} again to stop now)`);
      void worker.close(false).finally(resolve);
    };
    process.on("SIGINT", () => stop("SIGINT"));
    process.on("SIGTERM", () => stop("SIGTERM"));
  });
  log(`worker ${worker.name} stopped`);
}
