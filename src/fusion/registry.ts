/**
 * Every fusion method by name. Each family file exports `<family>Methods:
 * FusionMethod[]`; adding a family is one import and one entry in `families`.
 * Family files: earlyFusion.ts, intermediateFusion.ts, lateFusion.ts,
 * lowRankFusion.ts, contrastiveAlignment.ts, transformerFusion.ts,
 * progressiveFusion.ts, adaptiveFusion.ts (unimodal.ts is per-dataset, below).
 */
import type { ModalitySpec, PreparedDataset } from "../data/types.ts";
import { FusionkitError } from "../errors.ts";
import { hybridMethods } from "./adaptiveFusion.ts";
import { contrastiveMethods } from "./contrastiveAlignment.ts";
import { earlyFusionMethods } from "./earlyFusion.ts";
import { intermediateMethods } from "./intermediateFusion.ts";
import { lateMethods } from "./lateFusion.ts";
import { lowRankMethods } from "./lowRankFusion.ts";
import { progressiveMethods } from "./progressiveFusion.ts";
import { transformerMethods } from "./transformerFusion.ts";
import type { FusionMethod } from "./types.ts";
import { unimodalMethod, unimodalPrefix } from "./unimodal.ts";
import { isLinearBaseline, linearBaselineMethod } from "../baselines/linear.ts";

const families: FusionMethod[][] = [
  earlyFusionMethods,
  intermediateMethods,
  lateMethods,
  lowRankMethods,
  contrastiveMethods,
  transformerMethods,
  progressiveMethods,
  hybridMethods,
];

/** Every registered method (unimodal baselines excluded: they depend on the dataset's modalities). */
export function listMethods(): FusionMethod[] {
  const all = families.flat();
  const seen = new Set<string>();
  for (const m of all) {
    if (seen.has(m.name)) throw new Error(`two fusion methods are registered as "${m.name}"`);
    seen.add(m.name);
  }
  return all;
}

function modalityNames(modalities: (ModalitySpec | string)[]): string[] {
  return modalities.map((m) => (typeof m === "string" ? m : m.name));
}

/** Method names valid for a dataset with these modalities. */
export function methodNames(modalities: (ModalitySpec | string)[] = []): string[] {
  return [...listMethods().map((m) => m.name), ...modalityNames(modalities).map((n) => `${unimodalPrefix}${n}`)];
}

/**
 * The method called `name`; `unimodal:<modality>` for a baseline; `linear:<modality>`
 * or `linear:concat` for a classical baseline (bench rows, src/baselines/linear.ts).
 * Unknown names list the valid ones.
 */
export function getMethod(name: string, modalities: (ModalitySpec | string)[] = []): FusionMethod {
  const names = modalityNames(modalities);
  if (isLinearBaseline(name)) return linearBaselineMethod(name, names);
  if (name.startsWith(unimodalPrefix)) {
    const modality = name.slice(unimodalPrefix.length);
    if (names.length === 0 || names.includes(modality)) return unimodalMethod(modality);
  } else {
    const found = listMethods().find((m) => m.name === name);
    if (found) return found;
  }
  throw new FusionkitError(`unknown fusion method "${name}". Valid methods: ${methodNames(modalities).join(", ")}`, { field: "method" });
}

/** What `bench` runs by default: every method plus one unimodal baseline per modality. */
export function defaultMethodsFor(dataset: Pick<PreparedDataset, "modalities">): FusionMethod[] {
  return [...listMethods(), ...dataset.modalities.map((m) => unimodalMethod(m.name))];
}
