/**
 * Queue benchmark (docs/scale.md): one bench run on 1, 2 and 4 `fusionkit
 * worker` processes (concurrency 1 each) through a temporary redis-server,
 * beside the same bench on local worker threads, and the queue's per-job
 * overhead.
 *
 *   wall      = results.json wallMs of the bench (plan + runs + outputs)
 *   cold      = the first bench after the workers started (each worker starts
 *               its thread, the engine and a warm-up run inside its first job)
 *   warm      = later benches on the same workers (threads and dataset kept)
 *   overhead  = with 1 worker, warm: (time from the first job enqueued to the
 *               last result received - the runs' own time in the worker
 *               thread) / runs: fetching, locking, progress, storing the
 *               result, the event back to the coordinator
 *
 * Run: tsx bench/queue.ts [--workers 1,2,4] [--repeats 2] [--methods early,late_mean,gmu,lmf] [--seeds 2] [--epochs 3]
 */
import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { cpus, loadavg, tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { quietReporter, type BenchReporter } from "../src/bench/progress.ts";
import { queueExecutor } from "../src/bench/queue/coordinator.ts";
import type { BenchResults } from "../src/bench/results.ts";
import { benchToDir } from "../src/cli/actions/benchOutputs.ts";
import { RedisServer } from "./fixtures/redisServer.ts";

const { values } = parseArgs({
  options: {
    workers: { type: "string", default: "1,2,4" },
    repeats: { type: "string", default: "2" },
    methods: { type: "string", default: "early,late_mean,gmu,lmf" },
    seeds: { type: "string", default: "2" },
    epochs: { type: "string", default: "3" },
  },
});
const workerCounts = values.workers.split(",").map(Number);
const repeats = Number(values.repeats);
const bin = resolve(import.meta.dirname, "../bin/fusionkit.mjs");
const dir = mkdtempSync(join(tmpdir(), "fusionkit-bench-queue-"));
const cacheDir = join(dir, "cache");
const options = { data: "movies", methods: values.methods.split(","), seeds: Number(values.seeds), epochs: Number(values.epochs), latencySamples: 10, explain: false, retrieval: false, cacheDir };
const jobs = options.methods.length * options.seeds;

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};
const seconds = (ms: number) => (ms / 1000).toFixed(1);
const accuracies = (r: BenchResults) => JSON.stringify(r.methods.map((m) => m.runs.map((run) => run.metrics.accuracy)));

/** A reporter that times the run phase: from the jobs' start (after planning and enqueueing) to the last result. */
function timing(): { reporter: BenchReporter; runMs: () => number } {
  let started = 0;
  let last = 0;
  return { reporter: { ...quietReporter, start: () => (started = performance.now()), jobEnd: () => (last = performance.now()) }, runMs: () => last - started };
}

function startWorker(url: string): Promise<ChildProcess> {
  const child = spawn(process.execPath, [bin, "worker", "--queue", url, "--concurrency", "1"], { env: { ...process.env, FUSIONKIT_CACHE: cacheDir } });
  let log = "";
  return new Promise((ready, fail) => {
    child.stderr.on("data", (d: Buffer) => {
      log += d.toString();
      if (/ready:/u.test(log)) ready(child);
    });
    child.on("exit", (code) => fail(new Error(`worker exited with ${code}: ${log}`)));
  });
}

const stop = (child: ChildProcess) => new Promise<void>((done) => (child.exitCode !== null ? done() : (child.removeAllListeners("exit"), child.on("exit", () => done()), child.kill("SIGTERM"))));

const loadBefore = loadavg()[0]!;
const rows: string[] = [];
const seen = new Set<string>();
const redis = await RedisServer.start(join(dir, "redis"), randomBytes(8).toString("hex"));
try {
  const local: Record<number, number[]> = {};
  for (const threads of [1, 2]) {
    local[threads] = [];
    for (let r = 0; r < repeats; r++) {
      const { results } = await benchToDir({ ...options, workers: threads }, join(dir, `local-${threads}-${r}`));
      local[threads]!.push(results.wallMs);
      seen.add(accuracies(results));
    }
    // a local bench starts its threads every time: it is always "cold"
    rows.push(`| local, ${threads} worker thread${threads > 1 ? "s" : ""} | ${seconds(median(local[threads]!))} | - | ${(median(local[1]!) / median(local[threads]!)).toFixed(2)}x vs 1 thread |`);
  }
  let oneWorkerWarm = NaN;
  const overheads: number[] = [];
  for (const count of workerCounts) {
    const workers = await Promise.all(Array.from({ length: count }, () => startWorker(redis.url)));
    const walls: number[] = [];
    try {
      for (let r = 0; r <= repeats; r++) {
        const clock = timing();
        const { results } = await benchToDir(options, join(dir, `queue-${count}-${r}`), { executor: queueExecutor(redis.url), reporter: clock.reporter });
        seen.add(accuracies(results));
        for (const m of results.methods) for (const e of m.errors ?? []) console.error(`queue, ${count} workers, bench ${r}: ${m.name} seed ${e.seed} failed: ${e.message}`);
        walls.push(results.wallMs);
        const workMs = Object.values(results.config.queue!.workMsByWorker).reduce((a, b) => a + b, 0);
        if (count === 1 && r > 0) overheads.push((clock.runMs() - workMs) / jobs);
      }
    } finally {
      await Promise.all(workers.map(stop));
    }
    const warm = median(walls.slice(1));
    if (count === 1) oneWorkerWarm = warm;
    rows.push(`| queue, ${count} worker process${count > 1 ? "es" : ""} | ${seconds(walls[0]!)} | ${seconds(warm)} | ${(oneWorkerWarm / warm).toFixed(2)}x vs 1 worker |`);
  }
  console.log(`bench: movies, ${options.methods.join(",")} x ${options.seeds} seeds = ${jobs} runs, ${options.epochs} epochs, --no-explain --no-retrieval`);
  console.log(`machine: ${cpus().length} x ${cpus()[0]?.model ?? "cpu"}, node ${process.version}, 1-min load average ${loadBefore.toFixed(1)} before, ${loadavg()[0]!.toFixed(1)} after`);
  console.log(`| executor | cold wall s (local: median of ${repeats}) | warm wall s (median of ${repeats}) | speed-up |`);
  console.log("|---|--:|--:|--:|");
  for (const row of rows) console.log(row);
  console.log(`queue overhead per job (1 worker, warm): ${overheads.map((ms) => ms.toFixed(0)).join(", ")} ms (median ${median(overheads).toFixed(0)} ms)`);
  console.log(`accuracies identical in every bench above: ${seen.size === 1 ? "yes" : `NO (${seen.size} different sets)`}`);
} finally {
  await redis.stop();
  rmSync(dir, { recursive: true, force: true });
}
