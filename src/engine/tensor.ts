/**
 * Tensor: the engine's array type, a thin wrapper over a jax-js Array.
 *
 * Why a wrapper: jax-js frees arrays by reference count, and every operation
 * consumes its arguments, so plain jax-js model code needs `.ref` on every
 * second use of a value (even inside jit traces: see test/engine/tensor.test.ts).
 * That is error-prone and makes the math unreadable. Here every Tensor lives in
 * a *scope* (an arena): an operation reads its inputs through `.ref`, so they
 * stay alive, and registers its result in the scope; when the scope closes,
 * every array it created or received is disposed once, except the outputs,
 * which get one extra reference first. Model code can use a value any number
 * of times and never thinks about ownership.
 *
 * Scopes are opened by `scoped` (eager), `compile` (jit) and `valueAndGrad`
 * (autodiff), so model code only ever sees Tensors.
 */
import { numpy as np, nn, lax } from "@jax-js/jax";

export type RawArray = np.Array;
type Operand = Tensor | number;

class Scope {
  readonly owned: RawArray[] = [];
}

const scopes: Scope[] = [];

function currentScope(): Scope {
  const scope = scopes[scopes.length - 1];
  if (!scope) {
    throw new Error(
      "fusionkit engine: a Tensor operation ran outside a scope. Wrap eager code in scoped(() => ...), " +
        "or use compile()/valueAndGrad().",
    );
  }
  return scope;
}

/** Registers a raw array (whose one reference the scope now owns) and wraps it. */
export function adopt(raw: RawArray): Tensor {
  currentScope().owned.push(raw);
  return new Tensor(raw);
}

function raw(x: Operand): RawArray | number {
  return typeof x === "number" ? x : x.use();
}

function checkAlive(raw: RawArray): void {
  // refCount is 0 once the scope that owned the array has closed
  if (Reflect.get(raw, "refCount") === 0) {
    throw new Error(
      "fusionkit engine: a Tensor was used after the scope that created it closed. Return it from that scope (scoped/compile) instead of keeping it.",
    );
  }
}

/** Whether matmul pads odd widths (a jax-js speed trick; see Tensor.matmul). Off while tracing a graph for ONNX Runtime. */
let padMatmuls = true;

/** True inside withoutMatmulPadding, i.e. while src/export/lower.ts traces a train step for ONNX Runtime: layers may pick the formulation ORT runs fastest (conv2dChannelsLast). */
export function tracingForOnnx(): boolean {
  return !padMatmuls;
}

/**
 * Runs `fn` with matmul padding off: ONNX Runtime's kernels need no padding, and the
 * padded zeros add exactly nothing, so the traced graph computes the same values with fewer nodes.
 */
export function withoutMatmulPadding<T>(fn: () => T): T {
  const before = padMatmuls;
  padMatmuls = false;
  try {
    return fn();
  } finally {
    padMatmuls = before;
  }
}

export class Tensor {
  /** @internal use adopt(); the scope owns one reference of `raw`. */
  constructor(readonly raw: RawArray) {}

  get shape(): number[] {
    return this.raw.shape;
  }
  get ndim(): number {
    return this.raw.ndim;
  }
  get size(): number {
    return this.raw.size;
  }
  /** Borrowed reference for passing into jax-js directly (engine-internal). */
  get borrow(): RawArray {
    return this.use();
  }
  /** A new reference to the raw array, for one jax-js call that consumes it. */
  use(): RawArray {
    currentScope();
    checkAlive(this.raw);
    return this.raw.ref;
  }

  add(o: Operand): Tensor {
    return adopt(np.add(this.use(), raw(o)));
  }
  sub(o: Operand): Tensor {
    return adopt(np.subtract(this.use(), raw(o)));
  }
  mul(o: Operand): Tensor {
    return adopt(np.multiply(this.use(), raw(o)));
  }
  div(o: Operand): Tensor {
    return adopt(np.trueDivide(this.use(), raw(o)));
  }
  neg(): Tensor {
    return adopt(np.negative(this.use()));
  }
  /**
   * Batched matrix product over the last two axes (numpy semantics).
   * jax-js 0.1.25 only uses its SIMD-tiled kernels when the contracted and
   * output widths are multiples of 4; otherwise it falls back to a scalar
   * gather loop that is 3-6x slower (an LMF step at batch 32: 10 ms vs 3.9 ms,
   * bench/engine.ts). So odd widths are zero-padded here; padding is a pad op
   * whose gradient is a slice, and the result is sliced back.
   */
  matmul(o: Tensor): Tensor {
    const k = this.shape[this.ndim - 1]!;
    const n = o.shape[o.ndim - 1]!;
    const padK = (4 - (k % 4)) % 4;
    const padN = (4 - (n % 4)) % 4;
    if (o.ndim < 2 || (padK === 0 && padN === 0) || !padMatmuls) return adopt(np.matmul(this.use(), o.use()));
    const widths = (ndim: number, axis: number, amount: number): [number, number][] =>
      Array.from({ length: ndim }, (_, i) => (i === axis ? [0, amount] : [0, 0]) as [number, number]);
    const a = padK ? adopt(np.pad(this.use(), widths(this.ndim, this.ndim - 1, padK))) : this;
    const b = adopt(np.pad(o.use(), padK && padN
      ? widths(o.ndim, o.ndim - 2, padK).map((w, i) => (i === o.ndim - 1 ? [0, padN] : w) as [number, number])
      : padK ? widths(o.ndim, o.ndim - 2, padK) : widths(o.ndim, o.ndim - 1, padN)));
    const out = adopt(np.matmul(a.use(), b.use()));
    return padN ? out.slice(out.ndim - 1, 0, n) : out;
  }
  square(): Tensor {
    return this.mul(this);
  }
  sqrt(): Tensor {
    return adopt(np.sqrt(this.use()));
  }
  exp(): Tensor {
    return adopt(np.exp(this.use()));
  }
  log(): Tensor {
    return adopt(np.log(this.use()));
  }
  abs(): Tensor {
    return adopt(np.abs(this.use()));
  }
  tanh(): Tensor {
    return adopt(np.tanh(this.use()));
  }
  sigmoid(): Tensor {
    return adopt(nn.sigmoid(this.use()));
  }
  relu(): Tensor {
    return adopt(nn.relu(this.use()));
  }
  gelu(): Tensor {
    return adopt(nn.gelu(this.use()));
  }
  sum(axis?: number | number[], keepdims = false): Tensor {
    return adopt(np.sum(this.use(), axis, { keepdims }));
  }
  mean(axis?: number | number[], keepdims = false): Tensor {
    return adopt(np.mean(this.use(), axis, { keepdims }));
  }
  max(axis?: number | number[], keepdims = false): Tensor {
    return adopt(np.max(this.use(), axis, { keepdims }));
  }
  min(axis?: number | number[], keepdims = false): Tensor {
    return adopt(np.min(this.use(), axis, { keepdims }));
  }
  reshape(shape: number[]): Tensor {
    return adopt(np.reshape(this.use(), shape));
  }
  transpose(perm?: number[]): Tensor {
    return adopt(np.transpose(this.use(), perm));
  }
  /** Swaps the last two axes (K^T in attention). */
  swapLastAxes(): Tensor {
    const perm = [...Array(this.ndim).keys()];
    [perm[this.ndim - 1], perm[this.ndim - 2]] = [perm[this.ndim - 2]!, perm[this.ndim - 1]!];
    return this.transpose(perm);
  }
  /** Inserts an axis of length 1. */
  expand(axis: number): Tensor {
    return adopt(np.expandDims(this.use(), axis));
  }
  broadcastTo(shape: number[]): Tensor {
    return adopt(np.broadcastTo(this.use(), shape));
  }
  /** Contiguous range [start, stop) along `axis`. */
  slice(axis: number, start: number, stop: number): Tensor {
    const index: ([number, number] | [])[] = [];
    for (let i = 0; i < this.ndim; i++) index.push(i === axis ? [start, stop] : []);
    return adopt(this.use().slice(...index));
  }
  greater(o: Operand): Tensor {
    return adopt(np.greater(this.use(), raw(o)).astype(np.float32));
  }
  less(o: Operand): Tensor {
    return adopt(np.less(this.use(), raw(o)).astype(np.float32));
  }
  argmax(axis: number): Tensor {
    return adopt(np.argmax(this.use(), axis).astype(np.float32));
  }
  clip(lo: number, hi: number): Tensor {
    return adopt(np.clip(this.use(), lo, hi));
  }
  pow(p: number): Tensor {
    return adopt(np.power(this.use(), p));
  }
  toFloat(): Tensor {
    return adopt(this.use().astype(np.float32));
  }
  toInt(): Tensor {
    return adopt(this.use().astype(np.int32));
  }
}

// ---- constructors ---------------------------------------------------------

export function constant(data: Float32Array | Int32Array | number[], shape: number[]): Tensor {
  const typed = Array.isArray(data) ? new Float32Array(data) : data;
  return adopt(np.array(typed).reshape(shape));
}
export function scalar(value: number): Tensor {
  return adopt(np.array(new Float32Array([value])).reshape([]));
}
export function zeros(shape: number[]): Tensor {
  return adopt(np.zeros(shape));
}
export function ones(shape: number[]): Tensor {
  return adopt(np.ones(shape));
}
export function full(shape: number[], value: number): Tensor {
  return adopt(np.full(shape, value));
}

// ---- free functions -------------------------------------------------------

export function concat(xs: Tensor[], axis = -1): Tensor {
  if (xs.length === 1) return xs[0]!;
  return adopt(np.concatenate(xs.map((x) => x.use()), axis));
}
export function stack(xs: Tensor[], axis = 0): Tensor {
  return adopt(np.stack(xs.map((x) => x.use()), axis));
}
/** cond is a 0/1 float mask (broadcastable). */
export function where(cond: Tensor, a: Operand, b: Operand): Tensor {
  return adopt(np.where(np.greater(cond.use(), 0.5), raw(a), raw(b)));
}
export function maximum(a: Tensor, b: Operand): Tensor {
  return adopt(np.maximum(a.use(), raw(b)));
}
export function minimum(a: Tensor, b: Operand): Tensor {
  return adopt(np.minimum(a.use(), raw(b)));
}
export function stopGradient(x: Tensor): Tensor {
  return adopt(lax.stopGradient(x.use()));
}
export function einsum(subscripts: string, ...xs: Tensor[]): Tensor {
  return adopt(np.einsum(subscripts, ...xs.map((x) => x.use())));
}
/**
 * Rows of `table` at integer-valued `indices` (any shape): result shape [...indices.shape, table.shape[1]].
 *
 * Workaround (jax-js 0.1.25, pinned by test/engine/tensor.test.ts): under jit,
 * the gradient of a gather is a scatter routine that fails with "routine
 * primitive scatter input is not imm" when the incoming cotangent is a pure
 * view (e.g. the broadcast that `.sum()` transposes to). Multiplying the rows
 * by a ones tensor derived from the (traced) indices makes the cotangent a
 * computed array; the product is exact (x * 1 = x).
 */
export function takeRows(table: Tensor, indices: Tensor): Tensor {
  const rows = adopt(np.take(table.use(), indices.use().astype(np.int32), 0));
  const ones = indices.mul(0).add(1).expand(indices.ndim);
  return rows.mul(ones);
}
/** One-hot of integer-valued float labels: [..., numClasses]. */
export function oneHot(labels: Tensor, numClasses: number): Tensor {
  return adopt(nn.oneHot(labels.use().astype(np.int32), numClasses).astype(np.float32));
}

/**
 * log-sum-exp with the max shifted out. Hand-written because the library's
 * nn.logSoftmax gradient is a slow path (1.6 ms vs 0.37 ms on 32x64, engine notes).
 */
export function logSumExp(x: Tensor, axis = -1, keepdims = false): Tensor {
  const m = stopGradient(x.max(axis, true));
  const lse = x.sub(m).exp().sum(axis, true).log().add(m);
  return keepdims ? lse : lse.reshape(lse.shape.filter((_, i) => i !== normAxis(axis, x.ndim)));
}
export function logSoftmax(x: Tensor, axis = -1): Tensor {
  return x.sub(logSumExp(x, axis, true));
}
export function softmax(x: Tensor, axis = -1): Tensor {
  const e = x.sub(stopGradient(x.max(axis, true))).exp();
  return e.div(e.sum(axis, true));
}
/** Numerically stable log(sigmoid(x)) = -softplus(-x). */
export function logSigmoid(x: Tensor): Tensor {
  // -softplus(-x) = min(x, 0) - log1p(exp(-|x|))
  return minimum(x, 0).sub(x.abs().neg().exp().add(1).log());
}

export function normAxis(axis: number, ndim: number): number {
  return axis < 0 ? axis + ndim : axis;
}

// ---- scopes ---------------------------------------------------------------

export type TensorTree = Tensor | TensorTree[] | { [key: string]: TensorTree };
export type RawTree = RawArray | RawTree[] | { [key: string]: RawTree };

export function mapTree<A, B>(tree: unknown, isLeaf: (x: unknown) => x is A, f: (leaf: A) => B): unknown {
  if (isLeaf(tree)) return f(tree);
  if (Array.isArray(tree)) return tree.map((t) => mapTree(t, isLeaf, f));
  if (tree !== null && typeof tree === "object") {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(tree)) out[k] = mapTree(v, isLeaf, f);
    return out;
  }
  return tree;
}

const isTensor = (x: unknown): x is Tensor => x instanceof Tensor;
const isRaw = (x: unknown): x is RawArray => x instanceof np.Array || isTracerLike(x);
function isTracerLike(x: unknown): boolean {
  return x !== null && typeof x === "object" && "aval" in (x as object) && "dispose" in (x as object);
}

/** Runs `fn` in a new scope whose inputs are the (owned) raw arrays in `inputs`. */
export function inScope<I, O>(inputs: I, fn: (wrapped: any) => O): any {
  const scope = new Scope();
  scopes.push(scope);
  try {
    const wrapped = mapTree(inputs, isRaw, (r) => adopt(r));
    const out = fn(wrapped);
    // The outputs outlive the scope: one extra reference each, then release everything.
    return mapTree(out, isTensor, (t) => t.use());
  } finally {
    scopes.pop();
    for (const a of scope.owned) a.dispose();
  }
}

/**
 * Eager evaluation: runs `fn` in a scope and reads every Tensor it returns
 * back to the host as { data, shape }. For tests, tools and small one-offs.
 */
export function scoped<O>(fn: () => O): HostTree<O> {
  const rawOut = inScope(undefined, () => fn());
  return mapTree(rawOut, isRaw, (r) => {
    const shape = r.shape;
    return { data: r.dataSync() as Float32Array, shape };
  }) as HostTree<O>;
}

export type HostArray = { data: Float32Array; shape: number[] };
export type HostTree<T> = T extends Tensor
  ? HostArray
  : T extends (infer U)[]
    ? HostTree<U>[]
    : T extends object
      ? { [K in keyof T]: HostTree<T[K]> }
      : T;

export { isTensor, isRaw };
