/**
 * A page to test in the browser: a small emoji model (image + text; 400
 * generated rows, 3 epochs of GMU, seconds on 2 cores) saved like `fusionkit
 * train` saves it, its page written by src/export/web, and raw rows of test
 * emoji (never seen in training) as `fusionkit predict` reads them.
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import sharp from "sharp";
import { buildEmojiDataset } from "../../src/data/builtin/emoji.ts";
import { decodeImage } from "../../src/data/image.ts";
import { loadDataset } from "../../src/data/load.ts";
import { startEngine } from "../../src/engine/backend.ts";
import { buildWebPage, type WebPageSummary } from "../../src/export/web/build.ts";
import { datasetModalityConfigs } from "../../src/model/prepareRows.ts";
import { saveModel } from "../../src/train/persistence.ts";
import { trainModel } from "../../src/train/trainer.ts";
import { tempDir } from "../../bench/fixtures/datasetFiles.ts";

export type PageRow = { id: string; image: string; text: string };
export type PageFixture = { modelDir: string; siteDir: string; summary: WebPageSummary; rows: PageRow[]; exactRow: PageRow; work: string };

export async function emojiPageFixture(options: { testRows?: number; method?: string; epochs?: number } = {}): Promise<PageFixture> {
  await startEngine();
  const work = tempDir("fusionkit-web-");
  const dataset = await loadDataset("emoji", { maxRows: 400, cacheDir: join(work, "cache") });
  const trained = await trainModel(dataset, { method: options.method ?? "gmu", epochs: options.epochs ?? 3, batchSize: 32, encoderDim: 16, seed: 0 });
  const modelDir = join(work, "model");
  saveModel(modelDir, trained, dataset, { modalityConfigs: datasetModalityConfigs("emoji") ?? [] });
  const siteDir = join(work, "site");
  const summary = await buildWebPage(modelDir, siteDir);

  const testIds = new Set(dataset.splits.test.ids);
  const emoji = new Set<unknown>();
  // one row per test emoji, so the rows differ in picture and text
  const rows = buildEmojiDataset({})
    .rows.filter((row) => testIds.has(row.id as string) && typeof row.text === "string" && !emoji.has(row.emoji) && emoji.add(row.emoji))
    .slice(0, options.testRows ?? 3)
    .map((row) => ({ id: row.id as string, image: row.image as string, text: row.text as string }));
  // the first row's picture as the model sees it, saved at 32 x 32: both paths take it pixel for pixel
  const pixels = await decodeImage(rows[0]!.image, { size: 32, channels: 3 });
  const exactImage = join(work, "exact.png");
  writeFileSync(exactImage, await sharp(Buffer.from(pixels.map((v) => Math.round(v * 255))), { raw: { width: 32, height: 32, channels: 3 } }).png().toBuffer());
  return { modelDir, siteDir, summary, rows, exactRow: { id: "exact", image: exactImage, text: rows[0]!.text }, work };
}
