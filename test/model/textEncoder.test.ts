/**
 * The text encoder's bag-of-words path (src/encoders/text.ts): what it adds to
 * the pooled vector is exactly sum over the row's distinct known words of
 * B[w] / sqrt(max(1, their count)), computed here on the host: a repeated word counts once, padding
 * and unknown words (id 1, and ids past the vocabulary, which read as unknown)
 * not at all, a missing row stays zero. The plain-mean encoder (measurement
 * only) has no bag.
 */
import { before, describe, test } from "node:test";
import assert from "node:assert/strict";
import type { ModalitySpec } from "../../src/data/types.ts";
import { startEngine } from "../../src/engine/backend.ts";
import { HostRng } from "../../src/engine/random.ts";
import { constant, scoped } from "../../src/engine/tensor.ts";
import { textEncoder, type TextEncoderParams } from "../../src/encoders/text.ts";
import { maxAbs, tensors } from "./helpers.ts";

before(startEngine);

const spec: ModalitySpec = { name: "txt", type: "text", shape: [5], vocabSize: 9 };
const dim = 4;
// row 0: a repeated word and two padding slots; row 1: an unknown word and an id past the vocabulary (reads as unknown); row 2: missing
const ids = [3, 5, 3, 0, 0, 2, 40, 1, 8, 4, 6, 6, 6, 6, 6];
const mask = ids.map((id) => (id > 0 ? 1 : 0));
const present = [1, 1, 0];

function pooled(params: TextEncoderParams): Float32Array {
  return scoped(() =>
    textEncoder(spec, dim).apply(tensors(params), {
      input: constant(Float32Array.from(ids), [3, 5]),
      tokenMask: constant(Float32Array.from(mask), [3, 5]),
      present: constant(Float32Array.from(present), [3]),
    }).pooled,
  ).data;
}

describe("text encoder: bag-of-words path", () => {
  test("adds sum_w B[w] / sqrt(count) over the distinct known words (closed form), zero for a missing row", () => {
    const params = textEncoder(spec, dim, "structured", "ordered").init(new HostRng(1));
    const table = params.bag!.table.data;
    const withBag = pooled(params);
    const withoutBag = pooled({ ...params, bag: { table: { data: new Float32Array(table.length), shape: params.bag!.table.shape } } });
    const expected = new Float32Array(3 * dim);
    for (let r = 0; r < 3; r++) {
      if (!present[r]) continue;
      const row = [...new Set(ids.slice(r * 5, r * 5 + 5).filter((id) => id > 1 && id < 9))];
      for (const id of row) for (let d = 0; d < dim; d++) expected[r * dim + d]! += table[id * dim + d]! / Math.sqrt(row.length);
    }
    const added = withBag.map((v, i) => v - withoutBag[i]!);
    assert.ok(maxAbs(expected) > 0.1, "the bag adds something");
    assert.ok(maxAbs(added.map((v, i) => v - expected[i]!)) < 1e-5, `bag differs from its closed form: ${[...added]} vs ${[...expected]}`);
  });

  test("unknown words are not tokens: the unknown rows of both tables never reach the output", () => {
    // the vocabulary is fitted on train, so id 1 never occurs in training and its rows stay as initialised
    const params = textEncoder(spec, dim, "structured", "ordered").init(new HostRng(1));
    const withRow = (table: { data: Float32Array; shape: number[] }) => {
      const data = Float32Array.from(table.data);
      data.fill(100, dim, 2 * dim);
      return { data, shape: table.shape };
    };
    const moved = pooled({ ...params, embedding: { table: withRow(params.embedding.table) }, bag: { table: withRow(params.bag!.table) } });
    assert.deepEqual([...moved], [...pooled(params)]);
  });

  test("the default encoder's pooled vector is the bag alone; \"ordered\" adds attention pooling", () => {
    const params = textEncoder(spec, dim).init(new HostRng(1));
    assert.equal(params.pool, undefined);
    const table = params.bag!.table.data;
    const got = pooled(params);
    for (let r = 0; r < 3; r++) {
      const row = present[r] ? [...new Set(ids.slice(r * 5, r * 5 + 5).filter((id) => id > 1 && id < 9))] : [];
      for (let d = 0; d < dim; d++) {
        const expected = row.reduce((sum, id) => sum + table[id * dim + d]!, 0) / Math.sqrt(Math.max(1, row.length));
        assert.ok(Math.abs(got[r * dim + d]! - expected) < 1e-5, `row ${r} dim ${d}: ${got[r * dim + d]} vs ${expected}`);
      }
    }
    assert.ok(textEncoder(spec, dim, "structured", "ordered").init(new HostRng(1)).pool);
  });

  test("the plain-mean encoder kept for measurement has no bag", () => {
    assert.equal(textEncoder(spec, dim, "mean").init(new HostRng(1)).bag, undefined);
  });
});
