/**
 * Per-row explanations of a trained model's decisions: the prediction, exact
 * modality Shapley values (shapley.ts) and the method's own views (views.ts).
 * The one entry point `fusionkit explain`, `fusionkit predict --explain` and
 * the HTTP service share, so all three say the same thing about a row.
 */
import type { SplitData } from "../data/types.ts";
import { flattenParams } from "../engine/params.ts";
import type { TrainedModel } from "../train/trainer.ts";
import { Predictor } from "../train/predict.ts";
import { modalityShapley, type ModalityAttribution, type ShapleyOptions, type ShapleyValueKind } from "./shapley.ts";
import { gateParameters, rowViews, type GateParameter, type MethodView } from "./views.ts";

/** What explaining needs of a model: a TrainedModel or a loaded one (src/train/persistence.ts). */
export type ExplainableModel = Pick<TrainedModel, "model" | "layout" | "params" | "labelNames" | "options">;

export type RowExplanation = {
  id: string;
  /** class name (classification), label names over 0.5 (multilabel), value in label units (regression) */
  prediction: string | string[] | number;
  /** per-class probabilities (classification, multilabel) */
  probabilities?: Record<string, number>;
  /** the output that was attributed: a class or label name, or "prediction" for regression */
  explained: string;
  value: ShapleyValueKind;
  /** v(all modalities as given) and v(none); sum of attribution = full - empty */
  full: number;
  empty: number;
  /** phi per modality */
  attribution: Record<string, number>;
  /** modalities missing in the row (their phi is exactly 0) */
  missing: string[];
  views: MethodView[];
};

export type RowsExplanation = {
  method: string;
  modalities: string[];
  value: ShapleyValueKind;
  rows: RowExplanation[];
  /** Flamingo-style tanh gates read from the trained parameters (empty for methods without them) */
  gates: GateParameter[];
  /** the raw attribution arrays, for callers that aggregate further */
  attribution: ModalityAttribution;
};

export type ExplainOptions = ShapleyOptions & { batchSize?: number };

const round = (x: number) => Math.round(x * 1e6) / 1e6;

function argmax(scores: ArrayLike<number>): number {
  let best = 0;
  for (let c = 1; c < scores.length; c++) if (scores[c]! > scores[best]!) best = c;
  return best;
}

/** Runs `fn` with a Predictor over the model's parameters and disposes it afterwards. */
export function withPredictor<T>(trained: ExplainableModel, batchSize: number | undefined, fn: (predictor: Predictor) => T): T {
  const predictor = new Predictor(trained.model, trained.layout, flattenParams(trained.params).flat, batchSize ?? trained.options.batchSize);
  try {
    return fn(predictor);
  } finally {
    predictor.dispose();
  }
}

/** Turns the raw attribution of `split` into one JSON-able record per row. */
export function describeRows(trained: ExplainableModel, split: SplitData, attr: ModalityAttribution): RowExplanation[] {
  const { spec, inputDims } = trained.model;
  const { task, outDim } = spec;
  const names = trained.labelNames;
  const M = attr.modalities.length;
  return Array.from({ length: split.n }, (_, i) => {
    const scores = attr.scores.subarray(i * outDim, (i + 1) * outDim);
    const probabilities = task === "regression" ? undefined : Object.fromEntries(names.map((n, c) => [n, round(scores[c]!)]));
    const prediction =
      task === "classification" ? names[argmax(scores)]! : task === "multilabel" ? names.filter((_, c) => scores[c]! > 0.5) : round(scores[0]!);
    return {
      id: split.ids[i] ?? String(i),
      prediction,
      ...(probabilities ? { probabilities } : {}),
      explained: task === "regression" ? "prediction" : (names[attr.target[i]!] ?? String(attr.target[i])),
      value: attr.value,
      full: round(attr.full[i]!),
      empty: round(attr.empty[i]!),
      attribution: Object.fromEntries(attr.modalities.map((m, k) => [m, round(attr.phi[i * M + k]!)])),
      missing: attr.modalities.filter((m) => split.present[m]![i]! < 0.5),
      views: rowViews(attr.explain, trained.model.explains, i, { specs: spec.modalities, dims: inputDims, split, classNames: names }),
    };
  });
}

/**
 * Explains every row of `split` (rows prepared like `fusionkit predict` does:
 * src/model/prepareRows.ts, or a dataset split).
 */
export function attributionForRows(trained: ExplainableModel, split: SplitData, opts: ExplainOptions = {}): RowsExplanation {
  const attribution = withPredictor(trained, opts.batchSize, (predictor) => modalityShapley(predictor, split, opts));
  return {
    method: trained.model.spec.method.name,
    modalities: attribution.modalities,
    value: attribution.value,
    rows: describeRows(trained, split, attribution),
    gates: gateParameters(trained.model, trained.params),
    attribution,
  };
}
