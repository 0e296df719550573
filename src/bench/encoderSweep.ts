/**
 * `fusionkit bench --encoder caption=scratch --encoder caption=<model>`: the
 * same methods, seeds and budget on each encoder choice, side by side.
 *
 * A modality named more than once in --encoder is swept; the variants are
 * every combination of the choices. Each variant is a full bench of its own
 * (its own prepared dataset, results.json and report.html, which names the
 * encoders it used) in <out>/<variant>/; <out>/index.html and sweep.json put
 * the variants' leaderboards in one table, a column per encoder variant.
 */
import { join, relative } from "node:path";
import { describeEncoders, parseEncoderFlags, type EncoderConfigInput } from "../data/pretrained/config.ts";
import { FusionkitError } from "../errors.ts";
import { writeFileAtomic } from "../io/atomicWrite.ts";
import { escapeHtml, meanStd } from "../report/format.ts";
import type { BenchOptions } from "./options.ts";
import { defaultOutDir } from "./plan.ts";
import type { Stat } from "./results.ts";
import type { BenchOutcome } from "./runner.ts";

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

/** Runs the bench once per variant (sequentially: each uses every worker) and writes the side-by-side table. */
export async function runEncoderSweep(
  options: Partial<BenchOptions>,
  variants: EncoderVariant[],
  runOne: (options: Partial<BenchOptions>) => Promise<BenchOutcome>,
): Promise<{ outDir: string; summary: SweepSummary; outcomes: BenchOutcome[]; indexPath: string }> {
  const outDir = options.out ?? defaultOutDir();
  const outcomes: BenchOutcome[] = [];
  for (const variant of variants) {
    outcomes.push(await runOne({ ...options, encoders: variant.encoders as BenchOptions["encoders"], out: join(outDir, variant.slug) }));
    if (!outcomes.at(-1)!.results.complete) break;
  }
  const metric = outcomes[0]!.results.config.primaryMetric.name;
  const methods = [...new Set(outcomes.flatMap((o) => o.results.methods.map((m) => m.name)))];
  const summary: SweepSummary = {
    metric,
    variants: outcomes.map((o, i) => ({ label: variants[i]!.label, dir: relative(outDir, o.outDir), report: relative(outDir, o.reportPath), complete: o.results.complete })),
    rows: methods.map((method) => ({
      method,
      cells: outcomes.map((o) => {
        const stat = o.results.methods.find((m) => m.name === method)?.aggregate?.metrics[metric];
        return stat && stat.n > 0 && Number.isFinite(stat.mean) ? { mean: stat.mean, std: stat.std, n: stat.n } : undefined;
      }),
    })),
  };
  writeFileAtomic(join(outDir, "sweep.json"), JSON.stringify(summary, null, 2));
  const indexPath = join(outDir, "index.html");
  writeFileAtomic(indexPath, sweepHtml(summary));
  return { outDir, summary, outcomes, indexPath };
}

const cellText = (cell: Cell) => meanStd(cell);

/** The side-by-side table as text (stdout). */
export function formatSweep(summary: SweepSummary): string {
  const header = ["method", ...summary.variants.map((v) => v.label)];
  const lines = summary.rows.map((row) => [row.method, ...row.cells.map(cellText)]);
  const widths = header.map((h, c) => Math.max(h.length, ...lines.map((l) => l[c]!.length)));
  const fmt = (cells: string[]) => cells.map((cell, c) => cell.padEnd(widths[c]!)).join("  ");
  return [`${summary.metric} (mean ± std over seeds) per encoder variant:`, fmt(header), ...lines.map(fmt)].join("\n");
}

function sweepHtml(summary: SweepSummary): string {
  const best = summary.rows.map((row) => Math.max(...row.cells.map((c) => c?.mean ?? -Infinity)));
  const head = summary.variants.map((v) => `<th><a href="${escapeHtml(v.report)}">${escapeHtml(v.label)}</a>${v.complete ? "" : " (incomplete)"}</th>`).join("");
  const body = summary.rows
    .map((row, r) => `<tr><td>${escapeHtml(row.method)}</td>${row.cells.map((c) => `<td${c && c.mean === best[r] ? ' class="best"' : ""}>${cellText(c)}</td>`).join("")}</tr>`)
    .join("\n");
  return `<!doctype html><html><head><meta charset="utf-8"><title>fusionkit bench: encoder sweep</title>
<style>body{font-family:system-ui,sans-serif;margin:2em}table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:4px 8px;text-align:right}td:first-child{text-align:left}.best{font-weight:bold;background:#eef6ee}</style></head>
<body><h1>Encoder sweep</h1><p>The same methods, seeds, budget and split on each encoder variant; each column links to that variant's full report (which names its encoders and their identities). Cells: test ${escapeHtml(summary.metric)}, mean ± std over seeds; bold: the best variant for the method.</p>
<table><tr><th>method</th>${head}</tr>
${body}</table></body></html>
`;
}
