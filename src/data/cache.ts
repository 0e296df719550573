/**
 * On-disk cache of prepared datasets, so the second run skips decoding.
 *
 * Key: sha256 over everything the result depends on (format version,
 * dataset.json, the rows file's bytes, size + mtime of every file the rows
 * point at, .npy contents, load options). Any change gives a new key; stale
 * entries are never read, only left behind (delete the directory to reclaim space).
 *
 * One file per entry, `<key>.fkc`:
 *   "FKCACHE1" | uint32 LE header length | header JSON | zero padding to 4 bytes | float32 data
 * The header is the PreparedDataset minus its typed arrays, plus where each
 * array sits in the data block. Written to a temporary name and renamed, so a
 * reader sees a whole entry or none, even with parallel runs.
 */
import { createHash } from "node:crypto";
import { readFileSync, statSync } from "node:fs";
import { join, resolve } from "node:path";
import { writeFileAtomic } from "../io/atomicWrite.ts";
import type { PreparedDataset, SplitData, SplitName } from "./types.ts";

/** Bump when preprocessing changes output for the same inputs, so old entries stop matching. */
export const cacheFormatVersion = 3; // 3: splits carry their rows' groups (SplitData.groups)

const magic = "FKCACHE1";

export function defaultCacheDir(): string {
  return process.env.FUSIONKIT_CACHE ? resolve(process.env.FUSIONKIT_CACHE) : resolve(".cache", "fusionkit");
}

export type CacheKeyInputs = {
  configText: string;
  rowsContent: string | Uint8Array;
  /** files referenced by rows: keyed by size and modification time (hashing 100 MB of images would cost more than it saves) */
  referencedFiles: string[];
  /** small files keyed by content (.npy) */
  hashedFiles: string[];
  options: Record<string, unknown>;
};

export function computeCacheKey(inputs: CacheKeyInputs): string {
  const hash = createHash("sha256");
  const section = (label: string, content: string | Uint8Array) => {
    hash.update(`\n${label} ${typeof content === "string" ? Buffer.byteLength(content) : content.length}\n`);
    hash.update(content);
  };
  section("version", String(cacheFormatVersion));
  section("config", inputs.configText);
  section("rows", inputs.rowsContent);
  for (const path of [...new Set(inputs.referencedFiles)].sort()) {
    let stamp = "missing";
    try {
      const stat = statSync(path);
      stamp = `${stat.size} ${stat.mtimeMs}`;
    } catch {
      // A missing file is part of the key: preparing will report it; once it appears the key changes.
    }
    section("file", `${path} ${stamp}`);
  }
  for (const path of inputs.hashedFiles) {
    let content: Uint8Array | string = "missing";
    try {
      content = readFileSync(path);
    } catch {
      // as above
    }
    section(`content ${path}`, content);
  }
  section("options", JSON.stringify(inputs.options, Object.keys(inputs.options).sort()));
  return hash.digest("hex");
}

type ArrayEntry = { split: SplitName; kind: "inputs" | "tokenMasks" | "present" | "labels"; name: string; offset: number; length: number };
type Header = { dataset: Omit<PreparedDataset, "splits">; splits: Record<SplitName, Omit<SplitData, "inputs" | "tokenMasks" | "present" | "labels">>; arrays: ArrayEntry[] };

export function cachePath(cacheDir: string, key: string): string {
  return join(cacheDir, `${key}.fkc`);
}

/** The cached dataset, or undefined when absent or unreadable (a damaged entry is rebuilt, never trusted). */
export function readCache(cacheDir: string, key: string): PreparedDataset | undefined {
  let bytes: Buffer;
  try {
    bytes = readFileSync(cachePath(cacheDir, key));
  } catch {
    return undefined;
  }
  try {
    if (bytes.toString("latin1", 0, 8) !== magic) return undefined;
    const headerLength = bytes.readUInt32LE(8);
    const header = JSON.parse(bytes.toString("utf8", 12, 12 + headerLength)) as Header;
    const dataStart = align4(12 + headerLength);
    // Float32Array views need a 4-byte aligned offset in the underlying buffer; copy if readFile gave an odd one.
    const block = (bytes.byteOffset + dataStart) % 4 === 0 ? bytes : Buffer.from(bytes);
    const floats = new Float32Array(block.buffer, block.byteOffset + dataStart, (bytes.length - dataStart) / 4);
    const splits = {} as Record<SplitName, SplitData>;
    for (const name of Object.keys(header.splits) as SplitName[]) {
      splits[name] = { ...header.splits[name], inputs: {}, tokenMasks: {}, present: {}, labels: new Float32Array(0) };
    }
    for (const entry of header.arrays) {
      if (entry.offset + entry.length > floats.length) return undefined;
      const array = floats.subarray(entry.offset, entry.offset + entry.length);
      if (entry.kind === "labels") splits[entry.split].labels = array;
      else splits[entry.split][entry.kind][entry.name] = array;
    }
    return { ...header.dataset, splits };
  } catch {
    return undefined;
  }
}

export function writeCache(cacheDir: string, key: string, dataset: PreparedDataset): void {
  const arrays: ArrayEntry[] = [];
  const chunks: Float32Array[] = [];
  let offset = 0;
  const add = (split: SplitName, kind: ArrayEntry["kind"], name: string, array: Float32Array) => {
    arrays.push({ split, kind, name, offset, length: array.length });
    chunks.push(array);
    offset += array.length;
  };
  const splitHeaders = {} as Header["splits"];
  for (const [name, split] of Object.entries(dataset.splits) as [SplitName, SplitData][]) {
    const { inputs, tokenMasks, present, labels, ...rest } = split;
    splitHeaders[name] = rest;
    for (const [modality, array] of Object.entries(inputs)) add(name, "inputs", modality, array);
    for (const [modality, array] of Object.entries(tokenMasks)) add(name, "tokenMasks", modality, array);
    for (const [modality, array] of Object.entries(present)) add(name, "present", modality, array);
    add(name, "labels", "", labels);
  }
  const { splits: _splits, ...datasetHeader } = dataset;
  const header = Buffer.from(JSON.stringify({ dataset: datasetHeader, splits: splitHeaders, arrays } satisfies Header), "utf8");
  const prefix = Buffer.alloc(align4(12 + header.length));
  prefix.write(magic, 0, "latin1");
  prefix.writeUInt32LE(header.length, 8);
  header.copy(prefix, 12);
  const data = Buffer.alloc(offset * 4);
  const floats = new Float32Array(data.buffer, data.byteOffset, offset);
  let at = 0;
  for (const chunk of chunks) {
    floats.set(chunk, at);
    at += chunk.length;
  }
  writeFileAtomic(cachePath(cacheDir, key), [prefix, data], { cache: true });
}

function align4(n: number): number {
  return Math.ceil(n / 4) * 4;
}
