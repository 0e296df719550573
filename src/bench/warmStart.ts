/**
 * Warm start: every multimodal run of a bench starts its encoders from the
 * unimodal runs of the same seed (unimodal:<modality>), then trains the whole
 * model (encoders, fusion, head) as before. Jointly trained from random init,
 * a fusion model under-learns each modality's own features, because whichever
 * modality fits the labels fastest stops the others' gradients ("modality
 * laziness": Du et al., "On Uni-Modal Feature Learning in Supervised
 * Multi-Modal Learning", ICML 2023, who start fusion from unimodally trained
 * encoders for this reason; also Wang, Tran & Feiszli, CVPR 2020, on
 * multimodal networks under-performing their best unimodal branch). The
 * unimodal runs use train labels only, with the bench's own protocol, so the
 * supervision stays the same for every row of the leaderboard.
 *
 * Measured on the default emoji bench, 3 seeds (docs/fair-comparison.md): mean
 * validation accuracy of the 14 warm-started methods 0.830 -> 0.837 (higher
 * for 12), test 0.830 -> 0.831, epochs per run 10.2 -> 9.5; the whole bench
 * took 28.6 instead of 25.5 min (its epochs ran longer beside the other
 * worker's, not alone; docs/benchmarks.md).
 *
 * Left out: a method with a second stage fitted on out-of-fold predictions
 * (late_stacking): its fold models would start from encoders that were
 * trained on the very rows they are held out from. And the unimodal and
 * linear rows themselves.
 *
 * Where the encoders come from: the local bench's pool hands each fusion run
 * the encoders its seed's unimodal runs returned (src/bench/pool.ts); on a
 * Redis queue the source jobs' workers store them in Redis for the others
 * (src/bench/queue/sharedEncoders.ts). Where they are not at hand (the bench
 * does not run that unimodal method, or its run failed) the job trains the
 * unimodal model itself, from the same job description: training is deterministic given the
 * seed, so it is the same encoder (test/bench/warmStart.test.ts).
 */
import type { ModalitySpec } from "../data/types.ts";
import type { FusionMethod } from "../fusion/types.ts";
import { unimodalPrefix } from "../fusion/unimodal.ts";

/** Whether a bench starts `method`'s encoders from its unimodal runs. */
export function warmStarts(method: Pick<FusionMethod, "family" | "postFit">, modalities: ModalitySpec[]): boolean {
  return modalities.length > 1 && method.family !== "unimodal" && method.family !== "linear" && method.postFit === undefined;
}

/** The unimodal method whose encoder a warm-started run takes for `modality`. */
export function unimodalSourceOf(modality: string): string {
  return `${unimodalPrefix}${modality}`;
}

/** The modality a unimodal method reads ("unimodal:text" -> "text"); the inverse of unimodalSourceOf. */
export function modalityOfUnimodal(method: string): string {
  return method.slice(method.indexOf(":") + 1);
}

/** Indices of the jobs some job of `jobs` starts its encoders from (index -1: a source outside the plan). */
export function encoderSourceIndices(jobs: { encodersFrom?: Record<string, { index: number }> }[]): Set<number> {
  return new Set(jobs.flatMap((j) => Object.values(j.encodersFrom ?? {}).map((s) => s.index)));
}
