/**
 * Seed statistics and the leaderboard, computed from RunResults only.
 *   mean = (1/n) sum x_i,  std = sqrt( sum (x_i - mean)^2 / (n - 1) )   (sample std; 0 when n = 1)
 *   percentile p: linear interpolation between order statistics (numpy's default,
 *   position (n - 1) p in the sorted sample).
 */
import type { LeaderboardRow, MethodResult, MethodSummary, RunResult, Stat } from "./results.ts";

export function stat(values: number[]): Stat {
  const finite = values.filter((v) => Number.isFinite(v));
  const n = finite.length;
  if (n === 0) return { mean: NaN, std: NaN, n: 0 };
  const mean = finite.reduce((a, b) => a + b, 0) / n;
  const variance = n > 1 ? finite.reduce((a, b) => a + (b - mean) ** 2, 0) / (n - 1) : 0;
  return { mean, std: Math.sqrt(variance), n };
}

export function percentile(values: number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const position = (sorted.length - 1) * p;
  const low = Math.floor(position);
  const high = Math.ceil(position);
  return sorted[low]! + (sorted[high]! - sorted[low]!) * (position - low);
}

export function summariseRuns(runs: RunResult[], primary: string): MethodSummary {
  const metricNames = [...new Set(runs.flatMap((r) => Object.keys(r.metrics)))];
  const metrics: Record<string, Stat> = {};
  for (const name of metricNames) metrics[name] = stat(runs.map((r) => r.metrics[name] ?? NaN));
  const missing: Record<string, Stat> = {};
  for (const modality of Object.keys(runs[0]?.robustness.missing ?? {})) {
    missing[modality] = stat(runs.map((r) => r.robustness.missing[modality]?.[primary] ?? NaN));
  }
  const noise = (runs[0]?.robustness.noise ?? []).map(({ modality, sigma }) => ({
    modality,
    sigma,
    stat: stat(runs.map((r) => r.robustness.noise.find((n) => n.modality === modality && n.sigma === sigma)?.metrics[primary] ?? NaN)),
  }));
  return {
    metrics,
    // Parameter count does not depend on the seed; the first run's is the method's.
    paramCount: runs[0]?.paramCount ?? 0,
    trainMs: stat(runs.map((r) => r.trainMs)),
    latencyP50Ms: stat(runs.map((r) => r.latencyMs.p50)),
    latencyP95Ms: stat(runs.map((r) => r.latencyMs.p95)),
    epochsRun: stat(runs.map((r) => r.epochsRun)),
    missing,
    noise,
  };
}

/** Methods with at least one finished run, best primary-metric mean first. */
export function buildLeaderboard(methods: MethodResult[], primary: { name: string; higherIsBetter: boolean }): LeaderboardRow[] {
  const rows = methods
    .filter((m) => m.aggregate && m.aggregate.metrics[primary.name])
    .map((m) => {
      const a = m.aggregate!;
      return {
        rank: 0,
        method: m.name,
        family: m.family,
        metric: a.metrics[primary.name]!,
        paramCount: a.paramCount,
        trainS: { mean: a.trainMs.mean / 1000, std: a.trainMs.std / 1000, n: a.trainMs.n },
        latencyP50Ms: a.latencyP50Ms,
        latencyP95Ms: a.latencyP95Ms,
      };
    });
  const sign = primary.higherIsBetter ? -1 : 1;
  // NaN means sort last whichever way is better.
  rows.sort((a, b) => {
    const x = a.metric.mean, y = b.metric.mean;
    if (Number.isNaN(x) || Number.isNaN(y)) return Number.isNaN(x) ? (Number.isNaN(y) ? 0 : 1) : -1;
    return sign * (x - y);
  });
  rows.forEach((r, i) => (r.rank = i + 1));
  return rows;
}
