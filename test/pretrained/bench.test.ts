/**
 * The bench with pretrained encoders: --encoder values as sweep variants, one
 * bench per variant, a side-by-side table, and each report naming the
 * encoders it used.
 */
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { encoderVariants, type SweepSummary } from "../../src/bench/encoderSweep.ts";
import { sweepToDir } from "../../src/cli/actions/benchOutputs.ts";
import { formatSweep } from "../../src/report/sweep.ts";
import { closeEncoders } from "../../src/data/pretrained/pipeline.ts";
import { tempDir } from "../../bench/fixtures/datasetFiles.ts";
import { writePretrainedFixture, type PretrainedFixture } from "./fixture.ts";

let fx: PretrainedFixture;
before(async () => {
  fx = await writePretrainedFixture(50);
});
after(() => closeEncoders());

describe("bench with pretrained encoders", () => {
  it("turns --encoder values into variants: every combination of each modality's choices", () => {
    const variants = encoderVariants(["caption=scratch", "caption=./bert", "photo=./vit:tokens"]);
    assert.deepEqual(
      variants.map((v) => [v.label, v.encoders]),
      [
        ["caption=scratch photo=./vit:tokens", { caption: null, photo: { model: "./vit", output: "tokens" } }],
        ["caption=./bert photo=./vit:tokens", { caption: { model: "./bert" }, photo: { model: "./vit", output: "tokens" } }],
      ],
    );
    assert.equal(new Set(variants.map((v) => v.slug)).size, 2);
    assert.throws(() => encoderVariants(["caption=./bert", "caption=./bert"]), /--encoder gives "caption=.\/bert" twice/);
  });

  it("runs the same bench per variant and writes the side-by-side table", async () => {
    const out = join(tempDir("fusionkit-pretrained-bench-"), "sweep");
    const variants = encoderVariants(["caption=scratch", `caption=${fx.text.dir}`, `photo=${fx.image.dir}`]);
    const sweep = await sweepToDir(
      { data: fx.dataDir, methods: ["early", "unimodal:caption"], seeds: 1, epochs: 2, lrGrid: [2e-3], explain: false, retrieval: false, workers: 1, cacheDir: fx.cacheDir, latencySamples: 2 },
      variants,
      out,
    );
    const summary = JSON.parse(readFileSync(join(out, "sweep.json"), "utf8")) as SweepSummary;
    assert.deepEqual(summary.variants.map((v) => v.label), variants.map((v) => v.label));
    assert.deepEqual(summary.rows.map((r) => r.method), ["early", "unimodal:caption"]);
    for (const row of summary.rows) for (const cell of row.cells) assert.ok(cell && cell.mean >= 0 && cell.mean <= 1);
    assert.ok(existsSync(join(out, "index.html")));
    assert.match(formatSweep(summary), /^method +caption=scratch photo=.*tiny-vit +caption=.*tiny-bert photo=.*tiny-vit/m);

    const [scratch, pretrained] = sweep.outcomes.map((o) => o.results);
    assert.deepEqual(scratch!.dataset.encoders?.map((e) => e.modality), ["photo"]);
    assert.deepEqual(pretrained!.dataset.encoders?.map((e) => [e.modality, e.modelType]), [["photo", "vit"], ["caption", "bert"]]);
    assert.equal(scratch!.dataset.modalities.find((m) => m.name === "caption")!.type, "text");
    assert.equal(pretrained!.dataset.modalities.find((m) => m.name === "caption")!.type, "vector");
    const report = readFileSync(sweep.outcomes[1]!.reportPath, "utf8");
    assert.match(report, new RegExp(`Frozen pretrained encoders: photo = [^;]*tiny-vit \\(vit, pooled, identity ${pretrained!.dataset.encoders![0]!.identity.slice(0, 12)}\\); caption = [^;]*tiny-bert`));
  });
});
