/**
 * Runs a bare ONNX encoder (onnx:<file>) in onnxruntime-node with the
 * preprocessing its <file>.encoder.json states (onnxSpec.ts): sharp for
 * images, the transformers.js tokenizer for text.
 */
import * as ort from "onnxruntime-node";
import sharp from "sharp";
import { FusionkitError } from "../../errors.ts";
import type { ResolvedEncoder } from "./resolve.ts";
import { l2Normalise, maskedMean, tokenRows, type EncoderInput, type EncoderRunner } from "./runner.ts";
import { encoderThreads } from "./transformersEncoder.ts";

export async function openOnnxEncoder(encoder: ResolvedEncoder): Promise<EncoderRunner> {
  const spec = encoder.onnxSpec!;
  const { json } = spec;
  const threads = encoderThreads();
  let session: ort.InferenceSession;
  try {
    session = await ort.InferenceSession.create(encoder.onnxFile, threads ? { intraOpNumThreads: threads, interOpNumThreads: 1 } : {});
  } catch (error) {
    throw new FusionkitError(`onnxruntime cannot load this graph (${(error as Error).message.split("\n")[0]}); check it is a valid ONNX model`, { file: encoder.onnxFile });
  }
  const needed = json.image ? [json.image.input] : [json.text!.ids, ...(json.text!.mask ? [json.text!.mask] : []), ...(json.text!.typeIds ? [json.text!.typeIds] : [])];
  for (const name of needed) {
    if (!session.inputNames.includes(name)) {
      await session.release();
      throw new FusionkitError(`the graph has no input "${name}" (its inputs: ${session.inputNames.join(", ")}); fix the input names in ${spec.specFile}`, { file: encoder.onnxFile });
    }
  }
  if (!session.outputNames.includes(json.output.name)) {
    await session.release();
    throw new FusionkitError(`the graph has no output "${json.output.name}" (its outputs: ${session.outputNames.join(", ")}); fix "output.name" in ${spec.specFile}`, { file: encoder.onnxFile });
  }
  if (encoder.config.output === "tokens" && json.output.kind !== "tokens") {
    await session.release();
    throw new FusionkitError(`"${json.output.name}" is one vector per row ("kind": "pooled"), so it has no tokens; use output "pooled" for this encoder`, { file: spec.specFile });
  }
  const tokenizer = spec.tokenizerDir ? await (await import("@huggingface/transformers")).AutoTokenizer.from_pretrained(spec.tokenizerDir, { local_files_only: true }) : undefined;

  async function pixels(batch: EncoderInput[]): Promise<ort.Tensor> {
    const { size, mean, std, layout } = json.image!;
    const out = new Float32Array(batch.length * 3 * size * size);
    await Promise.all(
      batch.map(async (row, b) => {
        let raw: Buffer;
        try {
          raw = await sharp(row.bytes!).flatten({ background: "#ffffff" }).removeAlpha().toColourspace("srgb").resize(size, size, { fit: "fill" }).raw().toBuffer();
        } catch (error) {
          throw new FusionkitError(`cannot decode the image for the encoder (${(error as Error).message})`, { file: row.display });
        }
        for (let p = 0; p < size * size; p++) {
          for (let c = 0; c < 3; c++) {
            const value = (raw[p * 3 + c]! / 255 - mean[c]!) / std[c]!;
            out[layout === "NCHW" ? b * 3 * size * size + c * size * size + p : (b * size * size + p) * 3 + c] = value;
          }
        }
      }),
    );
    return new ort.Tensor("float32", out, layout === "NCHW" ? [batch.length, 3, size, size] : [batch.length, size, size, 3]);
  }

  return {
    async embed(batch) {
      const B = batch.length;
      const feeds: Record<string, ort.Tensor> = {};
      let mask: ArrayLike<number> | undefined;
      if (json.image) feeds[json.image.input] = await pixels(batch);
      else {
        const padding = encoder.config.output === "tokens" ? "max_length" : true;
        const encoded = tokenizer!(
          batch.map((row) => row.text ?? ""),
          { padding, truncation: true, max_length: encoder.config.maxTokens },
        ) as unknown as Record<string, { data: BigInt64Array; dims: number[] }>;
        const text = json.text!;
        const ids = encoded.input_ids!;
        feeds[text.ids] = new ort.Tensor("int64", ids.data, ids.dims);
        const attention = encoded.attention_mask!;
        mask = Array.from(attention.data, Number);
        if (text.mask) feeds[text.mask] = new ort.Tensor("int64", attention.data, attention.dims);
        if (text.typeIds) feeds[text.typeIds] = new ort.Tensor("int64", new BigInt64Array(ids.data.length), ids.dims);
      }
      let result: ort.InferenceSession.ReturnType;
      try {
        result = await session.run(feeds, [json.output.name]);
      } catch (error) {
        throw new FusionkitError(`the encoder graph failed on this input (${(error as Error).message.split("\n")[0]}); its input shape does not fit the preprocessing in ${spec.specFile}`, { file: encoder.onnxFile });
      }
      const tensor = result[json.output.name]!;
      const dims = tensor.dims.map(Number);
      const data = tensor.data as Float32Array;
      const expectedRank = json.output.kind === "pooled" ? 2 : 3;
      if (dims.length !== expectedRank || dims[0] !== B || tensor.type !== "float32") {
        throw new FusionkitError(
          `output "${json.output.name}" is ${tensor.type} [${dims.join(", ")}], but "kind": "${json.output.kind}" needs float32 ${expectedRank === 2 ? "[batch, dim]" : "[batch, tokens, hidden]"}; fix ${spec.specFile}`,
          { file: encoder.onnxFile },
        );
      }
      if (json.output.kind === "pooled") {
        const D = dims[1]!;
        const rows = Array.from({ length: B }, (_, b) => data.slice(b * D, (b + 1) * D));
        return { rows: encoder.config.normalize ? rows.map(l2Normalise) : rows, shape: [D] };
      }
      const [, T, H] = dims as [number, number, number];
      if (mask && T !== mask.length / B) mask = undefined; // a graph that pools or reshapes tokens itself: every step counts
      if (encoder.config.output === "tokens") return { rows: tokenRows(data, mask, B, T, H), shape: [T, H] };
      const rows = maskedMean(data, mask, B, T, H);
      return { rows: encoder.config.normalize ? rows.map(l2Normalise) : rows, shape: [H] };
    },
    close: () => session.release(),
  };
}
