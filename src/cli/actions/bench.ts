/** The run of `fusionkit bench` (registered in src/cli/bench.ts). */
import { reporterFor } from "../../bench/progress.ts";
import { redactArgs } from "../../bench/queue/url.ts";
import { skippedRowsReport } from "../../data/problems.ts";
import { FusionkitError } from "../../errors.ts";
import { formatSummary } from "../../report/leaderboard.ts";
import type { BenchFlags } from "../bench.ts";
import type { BenchOptions } from "../../bench/options.ts";
import { formatSweep } from "../../report/sweep.ts";
import { benchToDir, sweepToDir, type BenchOutcome } from "./benchOutputs.ts";

function methodConfigs(config: Record<string, unknown> | undefined): Record<string, Record<string, unknown>> {
  const out: Record<string, Record<string, unknown>> = {};
  for (const [method, settings] of Object.entries(config ?? {})) {
    if (settings === null || typeof settings !== "object" || Array.isArray(settings)) {
      throw new FusionkitError(`--config maps method names to config objects, e.g. '{"lmf":{"rank":8}}'; the value for "${method}" is ${JSON.stringify(settings)}`, { field: "--config" });
    }
    out[method] = settings as Record<string, unknown>;
  }
  return out;
}

export async function runBenchCommand(flags: BenchFlags): Promise<void> {
  const controller = new AbortController();
  // First Ctrl-C: stop the workers and write what finished. `once`: a second Ctrl-C kills at once.
  const onSigint = () => controller.abort(new Error("interrupted by Ctrl-C (SIGINT)"));
  process.once("SIGINT", onSigint);
  const reporter = reporterFor({ quiet: flags.quiet === true });
  // loaded only with --queue: a local bench never pays for BullMQ
  const executor = flags.queue !== undefined ? (await import("../../bench/queue/coordinator.ts")).queueExecutor(flags.queue) : undefined;
  const variants = flags.encoder?.length ? (await import("../../bench/encoderSweep.ts")).encoderVariants(flags.encoder) : [];
  if (variants.length && executor) {
    throw new FusionkitError("--encoder with --queue: queue workers load the dataset by name, without the pretrained encoders; run a pretrained bench without --queue", { field: "--encoder" });
  }
  const context = { signal: controller.signal, reporter, command: ["fusionkit", ...redactArgs(process.argv.slice(2))], ...(executor ? { executor } : {}) };
  let outcome: BenchOutcome;
  try {
    const options: Partial<BenchOptions> = {
      data: flags.data,
      seeds: flags.seeds,
      epochs: flags.epochs,
      batchSize: flags.batchSize,
      lr: flags.lr,
      lrTrialEpochs: flags.lrTrialEpochs,
      weightDecay: flags.weightDecay,
      modalityDropout: flags.modalityDropout,
      unimodalAux: flags.unimodalAux,
      textPooling: flags.textPooling,
      warmStart: flags.warmStart,
      ...(flags.lrGrid ? { lrGrid: flags.lrGrid } : {}),
      patience: flags.patience,
      encoderDim: flags.encoderDim,
      noiseLevels: flags.noise,
      latencySamples: flags.latencySamples,
      explain: flags.explain,
      retrieval: flags.retrieval,
      baselines: flags.baselines,
      methodConfigs: methodConfigs(flags.config),
      ...(flags.methods ? { methods: flags.methods } : {}),
      ...(flags.timeBudget !== undefined ? { timeBudgetS: flags.timeBudget } : {}),
      ...(flags.maxRows !== undefined ? { maxRows: flags.maxRows } : {}),
      ...(flags.workers !== undefined ? { workers: flags.workers } : {}),
      ...(flags.allowDownload ? { allowDownload: true } : {}),
      ...(flags.skipBadRows ? { skipBadRows: true } : {}),
      ...(flags.allowMissingModality ? { allowMissingModality: true } : {}),
    };
    if (variants.length > 1) {
      // a sweep: the same bench once per encoder variant, then one side-by-side table
      const sweep = await sweepToDir(options, variants, flags.out, context);
      for (const one of sweep.outcomes) console.log(formatSummary(one.results, one.outDir));
      console.log(`\n${formatSweep(sweep.summary)}\nside by side: ${sweep.indexPath}`);
      const unfinished = sweep.outcomes.find((o) => !o.results.complete) ?? (sweep.outcomes.length < variants.length ? sweep.outcomes.at(-1) : undefined);
      if (unfinished) throw new FusionkitError(`bench ${unfinished.results.interruption?.reason ?? "interrupted"}: the finished runs are in ${sweep.outDir}, marked incomplete`);
      return;
    }
    outcome = await benchToDir({ ...options, ...(variants[0] ? { encoders: variants[0].encoders as BenchOptions["encoders"] } : {}) }, flags.out, context);
  } finally {
    process.off("SIGINT", onSigint);
  }
  for (const line of skippedRowsReport(outcome.results.dataset.skipped ?? [])) console.error(line);
  console.log(formatSummary(outcome.results, outcome.outDir));
  if (!outcome.results.complete) {
    throw new FusionkitError(
      `bench ${outcome.results.interruption?.reason ?? "interrupted"}: the finished runs are in ${outcome.resultsPath} and ${outcome.reportPath}, marked incomplete`,
    );
  }
}
