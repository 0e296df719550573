/**
 * From a modality's encoder reference to the files that will run, and the
 * encoder's identity: a sha256 over those files' contents and every setting
 * that changes the embeddings (output, maxTokens, normalize). The identity
 * keys the embedding cache and the dataset cache, and is recorded in the
 * trained model and its export metadata.
 *
 * Offline by default: a model id is looked up in the models directory
 * ($FUSIONKIT_MODELS, else <fusionkit cache>/models), laid out as
 * <models>/<owner>/<name>/{config.json, onnx/model.onnx, ...}, the layout
 * transformers.js itself downloads into. Only with allowDownload
 * (--allow-download or FUSIONKIT_ALLOW_DOWNLOAD=1) may it fetch a model id.
 */
import { createHash } from "node:crypto";
import { closeSync, existsSync, openSync, readFileSync, readSync, statSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { FusionkitError } from "../../errors.ts";
import { defaultCacheDir } from "../cache.ts";
import type { EncoderConfig } from "./config.ts";
import { readOnnxEncoderSpec, type OnnxEncoderSpec } from "./onnxSpec.ts";

export type EncodedModalityKind = "text" | "image";

export type ResolvedEncoder = {
  /** transformers.js model directory, or a bare ONNX graph with its JSON */
  kind: "transformers" | "onnx";
  /** as the user wrote it */
  model: string;
  modality: EncodedModalityKind;
  config: EncoderConfig;
  /** absolute model directory (transformers) or the .onnx file's directory */
  dir: string;
  /** absolute path of the graph that runs */
  onnxFile: string;
  /** config.json model_type (transformers); "onnx" otherwise */
  modelType: string;
  /** the ONNX file name without .onnx that transformers.js loads from onnx/ */
  modelFileName: string;
  /** bare ONNX: the parsed <file>.encoder.json */
  onnxSpec?: OnnxEncoderSpec;
  /** sha256 hex over files and settings */
  identity: string;
  /** files in the identity, relative to `dir`, with their sha256 */
  files: { path: string; sha256: string }[];
};

export type ResolveOptions = { allowDownload?: boolean; modelsDir?: string };

export const onnxPrefix = "onnx:";
/** Bumped when the embedding computation changes, so old cache entries are never read. */
const embeddingFormat = 1;

export function modelsDir(options: ResolveOptions = {}): string {
  if (options.modelsDir) return resolve(options.modelsDir);
  return process.env.FUSIONKIT_MODELS ? resolve(process.env.FUSIONKIT_MODELS) : join(defaultCacheDir(), "models");
}

export function downloadAllowed(options: ResolveOptions = {}): boolean {
  return options.allowDownload === true || process.env.FUSIONKIT_ALLOW_DOWNLOAD === "1";
}

/** Two-tower models whose text and image halves are separate graphs (onnx/text_model.onnx, onnx/vision_model.onnx). */
const towerModelTypes = new Set(["clip", "siglip", "chinese_clip", "jina_clip"]);

export function modelFileFor(modelType: string, modality: EncodedModalityKind): string {
  if (!towerModelTypes.has(modelType)) return "model";
  return modality === "text" ? "text_model" : "vision_model";
}

const hashMemo = new Map<string, { stamp: string; sha256: string }>();

/**
 * sha256 of a file, remembered per (path, inode, size, mtime, ctime) so a
 * 300 MB graph is read once per process. A file modified in the last two
 * seconds is not remembered: a rewrite within the timestamp resolution would
 * keep the same stamp.
 */
export function hashFile(path: string): string {
  const stat = statSync(path);
  const stamp = `${stat.ino}:${stat.size}:${stat.mtimeMs}:${stat.ctimeMs}`;
  const memo = hashMemo.get(path);
  if (memo && memo.stamp === stamp) return memo.sha256;
  const hash = createHash("sha256");
  const fd = openSync(path, "r");
  try {
    const buffer = Buffer.allocUnsafe(1 << 20);
    let read: number;
    while ((read = readSync(fd, buffer, 0, buffer.length, null)) > 0) hash.update(buffer.subarray(0, read));
  } finally {
    closeSync(fd);
  }
  const sha256 = hash.digest("hex");
  if (Date.now() - stat.mtimeMs > 2000) hashMemo.set(path, { stamp, sha256 });
  return sha256;
}

function identityOf(parts: Record<string, unknown>): string {
  return createHash("sha256").update(JSON.stringify({ embeddingFormat, ...parts })).digest("hex");
}

/** Where the reference points, before any file is required. */
export function locateModel(model: string, options: ResolveOptions = {}): { kind: "onnx"; file: string } | { kind: "dir"; dir: string; hubId?: string } {
  if (model.startsWith(onnxPrefix)) return { kind: "onnx", file: resolve(model.slice(onnxPrefix.length)) };
  const local = resolve(model);
  if (existsSync(local)) return { kind: "dir", dir: local };
  if (/^[\w.-]+(\/[\w.-]+)?$/u.test(model) && !model.includes("..")) return { kind: "dir", dir: join(modelsDir(options), model), hubId: model };
  return { kind: "dir", dir: local };
}

/**
 * Resolves `config.model` for a `modality` modality: checks every file the
 * encoder needs is there (downloading a model id first when allowed), and
 * computes the identity. Errors name the missing file and what to do.
 */
export async function resolveEncoder(config: EncoderConfig, modality: EncodedModalityKind, options: ResolveOptions = {}): Promise<ResolvedEncoder> {
  const where = locateModel(config.model, options);
  if (where.kind === "onnx") return resolveBareOnnx(config, modality, where.file);
  const { dir, hubId } = where;
  if (hubId && !existsSync(join(dir, "config.json"))) {
    if (!downloadAllowed(options)) {
      throw new FusionkitError(
        `model "${hubId}" is not on this machine (looked in ${dir}). With network, pass --allow-download (or set FUSIONKIT_ALLOW_DOWNLOAD=1) to fetch it there, ` +
          `or download it yourself: git clone https://huggingface.co/${hubId} ${dir} (git-lfs), or give a local directory in the same layout; see docs/pretrained.md`,
        { field: "encoder" },
      );
    }
    const { downloadModel } = await import("./transformersEncoder.ts");
    await downloadModel(hubId, modality, modelsDir(options));
  }
  if (!existsSync(dir) || !statSync(dir).isDirectory()) {
    throw new FusionkitError(`encoder model directory ${dir} not found. Give a Hugging Face model id, a directory in the HF layout (config.json, onnx/model.onnx, tokenizer or preprocessor files) or onnx:<file.onnx>`, {
      field: "encoder",
    });
  }
  const configPath = join(dir, "config.json");
  const modelConfig = readJson(configPath, "the model's config.json is missing: the directory is not in the Hugging Face layout. Copy config.json from the model's repository");
  const modelType = typeof modelConfig.model_type === "string" ? modelConfig.model_type : "";
  if (!modelType) throw new FusionkitError(`has no "model_type"; it is not a transformers config. Use the config.json from the model's repository`, { file: configPath });
  const modelFileName = modelFileFor(modelType, modality);
  const required = ["config.json", `onnx/${modelFileName}.onnx`, ...(modality === "text" ? ["tokenizer.json", "tokenizer_config.json"] : ["preprocessor_config.json"])];
  for (const file of required) {
    if (existsSync(join(dir, file))) continue;
    const otherKind = modality === "text" ? existsSync(join(dir, "preprocessor_config.json")) && "an image" : existsSync(join(dir, "tokenizer.json")) && "a text";
    if (otherKind && !file.startsWith("onnx/")) {
      throw new FusionkitError(`is missing, and the directory holds ${otherKind} model's files: this model encodes ${modality === "text" ? "images" : "text"}. Use it on ${otherKind} modality, or pick a ${modality} model`, { file: join(dir, file) });
    }
    const what = file.startsWith("onnx/")
      ? `the ONNX graph is missing (a ${modelType} ${modality} encoder runs onnx/${modelFileName}.onnx). Download that file from the model's repository into ${join(dir, "onnx")}, or export one with optimum ("optimum-cli export onnx")`
      : `${modality === "text" ? "the tokenizer" : "the image preprocessing"} file is missing, so ${modality} rows cannot be prepared the way the model was trained. Copy ${file} from the model's repository into ${dir}`;
    throw new FusionkitError(what, { file: join(dir, file) });
  }
  const optional = ["special_tokens_map.json", `onnx/${modelFileName}.onnx_data`];
  const files = [...required, ...optional.filter((file) => existsSync(join(dir, file)))].map((path) => ({ path, sha256: hashFile(join(dir, path)) }));
  const settings = { output: config.output, normalize: config.normalize, ...(modality === "text" ? { maxTokens: config.maxTokens } : {}) };
  return {
    kind: "transformers",
    model: config.model,
    modality,
    config,
    dir,
    onnxFile: join(dir, "onnx", `${modelFileName}.onnx`),
    modelType,
    modelFileName,
    identity: identityOf({ kind: "transformers", modality, modelType, modelFileName, settings, files }),
    files,
  };
}

function resolveBareOnnx(config: EncoderConfig, modality: EncodedModalityKind, file: string): ResolvedEncoder {
  if (!existsSync(file)) throw new FusionkitError(`ONNX encoder file not found. Give onnx:<path to a .onnx file> with a <name>.encoder.json beside it (see docs/pretrained.md)`, { file });
  const spec = readOnnxEncoderSpec(file, modality);
  const dir = dirname(file);
  const paths = [file, spec.specFile, ...(spec.tokenizerDir ? [join(spec.tokenizerDir, "tokenizer.json"), join(spec.tokenizerDir, "tokenizer_config.json")] : [])];
  const files = paths.map((path) => ({ path: relative(dir, path), sha256: hashFile(path) }));
  const settings = { output: config.output, normalize: config.normalize, ...(modality === "text" ? { maxTokens: config.maxTokens } : {}) };
  return {
    kind: "onnx",
    model: config.model,
    modality,
    config,
    dir,
    onnxFile: file,
    modelType: "onnx",
    modelFileName: "",
    onnxSpec: spec,
    identity: identityOf({ kind: "onnx", modality, settings, spec: spec.json, files }),
    files,
  };
}

function readJson(path: string, missing: string): Record<string, unknown> {
  if (!existsSync(path)) throw new FusionkitError(missing, { file: path });
  try {
    const value = JSON.parse(readFileSync(path, "utf8"));
    if (value && typeof value === "object" && !Array.isArray(value)) return value as Record<string, unknown>;
  } catch (error) {
    throw new FusionkitError(`is not valid JSON (${(error as Error).message}); download it again from the model's repository`, { file: path });
  }
  throw new FusionkitError(`is not a JSON object; download it again from the model's repository`, { file: path });
}
