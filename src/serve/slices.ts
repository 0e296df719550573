/**
 * Keeping the event loop free during a large request. Preprocessing (text,
 * log-mel audio) and onnxruntime-node's session.run both run on the main
 * thread, so a 1,024-row request done in one piece would stall /health and
 * every other request for seconds. Work is cut into slices sized from the
 * measured time per row so that each takes about `targetMs`, with a yield
 * to the event loop between slices.
 */
import { setImmediate as immediate } from "node:timers/promises";

export const yieldToEventLoop = (): Promise<void> => immediate();

export class AdaptiveSlicer {
  private msPerRow: number | undefined;

  constructor(
    /** milliseconds one slice should take */
    readonly targetMs = 10,
    /** rows in the first slice, before anything is measured */
    readonly firstSize = 8,
    readonly maxSize = 4096,
  ) {}

  get size(): number {
    if (this.msPerRow === undefined) return this.firstSize;
    return Math.max(1, Math.min(this.maxSize, Math.floor(this.targetMs / Math.max(this.msPerRow, 1e-6))));
  }

  /** Records that `rows` rows took `ms` (a running average, so one slow slice does not swing the size). */
  record(rows: number, ms: number): void {
    const sample = ms / Math.max(1, rows);
    this.msPerRow = this.msPerRow === undefined ? sample : 0.7 * this.msPerRow + 0.3 * sample;
  }
}

/** Calls `work(from, to)` over [0, n) in slices sized by `slicer`, yielding to the event loop between them. */
export async function inSlices(n: number, slicer: AdaptiveSlicer, work: (from: number, to: number) => void | Promise<void>): Promise<void> {
  let from = 0;
  while (from < n) {
    const to = Math.min(n, from + slicer.size);
    const started = performance.now();
    await work(from, to);
    slicer.record(to - from, performance.now() - started);
    from = to;
    if (from < n) await yieldToEventLoop();
  }
}
