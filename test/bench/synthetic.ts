/**
 * A tiny dataset directory for bench tests: two vector modalities, "a" and
 * "b". The label is the sign of a[0]; b is pure noise. So a baseline that
 * reads only "a" can learn the task, and nothing about "b" (missing or
 * noisy) can change its predictions.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import sharp from "sharp";
import { HostRng } from "../../src/engine/random.ts";

/** Writes the dataset into `dir`; returns the directory and the share of "pos" among the test rows. */
export function writeSignDataset(dir: string, rows = 160): { dir: string; testPositiveShare: number } {
  const rng = new HostRng(7);
  const lines: string[] = [];
  let testRows = 0;
  let testPositives = 0;
  for (let i = 0; i < rows; i++) {
    const a = Array.from({ length: 4 }, () => rng.normal());
    const b = Array.from({ length: 4 }, () => rng.normal());
    const split = i % 10 < 6 ? "train" : i % 10 < 8 ? "val" : "test";
    if (split === "test") {
      testRows++;
      if (a[0]! > 0) testPositives++;
    }
    lines.push(JSON.stringify({ id: `r${i}`, split, label: a[0]! > 0 ? "pos" : "neg", a, b }));
  }
  mkdirSync(dir, { recursive: true });
  writeFileSync(
    join(dir, "dataset.json"),
    JSON.stringify({
      name: "sign",
      task: "classification",
      label: "label",
      split: { field: "split" },
      modalities: [
        { name: "a", type: "vector", field: "a" },
        { name: "b", type: "vector", field: "b" },
      ],
    }),
  );
  writeFileSync(join(dir, "data.jsonl"), `${lines.join("\n")}\n`);
  return { dir, testPositiveShare: testPositives / testRows };
}

const colourRgb: Record<string, [number, number, number]> = { red: [220, 30, 30], green: [30, 200, 40], blue: [30, 40, 220], yellow: [230, 220, 30] };

/**
 * A tiny image + text dataset for the bench's explanation and retrieval
 * sections: each row is an 8x8 picture of one colour (with per-row pixel
 * noise) and the caption "<colour> <filler>"; the label is the colour and the
 * kept field "colour" makes every row of one colour a true match of the others.
 */
export async function writeColourDataset(dir: string, rows = 160): Promise<string> {
  const rng = new HostRng(11);
  const colours = Object.keys(colourRgb);
  const fillers = ["thing", "picture", "patch", "square"];
  mkdirSync(join(dir, "images"), { recursive: true });
  const lines: string[] = [];
  for (let i = 0; i < rows; i++) {
    const colour = colours[i % colours.length]!;
    const pixels = Buffer.alloc(8 * 8 * 3);
    for (let p = 0; p < 64; p++) colourRgb[colour]!.forEach((v, c) => (pixels[p * 3 + c] = Math.max(0, Math.min(255, Math.round(v + 25 * rng.normal())))));
    const file = `images/${i}.png`;
    writeFileSync(join(dir, file), await sharp(pixels, { raw: { width: 8, height: 8, channels: 3 } }).png().toBuffer());
    const split = i % 10 < 6 ? "train" : i % 10 < 8 ? "val" : "test";
    lines.push(JSON.stringify({ id: `c${i}`, split, colour, image: file, caption: `${colour} ${fillers[Math.floor(i / 4) % fillers.length]}` }));
  }
  writeFileSync(
    join(dir, "dataset.json"),
    JSON.stringify({
      name: "colours",
      task: "classification",
      label: "colour",
      split: { field: "split" },
      keepFields: ["colour"],
      modalities: [
        { name: "image", type: "image", field: "image", size: 8 },
        { name: "caption", type: "text", field: "caption", maxTokens: 4 },
      ],
    }),
  );
  writeFileSync(join(dir, "data.jsonl"), `${lines.join("\n")}\n`);
  return dir;
}
