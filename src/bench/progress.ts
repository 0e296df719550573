/**
 * Bench progress on stderr: progress bars with an ETA on a terminal
 * (cli-progress: one bar for the whole bench, one per method counting its
 * epochs over all seeds), one plain line per finished run when stderr is not a
 * terminal (CI logs, pipes), nothing with --quiet. Stdout carries only the
 * final summary, so `fusionkit bench > leaderboard.txt` captures just that.
 */
import cliProgress from "cli-progress";
import type { BenchJob, JobEpoch } from "./job.ts";
import type { JobFailure } from "./pool.ts";
import type { RunResult } from "./results.ts";

export type PlanSummary = {
  jobs: BenchJob[];
  methods: string[];
  seeds: number[];
  workers: number;
  /** where the runs execute ("2 workers", "the queue at redis://..."); default: the worker count */
  where?: string;
  metricName: string;
};

const whereOf = (p: PlanSummary) => p.where ?? `${p.workers} worker${p.workers > 1 ? "s" : ""}`;

export interface BenchReporter {
  log(message: string): void;
  start(plan: PlanSummary): void;
  jobStart(job: BenchJob): void;
  epoch(job: BenchJob, epoch: JobEpoch): void;
  jobEnd(job: BenchJob, outcome: { result: RunResult } | { failure: JobFailure }): void;
  stop(): void;
}

export const quietReporter: BenchReporter = { log() {}, start() {}, jobStart() {}, epoch() {}, jobEnd() {}, stop() {} };

function formatDuration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return "?";
  const s = Math.round(ms / 1000);
  return s >= 60 ? `${Math.floor(s / 60)}m${String(s % 60).padStart(2, "0")}s` : `${s}s`;
}

/** Remaining time at the throughput so far: wall time per finished run (workers in parallel included) x runs to go. */
function eta(started: number, finished: number, total: number): string {
  if (finished === 0) return "?";
  return formatDuration(((performance.now() - started) / finished) * (total - finished));
}

export function plainReporter(write: (line: string) => void = (line) => process.stderr.write(`${line}\n`)): BenchReporter {
  let plan: PlanSummary | undefined;
  let finished = 0;
  let started = 0;
  return {
    log: write,
    start(p) {
      plan = p;
      started = performance.now();
      write(`bench: ${p.methods.length} methods x ${p.seeds.length} seeds = ${p.jobs.length} runs on ${whereOf(p)}`);
    },
    jobStart() {},
    epoch() {},
    jobEnd(job, outcome) {
      finished++;
      const total = plan?.jobs.length ?? finished;
      const prefix = `[${String(finished).padStart(String(total).length)}/${total}] ${job.method} seed ${job.seed}`;
      if ("failure" in outcome) {
        write(`${prefix}: FAILED: ${outcome.failure.message}`);
        return;
      }
      const r = outcome.result;
      const metric = plan?.metricName ?? Object.keys(r.metrics)[0]!;
      write(
        `${prefix}: test ${metric} ${(r.metrics[metric] ?? NaN).toFixed(4)} (${r.stoppedBy === "converged" || r.stoppedBy === "iterations" || r.stoppedBy === "no-progress" ? `${r.epochsRun} L-BFGS iterations` : `best epoch ${r.bestEpoch}/${r.epochsRun}`}, ${r.stoppedBy}, train ${(r.trainMs / 1000).toFixed(1)} s) ETA ${eta(started, finished, total)}`,
      );
    },
    stop() {},
  };
}

export function terminalReporter(stream: NodeJS.WriteStream = process.stderr): BenchReporter {
  const multibar = new cliProgress.MultiBar(
    { stream, clearOnComplete: false, hideCursor: true, autopadding: true, barsize: 20, fps: 5, format: " {name} |{bar}| {value}/{total} {unit} | {status}" },
    cliProgress.Presets.shades_classic,
  );
  let overall: cliProgress.SingleBar | undefined;
  const methodBars = new Map<string, { bar: cliProgress.SingleBar; done: number }>();
  let plan: PlanSummary | undefined;
  let finished = 0;
  let started = 0;
  const width = (names: string[]) => Math.max(...names.map((n) => n.length), "all runs".length);
  let pad = 8;
  return {
    log(message) {
      if (overall) multibar.log(`${message}\n`);
      else stream.write(`${message}\n`);
    },
    start(p) {
      plan = p;
      started = performance.now();
      pad = width(p.methods);
      overall = multibar.create(p.jobs.length, 0, { name: "all runs".padEnd(pad), unit: "runs", status: `ETA ? on ${whereOf(p)}` });
      const epochsPerMethod = new Map<string, number>();
      for (const job of p.jobs) epochsPerMethod.set(job.method, (epochsPerMethod.get(job.method) ?? 0) + job.epochs);
      for (const method of p.methods) {
        methodBars.set(method, { bar: multibar.create(epochsPerMethod.get(method) ?? 0, 0, { name: method.padEnd(pad), unit: "epochs", status: "waiting" }), done: 0 });
      }
    },
    jobStart(job) {
      methodBars.get(job.method)?.bar.update({ status: `seed ${job.seed}: starting` });
    },
    epoch(job, e) {
      const entry = methodBars.get(job.method);
      if (!entry) return;
      entry.bar.increment(1, { status: `seed ${job.seed} epoch ${e.epoch}/${e.epochs}: loss ${e.trainLoss.toFixed(3)}, val ${e.valMetric.toFixed(3)}` });
    },
    jobEnd(job, outcome) {
      finished++;
      const entry = methodBars.get(job.method);
      if (entry) {
        // Early stopping skips the rest of the run's epochs: count them as done so the bar reaches its end.
        entry.done += job.epochs;
        const metric = plan?.metricName ?? "";
        const status = "failure" in outcome ? `seed ${job.seed}: FAILED` : `seed ${job.seed}: test ${(outcome.result.metrics[metric] ?? NaN).toFixed(3)}`;
        entry.bar.update(entry.done, { status });
      }
      if ("failure" in outcome) this.log(`${job.method} seed ${job.seed} FAILED: ${outcome.failure.message}`);
      overall?.update(finished, { status: `ETA ${eta(started, finished, plan?.jobs.length ?? finished)}, elapsed ${formatDuration(performance.now() - started)}` });
    },
    stop() {
      multibar.stop();
    },
  };
}

export function reporterFor(options: { quiet?: boolean; stream?: NodeJS.WriteStream }): BenchReporter {
  if (options.quiet) return quietReporter;
  const stream = options.stream ?? process.stderr;
  return stream.isTTY ? terminalReporter(stream) : plainReporter((line) => stream.write(`${line}\n`));
}
