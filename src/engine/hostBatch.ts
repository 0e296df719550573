/** Batches on the host, and walking their leaves in one fixed order (the train steps' inputs). */
import { isHostArray } from "./params.ts";
import type { HostArray } from "./tensor.ts";

/** A batch on the host: named float arrays with shapes (any nesting of records). */
export type HostBatch = { [key: string]: HostArray | HostBatch };

/** The leaves of a batch (records of records of arrays) with their key paths. */
export function leavesOf(batch: HostBatch, prefix: string[] = []): [string[], HostArray][] {
  if (isHostArray(batch)) return [[prefix, batch]];
  return Object.entries(batch).flatMap(([k, v]) => leavesOf(v as HostBatch, [...prefix, k]));
}

/** `example` with its leaves replaced by `values` in leavesOf order (empty records stay, model code reads them). */
export function rebuildLike(example: HostBatch, values: unknown[]): unknown {
  let next = 0;
  const walk = (node: HostBatch): unknown => {
    if (isHostArray(node)) return values[next++];
    return Object.fromEntries(Object.entries(node).map(([k, v]) => [k, walk(v as HostBatch)]));
  };
  return walk(example);
}
