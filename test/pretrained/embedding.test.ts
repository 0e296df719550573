/**
 * Pretrained encoders at preparation time, with the tiny generated models
 * (no network): the transformers.js path a hub model takes, pooling checked
 * against a direct transformers.js run, the embedding cache (hit, miss,
 * invalidation when the model file changes, entries a killed run left), the
 * token output, a bare ONNX encoder, and the one-line errors.
 */
import assert from "node:assert/strict";
import { cpSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { loadDataset } from "../../src/data/load.ts";
import { closeEncoders, PretrainedPipeline } from "../../src/data/pretrained/pipeline.ts";
import { parseEncoderFlags } from "../../src/data/pretrained/config.ts";
import { FusionkitError } from "../../src/errors.ts";
import { writePretrainedFixture, type PretrainedFixture } from "./fixture.ts";
import { writeTinyImageModel, writeTinyTextModel } from "../../bench/fixtures/tinyModels.ts";
import { tempDir } from "../../bench/fixtures/datasetFiles.ts";

let fx: PretrainedFixture;

before(async () => {
  fx = await writePretrainedFixture();
});
after(() => closeEncoders());

function counting<T>(run: () => Promise<T>): Promise<{ value: T; computed: number; cached: number }> {
  const start = { ...PretrainedPipeline.totals };
  return run().then((value) => ({ value, computed: PretrainedPipeline.totals.computed - start.computed, cached: PretrainedPipeline.totals.cached - start.cached }));
}

const load = (cacheDir: string, encoders: Record<string, string | { model: string; output?: "pooled" | "tokens"; maxTokens?: number } | null>, dataCache = false) =>
  loadDataset(fx.dataDir, { cacheDir, cache: dataCache, encoders });

function row(values: Float32Array, i: number, width: number): Float32Array {
  return values.slice(i * width, (i + 1) * width);
}

describe("pretrained encoders through transformers.js", () => {
  it("turns text and image modalities into unit-length pooled vectors equal to a direct transformers.js run", async () => {
    const cacheDir = join(fx.root, "cache-pooled");
    const ds = await load(cacheDir, { caption: fx.text.dir, photo: fx.image.dir });
    const caption = ds.modalities.find((m) => m.name === "caption")!;
    const photo = ds.modalities.find((m) => m.name === "photo")!;
    assert.equal(caption.type, "vector");
    assert.deepEqual(caption.shape, [fx.text.hidden]);
    assert.equal(photo.type, "vector");
    assert.deepEqual(photo.shape, [fx.image.hidden]);
    const encoder = (caption.preprocessing as { encoder: { identity: string; modelType: string; files: { path: string }[] } }).encoder;
    assert.equal(encoder.modelType, "bert");
    assert.match(encoder.identity, /^[0-9a-f]{64}$/);
    assert.ok(encoder.files.some((f) => f.path === "onnx/model.onnx"));

    const train = ds.splits.train;
    const H = fx.text.hidden;
    for (let i = 0; i < train.n; i++) {
      const v = row(train.inputs.caption!, i, H);
      const norm = Math.hypot(...v);
      if (train.present.caption![i]) assert.ok(Math.abs(norm - 1) < 1e-5, `row ${i} norm ${norm}`);
      else assert.equal(norm, 0);
    }

    // the masked mean of last_hidden_state, L2-normalised, computed here straight from transformers.js
    const t = await import("@huggingface/transformers");
    const tokenizer = await t.AutoTokenizer.from_pretrained(fx.text.dir);
    const model = await t.AutoModel.from_pretrained(fx.text.dir, { dtype: "fp32", device: "cpu" });
    const id = train.ids.findIndex((_, i) => train.present.caption![i] === 1);
    const text = fx.rows.find((r) => r.id === train.ids[id])!.caption as string;
    const encoded = tokenizer([text]);
    const out = await model(encoded);
    const states = out.last_hidden_state.data as Float32Array;
    const T = out.last_hidden_state.dims[1];
    const expected = new Float32Array(H);
    for (let tok = 0; tok < T; tok++) for (let h = 0; h < H; h++) expected[h] += states[tok * H + h]! / T;
    const norm = Math.hypot(...expected);
    const got = row(train.inputs.caption!, id, H);
    for (let h = 0; h < H; h++) assert.ok(Math.abs(got[h]! - expected[h]! / norm) < 1e-5, `dim ${h}: ${got[h]} vs ${expected[h]! / norm}`);
    await model.dispose();

    // same text -> same vector; red and blue captions differ
    const byText = new Map<string, Float32Array>();
    train.ids.forEach((rid, i) => {
      const caption = fx.rows.find((r) => r.id === rid)!.caption;
      if (typeof caption !== "string") return;
      const vector = row(train.inputs.caption!, i, H);
      const seen = byText.get(caption);
      if (seen) assert.deepEqual(vector, seen);
      else byText.set(caption, vector);
    });
    const [a, b] = [byText.get("a red apple")!, byText.get("a blue sky")!];
    assert.ok(a.some((x, h) => Math.abs(x - b[h]!) > 1e-3));
  });

  it("reads the embedding cache on a second load, and embeds again when the model file changes", async () => {
    const cacheDir = join(fx.root, "cache-hits");
    const models = tempDir("fusionkit-pretrained-models-");
    const textDir = writeTinyTextModel(join(models, "bert"), { words: ["a", "red", "apple", "blue", "sky"] }).dir;
    const first = await counting(() => load(cacheDir, { caption: textDir }));
    const distinct = new Set(fx.rows.map((r) => r.caption).filter((c) => typeof c === "string")).size;
    assert.equal(first.computed, distinct);
    assert.equal(first.cached, 0);

    const second = await counting(() => load(cacheDir, { caption: textDir }));
    assert.equal(second.computed, 0);
    assert.equal(second.cached, distinct);
    assert.deepEqual(second.value.splits.test.inputs.caption, first.value.splits.test.inputs.caption);

    // the dataset cache is keyed by the encoder identity too
    const cachedLoad = await counting(() => load(cacheDir, { caption: textDir }, true));
    const cachedAgain = await counting(() => load(cacheDir, { caption: textDir }, true));
    assert.equal(cachedAgain.computed + cachedAgain.cached, 0, "second load comes from the dataset cache");
    assert.equal(cachedAgain.value.cacheKey, cachedLoad.value.cacheKey);

    // new weights in onnx/model.onnx: a new identity, every row embedded again, different vectors
    writeTinyTextModel(textDir, { words: ["a", "red", "apple", "blue", "sky"], seed: 7 });
    const changed = await counting(() => load(cacheDir, { caption: textDir }, true));
    assert.equal(changed.computed, distinct);
    assert.notEqual(changed.value.cacheKey, cachedLoad.value.cacheKey);
    assert.notDeepEqual(changed.value.splits.test.inputs.caption, first.value.splits.test.inputs.caption);
    const identities = readdirSync(join(cacheDir, "embeddings"));
    assert.equal(identities.length, 2);
  });

  it("never reads a half-written entry: a truncated file is a miss and is rewritten", async () => {
    const cacheDir = join(fx.root, "cache-killed");
    const first = await counting(() => load(cacheDir, { caption: fx.text.dir }));
    const identity = readdirSync(join(cacheDir, "embeddings"))[0]!;
    const base = join(cacheDir, "embeddings", identity);
    const shard = readdirSync(base).find((name) => name !== "shape.json")!;
    const entry = readdirSync(join(base, shard)).find((name) => name.endsWith(".f32"))!;
    const full = readFileSync(join(base, shard, entry));
    // what a kill mid-write could leave if writes were not atomic, plus a stray temporary file
    writeFileSync(join(base, shard, entry), full.subarray(0, 10));
    writeFileSync(join(base, shard, `${entry}.999.abc.tmp`), full.subarray(0, 7));
    const second = await counting(() => load(cacheDir, { caption: fx.text.dir }));
    assert.equal(second.computed, 1);
    assert.deepEqual(second.value.splits.train.inputs.caption, first.value.splits.train.inputs.caption);
    assert.deepEqual(readFileSync(join(base, shard, entry)), full);
  });

  it("gives token states and their mask for the attention methods (output tokens)", async () => {
    const ds = await load(join(fx.root, "cache-tokens"), { caption: { model: fx.text.dir, output: "tokens", maxTokens: 6 }, photo: { model: fx.image.dir, output: "tokens" } });
    const caption = ds.modalities.find((m) => m.name === "caption")!;
    const photo = ds.modalities.find((m) => m.name === "photo")!;
    assert.equal(caption.type, "sequence");
    assert.deepEqual(caption.shape, [6, fx.text.hidden]);
    assert.deepEqual(photo.shape, [fx.image.patches + 1, fx.image.hidden]);
    const split = ds.splits.train;
    const i = split.ids.findIndex((rid) => fx.rows.find((r) => r.id === rid)!.caption === "a red apple");
    // [CLS] a red apple [SEP] = 5 real tokens of 6
    assert.deepEqual(Array.from(split.tokenMasks.caption!.slice(i * 6, i * 6 + 6)), [1, 1, 1, 1, 1, 0]);
    const missing = split.present.caption!.indexOf(0);
    assert.ok(split.tokenMasks.caption!.slice(missing * 6, missing * 6 + 6).every((m) => m === 0));
    assert.ok(split.tokenMasks.photo!.slice(0, fx.image.patches + 1).every((m) => m === 1) || split.present.photo![0] === 0);
  });

  it("takes the encoder from dataset.json as a per-modality default, which --encoder scratch overrides", async () => {
    const config = JSON.parse(readFileSync(join(fx.dataDir, "dataset.json"), "utf8")) as { modalities: Record<string, unknown>[] };
    config.modalities[1]!.encoder = fx.text.dir;
    const dir = tempDir("fusionkit-pretrained-config-");
    cpSync(fx.dataDir, dir, { recursive: true });
    writeFileSync(join(dir, "dataset.json"), JSON.stringify(config));
    const cacheDir = join(fx.root, "cache-config");
    const withDefault = await loadDataset(dir, { cacheDir, cache: false });
    assert.deepEqual(withDefault.modalities.map((m) => [m.name, m.type]), [["photo", "image"], ["caption", "vector"]]);
    const scratch = await loadDataset(dir, { cacheDir, cache: false, encoders: { caption: null } });
    assert.equal(scratch.modalities[1]!.type, "text");
  });

  it("runs a bare ONNX encoder with its JSON (onnx:<file>)", async () => {
    const dir = tempDir("fusionkit-bare-onnx-");
    const vit = writeTinyImageModel(join(dir, "vit"));
    const onnxFile = join(vit.dir, "onnx", "model.onnx");
    writeFileSync(
      join(vit.dir, "onnx", "model.encoder.json"),
      JSON.stringify({ modality: "image", image: { input: "pixel_values", size: vit.imageSize, mean: [0.5, 0.5, 0.5], std: [0.5, 0.5, 0.5] }, output: { name: "pooler_output", kind: "pooled" } }),
    );
    const ds = await load(join(fx.root, "cache-onnx"), { photo: `onnx:${onnxFile}` });
    const photo = ds.modalities.find((m) => m.name === "photo")!;
    assert.deepEqual(photo.shape, [vit.hidden]);
    const split = ds.splits.train;
    const present = split.present.photo!.indexOf(1);
    assert.ok(Math.abs(Math.hypot(...row(split.inputs.photo!, present, vit.hidden)) - 1) < 1e-5);

    writeFileSync(join(vit.dir, "onnx", "model.encoder.json"), JSON.stringify({ modality: "image", image: { size: vit.imageSize }, output: { name: "embeds", kind: "pooled" } }));
    await assert.rejects(load(join(fx.root, "cache-onnx2"), { photo: `onnx:${onnxFile}` }), (error: Error) => {
      assert.ok(error instanceof FusionkitError);
      assert.match(error.message, /model\.onnx: the graph has no output "embeds" \(its outputs: last_hidden_state, pooler_output\)/);
      return true;
    });
  });
});

describe("pretrained encoder errors", () => {
  const fails = async (encoders: Record<string, string>, pattern: RegExp) => {
    await assert.rejects(load(join(fx.root, "cache-errors"), encoders), (error: Error) => {
      assert.ok(error instanceof FusionkitError, String(error));
      assert.equal(error.message.split("\n").length, 1, error.message);
      assert.match(error.message, pattern);
      return true;
    });
  };

  it("names the missing file of a model directory and what to do", async () => {
    const dir = writeTinyTextModel(join(tempDir(), "bert"), { words: ["a"] }).dir;
    rmSync(join(dir, "tokenizer.json"));
    await fails({ caption: dir }, /bert\/tokenizer\.json: the tokenizer file is missing.*Copy tokenizer\.json from the model's repository/);
    const image = writeTinyImageModel(join(tempDir(), "vit")).dir;
    rmSync(join(image, "onnx", "model.onnx"));
    await fails({ photo: image }, /vit\/onnx\/model\.onnx: the ONNX graph is missing/);
  });

  it("refuses an image graph on a text modality, naming the ONNX file", async () => {
    const dir = writeTinyImageModel(join(tempDir(), "vit-as-text")).dir;
    // give it a tokenizer so the file check passes and the graph itself is inspected
    const text = writeTinyTextModel(join(tempDir(), "donor"), { words: ["a"] });
    for (const file of ["tokenizer.json", "tokenizer_config.json"]) writeFileSync(join(dir, file), readFileSync(join(text.dir, file)));
    await fails({ caption: dir }, /vit-as-text\/onnx\/model\.onnx: this graph takes pixel_values, not input_ids: it is not a text encoder/);
  });

  it("names an image size or token count the graph cannot take", async () => {
    const dir = writeTinyImageModel(join(tempDir(), "vit-size")).dir;
    const preprocessor = JSON.parse(readFileSync(join(dir, "preprocessor_config.json"), "utf8")) as Record<string, unknown>;
    writeFileSync(join(dir, "preprocessor_config.json"), JSON.stringify({ ...preprocessor, size: { height: 24, width: 24 } }));
    await fails({ photo: dir }, /vit-size\/onnx\/model\.onnx: the encoder graph failed on this input \(.*\); the image size in preprocessor_config\.json does not fit the graph's input/);
    await assert.rejects(load(join(fx.root, "cache-errors"), { caption: { model: fx.text.dir, maxTokens: 100 } }), /tiny-bert\/config\.json: the model takes at most 64 tokens \(max_position_embeddings\) but the encoder is set to maxTokens 100/);
  });

  it("detects a tokenizer that belongs to another model", async () => {
    const dir = writeTinyTextModel(join(tempDir(), "small"), { words: ["a", "b"] }).dir;
    const big = writeTinyTextModel(join(tempDir(), "big"), { words: ["one", "two", "three", "four", "five", "six"] }).dir;
    writeFileSync(join(dir, "tokenizer.json"), readFileSync(join(big, "tokenizer.json")));
    await fails({ caption: dir }, /small\/tokenizer\.json: the tokenizer emits ids up to 13 but config\.json says the model has vocab_size 10/);
  });

  it("stays offline: a model id that is not on this machine says what to download and where", async () => {
    const models = tempDir("fusionkit-models-");
    process.env.FUSIONKIT_MODELS = models;
    try {
      await fails({ caption: "Xenova/all-MiniLM-L6-v2" }, new RegExp(`model "Xenova/all-MiniLM-L6-v2" is not on this machine \\(looked in ${models}/Xenova/all-MiniLM-L6-v2\\)\\. With network, pass --allow-download`));
    } finally {
      delete process.env.FUSIONKIT_MODELS;
    }
  });

  it("parses --encoder values", () => {
    assert.deepEqual(parseEncoderFlags(["caption=Xenova/all-MiniLM-L6-v2", "photo=./clip:tokens", "title=scratch"]), {
      caption: { model: "Xenova/all-MiniLM-L6-v2" },
      photo: { model: "./clip", output: "tokens" },
      title: null,
    });
    assert.throws(() => parseEncoderFlags(["caption"]), /--encoder takes <modality>=<model>/);
  });
});
