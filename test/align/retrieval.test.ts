import { test } from "node:test";
import assert from "node:assert/strict";
import { chanceRecall, queryRanks, retrievalSummary, summariseRanks, topK } from "../../src/align/retrieval.ts";
import { itemId, retrievalItems, trueMatches } from "../../src/align/items.ts";
import { groupIds } from "../../src/align/pairs.ts";
import { concatSplits, filteredRows, parseRowFilter, subsetSplit } from "../../src/align/filters.ts";
import type { ModalitySpec, SplitData } from "../../src/data/types.ts";

// 4 queries x 5 candidates, similarity rows written so each query's ranking is known by hand.
const C = 5;
const similarity = Float32Array.from([
  // q0: order c0 c1 c2 c3 c4; match c0 -> rank 1
  0.9, 0.8, 0.7, 0.6, 0.5,
  // q1: order c4 c3 c2 c1 c0; matches c1 and c2 -> best match c2 at position 3
  0.1, 0.2, 0.3, 0.4, 0.5,
  // q2: order c1 c0 c4 c3 c2 ... match c2 -> rank 5
  0.8, 0.9, 0.1, 0.2, 0.3,
  // q3: a tie: c3 (non-match) scores exactly as the match c4 -> counted ahead (rank 2)
  0.0, 0.1, 0.2, 0.5, 0.5,
]);
const matches = [[0], [1, 2], [2], [4]];

test("query ranks are the 1-based position of the best-ranked true match, ties against the query", () => {
  assert.deepEqual(Array.from(queryRanks(similarity, C, matches)), [1, 3, 5, 2]);
});

test("Recall@K, mean and median rank from hand-built rankings, with several true matches per query", () => {
  const s = summariseRanks(queryRanks(similarity, C, matches), matches, C, [1, 2, 5]);
  assert.equal(s.queries, 4);
  assert.equal(s.recall["1"], 1 / 4);
  assert.equal(s.recall["2"], 2 / 4);
  assert.equal(s.recall["5"], 1);
  assert.equal(s.meanRank, (1 + 3 + 5 + 2) / 4);
  // open_clip: floor(median(rank - 1)) + 1 = floor(median(0, 2, 4, 1)) + 1 = floor(1.5) + 1 = 2
  assert.equal(s.medianRank, 2);
});

test("a query with no true match is left out rather than counted as a miss", () => {
  const s = summariseRanks(queryRanks(similarity, C, [[0], [], [], []]), [[0], [], [], []], C);
  assert.equal(s.queries, 1);
  assert.equal(s.recall["1"], 1);
});

test("chance recall: K/C for one match, 1 - C(C-m,K)/C(C,K) for m matches", () => {
  assert.ok(Math.abs(chanceRecall(100, 1, 10) - 0.1) < 1e-12);
  // C=4, m=2, K=1: 2/4; K=2: 1 - C(2,2)/C(4,2) = 1 - 1/6
  assert.ok(Math.abs(chanceRecall(4, 2, 1) - 0.5) < 1e-12);
  assert.ok(Math.abs(chanceRecall(4, 2, 2) - 5 / 6) < 1e-12);
  assert.equal(chanceRecall(4, 1, 10), 1);
  const s = summariseRanks(queryRanks(similarity, C, matches), matches, C, [1]);
  assert.ok(Math.abs(s.chance["1"]! - (1 / 5 + 2 / 5 + 1 / 5 + 1 / 5) / 4) < 1e-12);
});

test("retrievalSummary ranks unit embeddings by cosine similarity", () => {
  // queries along x and y; candidates: y, x, and (x+y)/sqrt2
  const q = Float32Array.from([1, 0, 0, 1]);
  const c = Float32Array.from([0, 1, 1, 0, Math.SQRT1_2, Math.SQRT1_2]);
  const s = retrievalSummary(q, c, 2, [[1], [2]], [1, 2]);
  assert.equal(s.recall["1"], 1 / 2); // q0 finds x first; q1's match (x+y) ranks behind y
  assert.equal(s.recall["2"], 1);
  assert.deepEqual(topK([0.1, 0.5, 0.3], 2), [{ index: 1, score: 0.5 }, { index: 2, score: 0.3 }]);
});

/** 2 emoji x 2 vendors x 2 languages: the picture repeats per language, the text per vendor. */
function emojiLike(): { split: SplitData; image: ModalitySpec; text: ModalitySpec } {
  const rows: { emoji: string; vendor: string; language: string }[] = [];
  for (const emoji of ["E1", "E2"]) for (const vendor of ["tw", "go"]) for (const language of ["en", "de"]) rows.push({ emoji, vendor, language });
  const picture = (r: (typeof rows)[number]) => [r.emoji === "E1" ? 1 : 2, r.vendor === "tw" ? 1 : 2];
  const words = (r: (typeof rows)[number]) => [r.emoji === "E1" ? 2 : 3, r.language === "en" ? 4 : 5];
  const split: SplitData = {
    n: rows.length,
    ids: rows.map((r) => `${r.emoji}/${r.vendor}/${r.language}`),
    inputs: { image: Float32Array.from(rows.flatMap(picture)), text: Float32Array.from(rows.flatMap(words)) },
    tokenMasks: { text: new Float32Array(rows.length * 2).fill(1) },
    present: { image: new Float32Array(rows.length).fill(1), text: new Float32Array(rows.length).fill(1) },
    labels: Float32Array.from(rows.map((r) => (r.emoji === "E1" ? 0 : 1))),
    fields: { emoji: rows.map((r) => r.emoji), vendor: rows.map((r) => r.vendor), language: rows.map((r) => r.language) },
  };
  return { split, image: { name: "image", type: "vector", shape: [2] }, text: { name: "text", type: "text", shape: [2], vocabSize: 6 } };
}

test("items are distinct inputs; true matches are every item of the same emoji group", () => {
  const { split, image, text } = emojiLike();
  const images = retrievalItems(split, image, groupIds(split, "emoji"));
  const texts = retrievalItems(split, text, groupIds(split, "emoji"));
  assert.equal(images.rows.length, 4); // 2 emoji x 2 vendors
  assert.equal(texts.rows.length, 4); // 2 emoji x 2 languages
  // fields constant over an item's rows are kept: an image item has a vendor but no language
  assert.deepEqual(images.fields[0], { emoji: "E1", vendor: "tw" });
  assert.deepEqual(images.ids, ["E1/tw", "E1/go", "E2/tw", "E2/go"]);
  assert.equal(itemId(["12/x", "13/x"]), "12/x"); // no shared separated prefix: the first row's id
  assert.deepEqual(texts.fields[0], { emoji: "E1", language: "en" });
  // each E1 text matches both E1 pictures (twitter and google), never E2's
  const m = trueMatches(texts, images);
  assert.deepEqual(m, [[0, 1], [0, 1], [2, 3], [2, 3]]);
  // without a match field, co-occurrence in a row gives the same matches here
  const byRow = trueMatches(retrievalItems(split, text, groupIds(split)), retrievalItems(split, image, groupIds(split)));
  assert.deepEqual(byRow, m);
});

test("row filters select by field value; subsets and concatenations keep rows aligned", () => {
  const { split } = emojiLike();
  assert.deepEqual(parseRowFilter("vendor=tw|go"), { field: "vendor", values: ["tw", "go"] });
  assert.throws(() => parseRowFilter("vendor"), /field=value/);
  const rows = filteredRows(split, [parseRowFilter("vendor=go"), parseRowFilter("language=de")]);
  assert.deepEqual(rows.map((r) => split.ids[r]), ["E1/go/de", "E2/go/de"]);
  assert.throws(() => filteredRows(split, [parseRowFilter("colour=red")]), /kept fields: emoji, vendor, language/);
  const sub = subsetSplit(split, rows);
  assert.deepEqual(Array.from(sub.inputs.image!), [1, 2, 2, 2]);
  assert.deepEqual(sub.fields.language, ["de", "de"]);
  const both = concatSplits([sub, sub]);
  assert.equal(both.n, 4);
  assert.deepEqual(Array.from(both.labels), [0, 1, 0, 1]);
});
