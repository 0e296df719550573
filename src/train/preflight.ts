/**
 * Checks run before any training, each failing with one line that says what is
 * wrong and what to do, instead of a run that trains on nonsense or ends in
 * "loss became NaN":
 *   - method config overrides: parsed by the method's zod schema, so an unknown
 *     key or a bad value is refused naming the method, the field and the flag;
 *   - the prepared data: a value whose square overflows float32 (|x| above
 *     sqrt(3.4e38) = 1.8e19, after standardisation: every loss and norm squares
 *     its inputs), a classification train split with one class, a modality
 *     missing from every train row (allowed only when asked for explicitly).
 * Called by the commands (train, bench, align) after loading the data and
 * before building or training anything.
 */
import type { PreparedDataset, SplitName } from "../data/types.ts";
import { FusionkitError } from "../errors.ts";
import { parseMethodConfig } from "../fusion/config.ts";
import type { FusionMethod } from "../fusion/types.ts";

/**
 * The overrides through the method's own schema (src/fusion/config.ts) before any
 * data is loaded: the typo `{"rnak": 8}` must not train with the default rank, nor
 * `{"rank": 0}` fail after an hour of loading. The message starts with the flag.
 */
export function checkMethodConfig(method: Pick<FusionMethod, "name" | "config">, overrides: Record<string, unknown>, flag = "--config"): void {
  parseMethodConfig(method, overrides, flag);
}

/** The largest |x| whose square is a finite float32: sqrt(3.4028235e38). */
export const float32SquareLimit = Math.sqrt(3.4028234663852886e38);

export type TrainableOptions = {
  /** train even when a modality is missing from every train row (flag --allow-missing-modality) */
  allowMissingModality?: boolean;
  /** only these modalities are used (align's pair); default all */
  modalities?: string[];
  /** whether the run needs two classes (a classifier does; an alignment does not) */
  needsClasses?: boolean;
};

/** Checks that `dataset` can be trained on; see the file header. */
export function checkTrainable(dataset: PreparedDataset, options: TrainableOptions = {}): void {
  const used = dataset.modalities.filter((m) => !options.modalities || options.modalities.includes(m.name));
  const train = dataset.splits.train;
  for (const modality of used) {
    const present = train.present[modality.name];
    if (train.n > 0 && present && !present.some((p) => p > 0.5) && !options.allowMissingModality) {
      const field = (modality.config as { field?: string } | undefined)?.field;
      throw new FusionkitError(
        `modality "${modality.name}" is missing (null or absent) in all ${train.n} train rows, so nothing can learn from it. ` +
          `Check its field${field ? ` "${field}"` : ""} in dataset.json and the rows, or pass --allow-missing-modality to train without it`,
      );
    }
  }
  for (const split of ["train", "val", "test"] as SplitName[]) checkMagnitudes(dataset, split, used.map((m) => m.name));
  if ((options.needsClasses ?? true) && dataset.task === "classification" && train.n > 0) checkClasses(dataset);
}

function checkMagnitudes(dataset: PreparedDataset, split: SplitName, modalities: string[]): void {
  const data = dataset.splits[split];
  for (const name of modalities) {
    const spec = dataset.modalities.find((m) => m.name === name)!;
    // text and tabular categorical codes are small integers by construction; check them anyway, it is one pass
    const inputs = data.inputs[name];
    if (!inputs || data.n === 0) continue;
    const width = inputs.length / data.n;
    for (let i = 0; i < inputs.length; i++) {
      const x = inputs[i]!;
      if (Number.isFinite(x) && Math.abs(x) <= float32SquareLimit) continue;
      const row = Math.floor(i / width);
      const shown = Number.isFinite(x) ? x.toExponential(2) : String(x);
      throw new FusionkitError(
        `modality "${spec.name}", row "${data.ids[row] ?? row}" (${split} split): value ${shown} at position ${i % width} is too large for training: ` +
          `its square overflows float32 (|x| must stay below 1.8e19 after preprocessing), so the loss would become NaN at any learning rate. ` +
          `Rescale this modality's values (e.g. divide the vectors by their norm) or fix the row`,
      );
    }
  }
}

function checkClasses(dataset: PreparedDataset): void {
  const train = dataset.splits.train;
  const seen = new Set<number>();
  for (const y of train.labels) seen.add(y);
  if (seen.size >= 2) return;
  const only = dataset.labelNames[[...seen][0] ?? 0] ?? "?";
  throw new FusionkitError(
    `the train split has only one class ("${only}", all ${train.n} rows), so a classifier has nothing to separate and any accuracy it reports is meaningless. ` +
      `Add rows of at least one other class, or check the label field "${dataset.labelField}"`,
  );
}
