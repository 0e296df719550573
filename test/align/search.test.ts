import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startEngine } from "../../src/engine/backend.ts";
import { FusionkitError } from "../../src/errors.ts";
import { loadAligned, saveAligned } from "../../src/align/persistence.ts";
import { buildIndex, checkIndexModel, embedQuery, loadIndex, saveIndex, searchIndex } from "../../src/align/searchIndex.ts";
import { retrievalForReport } from "../../src/align/report.ts";
import { trainAlignment, type AlignedModel } from "../../src/align/trainer.ts";
import { Embedder } from "../../src/align/embedder.ts";
import { toyPairs } from "./synthetic.ts";

let dir: string;
let aligned: AlignedModel;
const dataset = toyPairs(0);

before(async () => {
  await startEngine();
  dir = mkdtempSync(join(tmpdir(), "fusionkit-search-"));
  aligned = await trainAlignment(dataset, { pair: ["shape", "caption"], matchField: "concept", epochs: 6, batchSize: 32, encoderDim: 16, embedDim: 16, lr: 5e-3 });
  saveAligned(join(dir, "model"), aligned, dataset, { source: "toy" });
});
after(() => rmSync(dir, { recursive: true, force: true }));

test("a saved and reloaded aligned model embeds bit-identically", () => {
  const loaded = loadAligned(join(dir, "model"));
  assert.deepEqual(loaded.config.pair, ["shape", "caption"]);
  const before = new Embedder(aligned.model, aligned.layout, aligned.flat);
  const after = new Embedder(loaded.model, loaded.layout, loaded.flat);
  const rows = [0, 1, 2, 3, 4];
  assert.deepEqual(after.embed(dataset.splits.test, "caption", rows), before.embed(dataset.splits.test, "caption", rows));
  before.dispose();
  after.dispose();
});

test("search returns the items of the queried concept first, with cosine scores", () => {
  const loaded = loadAligned(join(dir, "model"));
  const index = buildIndex(loaded, dataset, "shape");
  assert.equal(index.items.length, 240 + 48 + 48); // every vector is distinct (noise)
  saveIndex(join(dir, "index"), index);
  const reloaded = loadIndex(join(dir, "index"));
  checkIndexModel(reloaded, loaded, join(dir, "index"));
  const { embedding, unknownWords } = embedQuery(loaded, "the blue star, please");
  assert.deepEqual(unknownWords, ["please"]);
  const hits = searchIndex(reloaded, embedding, 5);
  assert.equal(hits.length, 5);
  assert.ok(hits.every((h) => h.fields.concept === "blue star"), hits.map((h) => h.fields.concept).join(", "));
  assert.ok(hits.every((h, i) => i === 0 || h.score <= hits[i - 1]!.score) && hits[0]!.score <= 1 + 1e-5);
  assert.equal(hits[0]!.label, "star");
});

test("an index built by another model is refused", async () => {
  const other = await trainAlignment(dataset, { pair: ["shape", "caption"], matchField: "concept", epochs: 1, batchSize: 32, encoderDim: 16, embedDim: 16, seed: 7 });
  saveAligned(join(dir, "other"), other, dataset);
  const otherModel = loadAligned(join(dir, "other"));
  saveIndex(join(dir, "other-index"), buildIndex(otherModel, dataset, "shape"));
  const loaded = loadAligned(join(dir, "model"));
  assert.throws(
    () => checkIndexModel(loadIndex(join(dir, "other-index")), loaded, join(dir, "other-index")),
    (e: unknown) => e instanceof FusionkitError && /built by another model/.test(e.message) && /--rebuild-index/.test(e.message),
  );
});

test("a damaged index file is refused by its checksum", () => {
  const file = join(dir, "index", "embeddings.safetensors");
  const bytes = readFileSync(file);
  bytes[bytes.length - 1] ^= 0xff;
  writeFileSync(join(dir, "index", "embeddings.safetensors"), bytes);
  assert.throws(() => loadIndex(join(dir, "index")), /checksum mismatch/);
});

test("an empty query and a query of unknown words are refused", () => {
  const loaded = loadAligned(join(dir, "model"));
  assert.throws(() => embedQuery(loaded, "   "), (e: unknown) => e instanceof FusionkitError && /query is empty/.test(e.message));
  assert.throws(() => embedQuery(loaded, "!!! ???"), /has no words/);
  assert.throws(() => embedQuery(loaded, "purple hexagon"), /none of the words/);
});

test("the report section has recall, a similarity matrix with a bright diagonal and top-5 examples", async () => {
  const report = await retrievalForReport(aligned, dataset, { sampleSize: 6, queries: 2 });
  assert.equal(report.kind, "retrieval");
  assert.ok(report.recall["caption->shape"]!.recall["1"]! > 0.5);
  const { values } = report.similarity;
  assert.equal(values.length, 6);
  // each row's true pair (the diagonal) is its most similar column
  values.forEach((row, r) => assert.equal(row.indexOf(Math.max(...row)), r, JSON.stringify(values)));
  assert.equal(report.examples.queries.length, 2);
  assert.equal(report.examples.queries[0]!.hits.length, 5);
  assert.ok(report.examples.queries[0]!.query.text!.length > 0);
  assert.ok(report.examples.queries.every((q) => q.hits[0]!.match));
  JSON.parse(JSON.stringify(report));
});
