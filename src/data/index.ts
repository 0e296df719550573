/** The data layer's public surface. */
export type { ModalitySpec, ModalityType, PreparedDataset, SplitData, SplitName, Task } from "./types.ts";
export { loadDataset, type LoadOptions } from "./load.ts";
export { inspectDataset, runDataInspect, summariseDataset, type DatasetSummary } from "./inspect.ts";
export { batches, gatherRows, type Batch, type BatchOptions } from "./batches.ts";
export { parseDatasetConfig, type DatasetConfig } from "./schema.ts";
export { tokenise } from "./text.ts";
export { builtinDatasets, defaultDatasetName } from "./builtin/index.ts";
export { defaultCacheDir } from "./cache.ts";
export { encodeRawRows, type EncodeRowsOptions } from "./encodeRows.ts";
export { readRowsFile, parseJsonLines, type RawRow } from "./rows.ts";
