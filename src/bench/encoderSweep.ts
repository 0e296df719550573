/**
 * `fusionkit bench --encoder caption=scratch --encoder caption=<model>`: the
 * same methods, seeds and budget on each encoder choice, side by side.
 *
 * A modality named more than once in --encoder is swept; the variants are
 * every combination of the choices. Each variant is a full bench of its own
 * (its own prepared dataset and results, which name the encoders it used);
 * `sweepSummary` puts the variants' leaderboards in one table, a column per
 * encoder variant. The CLI runs the variants and writes their outputs
 * (src/cli/actions/benchOutputs.ts).
 */
import { describeEncoders, parseEncoderFlags, type EncoderConfigInput } from "../data/pretrained/config.ts";
import { FusionkitError } from "../errors.ts";
import type { BenchResults, Stat } from "./results.ts";

export type EncoderVariant = { label: string; slug: string; encoders: Record<string, EncoderConfigInput | null> };

/** The --encoder values as variants: one per combination of the choices given for each modality. */
export function encoderVariants(values: string[]): EncoderVariant[] {
  const choices = new Map<string, (EncoderConfigInput | null)[]>();
  for (const value of values) {
    const [modality, choice] = Object.entries(parseEncoderFlags([value]))[0]!;
    const list = choices.get(modality) ?? [];
    const key = JSON.stringify(choice);
    if (list.some((c) => JSON.stringify(c) === key)) throw new FusionkitError(`--encoder gives "${value}" twice`, { field: "--encoder" });
    list.push(choice);
    choices.set(modality, list);
  }
  let combos: Record<string, EncoderConfigInput | null>[] = [{}];
  for (const [modality, list] of choices) combos = combos.flatMap((combo) => list.map((choice) => ({ ...combo, [modality]: choice })));
  const slugs = new Set<string>();
  return combos.map((encoders) => {
    const label = describeEncoders(encoders as Record<string, { model: string; output?: string } | null>);
    let slug = label.replace(/[^A-Za-z0-9_.=-]+/gu, "_").slice(0, 80);
    while (slugs.has(slug)) slug += "_";
    slugs.add(slug);
    return { label, slug, encoders };
  });
}

type Cell = Stat | undefined;

export type SweepSummary = { variants: { label: string; dir: string; report: string; complete: boolean }[]; metric: string; rows: { method: string; cells: Cell[] }[] };

/**
 * The side-by-side table of the variants that ran (in order): per method, the
 * primary metric of each variant's bench. `dir` and `report` are where the
 * variant's outputs are, relative to the sweep's directory (the caller's choice).
 */
export function sweepSummary(ran: { label: string; dir: string; report: string; results: BenchResults }[]): SweepSummary {
  const metric = ran[0]!.results.config.primaryMetric.name;
  const methods = [...new Set(ran.flatMap((o) => o.results.methods.map((m) => m.name)))];
  return {
    metric,
    variants: ran.map(({ label, dir, report, results }) => ({ label, dir, report, complete: results.complete })),
    rows: methods.map((method) => ({
      method,
      cells: ran.map(({ results }) => {
        const stat = results.methods.find((m) => m.name === method)?.aggregate?.metrics[metric];
        return stat && stat.n > 0 && Number.isFinite(stat.mean) ? { mean: stat.mean, std: stat.std, n: stat.n } : undefined;
      }),
    })),
  };
}
