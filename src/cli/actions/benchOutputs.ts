/**
 * The bench's files: runBench produces BenchResults, and this is where the
 * CLI keeps them, results.json and report.html in the output directory.
 *
 * Honesty on interruption: every snapshot runBench streams after a finished
 * run is written at once, marked `complete: false`; only the final results of
 * a bench that ran every job say `complete: true`. Each file is written
 * atomically (src/io/atomicWrite.ts), so a SIGKILL at any moment leaves the
 * previous snapshot or the new one, never half a file and never a
 * complete-looking results.json of an unfinished bench. A snapshot that
 * cannot be written (a full disk) stops the bench with that error.
 *
 * An encoder sweep writes one such directory per variant, then sweep.json
 * and index.html beside them.
 */
import { mkdirSync } from "node:fs";
import { join, relative, resolve } from "node:path";
import { sweepSummary, type EncoderVariant, type SweepSummary } from "../../bench/encoderSweep.ts";
import type { BenchOptions } from "../../bench/options.ts";
import type { BenchResults } from "../../bench/results.ts";
import { runBench, type BenchContext } from "../../bench/runner.ts";
import { writeError, writeFileAtomic } from "../../io/atomicWrite.ts";
import { checkWritableDir } from "../../io/outputs.ts";
import { renderReportHtml } from "../../report/html.ts";
import { sweepHtml } from "../../report/sweep.ts";

export type BenchOutcome = { results: BenchResults; outDir: string; resultsPath: string; reportPath: string };

/** runs/bench-<UTC timestamp>, relative to the working directory. */
export function defaultOutDir(now = new Date()): string {
  const stamp = now.toISOString().replace(/[:]/gu, "-").replace(/\..*$/u, "");
  return join("runs", `bench-${stamp}`);
}

/** Writes results.json and report.html into `dir`, each atomically, so an interrupted write never leaves half a file. */
export function writeBenchOutputs(dir: string, results: BenchResults): { resultsPath: string; reportPath: string } {
  const resultsPath = join(dir, "results.json");
  const reportPath = join(dir, "report.html");
  writeFileAtomic(resultsPath, `${JSON.stringify(results, jsonNumbers, 2)}\n`);
  writeFileAtomic(reportPath, renderReportHtml(results));
  return { resultsPath, reportPath };
}

/** JSON has no NaN/Infinity: they become null (a metric that is undefined here, e.g. Pearson r of a constant). */
function jsonNumbers(_key: string, value: unknown): unknown {
  return typeof value === "number" && !Number.isFinite(value) ? null : value;
}

/**
 * runBench with its outputs in `out` (default runs/bench-<timestamp>): checked
 * writable before anything loads, created when the runs start (not before: a
 * bench refused by its checks or its executor leaves no directory behind).
 */
export async function benchToDir(options: Partial<BenchOptions>, out: string | undefined, context: BenchContext = {}): Promise<BenchOutcome> {
  const given = out ?? defaultOutDir();
  // the path as the user gave it, in the message
  checkWritableDir(given, "bench output");
  const outDir = resolve(given);
  const results = await runBench(options, {
    ...context,
    onStart: () => {
      try {
        mkdirSync(outDir, { recursive: true });
      } catch (error) {
        throw writeError(error, outDir);
      }
    },
    onSnapshot: (snapshot) => writeBenchOutputs(outDir, snapshot),
  });
  return { results, outDir, ...writeBenchOutputs(outDir, results) };
}

export type SweepOutcome = { outDir: string; summary: SweepSummary; outcomes: BenchOutcome[]; indexPath: string };

/**
 * One bench per encoder variant, in order (each uses every worker), in
 * <out>/<variant slug>/; stops after a variant that did not complete. Then
 * sweep.json and index.html: the variants side by side.
 */
export async function sweepToDir(options: Partial<BenchOptions>, variants: EncoderVariant[], out: string | undefined, context: BenchContext = {}): Promise<SweepOutcome> {
  const outDir = resolve(out ?? defaultOutDir());
  const outcomes: BenchOutcome[] = [];
  for (const variant of variants) {
    outcomes.push(await benchToDir({ ...options, encoders: variant.encoders as BenchOptions["encoders"] }, join(outDir, variant.slug), context));
    if (!outcomes.at(-1)!.results.complete) break;
  }
  const summary = sweepSummary(
    outcomes.map((o, i) => ({ label: variants[i]!.label, dir: relative(outDir, o.outDir), report: relative(outDir, o.reportPath), results: o.results })),
  );
  writeFileAtomic(join(outDir, "sweep.json"), JSON.stringify(summary, null, 2));
  const indexPath = join(outDir, "index.html");
  writeFileAtomic(indexPath, sweepHtml(summary));
  return { outDir, summary, outcomes, indexPath };
}
