/**
 * loadDataset: a dataset directory (dataset.json + rows file) or a built-in
 * name -> PreparedDataset, through the on-disk cache.
 */
import { existsSync, readFileSync, statSync } from "node:fs";
import { basename, dirname, isAbsolute, join, relative, resolve } from "node:path";
import { FusionkitError } from "../errors.ts";
import { builtinDatasets, defaultDatasetName, type BuiltinOptions } from "./builtin/index.ts";
import { computeCacheKey, defaultCacheDir, readCache, writeCache } from "./cache.ts";
import { prepareDataset, type RowSource } from "./prepare.ts";
import { readRowsFile, type RawRow } from "./rows.ts";
import { parseDatasetConfig, type DatasetConfig } from "./schema.ts";
import type { PreparedDataset } from "./types.ts";
import type { EncoderConfigInput } from "./pretrained/config.ts";
import { applyEncoderOverrides, resolveDatasetEncoders } from "./pretrained/dataset.ts";

export type LoadOptions = BuiltinOptions & {
  /** drop rows that fail validation (recorded in `skipped`) instead of stopping at the first */
  skipBadRows?: boolean;
  /** default: $FUSIONKIT_CACHE, else .cache/fusionkit under the working directory */
  cacheDir?: string;
  /** false: neither read nor write the cache */
  cache?: boolean;
  /** overrides the seed of a seeded split */
  seed?: number;
  /** use only the first maxRows data rows of the rows file (built-ins: of their generated rows) */
  maxRows?: number;
  /**
   * pretrained encoders by modality name (`--encoder caption=...`), over dataset.json's "encoder"
   * entries; null trains that modality from scratch. See docs/pretrained.md.
   */
  encoders?: Record<string, EncoderConfigInput | string | null>;
  /** let transformers.js download a model id that is not on this machine (also FUSIONKIT_ALLOW_DOWNLOAD=1) */
  allowDownload?: boolean;
  /** called with progress notes ("preparing emoji...", "cache hit") */
  log?: (message: string) => void;
};

export async function loadDataset(dirOrName: string = defaultDatasetName, options: LoadOptions = {}): Promise<PreparedDataset> {
  if (options.maxRows !== undefined && !(Number.isInteger(options.maxRows) && options.maxRows > 0)) {
    throw new FusionkitError(`maxRows must be a positive integer, got ${options.maxRows}`, { field: "maxRows" });
  }
  const { source, keyInputs } = resolveSource(dirOrName, options);
  if (options.encoders) source.config = applyEncoderOverrides(source.config, options.encoders, source.configFile);
  const cacheDir = options.cacheDir ? resolve(options.cacheDir) : defaultCacheDir();
  // The encoders' identities (file hashes + settings) key the prepared arrays: a changed model file prepares afresh.
  const encoders = await resolveDatasetEncoders(source.config, { cacheDir, ...(options.allowDownload !== undefined ? { allowDownload: options.allowDownload } : {}) });
  const cacheOptions = {
    skipBadRows: options.skipBadRows ?? false,
    seed: options.seed ?? null,
    maxRows: options.maxRows ?? null,
    // a flat string: computeCacheKey's key-sorting replacer would drop the keys of a nested object
    ...(encoders.identities ? { encoders: Object.entries(encoders.identities).map(([name, identity]) => `${name}=${identity}`).join(",") } : {}),
  };
  const cacheKey = computeCacheKey({ ...keyInputs, options: cacheOptions });
  const useCache = options.cache !== false;
  if (useCache) {
    const cached = readCache(cacheDir, cacheKey);
    if (cached) {
      options.log?.(`${source.name}: prepared arrays from cache ${cacheKey.slice(0, 12)}`);
      return cached;
    }
  }
  options.log?.(`${source.name}: preparing ${source.rows.length} rows`);
  const prepared: PreparedDataset = { ...(await prepareDataset(source, { ...options, ...(encoders.context ? { pretrained: encoders.context } : {}) })), cacheKey };
  if (useCache) {
    try {
      writeCache(cacheDir, cacheKey, prepared);
    } catch (error) {
      // A read-only or full disk costs speed next time, not this result.
      process.emitWarning(`could not write the dataset cache in ${cacheDir}: ${(error as Error).message}`);
    }
  }
  return prepared;
}

type Resolved = { source: RowSource; keyInputs: { configText: string; rowsContent: string | Uint8Array; referencedFiles: string[]; hashedFiles: string[] } };

function resolveSource(dirOrName: string, options: LoadOptions): Resolved {
  const path = resolve(dirOrName);
  if (existsSync(path)) return resolveDirectory(path);
  const builtin = builtinDatasets[dirOrName];
  if (!builtin) {
    throw new FusionkitError(
      `"${dirOrName}" is neither a dataset directory nor a built-in dataset. Give a directory with a dataset.json (see docs/data.md), or one of: ${Object.keys(builtinDatasets).join(", ")}`,
    );
  }
  const generated = builtin(options);
  const configFile = `builtin:${generated.name}`;
  const config = parseDatasetConfig(generated.config, configFile);
  const rows: RawRow[] = generated.rows.slice(0, options.maxRows).map((values, index) => ({ file: configFile, line: index + 1, index, values, textual: false }));
  return {
    source: {
      name: generated.name,
      description: generated.description,
      config,
      configFile,
      baseDir: generated.baseDir,
      resolvePath: (relativePath) => ({ path: resolve(generated.baseDir, relativePath), display: relativePath }),
      rows,
      totalRows: generated.rows.length,
      rowsFile: configFile,
    },
    keyInputs: {
      configText: JSON.stringify(generated.config),
      rowsContent: JSON.stringify(generated.rows),
      referencedFiles: referencedFiles(config, rows, generated.baseDir),
      hashedFiles: [],
    },
  };

  function resolveDirectory(found: string): Resolved {
    const isFile = statSync(found).isFile();
    const dir = isFile ? dirname(found) : found;
    const configPath = isFile ? found : join(dir, "dataset.json");
    const configFile = display(configPath);
    if (!existsSync(configPath)) {
      throw new FusionkitError(`no dataset.json in ${display(dir)}. Create one describing the task, label and modalities (see docs/data.md)`, { file: configFile });
    }
    const configText = readFileSync(configPath, "utf8");
    const config = parseDatasetConfig(configText, configFile);
    const rowsPath = resolve(dir, config.rows);
    if (!existsSync(rowsPath)) {
      throw new FusionkitError(`rows file ${display(rowsPath)} not found. Put the rows next to dataset.json, or set "rows" to the file name`, { file: configFile, field: "rows" });
    }
    const rowsFile = display(rowsPath);
    const { rows, totalRows } = readRowsFile(rowsPath, rowsFile, options.maxRows);
    return {
      source: {
        name: config.name ?? basename(dir),
        ...(config.description !== undefined ? { description: config.description } : {}),
        config,
        configFile,
        baseDir: dir,
        resolvePath: (relativePath) => ({ path: resolve(dir, relativePath), display: display(resolve(dir, relativePath)) }),
        rows,
        totalRows,
        rowsFile,
      },
      keyInputs: {
        configText,
        rowsContent: readFileSync(rowsPath),
        referencedFiles: referencedFiles(config, rows, dir),
        hashedFiles: config.modalities.flatMap((modality) => (modality.type === "vector" && modality.file ? [resolve(dir, modality.file)] : [])),
      },
    };
  }
}

/** Image and audio files named by the rows: their size and mtime go into the cache key. */
function referencedFiles(config: DatasetConfig, rows: RawRow[], baseDir: string): string[] {
  const fields = config.modalities.flatMap((modality) => (modality.type === "image" || modality.type === "audio" ? [modality.field] : []));
  const files: string[] = [];
  for (const row of rows) {
    for (const field of fields) {
      const value = row.values?.[field];
      if (typeof value === "string" && value !== "") files.push(resolve(baseDir, value));
    }
  }
  return files;
}

/** Paths in messages: relative to the working directory when inside it, else absolute. */
function display(path: string): string {
  const fromCwd = relative(process.cwd(), path);
  return fromCwd && !fromCwd.startsWith("..") && !isAbsolute(fromCwd) ? fromCwd : path;
}
