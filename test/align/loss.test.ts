import { before, test } from "node:test";
import assert from "node:assert/strict";
import { startEngine } from "../../src/engine/backend.ts";
import { HostRng } from "../../src/engine/random.ts";
import { constant, scalar, scoped } from "../../src/engine/tensor.ts";
import { infoNCE } from "../../src/engine/losses.ts";
import type { Tensor } from "../../src/engine/tensor.ts";
import { normalise } from "../../src/fusion/contrastiveAlignment.ts";
import { multiModalInfoNCE, pairMask } from "../../src/align/loss.ts";
import { checkGradient } from "../engine/gradcheck.ts";

before(async () => {
  await startEngine();
});

/** The engine's InfoNCE with alignment's masks: pairs [B, B] and row weights [B]. */
const symmetricInfoNCE = (a: Tensor, b: Tensor, scale: Tensor, mask: Tensor, rowWeight: Tensor) => infoNCE(a, b, scale, { pairMask: mask, rowWeight });

// a = identity rows; b = rows (1,0,0), (0,.6,.8), (0,.8,-.6), all unit norm; scale 2.
// S = 2 a b^T = [[2, 0, 0], [0, 1.2, 1.6], [0, 1.6, -1.2]] (symmetric, so row and column losses agree).
const a = [1, 0, 0, 0, 1, 0, 0, 0, 1];
const b = [1, 0, 0, 0, 0.6, 0.8, 0, 0.8, -0.6];
const e = Math.exp;

function lossOf(mask: number[], rowWeight: number[]): number {
  const out = scoped(() => ({ l: symmetricInfoNCE(constant(a, [3, 3]), constant(b, [3, 3]), scalar(2), constant(mask, [3, 3]), constant(rowWeight, [3])) }));
  return out.l.data[0]!;
}

test("symmetric InfoNCE equals the hand-computed value on a 3x3 case", () => {
  const row0 = -2 + Math.log(e(2) + e(0) + e(0));
  const row1 = -1.2 + Math.log(e(0) + e(1.2) + e(1.6));
  const row2 = 1.2 + Math.log(e(0) + e(1.6) + e(-1.2));
  const expected = (row0 + row1 + row2) / 3; // (rows + columns) / 2, and columns = rows here
  assert.ok(Math.abs(lossOf(Array(9).fill(1), [1, 1, 1]) - expected) < 1e-5, `${lossOf(Array(9).fill(1), [1, 1, 1])} vs ${expected}`);
});

test("a false negative of the same group leaves the denominators; padding rows leave everything", () => {
  // rows 1 and 2 in one group: pairs (1,2) and (2,1) are not negatives
  const grouped = Array.from(pairMask([1, 1, 1], [0, 1, 1]));
  assert.deepEqual(grouped, [1, 1, 1, 1, 1, 0, 1, 0, 1]);
  const row0 = -2 + Math.log(e(2) + 2);
  const row1 = -1.2 + Math.log(1 + e(1.2));
  const row2 = 1.2 + Math.log(1 + e(-1.2));
  assert.ok(Math.abs(lossOf(grouped, [1, 1, 1]) - (row0 + row1 + row2) / 3) < 1e-5);
  // row 2 is padding: a 2x2 problem over rows 0 and 1 only
  const padded = Array.from(pairMask([1, 1, 0]));
  const p0 = -2 + Math.log(e(2) + 1);
  const p1 = -1.2 + Math.log(1 + e(1.2));
  assert.ok(Math.abs(lossOf(padded, [1, 1, 0]) - (p0 + p1) / 2) < 1e-5);
});

test("the pair mask of the row weights gives the row-weight mask's loss (the CLIP method's) on random embeddings", () => {
  const rng = new HostRng(3);
  const B = 6;
  const D = 5;
  const za = Float32Array.from({ length: B * D }, () => rng.normal());
  const zb = Float32Array.from({ length: B * D }, () => rng.normal());
  const rowWeight = [1, 1, 1, 1, 0, 0];
  const out = scoped(() => {
    const x = normalise(constant(za, [B, D]));
    const y = normalise(constant(zb, [B, D]));
    const w = constant(rowWeight, [B]);
    return {
      ours: symmetricInfoNCE(x, y, scalar(7), constant(pairMask(rowWeight), [B, B]), w),
      rowMask: infoNCE(x, y, 7, { rowWeight: w }),
      pairsOfThree: multiModalInfoNCE({ x, y, z: x }, ["x", "y", "z"], scalar(7), constant(pairMask(rowWeight), [B, B]), w),
      xy: symmetricInfoNCE(x, y, scalar(7), constant(pairMask(rowWeight), [B, B]), w),
      xz: symmetricInfoNCE(x, x, scalar(7), constant(pairMask(rowWeight), [B, B]), w),
    };
  });
  assert.ok(Math.abs(out.ours.data[0]! - out.rowMask.data[0]!) < 1e-5, `${out.ours.data[0]} vs ${out.rowMask.data[0]}`);
  // three modalities: the mean over the pairs (x,y), (x,z), (y,z) with z = x, so (y,z) = (x,y) by symmetry
  const expected = (2 * out.xy.data[0]! + out.xz.data[0]!) / 3;
  assert.ok(Math.abs(out.pairsOfThree.data[0]! - expected) < 1e-5);
});

test("the loss gradient with respect to the embeddings matches finite differences", () => {
  const rng = new HostRng(5);
  const B = 4;
  const D = 3;
  const zb = Float32Array.from({ length: B * D }, () => rng.normal());
  const mask = pairMask([1, 1, 1, 1], [0, 1, 1, 2]);
  checkGradient(
    (x) => symmetricInfoNCE(normalise(x), normalise(constant(zb, [B, D])), scalar(3), constant(mask, [B, B]), constant([1, 1, 1, 1], [B])),
    Float32Array.from({ length: B * D }, () => rng.normal()),
    [B, D],
    { samples: 12 },
  );
});
