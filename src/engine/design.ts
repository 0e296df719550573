/**
 * A design matrix X [n, d] kept resident in the engine, with the two products a
 * full-batch linear model needs, each compiled once:
 *   scores(W)  = X W      [n, c]   (W [d, c]), computed as (W^T X^T)^T
 *   adjoint(R) = X^T R    [d, c]   (R [n, c]), computed as (R^T X)^T
 * Both as a [c, k] @ [k, m] product with the small class count c in front:
 * jax-js 0.1.25's wasm matmul with a narrow right operand (X [2808, 3072] @
 * W [3072, 12]) took 640 ms against 86 ms for R^T X (2 cores, loaded), so X^T
 * is kept resident too (twice the memory: 35 MB each for 2808 x 3072).
 * Why the engine: for the classical baselines X is a few thousand rows by a few
 * thousand standardised pixels; the two products are ~99% of a logistic
 * regression's loss-and-gradient and the wasm matmul is two orders of magnitude
 * faster than a host loop (docs/benchmarks.md, "Baselines and encoders").
 * Products are float32 (the engine's dtype); the caller does everything else in
 * float64. X is zero-padded once to multiples of 4 in both axes so that no call
 * pads it again (Tensor.matmul pads odd widths per call, a full copy of X).
 */
import { numpy as np } from "@jax-js/jax";
import { compile } from "./transforms.ts";
import type { RawArray, Tensor } from "./tensor.ts";

const up4 = (k: number) => k + ((4 - (k % 4)) % 4);

export class ResidentDesign {
  private x: RawArray | null;
  private xT: RawArray | null;
  private readonly np4: number;
  private readonly dp4: number;
  private readonly forward = compile((xT: Tensor, wT: Tensor) => wT.matmul(xT));
  private readonly backward = compile((x: Tensor, rT: Tensor) => rT.matmul(x));

  constructor(x: Float32Array, readonly n: number, readonly d: number) {
    if (x.length !== n * d) throw new Error(`ResidentDesign: ${x.length} values for [${n}, ${d}]`);
    this.np4 = up4(n);
    this.dp4 = up4(d);
    let padded = x;
    if (this.np4 !== n || this.dp4 !== d) {
      padded = new Float32Array(this.np4 * this.dp4);
      for (let r = 0; r < n; r++) padded.set(x.subarray(r * d, (r + 1) * d), r * this.dp4);
    }
    this.x = np.array(padded).reshape([this.np4, this.dp4]);
    const transposed = new Float32Array(this.dp4 * this.np4);
    for (let r = 0; r < n; r++) for (let j = 0; j < d; j++) transposed[j * this.np4 + r] = x[r * d + j]!;
    this.xT = np.array(transposed).reshape([this.dp4, this.np4]);
  }

  private resident(which: "x" | "xT"): RawArray {
    const a = which === "x" ? this.x : this.xT;
    if (!a) throw new Error("ResidentDesign used after dispose()");
    return a.ref;
  }

  /** X W for W [d, c] row-major; returns [n, c] row-major. */
  scores(w: Float32Array, c: number): Float32Array {
    const wT = new Float32Array(c * this.dp4);
    for (let j = 0; j < this.d; j++) for (let k = 0; k < c; k++) wT[k * this.dp4 + j] = w[j * c + k]!;
    const prod = (this.forward(this.resident("xT"), np.array(wT).reshape([c, this.dp4])) as RawArray).dataSync() as Float32Array;
    const out = new Float32Array(this.n * c);
    for (let k = 0; k < c; k++) for (let i = 0; i < this.n; i++) out[i * c + k] = prod[k * this.np4 + i]!;
    return out;
  }

  /** X^T R for R [n, c] row-major; returns [d, c] row-major. */
  adjoint(r: Float32Array, c: number): Float32Array {
    const rT = new Float32Array(c * this.np4);
    for (let i = 0; i < this.n; i++) for (let k = 0; k < c; k++) rT[k * this.np4 + i] = r[i * c + k]!;
    const prod = (this.backward(this.resident("x"), np.array(rT).reshape([c, this.np4])) as RawArray).dataSync() as Float32Array;
    const out = new Float32Array(this.d * c);
    for (let k = 0; k < c; k++) for (let j = 0; j < this.d; j++) out[j * c + k] = prod[k * this.dp4 + j]!;
    return out;
  }

  dispose(): void {
    this.x?.dispose();
    this.xT?.dispose();
    this.x = this.xT = null;
  }
}
