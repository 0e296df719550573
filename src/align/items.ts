/**
 * Retrieval items: the distinct things one searches among. A dataset row is a
 * pair (image, text), but the same picture or text can sit in several rows
 * (emoji: one picture per vendor appears once per language, one text per
 * language once per vendor). Ranking row copies against each other would count
 * the same picture several times, so items are the distinct inputs of a
 * modality (equal bytes = one item).
 *
 * True matches: query item q (modality a) and candidate item c (modality b)
 * match when they share a group. Each item's groups are the groups of the rows
 * it appears in; a row's group is the value of the match field (emoji: the
 * emoji id, so the other vendor's picture and the other language's text of
 * the same emoji are true matches too) or, without a match field, the row
 * itself (then q and c match exactly when they appear together in some row).
 */
import { createHash } from "node:crypto";
import type { ModalitySpec, SplitData } from "../data/types.ts";

export type ItemSet = {
  modality: string;
  /** one representative split row per item (its inputs are the item's) */
  rows: number[];
  /** group ids of every row the item appears in, sorted, unique */
  groups: number[][];
  /** the item's id: its row id, or for an item in several rows the part of their ids they share (itemId) */
  ids: string[];
  /** the representative row's label (class index for classification) */
  labels: number[];
  /** the fields whose value is the same in every row of the item (emoji image: emoji, name, vendor; not language) */
  fields: Record<string, string>[];
};

function rowKey(split: SplitData, spec: ModalitySpec, row: number): string {
  const width = spec.shape.reduce((a, b) => a * b, 1);
  const hash = createHash("sha1");
  const values = split.inputs[spec.name]!.subarray(row * width, (row + 1) * width);
  hash.update(new Uint8Array(values.buffer, values.byteOffset, values.byteLength));
  const mask = split.tokenMasks[spec.name];
  if (mask) {
    const T = spec.shape[0]!;
    const m = mask.subarray(row * T, (row + 1) * T);
    hash.update(new Uint8Array(m.buffer, m.byteOffset, m.byteLength));
  }
  return hash.digest("hex");
}

/** The distinct present inputs of modality `spec` among `rows` (default: every row). */
export function retrievalItems(split: SplitData, spec: ModalitySpec, groups: Int32Array, rows?: number[]): ItemSet {
  const byKey = new Map<string, number>();
  const set: ItemSet = { modality: spec.name, rows: [], groups: [], ids: [], labels: [], fields: [] };
  const members: number[][] = [];
  const labelWidth = split.labels.length / Math.max(1, split.n);
  for (const row of rows ?? Array.from({ length: split.n }, (_, i) => i)) {
    if (!(split.present[spec.name]![row]! > 0)) continue;
    const key = rowKey(split, spec, row);
    let item = byKey.get(key);
    if (item === undefined) {
      item = set.rows.length;
      byKey.set(key, item);
      set.rows.push(row);
      set.ids.push("");
      set.labels.push(labelWidth === 1 ? split.labels[row]! : NaN);
      members.push([]);
    }
    members[item]!.push(row);
  }
  members.forEach((itemRows, item) => (set.ids[item] = itemId(itemRows.map((r) => split.ids[r]!))));
  for (const itemRows of members) {
    set.groups.push([...new Set(itemRows.map((r) => groups[r]!))].sort((a, b) => a - b));
    const fields: Record<string, string> = {};
    for (const [name, values] of Object.entries(split.fields)) {
      const first = values[itemRows[0]!]!;
      if (itemRows.every((r) => values[r] === first)) fields[name] = first;
    }
    set.fields.push(fields);
  }
  return set;
}

/**
 * The shared part of an item's row ids up to a separator: emoji rows
 * "1F34E/twitter/en" and "1F34E/twitter/de" hold one picture, "1F34E/twitter".
 * Ids that share no separated prefix give the first row's id.
 */
export function itemId(rowIds: string[]): string {
  let prefix = rowIds[0]!;
  for (const id of rowIds.slice(1)) {
    let n = 0;
    while (n < prefix.length && n < id.length && prefix[n] === id[n]) n++;
    prefix = prefix.slice(0, n);
  }
  if (prefix === rowIds[0]) return prefix;
  const cut = Math.max(...["/", ":", "|", "_", "-", "."].map((sep) => prefix.lastIndexOf(sep)));
  return cut > 0 ? prefix.slice(0, cut) : rowIds[0]!;
}

/** For each query item, the candidate items that share a group with it (its true matches). */
export function trueMatches(queries: ItemSet, candidates: ItemSet): number[][] {
  const candidatesOfGroup = new Map<number, number[]>();
  candidates.groups.forEach((gs, c) => gs.forEach((g) => (candidatesOfGroup.get(g) ?? candidatesOfGroup.set(g, []).get(g)!).push(c)));
  return queries.groups.map((gs) => [...new Set(gs.flatMap((g) => candidatesOfGroup.get(g) ?? []))].sort((a, b) => a - b));
}
