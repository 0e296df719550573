/**
 * Parameters as pytrees with named leaves, kept on the host as Float32Arrays
 * and moved to the engine as ONE flat vector.
 *
 * Why flat: jax-js's cost per train step grows with the number of arrays that
 * cross the jit boundary (engine notes: LMF step 6.2 ms with 7 parameter
 * arrays, 2.2 ms with one flat vector). Inside the step the vector is split
 * back into the named tree, so model code still sees `p.fusion.factors[0]`.
 */
import { numpy as np } from "@jax-js/jax";
import { adopt, type HostArray, type Tensor } from "./tensor.ts";
import { HostRng } from "./random.ts";

export type ParamTree = { [name: string]: ParamTree | HostArray } | (ParamTree | HostArray)[];
/**
 * The same tree with Tensors at the leaves, as model code receives it: a method
 * whose `init` returns { fusion: LinearParams } reads `p.fusion.w` as a Tensor.
 * Params (no argument) is an untyped tree, for code that only passes it on.
 */
export type Params<T = ParamTree> = T extends HostArray
  ? Tensor
  : T extends readonly (infer U)[]
    ? Params<U>[]
    : { [K in keyof T]: Params<T[K]> };

export type LayoutEntry = { name: string; shape: number[]; offset: number; size: number };
/**
 * Where each leaf of a tree sits in the flat vector. `T` is the tree type the layout
 * was made from (a phantom: nothing is stored), so unflattening gives that type back
 * and a step built on the layout hands its loss function `Params<T>` without a cast.
 */
export type ParamLayout<T = ParamTree> = { entries: LayoutEntry[]; total: number; skeleton: unknown; readonly tree?: T };

export function isHostArray(x: unknown): x is HostArray {
  return x !== null && typeof x === "object" && (x as HostArray).data instanceof Float32Array && Array.isArray((x as HostArray).shape);
}

/** Walks leaves in a fixed order (object key order, then array index). */
export function namedLeaves(tree: unknown, prefix = ""): [string, HostArray][] {
  if (isHostArray(tree)) return [[prefix, tree]];
  const out: [string, HostArray][] = [];
  const entries = Array.isArray(tree) ? tree.map((v, i) => [String(i), v] as const) : Object.entries(tree as object);
  for (const [k, v] of entries) out.push(...namedLeaves(v, prefix ? `${prefix}.${k}` : k));
  return out;
}

function skeletonOf(tree: unknown, counter: { i: number }): unknown {
  if (isHostArray(tree)) return counter.i++;
  if (Array.isArray(tree)) return tree.map((t) => skeletonOf(t, counter));
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(tree as object)) out[k] = skeletonOf(v, counter);
  return out;
}

export function layoutOf<T extends ParamTree>(tree: T): ParamLayout<T> {
  let offset = 0;
  const entries = namedLeaves(tree).map(([name, a]) => {
    const size = a.data.length;
    const e = { name, shape: a.shape, offset, size };
    offset += size;
    return e;
  });
  return { entries, total: offset, skeleton: skeletonOf(tree, { i: 0 }) };
}

export function flattenParams<T extends ParamTree>(tree: T): { layout: ParamLayout<T>; flat: Float32Array } {
  const layout = layoutOf(tree);
  const flat = new Float32Array(layout.total);
  for (const [i, [, a]] of namedLeaves(tree).entries()) flat.set(a.data, layout.entries[i]!.offset);
  return { layout, flat };
}

/**
 * Rebuilds a tree from its skeleton (leaf indices) and a list of leaves; the
 * caller names the tree type it built the layout from (`T`).
 */
export function fillSkeleton<T = ParamTree>(skeleton: unknown, leaves: unknown[]): T {
  return fill(skeleton, leaves) as T;
}

function fill(skeleton: unknown, leaves: unknown[]): unknown {
  if (typeof skeleton === "number") return leaves[skeleton];
  if (Array.isArray(skeleton)) return skeleton.map((s) => fill(s, leaves));
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(skeleton as object)) out[k] = fill(v, leaves);
  return out;
}

/** Host flat vector -> host tree (copies). */
export function unflattenHost<T = ParamTree>(layout: ParamLayout<T>, flat: Float32Array): T {
  const leaves = layout.entries.map((e) => ({ data: flat.slice(e.offset, e.offset + e.size), shape: e.shape }));
  return fillSkeleton<T>(layout.skeleton, leaves);
}

/** Flat engine vector -> tree of Tensors, in one split op (its transpose is one concatenate). */
export function unflatten<T = ParamTree>(layout: ParamLayout<T>, flat: Tensor): Params<T> {
  if (layout.entries.length === 0) return fillSkeleton<Params<T>>(layout.skeleton, []);
  const cuts = layout.entries.slice(1).map((e) => e.offset);
  const parts = np.split(flat.borrow, cuts).map((r) => adopt(r));
  const leaves = parts.map((p, i) => {
    const shape = layout.entries[i]!.shape;
    return shape.length === 1 ? p : p.reshape(shape);
  });
  return fillSkeleton<Params<T>>(layout.skeleton, leaves);
}

export function countParams(tree: ParamTree): number {
  return namedLeaves(tree).reduce((n, [, a]) => n + a.data.length, 0);
}

// ---- initialisers (host side, seeded) ------------------------------------

export function zerosParam(shape: number[]): HostArray {
  return { data: new Float32Array(shape.reduce((a, b) => a * b, 1)), shape };
}
export function onesParam(shape: number[]): HostArray {
  return { data: new Float32Array(shape.reduce((a, b) => a * b, 1)).fill(1), shape };
}
export function constantParam(shape: number[], value: number): HostArray {
  return { data: new Float32Array(shape.reduce((a, b) => a * b, 1)).fill(value), shape };
}
export function normalParam(rng: HostRng, shape: number[], std: number): HostArray {
  const data = new Float32Array(shape.reduce((a, b) => a * b, 1));
  for (let i = 0; i < data.length; i++) data[i] = rng.normal() * std;
  return { data, shape };
}
/** Glorot/Xavier uniform: U(-a, a), a = sqrt(6 / (fanIn + fanOut)). */
export function glorotParam(rng: HostRng, shape: number[], fanIn = shape[0]!, fanOut = shape[shape.length - 1]!): HostArray {
  const a = Math.sqrt(6 / (fanIn + fanOut));
  const data = new Float32Array(shape.reduce((x, y) => x * y, 1));
  for (let i = 0; i < data.length; i++) data[i] = (rng.uniform() * 2 - 1) * a;
  return { data, shape };
}
/** He/Kaiming normal: N(0, 2 / fanIn), for ReLU layers. */
export function heParam(rng: HostRng, shape: number[], fanIn = shape[0]!): HostArray {
  return normalParam(rng, shape, Math.sqrt(2 / fanIn));
}
