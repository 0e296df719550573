/**
 * One row's inputs, summarised for a human beside its attribution: text as
 * the words the model saw (decoded from the vocabulary, so unknown words show
 * as <unk>), an image as a small PNG data URI, tabular cells mapped back to
 * their original units and category names, vectors and frames as a few
 * numbers. The summary shows what the model received after preprocessing,
 * which is what the attribution is about.
 */
import sharp from "sharp";
import type { ModalitySpec, SplitData } from "../data/types.ts";

export type InputSummary =
  | { type: ModalitySpec["type"]; missing: true }
  | { type: "text"; tokens: string[]; text: string }
  | { type: "image"; width: number; height: number; channels: number; png: string }
  | { type: "vector"; dims: number; head: number[]; norm: number }
  | { type: "tabular"; numeric: Record<string, number>; categorical: Record<string, string> }
  | { type: "audio" | "sequence"; frames: number; realFrames: number; features: number; mean: number; std: number };

const round = (x: number, digits = 4) => Math.round(x * 10 ** digits) / 10 ** digits;

function rowValues(split: SplitData, spec: ModalitySpec, row: number): Float32Array {
  const width = spec.shape.reduce((a, b) => a * b, 1);
  return split.inputs[spec.name]!.subarray(row * width, (row + 1) * width);
}

/** [H, W, C] floats in [0, 1] -> PNG data URI, upscaled with nearest neighbour to `size` pixels wide. */
export async function imageDataUri(values: Float32Array, shape: number[], size = 64): Promise<string> {
  const [height, width, channels] = shape as [number, number, number];
  const bytes = Buffer.alloc(values.length);
  for (let i = 0; i < values.length; i++) bytes[i] = Math.round(Math.min(1, Math.max(0, values[i]!)) * 255);
  const scale = Math.max(1, Math.round(size / width));
  const png = await sharp(bytes, { raw: { width, height, channels: channels as 1 | 2 | 3 | 4 } })
    .resize(width * scale, height * scale, { kernel: "nearest" })
    .png()
    .toBuffer();
  return `data:image/png;base64,${png.toString("base64")}`;
}

export async function summariseInput(spec: ModalitySpec, split: SplitData, row: number, opts: { imageSize?: number } = {}): Promise<InputSummary> {
  if (split.present[spec.name]![row]! < 0.5) return { type: spec.type, missing: true };
  const values = rowValues(split, spec, row);
  switch (spec.type) {
    case "text": {
      const tokens = Array.from(values)
        .filter((id) => id !== 0)
        .map((id) => (id === 1 ? "<unk>" : (spec.vocabulary?.[id] ?? `#${id}`)));
      return { type: "text", tokens, text: tokens.join(" ") };
    }
    case "image": {
      const [height, width, channels] = spec.shape as [number, number, number];
      return { type: "image", width, height, channels, png: await imageDataUri(values, spec.shape, opts.imageSize) };
    }
    case "vector": {
      let norm = 0;
      for (const v of values) norm += v * v;
      return { type: "vector", dims: values.length, head: Array.from(values.subarray(0, 8), (v) => round(v)), norm: round(Math.sqrt(norm)) };
    }
    case "tabular": {
      const pre = (spec.preprocessing ?? {}) as { means?: number[]; stds?: number[]; categoryVocabularies?: string[][] };
      const numericColumns = spec.numericColumns ?? [];
      const numeric: Record<string, number> = {};
      numericColumns.forEach((column, c) => {
        // back to the column's own units, x = z * std + mean, to 6 significant digits: z is
        // float32, so a budget of 1e6 comes back as 999998.98 at full precision. A missing
        // cell was imputed with the train mean before the model saw it, and shows as that.
        const std = pre.stds?.[c] ?? 1;
        const mean = pre.means?.[c] ?? 0;
        numeric[column] = Number((values[c]! * std + mean).toPrecision(6));
      });
      const categorical: Record<string, string> = {};
      (spec.categoricalColumns ?? []).forEach((column, c) => {
        const code = values[numericColumns.length + c]!;
        categorical[column] = pre.categoryVocabularies?.[c]?.[code] ?? `code ${code}`;
      });
      return { type: "tabular", numeric, categorical };
    }
    case "audio":
    case "sequence": {
      const [frames, features] = spec.shape as [number, number];
      const mask = split.tokenMasks[spec.name]?.subarray(row * frames, (row + 1) * frames);
      const realFrames = mask ? mask.reduce((a, b) => a + (b > 0.5 ? 1 : 0), 0) : frames;
      let sum = 0;
      let sumSquares = 0;
      const count = Math.max(1, realFrames * features);
      for (let t = 0; t < frames; t++) {
        if (mask && mask[t]! < 0.5) continue;
        for (let k = 0; k < features; k++) {
          const v = values[t * features + k]!;
          sum += v;
          sumSquares += v * v;
        }
      }
      const mean = sum / count;
      return { type: spec.type, frames, realFrames, features, mean: round(mean), std: round(Math.sqrt(Math.max(0, sumSquares / count - mean * mean))) };
    }
  }
}
