/**
 * The bench's claims, each backed by a paired bootstrap (significance.ts):
 *  - the best fusion method vs the best unimodal model and vs linear:concat;
 *  - every fusion method vs the best unimodal model (which families beat it
 *    significantly at alpha);
 *  - every unimodal model vs its own linear:<modality> baseline;
 * and convergence: how many neural runs ended at the epoch cap rather than by
 * early stopping (a warning above 10%).
 * "Best" = highest mean test accuracy over seeds, as in the leaderboard.
 */
import type { MethodResult } from "./results.ts";
import { pairedBootstrap, type PairedTest } from "./significance.ts";
import { modalityOfUnimodal } from "./warmStart.ts";

export const significanceLevel = 0.05;
/** share of runs ending at the epoch cap above which the bench warns that runs did not converge */
export const capWarningShare = 0.1;

export type BenchComparisons = {
  alpha: number;
  bestFusion?: string;
  bestUnimodal?: string;
  /** best fusion vs best unimodal */
  fusionVsUnimodal?: PairedTest;
  /** best fusion vs linear:concat */
  fusionVsLinear?: PairedTest;
  /** every fusion method vs the best unimodal model */
  perMethod: PairedTest[];
  /** families with at least one method significantly better than the best unimodal model */
  significantFamilies: string[];
  /** every unimodal model vs linear:<same modality> (positive delta = the network is better) */
  unimodalVsLinear: PairedTest[];
  convergence: { runs: number; hitCap: number; share: number; warn: boolean };
};

const isFusion = (m: MethodResult) => m.family !== "unimodal" && m.family !== "linear";
const mean = (m: MethodResult) => m.aggregate?.metrics.accuracy?.mean ?? NaN;

function best(methods: MethodResult[]): MethodResult | undefined {
  return methods.filter((m) => Number.isFinite(mean(m))).sort((a, b) => mean(b) - mean(a))[0];
}

/** A test oriented as "a beats b" (delta and p of a over b). */
function test(a: MethodResult, b: MethodResult, labels: ArrayLike<number>, groups?: ArrayLike<string>): PairedTest | undefined {
  return pairedBootstrap(a.name, a.runs, b.name, b.runs, labels, groups ? { groups } : {});
}

/** `testGroups`: the group of each test row when the split grouped rows (SplitData.groups): the bootstrap then draws whole groups. */
export function compareMethods(methods: MethodResult[], testLabels: ArrayLike<number> | undefined, classification: boolean, testGroups?: ArrayLike<string>): BenchComparisons {
  const neuralRuns = methods.filter((m) => m.family !== "linear").flatMap((m) => m.runs);
  const hitCap = neuralRuns.filter((r) => r.stoppedBy === "epochs").length;
  const share = neuralRuns.length ? hitCap / neuralRuns.length : 0;
  const out: BenchComparisons = {
    alpha: significanceLevel,
    perMethod: [],
    significantFamilies: [],
    unimodalVsLinear: [],
    convergence: { runs: neuralRuns.length, hitCap, share, warn: share > capWarningShare },
  };
  if (!classification || !testLabels) return out;
  const fusion = best(methods.filter(isFusion));
  const unimodal = best(methods.filter((m) => m.family === "unimodal"));
  const concat = methods.find((m) => m.name === "linear:concat" && m.runs.length);
  if (fusion) out.bestFusion = fusion.name;
  if (unimodal) out.bestUnimodal = unimodal.name;
  if (fusion && unimodal) {
    const t = test(fusion, unimodal, testLabels, testGroups);
    if (t) out.fusionVsUnimodal = t;
  }
  if (fusion && concat) {
    const t = test(fusion, concat, testLabels, testGroups);
    if (t) out.fusionVsLinear = t;
  }
  if (unimodal) {
    for (const m of methods.filter(isFusion)) {
      if (!m.runs.length) continue;
      const t = test(m, unimodal, testLabels, testGroups);
      if (!t) continue;
      out.perMethod.push(t);
      if (t.delta > 0 && t.p < significanceLevel && !out.significantFamilies.includes(m.family)) out.significantFamilies.push(m.family);
    }
  }
  for (const u of methods.filter((m) => m.family === "unimodal" && m.runs.length)) {
    const linear = methods.find((m) => m.name === `linear:${modalityOfUnimodal(u.name)}` && m.runs.length);
    const t = linear && test(u, linear, testLabels, testGroups);
    if (t) out.unimodalVsLinear.push(t);
  }
  return out;
}
