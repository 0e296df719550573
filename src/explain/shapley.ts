/**
 * Exact Shapley values over modalities (Shapley, 1953; for model attribution
 * e.g. Lundberg & Lee, NeurIPS 2017, "A Unified Approach to Interpreting Model
 * Predictions"). The players are the M modalities; the value of a coalition S
 * is the model's output for one class when only the modalities in S are
 * present:
 *
 *   v(S)  = f_c(x with s_m = 0 for every m not in S)      c = the class explained
 *   phi_i = sum_{S ⊆ N \ {i}} |S|! (M - |S| - 1)! / M!  ( v(S ∪ {i}) - v(S) )
 *
 * Properties the tests pin: efficiency (sum_i phi_i = v(N) - v(∅)), symmetry
 * (interchangeable modalities get equal phi), dummy (a modality missing in the
 * row gets exactly 0, since masking it changes nothing).
 *
 * "Absent" means exactly what a missing modality means to the model: its
 * presence flag is 0, so the encoder zeroes its features and token mask
 * (src/encoders) and the fusion method treats it as missing. That is the
 * baseline the model was trained to understand (modality dropout trains on it),
 * unlike a zero or mean input, which is an arbitrary point in input space.
 *
 * Cost: 2^M forward passes per row, so M > 10 is refused. The passes reuse one
 * predictor (the jax-js Predictor: one compiled EvalStep, traced once; or the
 * bench's OrtPredictor, modalityShapleyOn) on copies of the split whose
 * `present` arrays are masked.
 */
import type { SplitData, Task } from "../data/types.ts";
import { FusionkitError } from "../errors.ts";
import type { HostArray } from "../engine/tensor.ts";
import type { Predictions, Predictor } from "../train/predict.ts";
import type { ModelSpec } from "../model/model.ts";

/** 2^10 = 1,024 passes per row is the most we do; beyond, use a sampling estimator. */
export const maxShapleyModalities = 10;

/**
 * The output that plays the coalition's value: "probability" = softmax (classification)
 * or sigmoid (multilabel) probability of the explained class, the prediction in label
 * units for regression; "logit" = the raw output (standardised units for regression).
 * Probabilities are bounded and comparable across rows; logits are additive in the
 * model's last layer, so they show interactions that saturated probabilities hide.
 */
export type ShapleyValueKind = "probability" | "logit";

export function checkModalityCount(M: number): void {
  if (M > maxShapleyModalities) {
    throw new FusionkitError(
      `exact Shapley attribution over ${M} modalities needs 2^${M} = ${2 ** M} model evaluations per row; ` +
        `fusionkit computes it for at most ${maxShapleyModalities} modalities. Group related modalities into one, or explain a subset of them.`,
      { field: "modalities" },
    );
  }
  if (M < 1) throw new FusionkitError("Shapley attribution needs at least one modality", { field: "modalities" });
}

/** w[s] = s! (M - s - 1)! / M!, the weight of a coalition of size s not containing the player. */
export function shapleyWeights(M: number): Float64Array {
  checkModalityCount(M);
  const factorial = [1];
  for (let k = 1; k <= M; k++) factorial.push(factorial[k - 1]! * k);
  return Float64Array.from({ length: M }, (_, s) => (factorial[s]! * factorial[M - s - 1]!) / factorial[M]!);
}

function popcount(x: number): number {
  let c = 0;
  for (; x; x &= x - 1) c++;
  return c;
}

/**
 * Shapley values of one game given v over every coalition: `values[S]` with bit
 * m of S set when player m is in the coalition (values.length = 2^M).
 */
export function shapleyFromValues(values: ArrayLike<number>, M: number, weights = shapleyWeights(M)): Float64Array {
  if (values.length !== 2 ** M) throw new Error(`shapleyFromValues: ${values.length} coalition values for ${M} players (expected ${2 ** M})`);
  const phi = new Float64Array(M);
  for (let S = 0; S < values.length; S++) {
    const size = popcount(S);
    for (let i = 0; i < M; i++) {
      const bit = 1 << i;
      if (S & bit) continue;
      phi[i]! += weights[size]! * (values[S | bit]! - values[S]!);
    }
  }
  return phi;
}

export type ModalityAttribution = {
  modalities: string[];
  task: Task;
  value: ShapleyValueKind;
  n: number;
  /** [n] the class (or label) whose output was attributed */
  target: Int32Array;
  /** [n, M] phi per row and modality */
  phi: Float64Array;
  /** [n] v(all modalities as given in the row) */
  full: Float64Array;
  /** [n] v(no modality) */
  empty: Float64Array;
  /** [n, outDim] the model's scores with every modality as given (probabilities or regression predictions) */
  scores: Float32Array;
  /** the method's explain tensors from the same full pass */
  explain?: Record<string, HostArray>;
};

export type ShapleyOptions = {
  value?: ShapleyValueKind;
  /** a fixed class index to explain for every row; default: each row's predicted class */
  target?: number;
};

/** The split with every modality not in `coalition` marked missing (inputs shared, not copied). */
export function coalitionSplit(split: SplitData, modalities: string[], coalition: number): SplitData {
  const zeros = new Float32Array(split.n);
  const present: Record<string, Float32Array> = {};
  modalities.forEach((name, m) => (present[name] = coalition & (1 << m) ? split.present[name]! : zeros));
  return { ...split, present };
}

/** The class each row's output is attributed to: predicted class, most probable label, or 0 for regression. */
function targets(task: Task, scores: Float32Array, n: number, outDim: number, fixed: number | undefined): Int32Array {
  const out = new Int32Array(n);
  if (fixed !== undefined) {
    if (!Number.isInteger(fixed) || fixed < 0 || fixed >= outDim) {
      throw new FusionkitError(`target class ${fixed} is out of range: the model has ${outDim} output(s) (0..${outDim - 1})`, { field: "target" });
    }
    return out.fill(fixed);
  }
  if (task === "regression") return out;
  for (let i = 0; i < n; i++) {
    let best = 0;
    for (let c = 1; c < outDim; c++) if (scores[i * outDim + c]! > scores[i * outDim + best]!) best = c;
    out[i] = best;
  }
  return out;
}

/**
 * Exact modality Shapley values for every row of `split`, through `predictor`
 * (whose batch size and compiled step are reused for all 2^M coalitions).
 */
export function modalityShapley(predictor: Predictor, split: SplitData, opts: ShapleyOptions = {}): ModalityAttribution {
  const game = coalitionGame(predictor.model.spec, split, opts);
  const full = predictor.predict(split);
  return game.attribution(full, game.coalitions.map((S) => predictor.predict(coalitionSplit(split, game.modalities, S))));
}

/**
 * modalityShapley through any split predictor, e.g. an OrtPredictor (src/export):
 * the same values from another engine, without the method's explain tensors
 * when that engine has none. The passes run one after another.
 */
export async function modalityShapleyOn(
  predictor: { predict(split: SplitData): Predictions | Promise<Predictions> },
  spec: Pick<ModelSpec, "modalities" | "outDim" | "task">,
  split: SplitData,
  opts: ShapleyOptions = {},
): Promise<ModalityAttribution> {
  const game = coalitionGame(spec, split, opts);
  const full = await predictor.predict(split);
  const passes: Predictions[] = [];
  for (const S of game.coalitions) passes.push(await predictor.predict(coalitionSplit(split, game.modalities, S)));
  return game.attribution(full, passes);
}

/** The coalitions to evaluate (every proper subset, as bit masks) and the attribution from their passes. */
function coalitionGame(spec: Pick<ModelSpec, "modalities" | "outDim" | "task">, split: SplitData, opts: ShapleyOptions) {
  const modalities = spec.modalities.map((m) => m.name);
  const M = modalities.length;
  const weights = shapleyWeights(M);
  const value = opts.value ?? "probability";
  const { outDim, task } = spec;
  const n = split.n;
  const all = 2 ** M - 1;
  return {
    modalities,
    coalitions: Array.from({ length: all }, (_, S) => S),
    /** `passes[S]`: the pass with coalition S (S < all); `fullPass`: every modality as given */
    attribution(fullPass: Predictions, passes: Predictions[]): ModalityAttribution {
      const target = targets(task, fullPass.probs, n, outDim, opts.target);
      // coalitionValues[S * n + i] = v_i(S)
      const coalitionValues = new Float64Array((all + 1) * n);
      const read = (S: number, pass: Predictions) => {
        const source = value === "logit" ? pass.logits : pass.probs;
        for (let i = 0; i < n; i++) coalitionValues[S * n + i] = source[i * outDim + target[i]!]!;
      };
      read(all, fullPass);
      passes.forEach((pass, S) => read(S, pass));
      const phi = new Float64Array(n * M);
      const rowValues = new Float64Array(all + 1);
      for (let i = 0; i < n; i++) {
        for (let S = 0; S <= all; S++) rowValues[S] = coalitionValues[S * n + i]!;
        phi.set(shapleyFromValues(rowValues, M, weights), i * M);
      }
      return {
        modalities,
        task,
        value,
        n,
        target,
        phi,
        full: coalitionValues.slice(all * n, (all + 1) * n),
        empty: coalitionValues.slice(0, n),
        scores: fullPass.probs,
        ...(fullPass.explain && Object.keys(fullPass.explain).length ? { explain: fullPass.explain } : {}),
      };
    },
  };
}

/** The attribution of some rows of `attr` (in the order given), with `explain` tensors for exactly those rows. */
export function attributionOfRows(attr: ModalityAttribution, rows: number[], outDim: number, explain?: Record<string, HostArray>): ModalityAttribution {
  const M = attr.modalities.length;
  const pick = <T extends Float64Array | Float32Array | Int32Array>(a: T, width: number): T => {
    const out = new (a.constructor as new (n: number) => T)(rows.length * width);
    rows.forEach((r, k) => out.set(a.subarray(r * width, (r + 1) * width), k * width));
    return out;
  };
  const { explain: _all, ...rest } = attr;
  return {
    ...rest,
    n: rows.length,
    target: pick(attr.target, 1),
    phi: pick(attr.phi, M),
    full: pick(attr.full, 1),
    empty: pick(attr.empty, 1),
    scores: pick(attr.scores, outDim),
    ...(explain ? { explain } : {}),
  };
}

export type AttributionSummary = {
  modalities: string[];
  rows: number;
  /** mean of phi_m over rows (signed: positive = the modality pushes the explained output up) */
  meanPhi: number[];
  /** mean of |phi_m| over rows */
  meanAbsPhi: number[];
  /** meanAbsPhi normalised to sum 1: each modality's share of the decision (all 0 when nothing moves) */
  share: number[];
  /** mean v(N) and v(∅) over rows */
  meanFull: number;
  meanEmpty: number;
};

/** Averages over a subset of rows (all rows when `rows` is omitted). */
export function summariseAttribution(attr: ModalityAttribution, rows?: ArrayLike<number>): AttributionSummary {
  const M = attr.modalities.length;
  const index = rows ?? Array.from({ length: attr.n }, (_, i) => i);
  const meanPhi = new Array<number>(M).fill(0);
  const meanAbsPhi = new Array<number>(M).fill(0);
  let meanFull = 0;
  let meanEmpty = 0;
  for (let k = 0; k < index.length; k++) {
    const i = index[k]!;
    for (let m = 0; m < M; m++) {
      const p = attr.phi[i * M + m]!;
      meanPhi[m]! += p;
      meanAbsPhi[m]! += Math.abs(p);
    }
    meanFull += attr.full[i]!;
    meanEmpty += attr.empty[i]!;
  }
  const count = Math.max(1, index.length);
  for (let m = 0; m < M; m++) {
    meanPhi[m]! /= count;
    meanAbsPhi[m]! /= count;
  }
  const total = meanAbsPhi.reduce((a, b) => a + b, 0);
  return {
    modalities: attr.modalities,
    rows: index.length,
    meanPhi,
    meanAbsPhi,
    share: meanAbsPhi.map((a) => (total > 0 ? a / total : 0)),
    meanFull: meanFull / count,
    meanEmpty: meanEmpty / count,
  };
}

/** Per explained class: the summary over the rows whose target is that class (classes with no row are left out). */
export function attributionByClass(attr: ModalityAttribution, classNames: string[]): ({ classIndex: number; className: string } & AttributionSummary)[] {
  if (attr.task === "regression") return [];
  const byClass = new Map<number, number[]>();
  for (let i = 0; i < attr.n; i++) {
    const c = attr.target[i]!;
    let rows = byClass.get(c);
    if (!rows) byClass.set(c, (rows = []));
    rows.push(i);
  }
  return [...byClass.entries()]
    .sort((a, b) => a[0] - b[0])
    .map(([c, rows]) => ({ classIndex: c, className: classNames[c] ?? String(c), ...summariseAttribution(attr, rows) }));
}
