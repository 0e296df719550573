/**
 * Seeded train/val/test assignment.
 *
 * Rows are gathered into groups (the `groupBy` value, else one group per row)
 * and whole groups are assigned, so a group never spans two splits. With
 * stratification each class (the label of a group's first row) is split on
 * its own, so every class keeps roughly its share in every split.
 *
 * Within a stratum of n groups, shuffled with the seed, group k lands at
 * position p = (k + 1/2) / n and goes to train if p < f_train, val if
 * p < f_train + f_val, test otherwise; except that the first group always
 * goes to train, so val/test never hold a class train has never seen (a class
 * with a single group, or a small train fraction, would otherwise lose it).
 */
import { seededRandom, shuffleInPlace } from "./random.ts";
import type { SplitName } from "./types.ts";

export type SplitFractions = { train: number; val: number; test: number };
export type SplitItem = { group: string; stratum: string };

export function assignSeededSplit(items: SplitItem[], fractions: SplitFractions, seed: number): SplitName[] {
  const groupsByStratum = new Map<string, Set<string>>();
  const seenGroups = new Map<string, string>();
  for (const { group, stratum } of items) {
    if (seenGroups.has(group)) continue;
    seenGroups.set(group, stratum);
    let groups = groupsByStratum.get(stratum);
    if (!groups) groupsByStratum.set(stratum, (groups = new Set()));
    groups.add(group);
  }
  const random = seededRandom(seed);
  const splitOfGroup = new Map<string, SplitName>();
  // Sorting before shuffling makes the result depend only on the set of groups and the seed, not on row order.
  for (const stratum of [...groupsByStratum.keys()].sort()) {
    const groups = shuffleInPlace([...groupsByStratum.get(stratum)!].sort(), random);
    groups.forEach((group, k) => {
      const position = (k + 0.5) / groups.length;
      splitOfGroup.set(group, k === 0 || position < fractions.train ? "train" : position < fractions.train + fractions.val ? "val" : "test");
    });
  }
  return items.map(({ group }) => splitOfGroup.get(group)!);
}
