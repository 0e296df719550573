/**
 * A bench worker thread: receives the prepared dataset once (workerData,
 * structured-cloned, so every worker trains on exactly the arrays the main
 * thread validated) and then runs jobs one at a time, posting each epoch and
 * each result back. Threads, not a loop in the main thread, for two reasons:
 * jax-js runs on one core, so two workers use both cores of a 2-core machine;
 * and a training step is synchronous, so only a main thread that is not
 * training can react to Ctrl-C at once.
 */
import { parentPort, workerData } from "node:worker_threads";
import type { PreparedDataset } from "../data/types.ts";
import { startEngine } from "../engine/backend.ts";
import { FusionkitError } from "../errors.ts";
import { runJob, type BenchJob } from "./job.ts";
import type { ToMain, ToWorker, WorkerData } from "./protocol.ts";
import { warmUp } from "./warmup.ts";

const port = parentPort!;
const { dataset, warmup } = workerData as WorkerData;
const post = (message: ToMain) => port.postMessage(message);

await startEngine();
await warmUp(dataset, warmup);
port.on("message", async (message: ToWorker) => {
  if (message.type !== "job") return;
  const job: BenchJob = message.job;
  try {
    const output = await runJob(dataset, job, (epoch) => post({ type: "epoch", index: job.index, epoch }), message.context);
    post({ type: "result", index: job.index, output });
  } catch (error) {
    const e = error as Error;
    post({ type: "failed", index: job.index, message: e?.message ?? String(error), userError: error instanceof FusionkitError, stack: e?.stack ?? "" });
  }
});
post({ type: "ready" });
