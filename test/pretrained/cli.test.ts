/**
 * The --encoder flags through the train and eval commands (in process): the
 * flag reaches the data layer, the checkpoint records each encoder by its
 * absolute location, eval reloads the same embeddings (the prepared-data
 * cache key matches), and a flag naming a modality the dataset lacks, or one
 * that cannot take an encoder, is one clear line.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join, relative } from "node:path";
import { after, before, describe, it } from "node:test";
import { runEval } from "../../src/cli/actions/eval.ts";
import { runTrain } from "../../src/cli/actions/train.ts";
import type { TrainFlags } from "../../src/cli/train.ts";
import { closeEncoders } from "../../src/data/pretrained/pipeline.ts";
import { tempDir } from "../../bench/fixtures/datasetFiles.ts";
import { writePretrainedFixture, type PretrainedFixture } from "./fixture.ts";

let fx: PretrainedFixture;
let previousCache: string | undefined;
before(async () => {
  fx = await writePretrainedFixture(40);
  previousCache = process.env.FUSIONKIT_CACHE;
  process.env.FUSIONKIT_CACHE = fx.cacheDir;
});
after(async () => {
  if (previousCache === undefined) delete process.env.FUSIONKIT_CACHE;
  else process.env.FUSIONKIT_CACHE = previousCache;
  await closeEncoders();
});

const flags = (encoder: string[], out: string): TrainFlags => ({ data: fx.dataDir, method: "early", seed: 0, epochs: 2, batchSize: 16, lr: 0.01, patience: 2, encoderDim: 8, quiet: true, out, encoder });

async function captured(run: () => Promise<void>): Promise<string> {
  const lines: string[] = [];
  const log = console.log;
  const error = console.error;
  console.log = (...args: unknown[]) => void lines.push(args.join(" "));
  console.error = () => {};
  try {
    await run();
  } finally {
    console.log = log;
    console.error = error;
  }
  return lines.join("\n");
}

describe("--encoder on train and eval", () => {
  it("trains on pretrained embeddings, records the encoder by absolute location, and eval reloads the same data", async () => {
    const out = join(tempDir("fusionkit-pretrained-cli-"), "model");
    // a relative directory, as a user types it
    const trained = await captured(() => runTrain(flags([`caption=${relative(process.cwd(), fx.text.dir)}`, `photo=${fx.image.dir}:tokens`], out)));
    const testLine = /test accuracy (\d\.\d+)/.exec(trained);
    assert.ok(testLine, trained);
    const config = JSON.parse(readFileSync(join(out, "config.json"), "utf8")) as { dataset: { cacheKey: string; loadOptions: { encoders: Record<string, unknown> } } };
    assert.deepEqual(config.dataset.loadOptions.encoders, { caption: { model: fx.text.dir, output: "pooled" }, photo: { model: fx.image.dir, output: "tokens" } });
    const evaluated = await captured(() => runEval({ model: out, split: "test" }));
    assert.match(evaluated, new RegExp(`early on .* test \\(\\d+ rows\\): accuracy ${testLine[1]}`));
  });

  it("names a modality the dataset lacks, and one that cannot take an encoder", async () => {
    const out = join(tempDir("fusionkit-pretrained-cli-"), "model");
    await assert.rejects(runTrain(flags(["title=./bert"], out)), /field "--encoder": --encoder names modality "title", which .*dataset\.json does not have; its modalities: photo, caption/);
    await assert.rejects(runTrain(flags(["caption"], out)), /--encoder takes <modality>=<model>/);
  });
});
