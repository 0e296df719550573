/**
 * The leaderboard as text (stdout) and the fusion-vs-unimodal comparison, both
 * from results.json data only.
 */
import type { BenchResults, LeaderboardRow } from "../bench/results.ts";
import { formatP, type PairedTest } from "../bench/significance.ts";
import { count, fixed, meanStd } from "./format.ts";

export type FusionComparison = {
  bestFusion: LeaderboardRow;
  bestUnimodal: LeaderboardRow;
  /** best fusion mean minus best unimodal mean, signed so positive = fusion better */
  margin: number;
  /** the larger of the two methods' seed-to-seed standard deviations */
  seedStd: number;
  fusionWins: boolean;
  /** margin > seedStd (and fusion better); needs at least two seeds per method to mean anything */
  beyondSeedNoise: boolean;
};

export function compareFusionToUnimodal(results: BenchResults): FusionComparison | undefined {
  const rows = results.leaderboard.filter((r) => Number.isFinite(r.metric.mean));
  const bestFusion = rows.find((r) => r.family !== "unimodal" && r.family !== "linear");
  const bestUnimodal = rows.find((r) => r.family === "unimodal");
  if (!bestFusion || !bestUnimodal) return undefined;
  const sign = results.config.primaryMetric.higherIsBetter ? 1 : -1;
  const margin = sign * (bestFusion.metric.mean - bestUnimodal.metric.mean);
  const seedStd = Math.max(bestFusion.metric.std, bestUnimodal.metric.std);
  return { bestFusion, bestUnimodal, margin, seedStd, fusionWins: margin > 0, beyondSeedNoise: margin > 0 && margin > seedStd };
}

/** One claim with its test: "+0.081 (p < 0.001, significant)". */
function claim(t: PairedTest, alpha: number): string {
  const sign = t.delta >= 0 ? "+" : "";
  const verdict = t.delta > 0 && t.p < alpha ? "significant" : "not significant";
  return `${sign}${fixed(t.delta, 3)} (paired bootstrap over ${t.seeds} seed${t.seeds === 1 ? "" : "s"} x ${t.groups ? `${t.groups} groups of the ${t.rows} test rows` : `${t.rows} test rows`}, ${formatP(t.p, t.resamples)}: ${verdict} at ${alpha})`;
}

export function describeComparison(results: BenchResults): string | undefined {
  const cmp = results.comparisons;
  if (cmp?.fusionVsUnimodal) {
    const byName = new Map(results.leaderboard.map((r) => [r.method, r]));
    const stat = (name: string) => (byName.get(name) ? ` (${meanStd(byName.get(name)!.metric)})` : "");
    const u = cmp.fusionVsUnimodal;
    const parts = [`Best fusion ${u.better}${stat(u.better)} vs best unimodal ${u.worse}${stat(u.worse)}: accuracy ${claim(u, cmp.alpha)}`];
    if (cmp.fusionVsLinear) parts.push(`vs ${cmp.fusionVsLinear.worse}${stat(cmp.fusionVsLinear.worse)}: ${claim(cmp.fusionVsLinear, cmp.alpha)}`);
    return `${parts.join("; ")}.`;
  }
  const c = compareFusionToUnimodal(results);
  if (!c) return undefined;
  const metric = results.config.primaryMetric.name;
  const head = `Best fusion ${c.bestFusion.method} (${meanStd(c.bestFusion.metric)}) vs best unimodal ${c.bestUnimodal.method} (${meanStd(c.bestUnimodal.metric)}): ${metric} ${c.margin >= 0 ? "+" : ""}${fixed(c.margin, 3)}`;
  if (Math.min(c.bestFusion.metric.n, c.bestUnimodal.metric.n) < 2) return `${head} (one seed: no seed-to-seed spread to compare the margin with).`;
  const verdict = c.beyondSeedNoise
    ? "more than the seed-to-seed standard deviation"
    : c.fusionWins
      ? "but by no more than the seed-to-seed standard deviation"
      : "fusion does not beat the best single modality here";
  return `${head}, ${verdict} (${fixed(c.seedStd, 3)}).`;
}

function pad(cells: string[][], rightAligned: boolean[]): string {
  const widths = cells[0]!.map((_, j) => Math.max(...cells.map((row) => row[j]!.length)));
  return cells.map((row) => row.map((cell, j) => (rightAligned[j] ? cell.padStart(widths[j]!) : cell.padEnd(widths[j]!))).join("  ").trimEnd()).join("\n");
}

/** A plain-text table, best first; markdown-friendly when `markdown` is set. */
export function formatLeaderboard(results: BenchResults, options: { markdown?: boolean } = {}): string {
  const metric = results.config.primaryMetric.name;
  const header = ["#", "method", "family", `${metric} (mean ± std)`, "params", "train s", "p50 ms", "p95 ms"];
  const rows = results.leaderboard.map((r) => [
    String(r.rank),
    r.method,
    r.family,
    meanStd(r.metric),
    count(r.paramCount),
    meanStd(r.trainS, 1),
    fixed(r.latencyP50Ms.mean, 2),
    fixed(r.latencyP95Ms.mean, 2),
  ]);
  if (options.markdown) {
    const line = (cells: string[]) => `| ${cells.join(" | ")} |`;
    return [line(header), line(header.map((_, j) => (j === 0 || j >= 3 ? "---:" : "---"))), ...rows.map(line)].join("\n");
  }
  return pad([header, ...rows], [true, false, false, true, true, true, true, true]);
}

/** The end-of-run summary: status, leaderboard, comparison, where the files are. */
export function formatSummary(results: BenchResults, outDir?: string): string {
  const lines: string[] = [];
  const seeds = results.config.seeds.length;
  lines.push(
    results.complete
      ? `fusionkit bench: ${results.dataset.name} (${results.dataset.task}), ${results.methods.length} methods x ${seeds} seeds in ${fixed(results.wallMs / 1000, 1)} s`
      : `fusionkit bench: INCOMPLETE (${results.interruption?.reason ?? "interrupted"}): ${results.leaderboard.length} of ${results.methods.length} methods have results`,
  );
  lines.push(results.leaderboard.length ? formatLeaderboard(results) : "(no finished runs)");
  const comparison = describeComparison(results);
  if (comparison) lines.push(comparison);
  const cv = results.comparisons?.convergence;
  if (cv?.warn) lines.push(`warning: ${cv.hitCap} of ${cv.runs} runs (${(100 * cv.share).toFixed(0)}%) stopped at the epoch cap (--epochs ${results.config.epochs}) rather than by early stopping: they may not have converged; raise --epochs.`);
  if (outDir) lines.push(`results: ${outDir}/results.json  report: ${outDir}/report.html`);
  return lines.join("\n");
}
