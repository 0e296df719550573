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
 * difficulty of each row. Only seeds both methods finished are used; a method
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
  options: { resamples?: number; seed?: number } = {},
): PairedTest | undefined {
  const d = differences(a, b, labels);
  if (!d) return undefined;
  const S = d.length;
  const N = labels.length;
  if (N === 0) return undefined;
  const R = options.resamples ?? defaultResamples;
  let total = 0;
  for (const row of d) for (let i = 0; i < N; i++) total += row[i]!;
  const delta = total / (S * N);
  const rng = new HostRng(options.seed ?? 20_04);
  const rows = new Int32Array(N);
  let notBetter = 0;
  for (let r = 0; r < R; r++) {
    for (let i = 0; i < N; i++) rows[i] = rng.int(N);
    let sum = 0;
    for (let s = 0; s < S; s++) {
      const row = d[rng.int(S)]!;
      for (let i = 0; i < N; i++) sum += row[rows[i]!]!;
    }
    if (sum <= 0) notBetter++;
  }
  return { better: betterName, worse: worseName, delta, p: (1 + notBetter) / (1 + R), seeds: S, rows: N, resamples: R };
}

/** p as text: "p = 0.012", or "p < 0.001" when no replicate went the other way (the bootstrap's resolution). */
export function formatP(p: number, resamples: number): string {
  if (p <= 1 / (1 + resamples)) return `p < ${(2 / (1 + resamples)).toPrecision(1)}`;
  return `p = ${p < 0.01 ? p.toFixed(4) : p.toFixed(3)}`;
}
