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
export { trainModel, evaluateSplit, outDimOf, trainDefaults, type EpochInfo, type EpochRecord, type TrainOptions, type TrainedModel } from "./train/trainer.ts";
export { predict, Predictor, type PredictOptions, type Predictions } from "./train/predict.ts";
export { saveModel, loadModel, type LoadedModel, type ModelConfigFile } from "./train/persistence.ts";

// metrics
export { accuracy, macroF1, rocAuc, multilabelF1, meanAbsoluteError, pearson, taskMetrics, primaryMetric, type MetricSet } from "./eval/metrics.ts";
