/**
 * fusionkit as a library. Typical use:
 *
 *   import { startEngine, loadDataset, trainModel, predict, saveModel } from "fusionkit";
 *   await startEngine();
 *   const ds = await loadDataset("movies");
 *   const model = await trainModel(ds, { method: "early", seed: 0 });
 *   const { probs } = predict(model, ds.splits.test);
 *   saveModel("runs/early", model, ds);
 *
 * One export block per pipeline stage; each area adds its own block.
 */

// errors and engine start-up
export { FusionkitError } from "./errors.ts";
export { startEngine } from "./engine/backend.ts";
export { HostRng } from "./engine/random.ts";

// data
export * from "./data/index.ts";

// encoders
export { encoderFor, defaultEncoderDim, vectorEncoder, tabularEncoder, textEncoder, imageEncoder, frameEncoder, type ModalityEncoder, type ModalityInput } from "./encoders/index.ts";
export type { Encoded, EncodedDims } from "./encoders/types.ts";

// fusion methods
export type { Family, FusionContext, FusionMethod, FusionOutput } from "./fusion/types.ts";
export { listMethods, getMethod, methodNames, defaultMethodsFor } from "./fusion/registry.ts";
export { earlyFusion, type EarlyFusionConfig } from "./fusion/earlyFusion.ts";
export { unimodalMethod, type UnimodalConfig } from "./fusion/unimodal.ts";

// model assembly
export { buildModel, dropModalities, lossForTask, parameterCount, type Model, type ModelBatch, type ModelOutput, type ModelSpec } from "./model/model.ts";
export { encodeRowsForModel, prepareRows } from "./model/prepareRows.ts";

// training, inference, checkpoints
export { trainModel, evaluateSplit, trainDefaults, type EpochInfo, type EpochRecord, type TrainOptions, type TrainedModel } from "./train/trainer.ts";
export { buildSpec, outDimOf, type SpecOptions } from "./model/spec.ts";
export { predict, Predictor, type PredictOptions, type Predictions } from "./train/predict.ts";
export { saveModel, loadModel, type LoadedModel, type ModelConfigFile } from "./train/persistence.ts";

// metrics
export { accuracy, macroF1, rocAuc, multilabelF1, meanAbsoluteError, pearson, taskMetrics, primaryMetric, type MetricSet } from "./eval/metrics.ts";

// explanations: exact modality Shapley values and the methods' own views
export { attributionForRows, type ExplainableModel, type ExplainOptions, type RowExplanation, type RowsExplanation } from "./explain/rows.ts";
export { explainForReport, type ReportExplainOptions, type ReportExplanation } from "./explain/report.ts";
export { modalityShapley, shapleyFromValues, type ModalityAttribution, type ShapleyOptions, type ShapleyValueKind } from "./explain/shapley.ts";

// alignment: contrastive training into one embedding space, retrieval, search
export { trainAlignment, alignTrainDefaults, type AlignOptions, type AlignedModel } from "./align/trainer.ts";
export { evaluateAligned, type AlignEvaluation } from "./align/evaluation.ts";
export { saveAligned, loadAligned, type LoadedAlignedModel } from "./align/persistence.ts";
export { buildIndex, searchIndex, saveIndex, loadIndex, embedQuery, type SearchIndex, type SearchHit } from "./align/searchIndex.ts";
export { retrievalForReport, type RetrievalReport, type RetrievalReportOptions } from "./align/report.ts";

// ONNX export and runtime
export { exportModel, exportTrainedModel, type ExportMetadata, type ExportSummary } from "./export/exportModel.ts";
export { createOnnxRunner, type OnnxRunner, type RunnerOptions } from "./export/runtime.ts";

// HTTP service
export { buildServeApp, serveDefaults, type ServeApp, type ServeOptions } from "./serve/server.ts";

// bench and its report
export { runBench, type BenchContext } from "./bench/runner.ts";
export { benchToDir, writeBenchOutputs, type BenchOutcome } from "./cli/actions/benchOutputs.ts";
export type { BenchOptions } from "./bench/options.ts";
export type { BenchResults } from "./bench/results.ts";
export { renderReportHtml } from "./report/html.ts";
