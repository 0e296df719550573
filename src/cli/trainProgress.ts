/**
 * `fusionkit train` progress. On a terminal (stderr is a TTY): one cli-progress
 * bar over the epochs with an ETA and the last epoch's loss and validation
 * metrics, drawn on stderr so stdout keeps only the summary. Otherwise (CI
 * logs, pipes): one plain line per epoch on stdout. --quiet: nothing.
 * (The bench reporter in src/bench/progress.ts tracks a plan of parallel
 * (method, seed) runs; one run's epochs need only this single bar.)
 */
import cliProgress from "cli-progress";
import type { EpochInfo } from "../train/trainer.ts";
import { formatMetrics } from "./options.ts";

export interface TrainProgress {
  epoch(info: EpochInfo): void;
  /** Leaves the bar as it stands (early stopping ends it before its total). */
  stop(): void;
}

export const quietProgress: TrainProgress = { epoch() {}, stop() {} };

/** "epoch  3/20  loss 0.6931  val accuracy 0.8125  macroF1 0.8000  412 ms  *" (the star marks a new best). */
export function formatEpochLine(e: EpochInfo): string {
  return `epoch ${String(e.epoch).padStart(String(e.epochs).length)}/${e.epochs}  loss ${e.trainLoss.toFixed(4)}  val ${formatMetrics(e.valMetrics)}  ${e.ms.toFixed(0)} ms${e.best ? "  *" : ""}`;
}

export function plainProgress(write: (line: string) => void = (line) => process.stdout.write(`${line}\n`)): TrainProgress {
  return { epoch: (e) => write(formatEpochLine(e)), stop() {} };
}

/** "1m05s", "42s". */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return "?";
  const s = Math.round(ms / 1000);
  return s >= 60 ? `${Math.floor(s / 60)}m${String(s % 60).padStart(2, "0")}s` : `${s}s`;
}

/** Time left if the remaining epochs take as long as the finished ones did on average ("?" before the first). */
export function epochEta(elapsedMs: number, done: number, total: number): string {
  return done === 0 ? "?" : formatDuration((elapsedMs / done) * (total - done));
}

export function terminalProgress(epochs: number, stream: NodeJS.WriteStream = process.stderr): TrainProgress {
  const bar = new cliProgress.SingleBar(
    { stream, hideCursor: true, clearOnComplete: false, barsize: 24, fps: 5, format: " epochs |{bar}| {value}/{total} | ETA {remaining} | {status}" },
    cliProgress.Presets.shades_classic,
  );
  const started = performance.now();
  bar.start(epochs, 0, { remaining: "?", status: "first epoch running" });
  let best = "";
  return {
    epoch(e) {
      if (e.best) best = `, best epoch ${e.epoch} (${e.metricName} ${e.valMetric.toFixed(4)})`;
      const elapsed = performance.now() - started;
      bar.update(e.epoch, { remaining: epochEta(elapsed, e.epoch, e.epochs), status: `loss ${e.trainLoss.toFixed(4)}, val ${e.metricName} ${e.valMetric.toFixed(4)}${best}, elapsed ${formatDuration(elapsed)}` });
    },
    stop: () => bar.stop(),
  };
}

export function trainProgressFor(options: { quiet?: boolean; epochs: number; stream?: NodeJS.WriteStream }): TrainProgress {
  if (options.quiet) return quietProgress;
  const stream = options.stream ?? process.stderr;
  return stream.isTTY ? terminalProgress(options.epochs, stream) : plainProgress();
}
