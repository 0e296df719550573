/**
 * The design matrix X [n, d] of a logistic regression, for its two products
 *   scores(W) = X W [n, c]   and   adjoint(R) = X^T R [d, c]   (float64 in and out)
 * computed per column block (one block per modality, src/baselines/features.ts):
 *   host    compressed sparse rows in float64: cost ~ nonzeros x c. TF-IDF rows
 *           hold ~16 of 5002 entries, so the text block costs almost nothing here.
 *   engine  X and X^T resident in the engine (src/engine/design.ts), float32:
 *           for dense blocks (standardised pixels), ~10x faster than a host loop.
 * "auto" sends a block to the engine when it is dense (>= 25% nonzero) and
 * large (>= engineMinEntries entries); the result is the same up to float32
 * rounding of the engine's products (test/baselines/logistic.test.ts).
 */
import { ResidentDesign } from "../engine/design.ts";

export type Block = { name: string; offset: number; dim: number };

export type Design = {
  scores(w: Float64Array, c: number): Float64Array;
  adjoint(r: Float64Array, c: number): Float64Array;
  dispose(): void;
  /** where each block's products run, e.g. "image: engine, text: host" */
  where: string;
};

/**
 * Below this many entries a dense block's host products take a few ms: not worth an engine round
 * trip. Measured on the AV-MNIST-style audio block (2000 x 96, dense), whole linear:audio fit: host
 * 22-29 s, engine 5-7 s (2 cores under load ~15, 2026-12-02).
 */
export const engineMinEntries = 50_000;
const engineMinDensity = 0.25;

type Part = { offset: number; dim: number; scores(w: Float64Array, c: number, out: Float64Array): void; adjoint(r: Float64Array, c: number, out: Float64Array): void; dispose(): void };

/** Columns [offset, offset + dim) of X as compressed sparse rows. */
function hostPart(x: Float32Array, n: number, d: number, offset: number, dim: number): Part {
  const starts = new Int32Array(n + 1);
  const cols: number[] = [];
  const vals: number[] = [];
  for (let r = 0; r < n; r++) {
    for (let j = 0; j < dim; j++) {
      const v = x[r * d + offset + j]!;
      if (v !== 0) {
        cols.push(j);
        vals.push(v);
      }
    }
    starts[r + 1] = cols.length;
  }
  const col = Int32Array.from(cols);
  const val = Float64Array.from(vals);
  return {
    offset,
    dim,
    scores(w, c, out) {
      for (let r = 0; r < n; r++) {
        const o = r * c;
        for (let e = starts[r]!; e < starts[r + 1]!; e++) {
          const v = val[e]!;
          const k = (offset + col[e]!) * c;
          for (let q = 0; q < c; q++) out[o + q]! += v * w[k + q]!;
        }
      }
    },
    adjoint(res, c, out) {
      for (let r = 0; r < n; r++) {
        const o = r * c;
        for (let e = starts[r]!; e < starts[r + 1]!; e++) {
          const v = val[e]!;
          const k = (offset + col[e]!) * c;
          for (let q = 0; q < c; q++) out[k + q]! += v * res[o + q]!;
        }
      }
    },
    dispose() {},
  };
}

function enginePart(x: Float32Array, n: number, d: number, offset: number, dim: number): Part {
  const block = new Float32Array(n * dim);
  for (let r = 0; r < n; r++) block.set(x.subarray(r * d + offset, r * d + offset + dim), r * dim);
  const resident = new ResidentDesign(block, n, dim);
  return {
    offset,
    dim,
    scores(w, c, out) {
      const s = resident.scores(Float32Array.from(w.subarray(offset * c, (offset + dim) * c)), c);
      for (let i = 0; i < out.length; i++) out[i]! += s[i]!;
    },
    adjoint(res, c, out) {
      out.set(resident.adjoint(Float32Array.from(res), c), offset * c);
    },
    dispose: () => resident.dispose(),
  };
}

function nonzeros(x: Float32Array, n: number, d: number, b: Block): number {
  let count = 0;
  for (let r = 0; r < n; r++) for (let j = 0; j < b.dim; j++) if (x[r * d + b.offset + j] !== 0) count++;
  return count;
}

export function designFor(x: Float32Array, n: number, d: number, blocks: Block[], products: "auto" | "host" | "engine" = "auto"): Design {
  const covered = blocks.reduce((a, b) => a + b.dim, 0);
  // columns no block names (presence flags) form one more host block
  const all = covered < d ? [...blocks, { name: "rest", offset: covered, dim: d - covered }] : blocks;
  const onEngine = (b: Block) => products === "engine" || (products === "auto" && n * b.dim >= engineMinEntries && nonzeros(x, n, d, b) >= engineMinDensity * n * b.dim);
  const engine = all.map(onEngine);
  const parts = all.map((b, i) => (engine[i] ? enginePart(x, n, d, b.offset, b.dim) : hostPart(x, n, d, b.offset, b.dim)));
  return {
    scores(w, c) {
      const out = new Float64Array(n * c);
      for (const p of parts) p.scores(w, c, out);
      return out;
    },
    adjoint(r, c) {
      const out = new Float64Array(d * c);
      for (const p of parts) p.adjoint(r, c, out);
      return out;
    },
    dispose: () => parts.forEach((p) => p.dispose()),
    where: all.map((b, i) => `${b.name}: ${engine[i] ? "engine" : "host"}`).join(", "),
  };
}
