/**
 * The report header's prose on fairness: what every method shares, what is
 * cached, how the budget was split, how each figure was measured. Written
 * into results.json (`notes`) so the report stays a reader of results only.
 */
import type { BenchResults } from "./results.ts";

export function benchNotes(results: BenchResults): string[] {
  const c = results.config;
  const d = results.dataset;
  const metric = c.primaryMetric.name;
  const notes: string[] = [];
  notes.push(
    `Shared by every method: the same prepared data and train/val/test split, the same encoder per modality (width ${c.encoderDim}), ` +
      `AdamW with warmup + cosine decay at peak learning rate ${c.lr}, batch ${c.batchSize}, at most ${c.epochs} epochs, early stopping on validation ${metric} (patience ${c.patience}) keeping the best epoch's parameters. ` +
      `The test split is used only for the reported figures.`,
  );
  notes.push(`Seeds (${c.seeds.join(", ")}) change parameter initialisation, batch order and dropout; the split stays the same, so the ± is training variance, not split variance.`);
  notes.push(
    `Cached: the prepared dataset (decoded and resized images, tokenised text, standardisation fitted on train) ${d.cacheHit ? "came from the on-disk cache" : "was prepared and written to the on-disk cache"} ` +
      `(${(d.loadMs / 1000).toFixed(1)} s) and is shared by all runs. Nothing learned is shared: every (method, seed) run trains its encoders from scratch.`,
  );
  if (d.encoders?.length) {
    const named = d.encoders.map((e) => `${e.modality} = ${e.model} (${e.modelType}, ${e.output}, identity ${e.identity.slice(0, 12)})`).join("; ");
    notes.push(
      `Frozen pretrained encoders: ${named}. Their embeddings were computed once (cached on disk by encoder identity and input content) and are the inputs of these modalities; ` +
        `every run trains only its small encoder on top of them (the adapter) and the fusion.`,
    );
  }
  if (c.perRunBudgetMs !== null) {
    const byBudget = results.methods.reduce((n, m) => n + m.runs.filter((r) => r.stoppedBy === "time-budget").length, 0);
    notes.push(
      `Time budget: ${c.timeBudgetS} s of training in total, split evenly: every run may train for ${(c.perRunBudgetMs / 1000).toFixed(1)} s (checked after each epoch). ` +
        `${byBudget} run${byBudget === 1 ? "" : "s"} stopped on the budget rather than on early stopping or the epoch limit.`,
    );
  }
  if (c.queue) {
    const byWorker = Object.entries(c.queue.runsByWorker);
    notes.push(
      `Runs executed by ${byWorker.length} \`fusionkit worker\` process${byWorker.length === 1 ? "" : "es"} from a Redis queue (${c.queue.url}, bench ${c.queue.bench}), each on a worker thread with the same job code as a local bench` +
        (byWorker.length ? ` (${byWorker.map(([w, n]) => `${w}: ${n}`).join(", ")})` : "") +
        `. Every worker checked the code version (${c.queue.codeVersion}) and the prepared dataset's content hash (${c.queue.datasetHash.slice(0, 12)}) before running a job. Training times and latencies were measured on the workers' machines.`,
    );
  } else if (c.workers > 1) {
    notes.push(`Runs trained ${c.workers} at a time on worker threads (one per core), in the same order for every method, so training times and latencies are measured with another run busy on the machine, the same for all methods.`);
  }
  notes.push(
    `Latency: wall time to predict one row (gather it, run the compiled batch-1 forward pass, read the scores back), p50 and p95 over ${c.latencySamples} test rows after one warm-up row.`,
  );
  notes.push("Parameters: unimodal baselines count only their own encoder and head (the model holds the other modalities' encoders, but nothing reads them).");
  const textModalities = d.modalities.filter((m) => m.type === "text").map((m) => m.name);
  notes.push(
    `Robustness: "missing" marks the modality absent on every test row; "noise σ" adds Gaussian noise N(0, σ²) to the modality's standardised inputs (levels ${c.noiseLevels.join(", ")}), the same draws for every method.` +
      (textModalities.length ? ` ${textModalities.join(", ")} (token ids) gets no Gaussian noise; its robustness is measured by missingness only.` : ""),
  );
  const explained = results.methods.filter((m) => m.explanations && "report" in m.explanations);
  if (explained.length) {
    const first = explained[0]!.explanations as { seed: number; report: { rows: number; split: string } };
    notes.push(
      `Explanations: exact modality Shapley values of each method's seed-${first.seed} model only (not averaged over seeds), on the first ${first.report.rows} ${first.report.split} rows; ` +
        `computed in the worker after that run's evaluation, ${(explained.reduce((s, m) => s + m.explanations!.ms, 0) / 1000).toFixed(1)} s in all. --no-explain skips them.`,
    );
  }
  const r = results.retrieval;
  if (r) {
    notes.push(
      `Retrieval: one separate contrastive alignment run of ${r.pair.join(" + ")} (seed ${r.seed}, at most ${r.epochs} epochs), not one of the benchmarked methods, ` +
        `trained in a worker beside the bench's first run, ${(r.ms / 1000).toFixed(1)} s with its report section. --no-retrieval skips it.`,
    );
  }
  const tuned = results.methods.filter((m) => m.configNotes.length);
  if (tuned.length) notes.push(`Methods whose training differs from the shared settings: ${tuned.map((m) => `${m.name} (${m.configNotes.join("; ")})`).join(", ")}.`);
  const failed = results.methods.filter((m) => m.errors?.length);
  if (failed.length) notes.push(`Failed runs (left out of the statistics): ${failed.map((m) => `${m.name} seed${m.errors!.length > 1 ? "s" : ""} ${m.errors!.map((e) => e.seed).join(", ")}: ${m.errors![0]!.message.split("\n")[0]}`).join("; ")}.`);
  return notes;
}
