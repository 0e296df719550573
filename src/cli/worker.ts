/**
 * `fusionkit worker --queue redis://...`: runs bench jobs that
 * `fusionkit bench --queue` put on a Redis queue, on as many machines as you
 * start it on (docs/scale.md). Registration only; the run is src/cli/actions/worker.ts.
 */
import { availableParallelism } from "node:os";
import type { Command } from "commander";
import { positiveInt } from "./options.ts";

export type WorkerFlags = { queue: string; concurrency: number; lockMs: number; stalledCheckMs: number; maxStalled: number };

// Defaults live here, not in src/bench/queue/worker.ts: importing that loads BullMQ, and registration must stay cheap.
export const workerFlagDefaults = { lockMs: 30_000, stalledCheckMs: 15_000, maxStalled: 2 } as const;

export function register(program: Command): void {
  program
    .command("worker")
    .description("run bench jobs from a Redis queue (see `fusionkit bench --queue`); start one on every machine that should train")
    .requiredOption("--queue <redis-url>", "the queue's Redis server: redis://[:password@]HOST:PORT[/db]")
    .option("--concurrency <n>", "jobs run at once, one worker thread (one core) each", positiveInt, availableParallelism())
    .option("--lock-ms <ms>", "a running job's lock lasts this long unrenewed: the job of a worker that died is retried after about this long", positiveInt, workerFlagDefaults.lockMs)
    .option("--stalled-check-ms <ms>", "how often to look for jobs whose worker died", positiveInt, workerFlagDefaults.stalledCheckMs)
    .option("--max-stalled <n>", "times a job may be taken back from a dead worker before it is failed", positiveInt, workerFlagDefaults.maxStalled)
    .action(async (flags: WorkerFlags) => {
      const { runWorkerCommand } = await import("./actions/worker.ts");
      await runWorkerCommand(flags);
    });
}
