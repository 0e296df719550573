import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { toyConfig } from "../reliability/cliHelpers.ts";

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

/** A two-class toy row: the label shows in the vector's first value and in the caption's first word; some captions missing. */
function row(i: number, split: string): string {
  const up = i % 2 === 0;
  return JSON.stringify({
    id: `${split}-${i}`,
    label: up ? "up" : "down",
    split,
    v: [up ? 1 : -1, (i % 5) / 5, ((i * 3) % 7) / 7],
    caption: i % 9 === 4 ? null : `${up ? "rising" : "falling"} line ${i % 3}`,
  });
}

before(() => {
  dir = mkdtempSync(join(tmpdir(), "fusionkit-cli-"));
  const data = join(dir, "toy");
  const lines = [
    ...Array.from({ length: 64 }, (_, i) => row(i, "train")),
    ...Array.from({ length: 16 }, (_, i) => row(i, "val")),
    ...Array.from({ length: 16 }, (_, i) => row(i + 1, "test")),
  ];
  writeFileSync(join(dir, "new.jsonl"), [
    JSON.stringify({ id: "n1", v: [1, 0, 0], caption: "rising sun" }),
    JSON.stringify({ id: "n2", caption: "falling star" }),
    JSON.stringify({ id: "n3", v: [-1, 0.5, 0.5] }),
  ].join("\n") + "\n");
  mkdirSync(data);
  writeFileSync(join(data, "dataset.json"), JSON.stringify(toyConfig));
  writeFileSync(join(data, "data.jsonl"), lines.join("\n") + "\n");
});
after(() => rmSync(dir, { recursive: true, force: true }));

describe("fusionkit CLI", () => {
  test("--help works on the program and every command", async () => {
    const runs = await Promise.all([["--help"], ["train", "--help"], ["eval", "--help"], ["predict", "--help"], ["data", "inspect", "--help"], ["help", "train"]].map((a) => fusionkit(...a)));
    for (const r of runs) assert.equal(r.code, 0, r.stderr);
    for (const command of ["train", "eval", "predict", "data"]) assert.match(runs[0]!.stdout, new RegExp(`\\b${command}\\b`));
    assert.match(runs[1]!.stdout, /--method/);
    assert.match(runs[1]!.stdout, /--batch-size/);
    assert.match(runs[2]!.stdout, /--model/);
    assert.match(runs[3]!.stdout, /--rows/);
    assert.match(runs[4]!.stdout, /<dataset>/);
    // the defaults and method names are filled in when the command is dispatched (src/cli/lazy.ts), for --help and `help <command>` alike
    for (const help of [runs[1]!, runs[5]!]) {
      assert.match(help.stdout, /--batch-size <n> +rows per step \(default: 32\)/);
      assert.match(help.stdout, /fusion method \(early, .*\blmf\b/s);
    }
    assert.equal(runs[5]!.stdout, runs[1]!.stdout);
  });

  test("train -> eval -> predict on a dataset directory", async () => {
    // --max-rows 90 drops the last 6 test rows: eval must reload the data the same way
    const trained = await fusionkit("train", "--data", "toy", "--method", "early", "--epochs", "4", "--lr", "0.01", "--seed", "3", "--max-rows", "90", "--out", "run");
    assert.equal(trained.code, 0, trained.stderr);
    assert.match(trained.stdout, /epoch 1\/4 {2}loss \d/);
    assert.ok(existsSync(join(dir, "run", "model.safetensors")) && existsSync(join(dir, "run", "config.json")));
    const trainTest = /test (accuracy [\d.]+)/.exec(trained.stdout)?.[1];

    const evaluated = await fusionkit("eval", "--model", "run");
    assert.equal(evaluated.code, 0, evaluated.stderr);
    // eval reloads the data the model was trained on and reproduces train's test accuracy exactly
    assert.equal(/test \(10 rows\): (accuracy [\d.]+)/.exec(evaluated.stdout)?.[1], trainTest);

    const predicted = await fusionkit("predict", "--model", "run", "--rows", "new.jsonl", "--out", "preds.jsonl");
    assert.equal(predicted.code, 0, predicted.stderr);
    const out = readFileSync(join(dir, "preds.jsonl"), "utf8").trim().split("\n").map((l) => JSON.parse(l));
    assert.deepEqual(out.map((o) => o.id), ["n1", "n2", "n3"]);
    for (const o of out) {
      assert.ok(["up", "down"].includes(o.prediction));
      const total = (o.probabilities.up as number) + (o.probabilities.down as number);
      assert.ok(Math.abs(total - 1) < 1e-5);
      assert.equal(o.prediction, o.probabilities.up > o.probabilities.down ? "up" : "down");
    }

    // --explain: the same lines plus exact modality Shapley values of the predicted class's probability
    const explained = await fusionkit("predict", "--model", "run", "--rows", "new.jsonl", "--explain");
    assert.equal(explained.code, 0, explained.stderr);
    const lines = explained.stdout.trim().split("\n").map((l) => JSON.parse(l));
    assert.deepEqual(lines.map(({ explain, ...rest }) => rest), out);
    for (const o of lines) {
      const e = o.explain;
      assert.equal(e.explained, o.prediction);
      assert.equal(e.value, "probability");
      assert.ok(Math.abs(e.full - o.probabilities[o.prediction]) < 1e-5, `${o.id}: v(all) is the predicted probability`);
      // efficiency: the attributions add up to v(all) - v(none)
      assert.ok(Math.abs(e.attribution.v + e.attribution.caption - (o.probabilities[o.prediction] - e.empty)) < 1e-5, `${o.id}: ${JSON.stringify(e)}`);
      assert.ok(Array.isArray(e.views));
    }
    // a modality missing from the row gets exactly 0
    assert.deepEqual(lines[1].explain.missing, ["v"]);
    assert.equal(lines[1].explain.attribution.v, 0);
    assert.deepEqual(lines[2].explain.missing, ["caption"]);
    assert.equal(lines[2].explain.attribution.caption, 0);
  });

  test("train --quiet prints only the summary", async () => {
    const r = await fusionkit("train", "--data", "toy", "--epochs", "2", "--quiet", "--out", "quiet-run");
    assert.equal(r.code, 0, r.stderr);
    assert.doesNotMatch(r.stdout, /^(epoch|training) /m);
    assert.match(r.stdout, /^best epoch [12] of 2 \(hit the --epochs cap\); test accuracy [\d.]+/m);
    assert.match(r.stdout, /saved quiet-run/);
  });

  test("train takes the bench's training protocol as flags: weight decay, modality dropout, per-modality auxiliary losses, recorded in config.json", async () => {
    const r = await fusionkit("train", "--data", "toy", "--method", "lmf", "--epochs", "2", "--quiet", "--weight-decay", "0.3", "--modality-dropout", "0.3", "--unimodal-aux", "3", "--out", "protocol-run");
    assert.equal(r.code, 0, r.stderr);
    const config = JSON.parse(readFileSync(join(dir, "protocol-run", "config.json"), "utf8"));
    assert.equal(config.training.weightDecay, 0.3);
    assert.equal(config.modalityDropout, 0.3);
    assert.equal(config.unimodalAuxWeight, 3);
    const bad = await fusionkit("train", "--data", "toy", "--unimodal-aux", "-1", "--out", "bad-run");
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /--unimodal-aux/);
  });

  test("train --warm-start trains each modality's unimodal model first and starts from their encoders; a method that cannot is refused, naming the flag", async () => {
    const [warm, cold] = await Promise.all([
      fusionkit("train", "--data", "toy", "--method", "gmu", "--epochs", "2", "--seed", "1", "--warm-start", "--out", "warm-run"),
      fusionkit("train", "--data", "toy", "--method", "gmu", "--epochs", "2", "--seed", "1", "--quiet", "--out", "cold-run"),
    ]);
    assert.equal(warm.code, 0, warm.stderr);
    assert.equal(cold.code, 0, cold.stderr);
    for (const modality of ["v", "caption"]) assert.match(warm.stdout, new RegExp(`^warm start: training unimodal:${modality} first$`, "m"));
    // the same seed and settings: only the starting encoders differ, so the saved weights do
    const weights = (run: string) => readFileSync(join(dir, run, "model.safetensors"));
    assert.notDeepEqual(weights("warm-run"), weights("cold-run"));
    const config = (run: string) => JSON.parse(readFileSync(join(dir, run, "config.json"), "utf8"));
    assert.deepEqual(config("warm-run").training.encoderInit, ["v", "caption"]);
    assert.equal(config("cold-run").training.encoderInit, undefined);
    const refused = await fusionkit("train", "--data", "toy", "--method", "late_stacking", "--epochs", "1", "--warm-start", "--out", "stacking-run");
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /--warm-start: late_stacking .*out-of-fold/);
    assert.doesNotMatch(refused.stderr, /\n\s+at /);
  });

  test("train --text-pooling picks the text encoder, recorded in config.json; a bad value names the flag and the choices", async () => {
    const r = await fusionkit("train", "--data", "toy", "--epochs", "1", "--quiet", "--text-pooling", "ordered", "--out", "ordered-run");
    assert.equal(r.code, 0, r.stderr);
    assert.equal(JSON.parse(readFileSync(join(dir, "ordered-run", "config.json"), "utf8")).textEncoder, "ordered");
    const bad = await fusionkit("train", "--data", "toy", "--text-pooling", "bigram", "--out", "bad-pooling");
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /--text-pooling/);
    assert.match(bad.stderr, /"bag".*"ordered"/);
    assert.doesNotMatch(bad.stderr, /\n\s+at /);
  });

  test("data inspect prints the split table", async () => {
    const r = await fusionkit("data", "inspect", "toy");
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /rows\s+64\s+16\s+16\s+96/);
  });

  test("a user error prints one clear message, no stack trace, exit 1; --debug adds the stack", async () => {
    // an unknown method fails before the data is loaded (this dataset does not even exist), listing the valid names
    const r = await fusionkit("train", "--data", "no-such-dataset", "--method", "telepathy");
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^error: field "method": unknown fusion method "telepathy"\. Valid methods: early, .*\blmf\b/);
    assert.doesNotMatch(r.stderr, /no-such-dataset/);
    // unimodal:<modality> needs the dataset's modalities, so it is checked after loading
    const unimodal = await fusionkit("train", "--data", "toy", "--method", "unimodal:audio", "--epochs", "1");
    assert.equal(unimodal.code, 1);
    assert.match(unimodal.stderr, /unimodal:v, unimodal:caption/);
    assert.doesNotMatch(r.stderr, /\n\s+at /);
    const debug = await fusionkit("--debug", "eval", "--model", "nowhere");
    assert.equal(debug.code, 1);
    assert.match(debug.stderr, /missing checkpoint file/);
    assert.match(debug.stderr, /\n\s+at /);
  });

  test("a bad flag value names the flag", async () => {
    const r = await fusionkit("train", "--data", "toy", "--epochs", "0");
    assert.equal(r.code, 1);
    assert.match(r.stderr, /--epochs/);
    assert.match(r.stderr, /positive integer/);
  });
});
