/**
 * The report header's prose on fairness: what every method shares, what is
 * cached, how the budget was split, how each figure was measured. Written
 * into results.json (`notes`) so the report stays a reader of results only.
 */
import type { BenchResults } from "./results.ts";

/** Below this many test groups the grouped bootstrap's p-values are coarse: the notes warn. */
const fewGroups = 20;

export function benchNotes(results: BenchResults): string[] {
  const c = results.config;
  const d = results.dataset;
  const metric = c.primaryMetric.name;
  const notes: string[] = [];
  const searched = c.lrGrid.length > 1;
  notes.push(
    `Shared by every method: the same prepared data and train/val/test split, the same encoder per modality (width ${c.encoderDim}), ` +
      (c.textPooling && d.modalities.some((m) => m.type === "text")
        ? `text pooled as ${c.textPooling === "bag" ? "a bag of its distinct known words" : "attention over its words in order plus a bag of its distinct known words"} (--text-pooling ${c.textPooling}), `
        : "") +
      `AdamW with warmup + cosine decay at peak learning rate ${searched ? `chosen per run from ${c.lrGrid.join(", ")} (below)` : c.lrGrid[0]}, batch ${c.batchSize}, at most ${c.epochs} epochs, early stopping on validation ${metric} (patience ${c.patience}) keeping the best epoch's parameters. ` +
      `The test split is used only for the reported figures.`,
  );
  if (searched) notes.push(learningRateNote(results));
  if (c.modalityDropout > 0 && d.modalities.length > 1) {
    const own = results.methods.filter((m) => m.modalityDropout?.from === "method").map((m) => m.name);
    notes.push(
      `Modality dropout (ModDrop, Neverova et al., IEEE TPAMI 2016): every method that reads several modalities trained with each modality of a row dropped (marked missing) with probability ${c.modalityDropout}, never all of them, ` +
        `so no method learns to lean on one modality and ignore the rest (why, and what it changed on emoji: docs/fair-comparison.md). Unimodal and linear rows read one block and get none.` +
        (own.length ? ` ${own.join(", ")} ${own.length === 1 ? "uses its" : "use their"} own, as part of the method.` : ""),
    );
  }
  if ((c.unimodalAux ?? 0) > 0 && d.modalities.length > 1) {
    notes.push(
      `Unimodal auxiliary losses (after Gradient Blending, Wang, Tran & Feiszli, CVPR 2020): every method that reads several modalities trained with one extra linear head per modality on that modality's encoding, ` +
        `its cross-entropy added to the loss with weight ${c.unimodalAux} / ${d.modalities.length} each, so each encoder learns its own modality even where the fused model could lean on another. The heads are used in training only: predictions never read them (their few parameters are in the counts).`,
    );
  }
  const warmStarted = results.methods.filter((m) => m.runs.some((r) => Array.isArray(r.chosen?.warmStartFrom))).map((m) => m.name);
  if (warmStarted.length) {
    const cold = results.methods.filter((m) => m.family !== "unimodal" && m.family !== "linear" && !warmStarted.includes(m.name) && m.runs.length > 0).map((m) => m.name);
    notes.push(
      `Warm start (Du et al., ICML 2023): ${warmStarted.join(", ")} started ${warmStarted.length === 1 ? "its" : "their"} encoders from the encoders of the same seed's unimodal runs (unimodal:<modality>, trained on the train split with this bench's protocol), then trained the whole model; ` +
        `without it a jointly trained model under-learns the modality that fits more slowly (docs/fair-comparison.md). Their train s leaves out the unimodal runs', which are in those rows. ` +
        (cold.length ? `${cold.join(", ")} ${cold.length === 1 ? "starts" : "start"} from random init: ${cold.length === 1 ? "its" : "their"} second stage is fitted on out-of-fold predictions, and a fold model must not start from encoders that saw its held-out rows. ` : "") +
        `--no-warm-start trains every run from random init.`,
    );
  }
  notes.push(`Seeds (${c.seeds.join(", ")}) change parameter initialisation, batch order and dropout; the split stays the same, so the ± is training variance, not split variance.`);
  notes.push(
    `Cached: the prepared dataset (decoded and resized images, tokenised text, standardisation fitted on train) ${d.cacheHit ? "came from the on-disk cache" : "was prepared and written to the on-disk cache"} ` +
      `(${(d.loadMs / 1000).toFixed(1)} s) and is shared by all runs.` +
      (warmStarted.length ? " Nothing else learned is shared beyond the warm start above." : " Nothing learned is shared: every (method, seed) run trains its encoders from scratch."),
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
  const onJax = results.methods.filter((m) => m.runs.some((r) => r.latencyMs.engine === "jax-js")).map((m) => m.name);
  notes.push(
    `Latency: wall time to predict one row (gather it, run the batch-1 forward pass, read the scores back), p50 and p95 over ${c.latencySamples} test rows after one warm-up row, ` +
      `on ONNX Runtime, the engine \`fusionkit serve\` and an exported model run on` +
      (onJax.length ? ` (on jax-js for ${onJax.join(", ")})` : "") +
      `; linear rows time their own scoring of the row's standardised features.`,
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
  const linear = results.methods.filter((m) => m.family === "linear");
  if (linear.length) {
    const chosen = linear.flatMap((m) => m.runs.map((r) => `${m.name}: L2 ${(r.chosen as { l2?: number } | undefined)?.l2} (${r.epochsRun} iterations, ${r.stoppedBy})`));
    notes.push(
      `Classical baselines (${linear.map((m) => m.name).join(", ")}): multinomial logistic regression on the standardised raw features (flattened pixels; per-channel mean, std, min, max of audio and sequence frames; TF-IDF of the text tokens; tabular columns as prepared with categoricals one-hot), ` +
        `same splits, fitted once per bench (a convex problem: no seed) and paired with every seed of the other methods in the significance tests; linear:concat's blocks scaled to equal mean squared row norm on train; each L2 strength of ${JSON.stringify(linear[0]!.config.l2Grid)} solved to convergence by full-batch L-BFGS (||gradient|| <= ${linear[0]!.config.gtol} x L2 x max(1, ||W||), W within that fraction of the optimum, or relative loss change <= ${linear[0]!.config.ftol}, at most ${linear[0]!.config.maxIterations} iterations), the one with the best validation accuracy kept. Chosen: ${chosen.join("; ")}.`,
    );
  }
  if (results.methods.some((m) => m.name === "late_stacking")) {
    notes.push("late_stacking fits its meta-classifier on out-of-fold predictions of the TRAIN split (k-fold cross-fitting; fold models trained like the main run), never on validation labels: every method gets the same supervision, validation only for early stopping. Its training time includes the fold models.");
  }
  const cmp = results.comparisons;
  if (cmp) {
    const cv = cmp.convergence;
    notes.push(
      `Convergence: ${cv.hitCap} of ${cv.runs} neural runs (${(100 * cv.share).toFixed(0)}%) ended at the epoch cap (${c.epochs}) while validation was still improving within the patience window; the others were ended by early stopping.` +
        (cv.warn ? ` WARNING: more than ${100 * 0.1}% of runs hit the cap, so those methods may be under-trained; raise --epochs.` : ""),
    );
    const headline = cmp.fusionVsUnimodal ?? cmp.fusionVsLinear;
    if (headline) {
      const groups = headline.groups;
      const unit = groups ? `whole groups of test rows (the dataset's split groups: ${groups} groups of ${headline.rows} rows, since rows of one group are not independent)` : "test rows";
      notes.push(
        `Significance: "beats" means a one-sided paired bootstrap over seeds and ${unit} of per-row correctness (${headline.resamples} resamples) gives p < ${cmp.alpha}. ` +
          (groups !== undefined && groups < fewGroups ? `WARNING: only ${groups} test groups, so the p-values are coarse; a test split with more groups would resolve smaller differences. ` : "") +
          `Fusion methods significantly better than the best unimodal model: ${cmp.perMethod.filter((t) => t.delta > 0 && t.p < cmp.alpha).map((t) => t.better).join(", ") || "none"} (families: ${cmp.significantFamilies.join(", ") || "none"}).`,
      );
    }
  }
  const tuned = results.methods.filter((m) => m.configNotes.length);
  if (tuned.length) notes.push(`Methods whose training differs from the shared settings: ${tuned.map((m) => `${m.name} (${m.configNotes.join("; ")})`).join(", ")}.`);
  const failed = results.methods.filter((m) => m.errors?.length);
  if (failed.length) notes.push(`Failed runs (left out of the statistics): ${failed.map((m) => `${m.name} seed${m.errors!.length > 1 ? "s" : ""} ${m.errors!.map((e) => e.seed).join(", ")}: ${m.errors![0]!.message.split("\n")[0]}`).join("; ")}.`);
  return notes;
}

/** The learning-rate search: the same grid and trial length for every neural method, and what each chose. */
function learningRateNote(results: BenchResults): string {
  const c = results.config;
  const chosen = results.methods
    .filter((m) => m.family !== "linear" && m.runs.length)
    .map((m) => `${m.name} ${m.runs.map((r) => (r.chosen as { lr?: number } | undefined)?.lr ?? "?").join("/")}`);
  const searchS = results.methods.reduce((s, m) => s + m.runs.reduce((t, r) => t + ((r.chosen as { lrSearchMs?: number } | undefined)?.lrSearchMs ?? 0), 0), 0) / 1000;
  return (
    `Learning rate: every neural run first trained ${c.lrTrialEpochs} epoch${c.lrTrialEpochs === 1 ? "" : "s"} at each of ${c.lrGrid.join(", ")} (its own seed, the full run's schedule) and kept the one with the best validation ${c.primaryMetric.name}; ` +
    `the same grid and trial length for every method, so no method is ranked by how well one default suits it. The trials took ${searchS.toFixed(0)} s in all, not counted in the training times. ` +
    `Chosen (per seed): ${chosen.join("; ")}.`
  );
}
