/**
 * explainForReport: one method's explanation of its decisions on a dataset
 * split, as a JSON-able object for the bench report: the attribution bar
 * (each modality's share of mean |phi|), the same broken down by explained
 * class, and a few sample rows with their inputs summarised (inputs.ts) beside
 * their attribution and the method's own views (attention maps, gates, votes).
 */
import { subsetSplit } from "../align/filters.ts";
import type { PreparedDataset, SplitData, SplitName } from "../data/types.ts";
import { FusionkitError } from "../errors.ts";
import { summariseInput, type InputSummary } from "./inputs.ts";
import { describeRows, withPredictor, type ExplainableModel, type ExplainOptions, type RowExplanation } from "./rows.ts";
import { attributionByClass, attributionOfRows, modalityShapley, modalityShapleyOn, summariseAttribution, type AttributionSummary, type ModalityAttribution, type ShapleyValueKind } from "./shapley.ts";
import type { ModelSpec } from "../model/model.ts";
import type { Predictions } from "../train/predict.ts";
import { gateParameters, type GateParameter } from "./views.ts";

export type ReportExplainOptions = ExplainOptions & {
  /** which split to explain (default "test") */
  split?: SplitName;
  /** explain at most this many rows, the split's first ones (default 256; cost 2^M passes per row) */
  maxRows?: number;
  /** sample rows shown in full (default 3), one per predicted class first */
  samples?: number;
  /** PNG width for image inputs (default 64) */
  imageSize?: number;
  /**
   * opens the predictor the 2^M Shapley passes run on (the bench: an OrtPredictor,
   * src/export/trainBackend.ts openSplitPredictor). Its predictions need carry no
   * explain tensors: the sample rows' views then come from one jax-js pass over
   * those rows alone. Default: every pass on the jax-js Predictor.
   */
  openPredictor?: (split: SplitData) => Promise<ShapleyPredictor>;
};

/** A predictor the Shapley passes can run on: Predictor, OrtPredictor (anything with predictions of a split). */
export type ShapleyPredictor = {
  predict(split: SplitData): Predictions | Promise<Predictions>;
  dispose(): void | Promise<void>;
};

export type AttributionBar = { modality: string; share: number; meanAbsPhi: number; meanPhi: number };

export type ReportSample = RowExplanation & {
  /** the row's true label (class names for classification and multilabel) */
  label: string | string[] | number;
  inputs: Record<string, InputSummary>;
};

export type ReportExplanation = {
  method: string;
  family: string;
  split: SplitName;
  rows: number;
  value: ShapleyValueKind;
  modalities: string[];
  /** one bar per modality: share of the decision, over the explained rows */
  bar: AttributionBar[];
  /** mean v(all) and v(none) over the rows: how much the modalities together move the output */
  meanFull: number;
  meanEmpty: number;
  perClass: { className: string; rows: number; bar: AttributionBar[] }[];
  samples: ReportSample[];
  gates: GateParameter[];
};

/** The first `count` rows of a split (all arrays cut, nothing else changed). */
export function headOfSplit(split: SplitData, count: number): SplitData {
  const n = Math.min(count, split.n);
  if (n === split.n) return split;
  return subsetSplit(split, Array.from({ length: n }, (_, i) => i));
}

function bar(summary: AttributionSummary): AttributionBar[] {
  const r = (x: number) => Math.round(x * 1e6) / 1e6;
  return summary.modalities.map((modality, m) => ({ modality, share: r(summary.share[m]!), meanAbsPhi: r(summary.meanAbsPhi[m]!), meanPhi: r(summary.meanPhi[m]!) }));
}

/** Sample rows: the first row of each explained class in turn, then the next rows in order, `count` in all. */
export function pickSamples(targets: Int32Array, count: number): number[] {
  const picked: number[] = [];
  const seen = new Set<number>();
  for (let i = 0; i < targets.length && picked.length < count; i++) {
    if (!seen.has(targets[i]!)) {
      seen.add(targets[i]!);
      picked.push(i);
    }
  }
  for (let i = 0; i < targets.length && picked.length < count; i++) if (!picked.includes(i)) picked.push(i);
  return picked.sort((a, b) => a - b);
}

function trueLabel(dataset: Pick<PreparedDataset, "task" | "labelNames">, split: SplitData, row: number): string | string[] | number {
  const L = dataset.labelNames.length;
  if (dataset.task === "classification") return dataset.labelNames[split.labels[row]!] ?? String(split.labels[row]);
  if (dataset.task === "multilabel") return dataset.labelNames.filter((_, c) => split.labels[row * L + c]! > 0.5);
  return split.labels[row]!;
}

async function shapleyOnOpened(predictor: ShapleyPredictor, spec: ModelSpec, split: SplitData, opts: ReportExplainOptions): Promise<ModalityAttribution> {
  try {
    return await modalityShapleyOn(predictor, spec, split, opts);
  } finally {
    await predictor.dispose();
  }
}

/**
 * describeRows for `rows` of `split` (in that order). When the attribution came
 * without the method's explain tensors (another engine's passes), one jax-js
 * pass over those rows alone gives them: views for a few rows, not the 2^M
 * passes over all of them.
 */
function describeSampleRows(trained: ExplainableModel, split: SplitData, attr: ModalityAttribution, rows: number[]): RowExplanation[] {
  if (attr.explain || Object.keys(trained.model.explains).length === 0 || rows.length === 0) {
    const all = describeRows(trained, split, attr);
    return rows.map((i) => all[i]!);
  }
  const sample = subsetSplit(split, rows);
  const { explain } = withPredictor(trained, rows.length, (predictor) => predictor.predict(sample));
  return describeRows(trained, sample, attributionOfRows(attr, rows, trained.model.spec.outDim, explain));
}

export async function explainForReport(
  trained: ExplainableModel,
  dataset: Pick<PreparedDataset, "task" | "labelNames" | "splits">,
  opts: ReportExplainOptions = {},
): Promise<ReportExplanation> {
  const splitName = opts.split ?? "test";
  const full = dataset.splits[splitName];
  if (!full || full.n === 0) throw new FusionkitError(`the ${splitName} split has no rows to explain`, { field: "split" });
  const split = headOfSplit(full, opts.maxRows ?? 256);
  const attr = opts.openPredictor
    ? await shapleyOnOpened(await opts.openPredictor(split), trained.model.spec, split, opts)
    : withPredictor(trained, opts.batchSize, (predictor) => modalityShapley(predictor, split, opts));
  const overall = summariseAttribution(attr);
  const sampleRows = pickSamples(attr.target, opts.samples ?? 3);
  const described = describeSampleRows(trained, split, attr, sampleRows);
  const samples: ReportSample[] = [];
  for (const [k, i] of sampleRows.entries()) {
    const inputs: Record<string, InputSummary> = {};
    for (const spec of trained.model.spec.modalities) inputs[spec.name] = await summariseInput(spec, split, i, { imageSize: opts.imageSize });
    samples.push({ ...described[k]!, label: trueLabel(dataset, split, i), inputs });
  }
  return {
    method: trained.model.spec.method.name,
    family: trained.model.spec.method.family,
    split: splitName,
    rows: split.n,
    value: attr.value,
    modalities: attr.modalities,
    bar: bar(overall),
    meanFull: overall.meanFull,
    meanEmpty: overall.meanEmpty,
    perClass: attributionByClass(attr, trained.labelNames).map((c) => ({ className: c.className, rows: c.rows, bar: bar(c) })),
    samples,
    gates: gateParameters(trained.model, trained.params),
  };
}
