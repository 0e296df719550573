/**
 * Retrieval evaluation as open_clip reports it (open_clip/training/train.py,
 * get_clip_metrics): for each query, rank every candidate by similarity; the
 * query's rank is the 1-based position of its true match; Recall@K = fraction
 * of queries with rank <= K (K in 1, 5, 10); mean rank; median rank =
 * floor(median(rank - 1)) + 1 (open_clip's floor(np.median(preds)) + 1).
 *
 * Several true matches per query (emoji: the other vendor's picture, the
 * other language's text; items.ts): the query's rank is that of its
 * best-ranked true match, so a hit counts if ANY true match is in the top K
 * (as for the 5 captions per image in MS-COCO retrieval).
 * Ties are broken against the query: a non-matching candidate scoring exactly
 * as high as the best match counts as ranked above it, so a constant scorer
 * gets no credit.
 * Chance level: with m true matches among C candidates, a random ranking puts
 * one in the top K with probability 1 - C(C-m, K) / C(C, K) (= K / C for m = 1).
 */

export const defaultRecallKs = [1, 5, 10];

export type RankSummary = {
  /** queries with at least one true match (the others are not ranked) */
  queries: number;
  candidates: number;
  /** "1" -> Recall@1, ... */
  recall: Record<string, number>;
  /** expected Recall@K of a random ranking, averaged over the queries */
  chance: Record<string, number>;
  meanRank: number;
  medianRank: number;
};

/** Row-major similarity [Q, C] = A B^T of two row-major embedding matrices. */
export function similarityMatrix(a: Float32Array, b: Float32Array, dim: number): Float32Array {
  const Q = a.length / dim;
  const C = b.length / dim;
  const out = new Float32Array(Q * C);
  for (let q = 0; q < Q; q++) {
    for (let c = 0; c < C; c++) {
      let s = 0;
      for (let d = 0; d < dim; d++) s += a[q * dim + d]! * b[c * dim + d]!;
      out[q * C + c] = s;
    }
  }
  return out;
}

/**
 * 1-based rank of each query's best-ranked true match; 0 for a query with no
 * true match among the candidates (left out of the summary).
 */
export function queryRanks(similarity: Float32Array, C: number, matches: number[][]): Int32Array {
  const ranks = new Int32Array(matches.length);
  matches.forEach((match, q) => {
    if (match.length === 0) return;
    const row = similarity.subarray(q * C, (q + 1) * C);
    let best = -Infinity;
    for (const c of match) best = Math.max(best, row[c]!);
    const isMatch = new Set(match);
    let ahead = 0;
    for (let c = 0; c < C; c++) if (!isMatch.has(c) && row[c]! >= best) ahead++;
    ranks[q] = ahead + 1;
  });
  return ranks;
}

/** P(at least one of m matches in the top K of C, random order) = 1 - C(C-m, K) / C(C, K). */
export function chanceRecall(C: number, m: number, K: number): number {
  if (m <= 0) return 0;
  if (K >= C) return 1;
  // C(C-m, K) / C(C, K) = prod_{i=0..K-1} (C - m - i) / (C - i)
  let miss = 1;
  for (let i = 0; i < K; i++) miss *= Math.max(0, C - m - i) / (C - i);
  return 1 - miss;
}

export function summariseRanks(ranks: Int32Array, matches: number[][], C: number, ks: number[] = defaultRecallKs): RankSummary {
  const ranked = Array.from(ranks).filter((r) => r > 0);
  const n = ranked.length;
  const recall: Record<string, number> = {};
  const chance: Record<string, number> = {};
  for (const k of ks) {
    recall[String(k)] = n ? ranked.filter((r) => r <= k).length / n : NaN;
    chance[String(k)] = n ? matches.filter((m) => m.length > 0).reduce((s, m) => s + chanceRecall(C, m.length, k), 0) / n : NaN;
  }
  const zeroBased = ranked.map((r) => r - 1).sort((a, b) => a - b);
  const median = n === 0 ? NaN : n % 2 ? zeroBased[(n - 1) / 2]! : (zeroBased[n / 2 - 1]! + zeroBased[n / 2]!) / 2;
  return {
    queries: n,
    candidates: C,
    recall,
    chance,
    meanRank: n ? ranked.reduce((s, r) => s + r, 0) / n : NaN,
    medianRank: Math.floor(median) + 1,
  };
}

/** Rank summary of queries (embeddings [Q, dim]) against candidates ([C, dim]) with the given true matches. */
export function retrievalSummary(queries: Float32Array, candidates: Float32Array, dim: number, matches: number[][], ks: number[] = defaultRecallKs): RankSummary {
  const C = candidates.length / dim;
  const similarity = similarityMatrix(queries, candidates, dim);
  return summariseRanks(queryRanks(similarity, C, matches), matches, C, ks);
}

/** The mean of Recall@K over both directions and every K: the model-selection score (open_clip's "rsum" / 6). */
export function meanRecall(...summaries: RankSummary[]): number {
  const values = summaries.flatMap((s) => Object.values(s.recall));
  return values.reduce((a, b) => a + b, 0) / values.length;
}

/** The k best candidates of one similarity row, best first (ties: lower index first). */
export function topK(row: ArrayLike<number>, k: number): { index: number; score: number }[] {
  const order = Array.from({ length: row.length }, (_, i) => i).sort((a, b) => row[b]! - row[a]! || a - b);
  return order.slice(0, k).map((index) => ({ index, score: row[index]! }));
}
