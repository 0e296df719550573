/**
 * Optimisers over the flat parameter vector (see params.ts): every update is
 * elementwise, so the whole optimiser is a few fused kernels inside the step.
 */
import { minimum, scalar, where, type Tensor } from "./tensor.ts";
import type { ParamLayout } from "./params.ts";

export type OptimizerConfig =
  | { kind: "sgd"; momentum?: number; nesterov?: boolean; weightDecay?: number }
  | { kind: "adam"; beta1?: number; beta2?: number; eps?: number }
  | { kind: "adamw"; beta1?: number; beta2?: number; eps?: number; weightDecay?: number };

export type ScheduleConfig = { lr: number; warmupSteps?: number; totalSteps?: number; minLrRatio?: number };

/** How many flat state vectors the optimiser keeps beside the parameters. */
export function optimizerSlots(cfg: OptimizerConfig): number {
  return cfg.kind === "sgd" ? 1 : 2;
}

/** Linear warmup to `lr`, then cosine decay to lr * minLrRatio at totalSteps (host side, per step). */
export function warmupCosine(cfg: ScheduleConfig, step: number): number {
  const warm = cfg.warmupSteps ?? 0;
  if (warm > 0 && step < warm) return (cfg.lr * (step + 1)) / warm;
  if (!cfg.totalSteps || cfg.totalSteps <= warm) return cfg.lr;
  const progress = Math.min(1, (step - warm) / (cfg.totalSteps - warm));
  const minLr = cfg.lr * (cfg.minLrRatio ?? 0);
  return minLr + 0.5 * (cfg.lr - minLr) * (1 + Math.cos(Math.PI * progress));
}

/** Scales the gradient leaves so that their global L2 norm is at most maxNorm; returns them and the norm before. */
export function clipByGlobalNorm(grad: Tensor[], maxNorm: number): { grad: Tensor[]; norm: Tensor } {
  let sq: Tensor | undefined;
  for (const g of grad) {
    const s = g.square().sum();
    sq = sq ? sq.add(s) : s;
  }
  const norm = (sq ?? scalar(0)).sqrt();
  const scale = minimum(scalar(maxNorm).div(norm.add(1e-12)), 1);
  return { grad: grad.map((g) => g.mul(scale)), norm };
}

/**
 * 1 - b^t for 0 < b < 1 and a step count t >= 1 (Adam's bias corrections), in-graph.
 * Why not 1 - exp(t ln b): for b2 = 0.999 and small t that cancels (0.001 from
 * 1 - 0.999), and jax-js's wasm exp (a polynomial; wasm has no exp instruction)
 * is off by ~1e-5, so the first update came out 0.6% too large and differed from
 * ONNX Runtime's (test/engine/optim.test.ts). While |t ln b| < 0.5 this uses the
 * Taylor series of -expm1 (truncation < 3e-9); beyond, b^t < 0.61 and
 * 1 - exp has no cancellation.
 */
export function oneMinusPow(b: number, t: Tensor): Tensor {
  const x = t.mul(Math.log(b));
  let term = x;
  let series = x;
  for (let k = 2; k <= 9; k++) {
    term = term.mul(x).div(k);
    series = series.add(term);
  }
  return where(x.greater(-0.5), series.neg(), x.exp().neg().add(1));
}

/** Decoupled weight decay only touches weight matrices, not biases or norm gains. */
function decays(layout: ParamLayout, i: number): boolean {
  return layout.entries[i]!.shape.length >= 2;
}

/**
 * One optimiser update over parameter leaves. `slots[k][i]` is optimiser state
 * k for leaf i. `t` is the 1-based step count as a scalar Tensor (so one trace
 * serves every step), `lr` the learning rate for this step.
 */
export function applyUpdate(
  cfg: OptimizerConfig,
  layout: ParamLayout,
  params: Tensor[],
  grads: Tensor[],
  slots: Tensor[][],
  lr: Tensor,
  t: Tensor,
  /** the layout index of each leaf given, when they are not all of the layout's in order */
  leafIndex?: number[],
): { params: Tensor[]; slots: Tensor[][] } {
  return updateLeaves(cfg, params, grads, slots, lr, t, (i) => decays(layout, leafIndex ? leafIndex[i]! : i));
}

/** Whether weight decay touches leaf i of `layout` (see decays). */
export function decayedLeaves(layout: ParamLayout): boolean[] {
  return layout.entries.map((_, i) => decays(layout, i));
}

/**
 * Adam/AdamW in the fewest elementwise passes, for the ONNX Runtime step
 * (src/export/lowerStep.ts), where every elementwise op is one pass over the
 * leaf and the optimiser was most of a wide model's step. Algebraically the
 * same update as applyUpdate, rearranged:
 * - the slots hold m / (1 - b1) and v / (1 - b2), so their updates are
 *   b1 * m~ + g and b2 * v~ + g^2 (no scaling of g);
 * - the bias corrections, the learning rate and eps fold into per-step scalars
 *   computed on the host in double precision (foldedAdamScalars):
 *   p' = keep * p - alpha * m~ / (sqrt(v~) + epsHat).
 * Five passes per leaf after the slots (sqrt, add, div, mul, sub), one more for a
 * decayed leaf, against eleven for the literal form. The slots are not
 * applyUpdate's (m~ and v~ are m and v scaled), so they stay inside the ORT step.
 */
export function applyFoldedAdam(
  cfg: Extract<OptimizerConfig, { kind: "adam" | "adamw" }>,
  /** per parameter tensor: whether weight decay touches it, or a 0/1 mask over its elements */
  decayed: (boolean | Tensor)[],
  params: Tensor[],
  grads: Tensor[],
  slots: Tensor[][],
  scalars: { alpha: Tensor; epsHat: Tensor; keep: Tensor },
): { params: Tensor[]; slots: Tensor[][] } {
  const b1 = cfg.beta1 ?? 0.9;
  const b2 = cfg.beta2 ?? 0.999;
  const decaying = cfg.kind === "adamw" && (cfg.weightDecay ?? 0.01) !== 0;
  const ms: Tensor[] = [];
  const vs: Tensor[] = [];
  const next = params.map((p, i) => {
    const g = grads[i]!;
    const m = slots[0]![i]!.mul(b1).add(g);
    const v = slots[1]![i]!.mul(b2).add(g.square());
    ms.push(m);
    vs.push(v);
    const step = m.div(v.sqrt().add(scalars.epsHat)).mul(scalars.alpha);
    const d = decaying ? decayed[i]! : false;
    if (d === false) return p.sub(step);
    return p.mul(d === true ? scalars.keep : d.mul(scalars.keep.sub(1)).add(1)).sub(step);
  });
  return { params: next, slots: [ms, vs] };
}

/** The per-step scalars of applyFoldedAdam at learning rate `lr` and 1-based step `t`. */
export function foldedAdamScalars(cfg: Extract<OptimizerConfig, { kind: "adam" | "adamw" }>, lr: number, t: number): { alpha: number; epsHat: number; keep: number } {
  const b1 = cfg.beta1 ?? 0.9;
  const b2 = cfg.beta2 ?? 0.999;
  const eps = cfg.eps ?? 1e-8;
  const wd = cfg.kind === "adamw" ? (cfg.weightDecay ?? 0.01) : 0;
  // 1 - b^t without cancellation for small t (see oneMinusPow)
  const c1 = -Math.expm1(t * Math.log(b1));
  const c2 = -Math.expm1(t * Math.log(b2));
  // m = (1 - b1) m~, v = (1 - b2) v~: lr * (m / c1) / (sqrt(v / c2) + eps) = alpha * m~ / (sqrt(v~) + epsHat)
  const root = Math.sqrt(c2 / (1 - b2));
  return { alpha: ((lr * (1 - b1)) / c1) * root, epsHat: eps * root, keep: 1 - lr * wd };
}

/** `decay(i)`: whether leaf i is decayed. */
function updateLeaves(
  cfg: OptimizerConfig,
  params: Tensor[],
  grads: Tensor[],
  slots: Tensor[][],
  lr: Tensor,
  t: Tensor,
  decay: (i: number) => boolean,
): { params: Tensor[]; slots: Tensor[][] } {
  const decayTerm = (p: Tensor, i: number, wd: number): Tensor | undefined => (wd && decay(i) ? p.mul(wd) : undefined);
  switch (cfg.kind) {
    case "sgd": {
      const mu = cfg.momentum ?? 0.9;
      const wd = cfg.weightDecay ?? 0;
      const velocity: Tensor[] = [];
      const next = params.map((p, i) => {
        const d = decayTerm(p, i, wd);
        const g = d ? grads[i]!.add(d) : grads[i]!;
        const v = slots[0]![i]!.mul(mu).add(g);
        velocity.push(v);
        const step = cfg.nesterov ? g.add(v.mul(mu)) : v;
        return p.sub(step.mul(lr));
      });
      return { params: next, slots: [velocity] };
    }
    case "adam":
    case "adamw": {
      const b1 = cfg.beta1 ?? 0.9;
      const b2 = cfg.beta2 ?? 0.999;
      const eps = cfg.eps ?? 1e-8;
      const wd = cfg.kind === "adamw" ? (cfg.weightDecay ?? 0.01) : 0;
      // bias corrections 1 - b^t, computed in-graph from t
      const c1 = oneMinusPow(b1, t);
      const c2 = oneMinusPow(b2, t);
      const ms: Tensor[] = [];
      const vs: Tensor[] = [];
      const next = params.map((p, i) => {
        const g = grads[i]!;
        const m = slots[0]![i]!.mul(b1).add(g.mul(1 - b1));
        const v = slots[1]![i]!.mul(b2).add(g.square().mul(1 - b2));
        ms.push(m);
        vs.push(v);
        let update = m.div(c1).div(v.div(c2).sqrt().add(eps));
        const d = decayTerm(p, i, wd);
        if (d) update = update.add(d);
        return p.sub(update.mul(lr));
      });
      return { params: next, slots: [ms, vs] };
    }
  }
}
