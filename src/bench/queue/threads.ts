/**
 * The worker threads of one `fusionkit worker` process: the bench's own
 * thread script (src/bench/worker.ts, the one the local pool runs), started
 * once per dataset and reused for every job, so a queued run executes exactly
 * the code a local run does. Training on threads also keeps this process's
 * main thread free to renew the jobs' locks in Redis (a training step is
 * synchronous: on the main thread it would let locks expire and BullMQ would
 * hand a running job to another worker).
 */
import { Worker } from "node:worker_threads";
import type { PreparedDataset } from "../../data/types.ts";
import type { BenchJob, JobContext, JobEpoch, JobOutput } from "../job.ts";
import { workerExecArgv } from "../pool.ts";
import type { ToMain, ToWorker, WorkerData } from "../protocol.ts";

const workerUrl = new URL("../worker.ts", import.meta.url);

/** A job that failed in its thread: `userError` as in the local pool (a FusionkitError, not a bug). */
export class ThreadJobError extends Error {
  constructor(message: string, readonly userError: boolean, readonly threadStack: string) {
    super(message);
  }
}

type Running = { job: BenchJob; onEpoch: (epoch: JobEpoch) => void; resolve: (output: JobOutput) => void; reject: (error: Error) => void };

class Thread {
  readonly worker: Worker;
  readonly ready: Promise<void>;
  running: Running | undefined;
  started = false;
  dead = false;

  constructor(data: WorkerData, onDeath: (thread: Thread, error: Error) => void) {
    this.worker = new Worker(workerUrl, { workerData: data, execArgv: workerExecArgv() });
    let markReady!: () => void;
    let failStart!: (error: Error) => void;
    this.ready = new Promise((resolve, reject) => ((markReady = resolve), (failStart = reject)));
    // a start failure is awaited by whoever takes the thread; never an unhandled rejection meanwhile
    this.ready.catch(() => {});
    this.worker.on("message", (message: ToMain) => {
      const current = this.running;
      switch (message.type) {
        case "ready":
          this.started = true;
          markReady();
          break;
        case "epoch":
          current?.onEpoch(message.epoch);
          break;
        case "result":
          this.running = undefined;
          current?.resolve(message.output);
          break;
        case "failed":
          this.running = undefined;
          current?.reject(new ThreadJobError(message.message, message.userError, message.stack));
          break;
      }
    });
    const died = (error: Error) => {
      if (this.dead) return;
      this.dead = true;
      failStart(new Error(`a bench worker thread failed to start: ${error.message}`));
      this.running?.reject(new ThreadJobError(`the worker thread running it died: ${error.message}`, false, error.stack ?? ""));
      this.running = undefined;
      onDeath(this, error);
    };
    this.worker.on("error", died);
    this.worker.on("exit", (code) => died(new Error(`exited with code ${code}`)));
  }
}

export class JobThreads {
  private readonly threads: Thread[] = [];
  private readonly idle: Thread[] = [];
  private readonly waiting: { resolve: (thread: Thread) => void; reject: (error: Error) => void }[] = [];
  private closed = false;
  /** set when a thread fails to start: an environment problem that a new thread would hit again */
  private broken: Error | undefined;

  constructor(private readonly data: WorkerData, count: number) {
    for (let i = 0; i < count; i++) this.add();
  }

  /** Resolves once every thread has started the engine and run its warm-up. */
  async ready(): Promise<void> {
    await Promise.all(this.threads.map((t) => t.ready));
  }

  run(job: BenchJob, onEpoch: (epoch: JobEpoch) => void, context: JobContext = {}): Promise<JobOutput> {
    return this.take().then(async (thread) => {
      await thread.ready;
      try {
        return await new Promise<JobOutput>((resolve, reject) => {
          thread.running = { job, onEpoch, resolve, reject };
          thread.worker.postMessage({ type: "job", job, context } satisfies ToWorker);
        });
      } finally {
        this.release(thread);
      }
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.all(this.threads.map((t) => t.worker.terminate()));
  }

  private add(): void {
    const thread = new Thread(this.data, (dead, error) => {
      this.threads.splice(this.threads.indexOf(dead), 1);
      const at = this.idle.indexOf(dead);
      if (at >= 0) this.idle.splice(at, 1);
      if (this.closed) return;
      // a thread that crashed mid-job is replaced; one that never started is not (the next would fail the same way)
      if (dead.started) return this.add();
      this.broken ??= new Error(`a bench worker thread failed to start: ${error.message}`);
      for (const waiter of this.waiting.splice(0)) waiter.reject(this.broken);
    });
    this.threads.push(thread);
    this.release(thread);
  }

  private take(): Promise<Thread> {
    if (this.broken) return Promise.reject(this.broken);
    const thread = this.idle.pop();
    if (thread) return Promise.resolve(thread);
    return new Promise((resolve, reject) => this.waiting.push({ resolve, reject }));
  }

  private release(thread: Thread): void {
    if (thread.dead) return;
    const next = this.waiting.shift();
    if (next) next.resolve(thread);
    else this.idle.push(thread);
  }
}
