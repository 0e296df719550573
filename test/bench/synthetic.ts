/**
 * A tiny dataset directory for bench tests: two vector modalities, "a" and
 * "b". The label is the sign of a[0]; b is pure noise. So a baseline that
 * reads only "a" can learn the task, and nothing about "b" (missing or
 * noisy) can change its predictions.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
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
