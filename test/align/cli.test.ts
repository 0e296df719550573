import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { decodeSafetensors, encodeSafetensors } from "../../src/engine/checkpoint.ts";

const bin = resolve(import.meta.dirname, "../../bin/fusionkit.mjs");
let dir: string;

type Run = { code: number; stdout: string; stderr: string };
function fusionkit(...args: string[]): Promise<Run> {
  return new Promise((done) => {
    execFile(process.execPath, [bin, ...args], { cwd: dir, env: { ...process.env, FUSIONKIT_CACHE: join(dir, "cache") }, timeout: 120_000 }, (error, stdout, stderr) => {
      done({ code: error ? ((error as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

const colours = ["red", "green", "blue", "yellow"];
const shapes = ["circle", "square", "star"];

/** Toy pairs on disk: a noisy one-hot vector of (colour, shape) and the caption "<colour> <shape>". */
function row(i: number, split: string): string {
  const c = i % 4;
  const s = Math.floor(i / 4) % 3;
  const v = Array.from({ length: 8 }, (_, d) => (d === c ? 1 : 0) + (d === 4 + s ? 1 : 0) + 0.1 * Math.sin(i * 7.3 + d * 1.7));
  return JSON.stringify({ id: `${split}-${i}`, split, shape: shapes[s], concept: `${colours[c]} ${shapes[s]}`, v, caption: `${colours[c]} ${shapes[s]}` });
}

before(() => {
  dir = mkdtempSync(join(tmpdir(), "fusionkit-align-cli-"));
  const data = join(dir, "toy");
  mkdirSync(data);
  const lines = [
    ...Array.from({ length: 192 }, (_, i) => row(i, "train")),
    ...Array.from({ length: 48 }, (_, i) => row(i + 1000, "val")),
    ...Array.from({ length: 48 }, (_, i) => row(i + 2000, "test")),
  ];
  writeFileSync(join(data, "data.jsonl"), lines.join("\n") + "\n");
  writeFileSync(join(data, "dataset.json"), JSON.stringify({
    task: "classification",
    label: "shape",
    split: { field: "split" },
    keepFields: ["concept"],
    modalities: [
      { name: "v", type: "vector", field: "v" },
      { name: "caption", type: "text", field: "caption", maxTokens: 4 },
    ],
  }));
});
after(() => rmSync(dir, { recursive: true, force: true }));

test("fusionkit align trains, reports retrieval and zero-shot, saves; search finds the queried concept", async () => {
  const align = await fusionkit("align", "--data", "toy", "--pair", "v,caption", "--match-field", "concept", "--epochs", "6", "--batch-size", "32", "--accumulate", "2", "--lr", "0.005", "--out", "aligned");
  assert.equal(align.code, 0, align.stderr);
  assert.match(align.stdout, /v->caption +R@1 [\d.]+%/);
  assert.match(align.stdout, /caption->v +R@1 [\d.]+%/);
  assert.match(align.stdout, /zero-shot v classification: accuracy/);
  assert.match(align.stdout, /batch 32 x 2 = 64 in-batch rows/);
  for (const file of ["model.safetensors", "config.json", "retrieval.json"]) assert.ok(existsSync(join(dir, "aligned", file)), file);
  const config = JSON.parse(readFileSync(join(dir, "aligned", "config.json"), "utf8"));
  assert.equal(config.format, "fusionkit-align");
  assert.ok(config.evaluation.test["caption->v"].recall["1"] > 0.5, JSON.stringify(config.evaluation.test["caption->v"]));

  const search = await fusionkit("search", "--model", "aligned", "--query", "a green square", "--k", "3", "--json");
  assert.equal(search.code, 0, search.stderr);
  const result = JSON.parse(search.stdout);
  assert.equal(result.modality, "v");
  assert.deepEqual(result.unknownWords, ["a"]);
  assert.ok(result.hits.every((h: { fields: { concept: string } }) => h.fields.concept === "green square"), search.stdout);
  assert.ok(existsSync(join(dir, "aligned", "index-v", "index.json")));
});

test("bad input: a modality the dataset lacks, an empty query, an index from another model", async () => {
  const missing = await fusionkit("align", "--data", "toy", "--pair", "v,image");
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /dataset "toy" has no modality "image"; its modalities are: v \(vector\), caption \(text\)/);
  assert.doesNotMatch(missing.stderr, /    at /); // no stack trace

  const empty = await fusionkit("search", "--model", "aligned", "--query", "");
  assert.equal(empty.code, 1);
  assert.match(empty.stderr, /query is empty/);

  // another model: the same config with one weight changed (a retrained model differs the same way, in every weight)
  mkdirSync(join(dir, "other"));
  copyFileSync(join(dir, "aligned", "config.json"), join(dir, "other", "config.json"));
  const { tensors } = decodeSafetensors(readFileSync(join(dir, "aligned", "model.safetensors")));
  tensors.get("logitScale")!.data[0]! += 0.01;
  writeFileSync(join(dir, "other", "model.safetensors"), encodeSafetensors([...tensors.entries()]));
  const mismatch = await fusionkit("search", "--model", "other", "--index", join("aligned", "index-v"), "--query", "red star");
  assert.equal(mismatch.code, 1);
  assert.match(mismatch.stderr, /index was built by another model/);
});
