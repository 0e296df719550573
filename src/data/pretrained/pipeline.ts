/**
 * A text or image modality with a pretrained encoder: at preparation time the
 * frozen encoder turns each row into precomputed inputs, and the fusion model
 * trains its usual small encoder on top as the adapter:
 *
 *   output "pooled" -> a vector modality [D]          (vector encoder: Linear + ReLU)
 *   output "tokens" -> a sequence modality [T, H] + mask (frame encoder; tokens for attention methods)
 *
 * Rows are parsed and checked like the plain text/image pipelines (a missing
 * or undecodable image is a row error). `precompute` then embeds every
 * distinct input once, in batches, through the embedding cache; `encode`
 * only copies. Nothing is fitted, so nothing from val/test can leak into
 * training. The spec records the encoder (model, directory, identity), so
 * predict and serve run the same encoder on raw rows and refuse one whose
 * files changed since training.
 */
import { readFile } from "node:fs/promises";
import { existsSync } from "node:fs";
import { resolve } from "node:path";
import cliProgress from "cli-progress";
import sharp from "sharp";
import { FusionkitError } from "../../errors.ts";
import type { ModalityPipeline, Outcome, EncodedModality } from "../modalities/pipeline.ts";
import { presenceOf } from "../modalities/pipeline.ts";
import type { RawRow } from "../rows.ts";
import type { ModalitySpec } from "../types.ts";
import { describe, isMissing } from "../values.ts";
import { normaliseEncoder, type EncoderConfig, type EncoderConfigInput } from "./config.ts";
import { contentKey, EmbeddingCache } from "./embeddingCache.ts";
import { onnxPrefix, resolveEncoder, type ResolvedEncoder, type ResolveOptions } from "./resolve.ts";
import type { EncoderInput, EncoderRunner } from "./runner.ts";

export type PretrainedRow = { key: string; text?: string; path?: string; display: string };

/** What the spec records about the encoder (ModalitySpec.preprocessing.encoder). */
export type EncoderRecord = {
  model: string;
  kind: ResolvedEncoder["kind"];
  modelType: string;
  modality: "text" | "image";
  /** absolute directory (transformers) or .onnx file (bare ONNX) the embeddings came from */
  location: string;
  identity: string;
  files: { path: string; sha256: string }[];
  output: EncoderConfig["output"];
  shape: number[];
};

export type PretrainedContext = ResolveOptions & {
  baseDir: string;
  /** resolved by loadDataset (it keys the dataset cache); resolved here when absent */
  resolved?: ResolvedEncoder;
  cacheDir?: string;
  /** false: embed without the on-disk embedding cache (serve: request rows are not kept on disk) */
  cache?: boolean;
};

const runners = new Map<string, Promise<EncoderRunner>>();

/** One runner per encoder identity per process (predict and serve embed many requests with one session). */
export function runnerFor(encoder: ResolvedEncoder): Promise<EncoderRunner> {
  let runner = runners.get(encoder.identity);
  if (!runner) {
    runner = encoder.kind === "onnx" ? import("./onnxEncoder.ts").then((m) => m.openOnnxEncoder(encoder)) : import("./transformersEncoder.ts").then((m) => m.openTransformersEncoder(encoder));
    runner.catch(() => runners.delete(encoder.identity));
    runners.set(encoder.identity, runner);
  }
  return runner;
}

/** Closes every open encoder session (tests, and processes that want to exit cleanly). */
export async function closeEncoders(): Promise<void> {
  const open = [...runners.values()];
  runners.clear();
  await Promise.all(open.map(async (runner) => (await runner.catch(() => undefined))?.close()));
}

export class PretrainedPipeline implements ModalityPipeline<PretrainedRow, PretrainedRow> {
  readonly name: string;
  readonly fields: string[];
  private readonly encoderConfig: EncoderConfig;
  private encoder: ResolvedEncoder | undefined;
  /** recorded at training time: the encoder that must be used again */
  private expected: EncoderRecord | undefined;
  private shape: number[] | undefined;
  private readonly embeddings = new Map<string, Float32Array>();
  /** rows embedded by the encoder (cache misses) and read from the cache in the last precompute */
  readonly stats = { computed: 0, cached: 0 };
  /** totals over every pipeline in this process (tests read cache hits and misses here) */
  static readonly totals = { computed: 0, cached: 0 };

  constructor(
    private readonly config: { name: string; type: "text" | "image"; field: string; encoder: string | EncoderConfigInput },
    private readonly context: PretrainedContext,
  ) {
    this.name = config.name;
    this.fields = [config.field];
    this.encoderConfig = normaliseEncoder(config.encoder);
    this.encoder = context.resolved;
  }

  parse(row: RawRow): Outcome<PretrainedRow> {
    const { field } = this.config;
    const raw = row.values![field];
    if (isMissing(raw, row.textual)) return { missing: true };
    if (this.config.type === "text") {
      if (typeof raw !== "string") return { problem: { field, reason: `text must be a string, got ${describe(raw)}` } };
      if (raw.trim() === "") return { missing: true };
      return { value: { key: contentKey("text", raw), text: raw, display: `${row.file}:${row.line}` } };
    }
    if (typeof raw !== "string") return { problem: { field, reason: `expected an image path (string), got ${describe(raw)}` } };
    const path = resolve(this.context.baseDir, raw);
    return { value: { key: "", path, display: path } };
  }

  /** Images: hash the bytes (the cache key) and check the file decodes, without decoding its pixels. */
  async load(value: PretrainedRow): Promise<Outcome<PretrainedRow>> {
    if (this.config.type === "text") return { value };
    const field = this.config.field;
    let bytes: Buffer;
    try {
      bytes = await readFile(value.path!);
    } catch {
      return { problem: { field, reason: `image file not found: ${value.path}. Paths are relative to the dataset directory; fix the path, or write null to mark the image missing` } };
    }
    try {
      const meta = await sharp(bytes).metadata();
      if (!meta.width || !meta.height) throw new Error("no image dimensions");
    } catch (error) {
      return { problem: { field, reason: `cannot decode image ${value.path} (${(error as Error).message.trim()}). Replace the file with a valid PNG/JPEG/WebP, or write null to mark the image missing` } };
    }
    return { value: { ...value, key: contentKey("image", bytes) } };
  }

  fit(): void {}

  restore(spec: ModalitySpec): void {
    const record = (spec.preprocessing as { encoder?: EncoderRecord } | undefined)?.encoder;
    if (!record) throw new FusionkitError(`modality "${spec.name}" has a pretrained encoder in its config but no encoder record; prepare the dataset and train again`, { field: spec.name });
    this.expected = record;
    this.shape = record.shape;
  }

  /** Embeds every distinct present value (cache first), before `encode`. */
  async precompute(values: (PretrainedRow | undefined)[]): Promise<void> {
    const encoder = await this.resolved();
    const cache = this.context.cache === false ? undefined : new EmbeddingCache(encoder.identity, this.context.cacheDir);
    this.shape ??= cache?.shape();
    const distinct = new Map<string, PretrainedRow>();
    for (const value of values) if (value && !this.embeddings.has(value.key)) distinct.set(value.key, value);
    const missing: PretrainedRow[] = [];
    this.stats.computed = 0;
    this.stats.cached = 0;
    for (const value of distinct.values()) {
      const hit = this.shape ? cache?.get(value.key, storedWidth(this.shape)) : undefined;
      if (hit) {
        this.embeddings.set(value.key, hit);
        this.stats.cached++;
        PretrainedPipeline.totals.cached++;
      } else missing.push(value);
    }
    if (missing.length === 0) return;
    const runner = await runnerFor(encoder);
    const { batchSize } = this.encoderConfig;
    const bar = process.stderr.isTTY && !process.env.FUSIONKIT_QUIET ? new cliProgress.SingleBar({ format: `${this.name}: embedding {bar} {value}/{total} rows  {eta_formatted}`, hideCursor: true, stream: process.stderr }, cliProgress.Presets.shades_classic) : undefined;
    bar?.start(missing.length, 0);
    try {
      for (let start = 0; start < missing.length; start += batchSize) {
        const slice = missing.slice(start, start + batchSize);
        const batch: EncoderInput[] = await Promise.all(
          slice.map(async (row) => ({ key: row.key, display: row.display, ...(row.text !== undefined ? { text: row.text } : { bytes: await readFile(row.path!) }) })),
        );
        const { rows, shape } = await runner.embed(batch);
        if (this.shape && !sameShape(this.shape, shape)) {
          throw new FusionkitError(
            `the encoder now gives rows of shape [${shape.join(", ")}] but the model was trained on [${this.shape.join(", ")}]; retrain with this encoder`,
            { file: encoder.onnxFile },
          );
        }
        this.shape = shape;
        slice.forEach((row, i) => {
          this.embeddings.set(row.key, rows[i]!);
          cache?.put(row.key, rows[i]!, shape);
        });
        this.stats.computed += slice.length;
        PretrainedPipeline.totals.computed += slice.length;
        bar?.update(Math.min(missing.length, start + batchSize));
      }
    } finally {
      bar?.stop();
    }
  }

  spec(): ModalitySpec {
    const shape = this.requireShape();
    const encoder = this.encoder!;
    const record: EncoderRecord = {
      model: encoder.model,
      kind: encoder.kind,
      modelType: encoder.modelType,
      modality: encoder.modality,
      location: encoder.kind === "onnx" ? encoder.onnxFile : encoder.dir,
      identity: encoder.identity,
      files: encoder.files,
      output: this.encoderConfig.output,
      shape,
    };
    return { name: this.name, type: shape.length === 1 ? "vector" : "sequence", shape, preprocessing: { encoder: record } };
  }

  encode(values: (PretrainedRow | undefined)[]): EncodedModality {
    const shape = this.requireShape();
    const width = shape.reduce((a, b) => a * b, 1);
    const inputs = new Float32Array(values.length * width);
    const steps = shape.length === 2 ? shape[0]! : 0;
    const tokenMask = steps ? new Float32Array(values.length * steps) : undefined;
    values.forEach((value, row) => {
      if (!value) return;
      const stored = this.embeddings.get(value.key);
      if (!stored) throw new Error(`pretrained pipeline "${this.name}": encode before precompute`);
      inputs.set(stored.subarray(0, width), row * width);
      tokenMask?.set(stored.subarray(width), row * steps);
    });
    return { inputs, present: presenceOf(values), ...(tokenMask ? { tokenMask } : {}) };
  }

  private requireShape(): number[] {
    if (!this.shape) {
      throw new FusionkitError(`modality "${this.name}" has no value in any row, so its encoder never ran and its width is unknown; give some rows a value or drop the encoder`, { field: this.config.field });
    }
    return this.shape;
  }

  private async resolved(): Promise<ResolvedEncoder> {
    if (this.encoder) return this.encoder;
    const expected = this.expected;
    // After training, the recorded location wins: a relative directory may not resolve from another working directory.
    const model = expected && existsSync(expected.location) ? (expected.kind === "onnx" ? `${onnxPrefix}${expected.location}` : expected.location) : this.encoderConfig.model;
    const encoder = await resolveEncoder({ ...this.encoderConfig, model }, this.config.type, this.context);
    if (expected && encoder.identity !== expected.identity) {
      const changed = encoder.files.filter((file) => expected.files.find((old) => old.path === file.path)?.sha256 !== file.sha256).map((file) => file.path);
      throw new FusionkitError(
        `the encoder of modality "${this.name}" is not the one the model was trained with (${changed.length ? `changed: ${changed.join(", ")}` : "different settings"}); put the original files back, or train again with this encoder`,
        { file: expected.location },
      );
    }
    this.encoder = encoder;
    return encoder;
  }
}

/** Floats stored per row: pooled [D] -> D; tokens [T, H] -> T*H states + T mask values. */
function storedWidth(shape: number[]): number {
  return shape.length === 1 ? shape[0]! : shape[0]! * shape[1]! + shape[0]!;
}

function sameShape(a: number[], b: number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}
