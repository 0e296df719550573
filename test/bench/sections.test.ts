/**
 * The bench's explanation, gate and retrieval sections end to end on a tiny
 * image + text dataset: results.json holds them with sane values (attribution
 * shares sum to 1, a unimodal baseline's attribution is all on its modality,
 * Flamingo's gates start at exactly 0 and stay in [-1, 1], Recall@K is in
 * [0, 1] and never falls as K grows), report.html draws their charts, and
 * --no-explain / --no-retrieval leave them out.
 */
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { retrievalPair } from "../../src/bench/extras.ts";
import type { BenchResults } from "../../src/bench/results.ts";
import { benchToDir } from "../../src/cli/actions/benchOutputs.ts";
import { writeColourDataset } from "./synthetic.ts";

let dir: string;
let data: string;
const common = { seeds: 2, epochs: 2, lr: 0.01, lrGrid: [0.01], batchSize: 16, latencySamples: 2, noiseLevels: [1], encoderDim: 16 };

before(async () => {
  dir = mkdtempSync(join(tmpdir(), "fusionkit-bench-sections-"));
  data = await writeColourDataset(join(dir, "colours"));
});
after(() => rmSync(dir, { recursive: true, force: true }));

describe("bench explanations, gates and retrieval", () => {
  let results: BenchResults;
  let out: string;
  before(async () => {
    out = join(dir, "out");
    await benchToDir({ ...common, methods: ["flamingo", "unimodal:image"], data, cacheDir: join(dir, "cache") }, out);
    results = JSON.parse(readFileSync(join(out, "results.json"), "utf8")) as BenchResults;
  });

  test("every method is explained once, from its first seed, with shares that sum to 1", () => {
    assert.equal(results.config.explain, true);
    for (const m of results.methods) {
      const e = m.explanations!;
      assert.ok("report" in e, `${m.name}: ${"error" in e ? e.error : ""}`);
      assert.equal(e.seed, 0);
      assert.equal(e.report.rows, results.dataset.rows.test);
      const total = e.report.bar.reduce((s, b) => s + b.share, 0);
      assert.ok(Math.abs(total - 1) < 1e-5, `${m.name} shares sum to ${total}`);
      for (const c of e.report.perClass) assert.ok(Math.abs(c.bar.reduce((s, b) => s + b.share, 0) - 1) < 1e-5 || c.bar.every((b) => b.share === 0));
      assert.equal(e.report.samples.length, 3);
      for (const s of e.report.samples) {
        const image = s.inputs.image!;
        assert.ok("png" in image && image.png.startsWith("data:image/png;base64,"));
        assert.ok("text" in s.inputs.caption! && s.inputs.caption.text.length > 0);
      }
    }
    // a baseline that never reads the caption: its Shapley value is exactly 0, so the image has the whole share
    const baseline = results.methods.find((m) => m.name === "unimodal:image")!.explanations!;
    assert.ok("report" in baseline);
    assert.deepEqual(baseline.report.bar.map((b) => [b.modality, b.share]), [["image", 1], ["caption", 0]]);
  });

  test("Flamingo's gates are recorded per epoch for every seed: exactly 0 at initialisation, in [-1, 1] after", () => {
    const flamingo = results.methods.find((m) => m.name === "flamingo")!;
    assert.equal(flamingo.runs.length, 2);
    for (const run of flamingo.runs) {
      const history = run.gateHistory!;
      assert.deepEqual(history.map((g) => g.epoch), Array.from({ length: run.epochsRun + 1 }, (_, i) => i));
      const names = Object.keys(history[0]!.tanh);
      assert.ok(names.some((n) => n.endsWith("alpha")) && names.some((n) => n.endsWith("beta")));
      for (const values of Object.values(history[0]!.tanh)) for (const v of values) assert.equal(v, 0);
      for (const g of history) for (const values of Object.values(g.tanh)) for (const v of values) assert.ok(v >= -1 && v <= 1);
      // training moves them off 0 (the gates receive gradient once the cross-attention output is non-zero)
      assert.ok(Object.values(history.at(-1)!.tanh).flat().some((v) => v !== 0));
    }
    assert.equal(results.methods.find((m) => m.name === "unimodal:image")!.runs[0]!.gateHistory, undefined);
  });

  test("the retrieval section aligns image and caption once, with Recall@K in [0, 1] and monotone in K", () => {
    const r = results.retrieval!;
    assert.ok("report" in r, "error" in r ? r.error : "");
    assert.deepEqual(r.pair, ["image", "caption"]);
    assert.ok(r.epochsRun >= 1 && r.bestEpoch >= 1 && r.trainRows === results.dataset.rows.train);
    assert.deepEqual(Object.keys(r.report.recall).sort(), ["caption->image", "image->caption"]);
    for (const summary of Object.values(r.report.recall)) {
      const ks = Object.keys(summary.recall).map(Number).sort((a, b) => a - b);
      assert.deepEqual(ks, [1, 5, 10]);
      for (let i = 0; i < ks.length; i++) {
        const v = summary.recall[String(ks[i])]!;
        assert.ok(v >= 0 && v <= 1);
        if (i > 0) assert.ok(v >= summary.recall[String(ks[i - 1])]!);
      }
    }
    const n = r.report.similarity.values.length;
    assert.ok(n > 0 && r.report.similarity.values.every((line) => line.length === n && line.every((v) => v >= -1 - 1e-6 && v <= 1 + 1e-6)));
    // text queries, image candidates with thumbnails
    assert.equal(r.report.examples.queryModality, "caption");
    assert.ok(r.report.examples.queries.length > 0);
    for (const q of r.report.examples.queries) {
      assert.ok(q.query.text && q.query.text.length > 0);
      assert.equal(q.hits.length, 5);
      for (const h of q.hits) assert.ok(h.thumbnail?.startsWith("data:image/png;base64,"));
      assert.deepEqual(q.hits.map((h) => h.rank), [1, 2, 3, 4, 5]);
      for (let i = 1; i < 5; i++) assert.ok(q.hits[i]!.score <= q.hits[i - 1]!.score);
    }
  });

  test("report.html carries every new chart and the gallery", () => {
    const html = readFileSync(join(out, "report.html"), "utf8");
    for (const id of ["attribution", "attribution-by-class", "gates", "samples-flamingo", "samples-unimodal_image", "retrieval-recall", "retrieval-similarity"]) {
      assert.ok(html.includes(`data-chart="${id}"`), `no ${id} chart`);
    }
    assert.match(html, /id="retrieval-gallery"/);
  });
});

describe("--no-explain and --no-retrieval", () => {
  test("leave the sections out, and the dataset's pair is still found", async () => {
    const out = join(dir, "plain");
    const { results } = await benchToDir({ ...common, seeds: 1, epochs: 1, methods: ["early"], explain: false, retrieval: false, data, cacheDir: join(dir, "cache") }, out);
    assert.equal(results.config.explain, false);
    assert.equal(results.config.retrieval, false);
    assert.equal(results.methods[0]!.explanations, undefined);
    assert.equal(results.retrieval, undefined);
    const html = readFileSync(join(out, "report.html"), "utf8");
    assert.doesNotMatch(html, /<h2>Explanations<\/h2>|<h2>Retrieval<\/h2>/);
    assert.deepEqual(retrievalPair({ modalities: [{ name: "image", type: "image", shape: [8, 8, 3] }, { name: "caption", type: "text", shape: [4] }] }), ["image", "caption"]);
    assert.equal(retrievalPair({ modalities: [{ name: "a", type: "vector", shape: [4] }, { name: "caption", type: "text", shape: [4] }] }), undefined);
  });
});
