/**
 * Encoder pooling, measured: each modality's unimodal model trained with the
 * plain-mean encoder it replaced ("mean") and with the current one
 * ("structured": attention pooling for text and frames; for images both the
 * flattened-patch encoder and the LeNet-style CNN, --image-encoders), same
 * data, epochs cap, patience, learning rate and seeds. Prints
 * the median over seeds of the best validation accuracy (what chose the
 * encoder), the test accuracy, the parameter count and the training time.
 * Run: tsx bench/encoders.ts [--data emoji] [--max-rows 4000] [--seeds 3] [--epochs 30] [--patience 5] [--encoder-dim 32]
 *      [--modalities image] [--variants mean,patches,cnn]
 */
import { cpus } from "node:os";
import { parseArgs } from "node:util";
import { startEngine } from "../src/engine/backend.ts";
import { loadDataset } from "../src/data/load.ts";
import type { ImageEncoderKind, Pooling } from "../src/encoders/index.ts";
import { predict } from "../src/train/predict.ts";
import { trainModel } from "../src/train/trainer.ts";
import { taskMetrics } from "../src/eval/metrics.ts";

const { values } = parseArgs({
  options: {
    data: { type: "string", default: "emoji" },
    "max-rows": { type: "string", default: "4000" },
    seeds: { type: "string", default: "3" },
    epochs: { type: "string", default: "30" },
    patience: { type: "string", default: "5" },
    "encoder-dim": { type: "string", default: "32" },
    lr: { type: "string", default: "2e-3" },
    modalities: { type: "string" },
    /** which encoders to train: "mean" (plain mean), "structured" (text/frames) or, for images, "patches" and "cnn" */
    variants: { type: "string", default: "mean,structured,patches,cnn" },
  },
});
await startEngine();
const ds = await loadDataset(values.data, { maxRows: Number(values["max-rows"]) });
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)]!;
const modalities = values.modalities ? values.modalities.split(",") : ds.modalities.filter((m) => ["image", "text", "audio", "sequence"].includes(m.type)).map((m) => m.name);
console.log(`${ds.name}: ${ds.splits.train.n}/${ds.splits.val.n}/${ds.splits.test.n} rows; ${cpus().length} x ${cpus()[0]?.model}; ${new Date().toISOString()}`);
console.log("| modality | encoder | val acc (median) | test acc (median) | params | train s (median) | s per epoch (median) | epochs run (median) |");
console.log("|---|---|--:|--:|--:|--:|--:|--:|");
type Variant = { name: string; pooling: Pooling; imageEncoder?: ImageEncoderKind };
const wanted = values.variants.split(",");
for (const modality of modalities) {
  const isImage = ds.modalities.find((m) => m.name === modality)?.type === "image";
  const variants: Variant[] = isImage
    ? [{ name: "mean", pooling: "mean" }, { name: "patches", pooling: "structured", imageEncoder: "patches" }, { name: "cnn", pooling: "structured", imageEncoder: "cnn" }]
    : [{ name: "mean", pooling: "mean" }, { name: "structured", pooling: "structured" }];
  for (const variant of variants.filter((v) => wanted.includes(v.name))) {
    const val: number[] = [], test: number[] = [], secs: number[] = [], perEpoch: number[] = [], epochs: number[] = [];
    let params = 0;
    for (let seed = 0; seed < Number(values.seeds); seed++) {
      const trained = await trainModel(ds, {
        method: `unimodal:${modality}`,
        seed,
        epochs: Number(values.epochs),
        patience: Number(values.patience),
        lr: Number(values.lr),
        encoderDim: Number(values["encoder-dim"]),
        encoderPooling: variant.pooling,
        ...(variant.imageEncoder ? { imageEncoder: variant.imageEncoder } : {}),
      });
      val.push(trained.history[trained.bestEpoch - 1]!.valMetric);
      test.push(taskMetrics(ds.task, predict(trained, ds.splits.test).probs, ds.splits.test.labels, ds.labelNames.length).accuracy!);
      secs.push(trained.trainMs / 1000);
      epochs.push(trained.history.length);
      perEpoch.push(trained.trainMs / 1000 / trained.history.length);
      const encoders = (trained.params as any).encoders as Record<string, unknown>;
      params = trained.paramCount - Object.entries(encoders).filter(([n]) => n !== modality).reduce((s, [, t]) => s + countLeaves(t), 0);
    }
    console.log(`| ${modality} | ${variant.name} | ${median(val).toFixed(3)} | ${median(test).toFixed(3)} | ${params.toLocaleString("en")} | ${median(secs).toFixed(1)} | ${median(perEpoch).toFixed(2)} | ${median(epochs)} |`);
  }
}

function countLeaves(tree: unknown): number {
  if (tree && typeof tree === "object" && "data" in (tree as object) && (tree as { data: unknown }).data instanceof Float32Array) return (tree as { data: Float32Array }).data.length;
  if (Array.isArray(tree)) return tree.reduce((s, t) => s + countLeaves(t), 0);
  if (tree && typeof tree === "object") return Object.values(tree).reduce((s: number, t) => s + countLeaves(t), 0);
  return 0;
}
