/**
 * Row filters on kept string fields, for transfer experiments: train on one
 * vendor's artwork and test on the other's (`vendor=twitter` / `vendor=google`),
 * or train on one language and query in another (`language=en` / `language=de`).
 * A filter is `field=value` or `field=value1|value2`; several filters all apply.
 */
import type { SplitData } from "../data/types.ts";
import { FusionkitError } from "../errors.ts";

export type RowFilter = { field: string; values: string[] };

export function parseRowFilter(text: string): RowFilter {
  const eq = text.indexOf("=");
  const field = text.slice(0, eq).trim();
  const values = text
    .slice(eq + 1)
    .split("|")
    .map((v) => v.trim())
    .filter((v) => v.length > 0);
  if (eq <= 0 || values.length === 0) {
    throw new FusionkitError(`a row filter is field=value (e.g. vendor=twitter, language=en|de), got "${text}"`, { field: "filter" });
  }
  return { field, values };
}

/** Row positions of `split` that pass every filter; a field the split does not keep is an error listing the kept ones. */
export function filteredRows(split: SplitData, filters: RowFilter[]): number[] {
  for (const f of filters) {
    if (!split.fields[f.field]) {
      throw new FusionkitError(`cannot filter on "${f.field}": not a kept field of the dataset; kept fields: ${Object.keys(split.fields).join(", ") || "none"}`, { field: "filter" });
    }
  }
  const rows: number[] = [];
  for (let i = 0; i < split.n; i++) {
    if (filters.every((f) => f.values.includes(split.fields[f.field]![i]!))) rows.push(i);
  }
  return rows;
}

/** A new SplitData holding only `rows` (copies), so downstream code needs no row lists. */
export function subsetSplit(split: SplitData, rows: number[]): SplitData {
  const take = (source: Float32Array): Float32Array => {
    const width = split.n ? source.length / split.n : 0;
    const out = new Float32Array(rows.length * width);
    rows.forEach((r, i) => out.set(source.subarray(r * width, (r + 1) * width), i * width));
    return out;
  };
  const mapValues = <T, U>(record: Record<string, T>, f: (v: T) => U): Record<string, U> => Object.fromEntries(Object.entries(record).map(([k, v]) => [k, f(v)]));
  return {
    n: rows.length,
    ids: rows.map((r) => split.ids[r]!),
    inputs: mapValues(split.inputs, take),
    tokenMasks: mapValues(split.tokenMasks, take),
    present: mapValues(split.present, take),
    labels: take(split.labels),
    fields: mapValues(split.fields, (values) => rows.map((r) => values[r]!)),
  };
}

/** The split restricted by the filters (the split itself when there are none). */
export function applyFilters(split: SplitData, filters: RowFilter[], what: string): SplitData {
  if (filters.length === 0) return split;
  const rows = filteredRows(split, filters);
  if (rows.length === 0) {
    const described = filters.map((f) => `${f.field}=${f.values.join("|")}`).join(", ");
    throw new FusionkitError(`no ${what} rows pass the filter ${described}; check the values (e.g. fusionkit data inspect)`, { field: "filter" });
  }
  return subsetSplit(split, rows);
}

/** Rows of several splits as one SplitData (e.g. to index a whole dataset); fields kept only when every split has them. */
export function concatSplits(splits: SplitData[]): SplitData {
  const joinArrays = (arrays: Float32Array[]): Float32Array => {
    const out = new Float32Array(arrays.reduce((n, a) => n + a.length, 0));
    let at = 0;
    for (const a of arrays) {
      out.set(a, at);
      at += a.length;
    }
    return out;
  };
  const keys = (pick: (s: SplitData) => Record<string, unknown>) => Object.keys(pick(splits[0]!)).filter((k) => splits.every((s) => k in pick(s)));
  return {
    n: splits.reduce((n, s) => n + s.n, 0),
    ids: splits.flatMap((s) => s.ids),
    inputs: Object.fromEntries(keys((s) => s.inputs).map((k) => [k, joinArrays(splits.map((s) => s.inputs[k]!))])),
    tokenMasks: Object.fromEntries(keys((s) => s.tokenMasks).map((k) => [k, joinArrays(splits.map((s) => s.tokenMasks[k]!))])),
    present: Object.fromEntries(keys((s) => s.present).map((k) => [k, joinArrays(splits.map((s) => s.present[k]!))])),
    labels: joinArrays(splits.map((s) => s.labels)),
    fields: Object.fromEntries(keys((s) => s.fields).map((k) => [k, splits.flatMap((s) => s.fields[k]!)])),
  };
}
