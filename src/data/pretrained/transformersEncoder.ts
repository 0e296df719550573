/**
 * Runs a Hugging Face-layout encoder through transformers.js (tokenizer or
 * image processor + the ONNX graph in onnxruntime-node). The same code path
 * serves a downloaded hub model and a local directory: both are a directory
 * on disk by the time this runs (resolve.ts), and transformers.js is set to
 * never reach the network here.
 *
 * Pooled output: the model's projected embedding when it has one
 * (text_embeds / image_embeds for CLIP, sentence_embedding), else the mean of
 * last_hidden_state over real tokens (sentence-transformers' pooling; over all
 * patches for images). Tokens output: last_hidden_state, text padded to
 * maxTokens.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import sharp from "sharp";
import { FusionkitError } from "../../errors.ts";
import type { ResolvedEncoder } from "./resolve.ts";
import { l2Normalise, maskedMean, tokenRows, type EncoderInput, type EncoderRunner } from "./runner.ts";

type Transformers = typeof import("@huggingface/transformers");

/** Model classes for two-tower models, whose halves are separate graphs; everything else goes through AutoModel. */
const towerClasses: Record<string, { text: string; image: string }> = {
  clip: { text: "CLIPTextModelWithProjection", image: "CLIPVisionModelWithProjection" },
  siglip: { text: "SiglipTextModel", image: "SiglipVisionModel" },
};

const pooledOutputs = ["text_embeds", "image_embeds", "sentence_embedding", "embeddings"];

let loaded: Transformers | undefined;

/** transformers.js, configured offline (downloads go through `downloadModel` only). */
async function transformers(): Promise<Transformers> {
  if (!loaded) {
    loaded = await import("@huggingface/transformers");
    loaded.env.logLevel = loaded.LogLevel.ERROR;
  }
  loaded.env.allowRemoteModels = false;
  loaded.env.allowLocalModels = true;
  return loaded;
}

export function encoderThreads(): number | undefined {
  const threads = Number(process.env.FUSIONKIT_ENCODER_THREADS);
  return Number.isInteger(threads) && threads > 0 ? threads : undefined;
}

function modelClass(t: Transformers, modelType: string, modality: "text" | "image"): { from_pretrained: (path: string, options: object) => Promise<any> } {
  const name = towerClasses[modelType]?.[modality];
  // the tower class by its exported name (CLIPTextModelWithProjection, ...): a lookup on the module namespace
  return name ? (Reflect.get(t, name) ?? t.AutoModel) : t.AutoModel;
}

/** Fetches a model id's files into the models directory (the layout resolve.ts reads). */
export async function downloadModel(hubId: string, modality: "text" | "image", modelsDir: string): Promise<void> {
  const t = await transformers();
  t.env.allowRemoteModels = true;
  try {
    const options = { cache_dir: modelsDir };
    const { model_type: modelType } = await t.AutoConfig.from_pretrained(hubId, options);
    if (!modelType) throw new Error(`its config.json names no model_type`);
    const config = { model_type: modelType };
    const { modelFileFor } = await import("./resolve.ts");
    if (modality === "text") await t.AutoTokenizer.from_pretrained(hubId, options);
    else await t.AutoImageProcessor.from_pretrained(hubId, options);
    const model = await modelClass(t, config.model_type, modality).from_pretrained(hubId, { ...options, dtype: "fp32", device: "cpu", model_file_name: modelFileFor(config.model_type, modality) });
    await model.dispose?.();
  } catch (error) {
    throw new FusionkitError(
      `could not download "${hubId}" (${(error as Error).message.split("\n")[0]}). Check the network and the model id, or download it yourself: git clone https://huggingface.co/${hubId} ${join(modelsDir, hubId)} (see docs/pretrained.md)`,
      { field: "encoder" },
    );
  } finally {
    t.env.allowRemoteModels = false;
  }
}

/**
 * A tokenizer that emits ids past the model's embedding table makes the graph
 * fail deep inside onnxruntime; compare the two up front.
 */
function checkTokenizerFits(encoder: ResolvedEncoder): void {
  const config = JSON.parse(readFileSync(join(encoder.dir, "config.json"), "utf8")) as Record<string, any>;
  const positions = Number(config.max_position_embeddings ?? config.text_config?.max_position_embeddings);
  if (Number.isInteger(positions) && positions > 0 && encoder.config.maxTokens > positions) {
    throw new FusionkitError(
      `the model takes at most ${positions} tokens (max_position_embeddings) but the encoder is set to maxTokens ${encoder.config.maxTokens}; set "maxTokens" to ${positions} or less in the modality's "encoder" entry`,
      { file: join(encoder.dir, "config.json") },
    );
  }
  const vocabSize = Number(config.vocab_size ?? config.text_config?.vocab_size);
  if (!Number.isInteger(vocabSize) || vocabSize <= 0) return;
  const tokenizerPath = join(encoder.dir, "tokenizer.json");
  const tokenizer = JSON.parse(readFileSync(tokenizerPath, "utf8")) as { model?: { vocab?: Record<string, number> | [string, number][] }; added_tokens?: { id: number }[] };
  const vocab = tokenizer.model?.vocab;
  const ids = Array.isArray(vocab) ? [vocab.length - 1] : Object.values(vocab ?? {});
  const largest = Math.max(-1, ...ids, ...(tokenizer.added_tokens ?? []).map((token) => token.id));
  if (largest >= vocabSize) {
    throw new FusionkitError(
      `the tokenizer emits ids up to ${largest} but config.json says the model has vocab_size ${vocabSize}: this tokenizer belongs to another model. Copy tokenizer.json and tokenizer_config.json from the same repository as the ONNX graph`,
      { file: tokenizerPath },
    );
  }
}

export async function openTransformersEncoder(encoder: ResolvedEncoder): Promise<EncoderRunner> {
  const t = await transformers();
  const { modality, config } = encoder;
  if (modality === "text") checkTokenizerFits(encoder);
  const threads = encoderThreads();
  const loadOptions = {
    dtype: "fp32",
    device: "cpu",
    model_file_name: encoder.modelFileName,
    local_files_only: true,
    ...(threads ? { session_options: { intraOpNumThreads: threads, interOpNumThreads: 1 } } : {}),
  };
  let model: any;
  let prepare: any;
  try {
    prepare = modality === "text" ? await t.AutoTokenizer.from_pretrained(encoder.dir, { local_files_only: true }) : await t.AutoImageProcessor.from_pretrained(encoder.dir, { local_files_only: true });
    model = await modelClass(t, encoder.modelType, modality).from_pretrained(encoder.dir, loadOptions);
  } catch (error) {
    if (error instanceof FusionkitError) throw error;
    throw new FusionkitError(`transformers.js could not load this ${encoder.modelType} model (${(error as Error).message.split("\n")[0]}); check the files against the model's repository`, { file: encoder.dir });
  }
  const session = Object.values(model.sessions ?? {})[0] as { inputNames: string[]; outputNames: string[] } | undefined;
  const inputNames = session?.inputNames ?? [];
  const wanted = modality === "text" ? "input_ids" : "pixel_values";
  if (!inputNames.includes(wanted)) {
    await model.dispose?.();
    throw new FusionkitError(
      `this graph takes ${inputNames.join(", ") || "no inputs"}, not ${wanted}: it is not a ${modality} encoder. Use it on ${modality === "text" ? "an image" : "a text"} modality, or pick a ${modality} model`,
      { file: encoder.onnxFile },
    );
  }
  const outputNames = session?.outputNames ?? [];
  const pooledName = pooledOutputs.find((name) => outputNames.includes(name));
  if (config.output === "tokens" ? !outputNames.includes("last_hidden_state") : !pooledName && !outputNames.includes("last_hidden_state")) {
    await model.dispose?.();
    throw new FusionkitError(
      `the graph's outputs are ${outputNames.join(", ")}; ${config.output === "tokens" ? `"tokens" needs last_hidden_state [batch, tokens, hidden]: use output "pooled"` : `pooled embeddings need one of ${pooledOutputs.join(", ")} or last_hidden_state`}`,
      { file: encoder.onnxFile },
    );
  }

  async function inputsFor(batch: EncoderInput[]): Promise<{ feeds: Record<string, unknown>; mask?: ArrayLike<number> }> {
    if (modality === "text") {
      const padding = config.output === "tokens" ? "max_length" : true;
      const encoded = prepare(
        batch.map((row) => row.text ?? ""),
        { padding, truncation: true, max_length: config.maxTokens },
      );
      return { feeds: encoded, mask: Array.from(encoded.attention_mask.data as BigInt64Array, Number) };
    }
    const images = await Promise.all(
      batch.map(async (row) => {
        try {
          // transparency flattened onto white, as the plain image pipeline does (and processors take 3 channels)
          const { data, info } = await sharp(row.bytes!).flatten({ background: "#ffffff" }).removeAlpha().toColourspace("srgb").raw().toBuffer({ resolveWithObject: true });
          return new t.RawImage(new Uint8ClampedArray(data.buffer, data.byteOffset, data.length), info.width, info.height, 3);
        } catch (error) {
          throw new FusionkitError(`cannot decode the image for the encoder (${(error as Error).message})`, { file: row.display });
        }
      }),
    );
    const processed = await prepare(images);
    return { feeds: { pixel_values: processed.pixel_values } };
  }

  return {
    async embed(batch) {
      const { feeds, mask } = await inputsFor(batch);
      let out: Record<string, { data: Float32Array; dims: number[] }>;
      try {
        out = await model(feeds);
      } catch (error) {
        const hint =
          modality === "image"
            ? "the image size in preprocessor_config.json does not fit the graph's input: take preprocessor_config.json from the same repository as the graph"
            : "the tokenizer's output does not fit the graph's inputs: take the tokenizer files from the same repository as the graph";
        throw new FusionkitError(`the encoder graph failed on this input (${(error as Error).message.split("\n")[0]}); ${hint}`, { file: encoder.onnxFile });
      }
      const B = batch.length;
      if (config.output === "pooled" && pooledName) {
        const tensor = out[pooledName]!;
        if (tensor.dims.length !== 2 || tensor.dims[0] !== B) throw shapeError(pooledName, tensor.dims, "[batch, dim]");
        const D = tensor.dims[1]!;
        const rows = Array.from({ length: B }, (_, b) => tensor.data.slice(b * D, (b + 1) * D));
        return { rows: config.normalize ? rows.map(l2Normalise) : rows, shape: [D] };
      }
      const states = out.last_hidden_state!;
      if (states.dims.length !== 3 || states.dims[0] !== B) throw shapeError("last_hidden_state", states.dims, "[batch, tokens, hidden]");
      const [, T, H] = states.dims as [number, number, number];
      if (config.output === "tokens") return { rows: tokenRows(states.data, mask, B, T, H), shape: [T, H] };
      const rows = maskedMean(states.data, mask, B, T, H);
      return { rows: config.normalize ? rows.map(l2Normalise) : rows, shape: [H] };
    },
    close: async () => {
      await model.dispose?.();
    },
  };

  function shapeError(name: string, dims: number[], expected: string): FusionkitError {
    return new FusionkitError(`output ${name} has shape [${dims.join(", ")}], expected ${expected}; this graph does not fit ${modality === "image" ? "an image" : "a text"} modality`, { file: encoder.onnxFile });
  }
}
