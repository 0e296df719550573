/**
 * What a built-in dataset generator hands to the loader: a dataset.json-shaped
 * config (validated by the same schema as a user's) and in-memory rows that go
 * through the same validation and preprocessing as a user's rows file.
 */
export type BuiltinDataset = {
  name: string;
  config: unknown;
  rows: Record<string, unknown>[];
  /** relative paths in rows resolve against this */
  baseDir: string;
  description: string;
};
