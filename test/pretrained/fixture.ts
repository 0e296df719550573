/**
 * A small two-class dataset (photo + caption) whose classes the tiny random
 * encoders can tell apart: red vs blue pictures, fruit vs sky words. Plus the
 * tiny text and image model directories (tinyModels.ts).
 */
import { join } from "node:path";
import { solidPng, splitRows, tempDir, writeDataset } from "../../bench/fixtures/datasetFiles.ts";
import { writeTinyImageModel, writeTinyTextModel, type TinyImageModel, type TinyTextModel } from "../../bench/fixtures/tinyModels.ts";

export const words = ["a", "red", "ripe", "apple", "cherry", "fruit", "blue", "clear", "sky", "ocean", "wave", "cold", "warm", "sweet"];

export type PretrainedFixture = { root: string; dataDir: string; text: TinyTextModel; image: TinyImageModel; cacheDir: string; rows: Record<string, unknown>[] };

const redTexts = ["a red apple", "ripe cherry fruit", "sweet red fruit", "a warm apple", "red cherry", "sweet apples"];
const blueTexts = ["a blue sky", "clear ocean wave", "cold blue ocean", "a clear sky", "blue waves", "cold sky"];

export async function writePretrainedFixture(n = 60): Promise<PretrainedFixture> {
  const root = tempDir("fusionkit-pretrained-");
  const text = writeTinyTextModel(join(root, "models", "tiny-bert"), { words });
  const image = writeTinyImageModel(join(root, "models", "tiny-vit"));
  const files: Record<string, Uint8Array> = {};
  const shades = [0, 40, 80];
  for (const [s, shade] of shades.entries()) {
    files[`img/red${s}.png`] = await solidPng([200 + s * 20, shade, shade, 255], 12, 10);
    files[`img/blue${s}.png`] = await solidPng([shade, shade, 200 + s * 20, 255], 10, 12);
  }
  const rows = splitRows(n, (i) => {
    const red = i % 2 === 0;
    const k = Math.floor(i / 2);
    return {
      id: `r${i}`,
      label: red ? "fruit" : "sky",
      caption: i % 11 === 5 ? null : (red ? redTexts : blueTexts)[k % 6],
      photo: i % 13 === 7 ? null : `img/${red ? "red" : "blue"}${k % 3}.png`,
    };
  });
  const dataDir = writeDataset({
    config: {
      task: "classification",
      label: "label",
      split: { field: "split" },
      modalities: [
        { name: "photo", type: "image", field: "photo", size: 8 },
        { name: "caption", type: "text", field: "caption", maxTokens: 8 },
      ],
    },
    rows,
    files,
  });
  return { root, dataDir, text, image, cacheDir: join(root, "cache"), rows };
}
