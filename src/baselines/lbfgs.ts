/**
 * L-BFGS (Nocedal & Wright, Numerical Optimization, 2nd ed., Algorithm 7.4/7.5)
 * for smooth convex objectives, in float64 on the host: the two-loop recursion
 * over the last `memory` (s, y) pairs with the initial scaling
 * H0 = (s.y / y.y) I, and a backtracking line search on the Armijo condition
 *   f(x + a p) <= f(x) + c1 a g.p      (c1 = 1e-4, a halves from 1)
 * A pair is kept only when s.y > 1e-10 ||s|| ||y|| (the curvature condition; a
 * convex objective meets it except at round-off), so the direction stays a
 * descent direction; if it is not (round-off), the step falls back to -g.
 *
 * Stops, in this order of checking, when
 *   "gradient"    max_i |g_i| <= gtol, or the caller's own gradient test
 *                 (options.gradientTest) holds                       (converged)
 *   "loss"        f_prev - f <= ftol * max(|f_prev|, |f|, 1)       (converged)
 *   "line-search" 30 halvings found no decrease: the objective is flat along
 *                 the direction to the precision it is evaluated in
 *   "iterations"  maxIterations reached first (not converged)
 */
export type Objective = (x: Float64Array) => { f: number; g: Float64Array };

export type LbfgsOptions = {
  gtol: number;
  ftol: number;
  maxIterations: number;
  memory: number;
  /** replaces max_i |g_i| <= gtol when given: true when the gradient g at x says x is close enough to the optimum */
  gradientTest?: (x: Float64Array, g: Float64Array) => boolean;
};

export const lbfgsDefaults: LbfgsOptions = { gtol: 1e-5, ftol: 1e-10, maxIterations: 1000, memory: 10 };

export type LbfgsStop = "gradient" | "loss" | "line-search" | "iterations";

export type LbfgsResult = {
  x: Float64Array;
  f: number;
  /** max_i |g_i| at x */
  gradMax: number;
  iterations: number;
  /** objective evaluations, line-search trials included */
  evaluations: number;
  stop: LbfgsStop;
};

const dot = (a: Float64Array, b: Float64Array) => {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!;
  return s;
};
const maxAbs = (a: Float64Array) => {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]!));
  return m;
};

export function minimiseLbfgs(objective: Objective, x0: Float64Array, options: Partial<LbfgsOptions> = {}): LbfgsResult {
  const o = { ...lbfgsDefaults, ...options };
  const small = o.gradientTest ?? ((_x: Float64Array, g: Float64Array) => maxAbs(g) <= o.gtol);
  const n = x0.length;
  let x = Float64Array.from(x0);
  let { f, g } = objective(x);
  let evaluations = 1;
  const S: Float64Array[] = [];
  const Y: Float64Array[] = [];
  const rho: number[] = [];
  const alpha = new Float64Array(o.memory);
  const p = new Float64Array(n);
  let iterations = 0;
  let stop: LbfgsStop = "iterations";
  while (true) {
    if (small(x, g)) {
      stop = "gradient";
      break;
    }
    if (iterations >= o.maxIterations) break;
    // two-loop recursion: p = -H g
    for (let i = 0; i < n; i++) p[i] = -g[i]!;
    for (let k = S.length - 1; k >= 0; k--) {
      alpha[k] = rho[k]! * dot(S[k]!, p);
      const y = Y[k]!;
      for (let i = 0; i < n; i++) p[i]! -= alpha[k]! * y[i]!;
    }
    if (S.length > 0) {
      const last = S.length - 1;
      const gamma = dot(S[last]!, Y[last]!) / dot(Y[last]!, Y[last]!);
      for (let i = 0; i < n; i++) p[i]! *= gamma;
    } else {
      // first step: a unit-length move along -g
      const scale = 1 / Math.max(Math.sqrt(dot(g, g)), 1e-300);
      for (let i = 0; i < n; i++) p[i]! *= Math.min(1, scale);
    }
    for (let k = 0; k < S.length; k++) {
      const beta = rho[k]! * dot(Y[k]!, p);
      const s = S[k]!;
      for (let i = 0; i < n; i++) p[i]! += s[i]! * (alpha[k]! - beta);
    }
    let slope = dot(g, p);
    if (!(slope < 0)) {
      for (let i = 0; i < n; i++) p[i] = -g[i]!;
      slope = -dot(g, g);
      S.length = Y.length = rho.length = 0;
    }
    // backtracking Armijo line search
    let step = 1;
    let next: { f: number; g: Float64Array } | null = null;
    const xNext = new Float64Array(n);
    for (let trial = 0; trial < 30; trial++) {
      for (let i = 0; i < n; i++) xNext[i] = x[i]! + step * p[i]!;
      const candidate = objective(xNext);
      evaluations++;
      if (Number.isFinite(candidate.f) && candidate.f <= f + 1e-4 * step * slope) {
        next = candidate;
        break;
      }
      step /= 2;
    }
    if (!next) {
      stop = "line-search";
      break;
    }
    iterations++;
    const s = new Float64Array(n);
    const y = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      s[i] = xNext[i]! - x[i]!;
      y[i] = next.g[i]! - g[i]!;
    }
    const sy = dot(s, y);
    if (sy > 1e-10 * Math.sqrt(dot(s, s) * dot(y, y))) {
      if (S.length === o.memory) {
        S.shift();
        Y.shift();
        rho.shift();
      }
      S.push(s);
      Y.push(y);
      rho.push(1 / sy);
    }
    const previous = f;
    x = xNext;
    f = next.f;
    g = next.g;
    if (previous - f <= o.ftol * Math.max(Math.abs(previous), Math.abs(f), 1)) {
      stop = small(x, g) ? "gradient" : "loss";
      break;
    }
  }
  return { x, f, gradMax: maxAbs(g), iterations, evaluations, stop };
}
