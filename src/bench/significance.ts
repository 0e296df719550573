/**
 * "Beats" means significant: a paired bootstrap over seeds and test rows of
 * per-row correctness (Efron & Tibshirani 1993, ch. 16; the paired form used
 * for system comparisons by Koehn, EMNLP 2004 and Dror et al., ACL 2018).
 *
 *   d[s][i] = 1[A right on row i, seed s] - 1[B right on row i, seed s]
 *   delta   = mean over seeds s and rows i of d[s][i]     (= acc_A - acc_B)
 *   one replicate: draw S seeds and N rows with replacement (the same rows for
 *   every drawn seed: rows are paired across seeds too), delta* = mean of d
 *   over the drawn (seed, row) pairs
 *   p = (1 + #{delta* <= 0}) / (1 + R)       one-sided, H0: A is not better
 * Resampling seeds captures training variance, resampling rows the finite
 * test set; pairing (the same rows and seeds for A and B) removes the shared
 * difficulty of each row. When the rows come in groups (the dataset's
 * split.groupBy: on emoji one emoji's 2 vendors x 2 languages share a picture
 * or a text and are right or wrong together), a replicate draws whole groups
 * instead of rows (the cluster bootstrap; Field & Welsh, JRSS-B 2007): rows of
 * a group are not independent evidence, and drawing them one by one
 * understates the variance. With one row per group the two are the same draws. Only seeds both methods finished are used; a method
 * with a single run (the linear baselines: one convex fit per bench) is paired
 * with every seed of the other.
 */
import { HostRng } from "../engine/random.ts";
import type { RunResult } from "./results.ts";

export type PairedTest = {
  better: string;
  worse: string;
  /** mean accuracy difference better - worse over the common seeds */
  delta: number;
  /** one-sided bootstrap p-value of "better is not better" */
  p: number;
  seeds: number;
  rows: number;
  /** the resampled groups of rows when rows were grouped (absent: every row its own) */
  groups?: number;
  resamples: number;
};

export const defaultResamples = 2000;

/** Correctness differences d[s][i] over the seeds both methods ran; undefined when they share none or lack predictions. */
function differences(a: RunResult[], b: RunResult[], labels: ArrayLike<number>): Int8Array[] | undefined {
  // a method with one run (a convex baseline fitted once) is paired with every seed of the other
  const single = (runs: RunResult[]) => (runs.length === 1 ? runs[0] : undefined);
  const bySeed = new Map(b.map((r) => [r.seed, r]));
  const out: Int8Array[] = [];
  const pairs = single(a) && b.length > 1 ? b.map((rb) => [single(a)!, rb] as const) : a.map((ra) => [ra, single(b) ?? bySeed.get(ra.seed)] as const);
  for (const [ra, rb] of pairs) {
    if (!rb || !ra.testPredictions || !rb.testPredictions) continue;
    if (ra.testPredictions.length !== labels.length || rb.testPredictions.length !== labels.length) continue;
    const d = new Int8Array(labels.length);
    for (let i = 0; i < labels.length; i++) d[i] = (ra.testPredictions[i] === labels[i] ? 1 : 0) - (rb.testPredictions[i] === labels[i] ? 1 : 0);
    out.push(d);
  }
  return out.length ? out : undefined;
}

/** Paired bootstrap test of method `betterName` (runs a) over `worseName` (runs b) on the test labels. */
export function pairedBootstrap(
  betterName: string,
  a: RunResult[],
  worseName: string,
  b: RunResult[],
  labels: ArrayLike<number>,
  options: { resamples?: number; seed?: number; groups?: ArrayLike<string> } = {},
): PairedTest | undefined {
  const d = differences(a, b, labels);
  if (!d) return undefined;
  const S = d.length;
  const N = labels.length;
  if (N === 0) return undefined;
  if (options.groups && options.groups.length !== N) throw new Error(`pairedBootstrap: ${options.groups.length} group labels for ${N} rows`);
  const clusters = options.groups ? clustersOf(options.groups) : undefined;
  const R = options.resamples ?? defaultResamples;
  let total = 0;
  for (const row of d) for (let i = 0; i < N; i++) total += row[i]!;
  const delta = total / (S * N);
  const rng = new HostRng(options.seed ?? 20_04);
  // a replicate's drawn rows, whole groups at a time when rows are grouped
  const G = clusters ? clusters.length : N;
  // at most G draws of the largest group
  const drawn = new Int32Array(clusters ? G * Math.max(...clusters.map((c) => c.length)) : N);
  let notBetter = 0;
  for (let r = 0; r < R; r++) {
    let count = 0;
    for (let g = 0; g < G; g++) {
      const pick = rng.int(G);
      if (!clusters) {
        drawn[count++] = pick;
        continue;
      }
      for (const i of clusters[pick]!) drawn[count++] = i;
    }
    let sum = 0;
    for (let s = 0; s < S; s++) {
      const row = d[rng.int(S)]!;
      for (let k = 0; k < count; k++) sum += row[drawn[k]!]!;
    }
    if (sum <= 0) notBetter++;
  }
  return { better: betterName, worse: worseName, delta, p: (1 + notBetter) / (1 + R), seeds: S, rows: N, ...(clusters ? { groups: clusters.length } : {}), resamples: R };
}

/** Row indices by group, groups in order of first appearance. */
function clustersOf(groups: ArrayLike<string>): number[][] {
  const byGroup = new Map<string, number[]>();
  for (let i = 0; i < groups.length; i++) {
    const rows = byGroup.get(groups[i]!);
    if (rows) rows.push(i);
    else byGroup.set(groups[i]!, [i]);
  }
  return [...byGroup.values()];
}

/** p as text: "p = 0.012", or "p < 0.001" when no replicate went the other way (the bootstrap's resolution). */
export function formatP(p: number, resamples: number): string {
  if (p <= 1 / (1 + resamples)) return `p < ${(2 / (1 + resamples)).toPrecision(1)}`;
  return `p = ${p < 0.01 ? p.toFixed(4) : p.toFixed(3)}`;
}
