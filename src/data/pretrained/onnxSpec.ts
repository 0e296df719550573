/**
 * A bare ONNX encoder (`onnx:path/to/encoder.onnx`) states how to feed it and
 * what it returns in `path/to/encoder.encoder.json`:
 *
 *   {
 *     "modality": "image",
 *     "image": { "input": "pixel_values", "size": 224, "mean": [0.48, 0.46, 0.41], "std": [0.27, 0.26, 0.28], "layout": "NCHW" },
 *     "output": { "name": "image_embeds", "kind": "pooled" }
 *   }
 *   {
 *     "modality": "text",
 *     "text": { "tokenizer": "tokenizer-dir", "ids": "input_ids", "mask": "attention_mask", "typeIds": "token_type_ids" },
 *     "output": { "name": "last_hidden_state", "kind": "tokens" }
 *   }
 *
 * Images are decoded, flattened on white, resized to size x size (squashed,
 * bilinear), scaled to [0, 1], then (x - mean) / std per channel. Text goes
 * through the tokenizer.json + tokenizer_config.json in `tokenizer` (a
 * directory relative to the JSON). Output "pooled" is [B, D]; "tokens" is
 * [B, T, D] (its pooled vector is the masked mean over T).
 */
import { existsSync, readFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { z } from "zod";
import { FusionkitError } from "../../errors.ts";
import { formatPath } from "../schema.ts";
import type { EncodedModalityKind } from "./resolve.ts";

const onnxEncoderSchema = z.strictObject({
  modality: z.enum(["text", "image"]),
  image: z
    .strictObject({
      input: z.string().min(1).default("pixel_values"),
      size: z.number().int().positive().max(4096),
      mean: z.array(z.number()).length(3).default([0, 0, 0]),
      std: z.array(z.number().positive()).length(3).default([1, 1, 1]),
      layout: z.enum(["NCHW", "NHWC"]).default("NCHW"),
    })
    .optional(),
  text: z
    .strictObject({
      tokenizer: z.string().min(1),
      ids: z.string().min(1).default("input_ids"),
      mask: z.string().min(1).optional(),
      typeIds: z.string().min(1).optional(),
    })
    .optional(),
  output: z.strictObject({ name: z.string().min(1), kind: z.enum(["pooled", "tokens"]) }),
});

export type OnnxEncoderJson = z.infer<typeof onnxEncoderSchema>;
export type OnnxEncoderSpec = { specFile: string; json: OnnxEncoderJson; tokenizerDir?: string };

export function specFileFor(onnxFile: string): string {
  return onnxFile.replace(/\.onnx$/iu, "") + ".encoder.json";
}

export function readOnnxEncoderSpec(onnxFile: string, modality: EncodedModalityKind): OnnxEncoderSpec {
  const specFile = specFileFor(onnxFile);
  if (!existsSync(specFile)) {
    throw new FusionkitError(`a bare ONNX encoder needs a JSON beside it stating its input preprocessing and output; write ${specFile} (see docs/pretrained.md)`, { file: specFile });
  }
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(specFile, "utf8"));
  } catch (error) {
    throw new FusionkitError(`is not valid JSON (${(error as Error).message})`, { file: specFile });
  }
  const parsed = onnxEncoderSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new FusionkitError(`${issue.message}. See docs/pretrained.md for the encoder JSON fields`, { file: specFile, field: formatPath(issue.path) });
  }
  const json = parsed.data;
  if (json.modality !== modality) {
    throw new FusionkitError(`this encoder takes ${json.modality} ("modality"), but it is set on ${modality === "image" ? "an image" : "a text"} modality; use it for ${json.modality === "image" ? "an image" : "a text"} modality`, { file: specFile, field: "modality" });
  }
  if (modality === "image" && !json.image) throw new FusionkitError(`an image encoder needs "image": { "size", "mean", "std" }`, { file: specFile, field: "image" });
  if (modality === "text" && !json.text) throw new FusionkitError(`a text encoder needs "text": { "tokenizer": "<directory with tokenizer.json>" }`, { file: specFile, field: "text" });
  let tokenizerDir: string | undefined;
  if (json.text) {
    tokenizerDir = resolve(dirname(specFile), json.text.tokenizer);
    for (const file of ["tokenizer.json", "tokenizer_config.json"]) {
      if (!existsSync(resolve(tokenizerDir, file))) {
        throw new FusionkitError(`"text.tokenizer" points at ${tokenizerDir}, which has no ${file}; copy the tokenizer files of the model there`, { file: specFile, field: "text.tokenizer" });
      }
    }
  }
  return { specFile, json, ...(tokenizerDir ? { tokenizerDir } : {}) };
}
