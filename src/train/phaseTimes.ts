/**
 * Wall time by phase (lowering + session open, train steps, validation, ...)
 * summed inside one thread, for finding where a bench's time goes
 * (docs/benchmarks.md, "Where the default bench's time goes"). Off unless
 * FUSIONKIT_PHASE_TIMES names a file: then every bench job appends one JSON
 * line {method, seed, wallMs, phases} to it (src/bench/job.ts). The cost when
 * off is one performance.now() pair per timed call.
 */
import fs from "node:fs";

export const phaseTimesEnvVar = "FUSIONKIT_PHASE_TIMES";

const totals = new Map<string, number>();

export function addPhase(name: string, ms: number): void {
  totals.set(name, (totals.get(name) ?? 0) + ms);
}

/** Runs `fn` and adds its wall time (until its promise settles) to `name`. */
export async function timePhase<T>(name: string, fn: () => T | Promise<T>): Promise<T> {
  const started = performance.now();
  try {
    return await fn();
  } finally {
    addPhase(name, performance.now() - started);
  }
}

/** The same, for a synchronous `fn`. */
export function timePhaseSync<T>(name: string, fn: () => T): T {
  const started = performance.now();
  try {
    return fn();
  } finally {
    addPhase(name, performance.now() - started);
  }
}

/** The totals since the last call (and resets them). */
export function takePhases(): Record<string, number> {
  const out = Object.fromEntries([...totals].map(([k, v]) => [k, Math.round(v)]));
  totals.clear();
  return out;
}

/** Appends one record to FUSIONKIT_PHASE_TIMES's file, when it is set. */
export function recordPhases(record: Record<string, unknown>): void {
  const file = process.env[phaseTimesEnvVar];
  if (file) fs.appendFileSync(file, `${JSON.stringify({ ...record, phases: takePhases() })}\n`);
  else takePhases();
}
