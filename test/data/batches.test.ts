/** Batches: every row exactly once per pass, reproducible from the seed, rows gathered intact. */
import assert from "node:assert/strict";
import { test } from "node:test";
import { batches, gatherRows } from "../../src/data/batches.ts";
import type { ModalitySpec, SplitData } from "../../src/data/types.ts";

const specs: ModalitySpec[] = [
  { name: "pixels", type: "image", shape: [1, 2, 1] },
  { name: "words", type: "text", shape: [3], vocabSize: 10 },
];

/** Row i holds values derived from i, so a gathered row shows where it came from. */
function split(n: number): SplitData {
  return {
    n,
    ids: Array.from({ length: n }, (_, i) => `r${i}`),
    inputs: {
      pixels: Float32Array.from({ length: n * 2 }, (_, k) => Math.floor(k / 2) * 10 + (k % 2)),
      words: Float32Array.from({ length: n * 3 }, (_, k) => Math.floor(k / 3) + 100),
    },
    tokenMasks: { words: Float32Array.from({ length: n * 3 }, (_, k) => (k % 3 === 0 ? 1 : 0)) },
    present: { pixels: Float32Array.from({ length: n }, (_, i) => i % 2), words: new Float32Array(n).fill(1) },
    labels: Float32Array.from({ length: n }, (_, i) => i % 3),
    fields: {},
  };
}

const indicesOf = (data: SplitData, size: number, options = {}) => [...batches(data, specs, size, options)].map((b) => [...b.indices]);

test("without shuffle, batches are consecutive and the last one is kept unless dropLast", () => {
  assert.deepEqual(indicesOf(split(7), 3), [[0, 1, 2], [3, 4, 5], [6]]);
  assert.deepEqual(indicesOf(split(7), 3, { dropLast: true }), [[0, 1, 2], [3, 4, 5]]);
});

test("shuffled batches cover every row exactly once and repeat for the same seed", () => {
  const data = split(103);
  const first = indicesOf(data, 10, { shuffle: true, seed: 5 });
  assert.deepEqual(first.flat().sort((a, b) => a - b), Array.from({ length: 103 }, (_, i) => i));
  assert.deepEqual(indicesOf(data, 10, { shuffle: true, seed: 5 }), first);
  assert.notDeepEqual(indicesOf(data, 10, { shuffle: true, seed: 6 }), first);
  assert.notDeepEqual(first.flat(), Array.from({ length: 103 }, (_, i) => i));
});

test("gatherRows copies exactly the chosen rows of every array", () => {
  const batch = gatherRows(split(8), specs, Int32Array.from([5, 2]));
  assert.equal(batch.n, 2);
  assert.deepEqual([...batch.inputs.pixels], [50, 51, 20, 21]);
  assert.deepEqual([...batch.inputs.words], [105, 105, 105, 102, 102, 102]);
  assert.deepEqual([...batch.tokenMasks.words], [1, 0, 0, 1, 0, 0]);
  assert.deepEqual([...batch.present.pixels], [1, 0]);
  assert.deepEqual([...batch.labels], [2, 2]);
});

test("multilabel rows keep their whole label vector", () => {
  const data = { ...split(3), labels: Float32Array.from([1, 0, 0, 1, 1, 1]) }; // 3 rows x 2 classes
  assert.deepEqual([...gatherRows(data, specs, Int32Array.from([2, 0])).labels], [1, 1, 1, 0]);
});

test("a split that does not match the specs is refused before the first batch", () => {
  const wrong: ModalitySpec[] = [{ name: "pixels", type: "image", shape: [2, 2, 1] }];
  assert.throws(() => [...batches(split(4), wrong, 2)], /does not match modality "pixels"/);
  assert.throws(() => [...batches(split(4), specs, 0)], /batch size must be a positive integer/);
});
