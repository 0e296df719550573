/**
 * Reliability catalogue, CLI checks before training (issue 18): each case runs
 * the real command and asserts the exact line the user gets.
 *   --skip-bad-rows on every command that loads rows, the skipped rows listed
 *   a value whose square overflows float32, one class, a modality missing
 *   from every train row (and --allow-missing-modality), a WAV cut mid-data
 *   or claiming 2 GB, strict --config, integer --seed, and a model that
 *   records its dataset by absolute path + content hash.
 */
import assert from "node:assert/strict";
import { appendFileSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import wavefile from "wavefile";
import { errorLine, fusionkit, scratchDir, writeToy, type Run } from "./cliHelpers.ts";

let dir: string;
const tiny = ["--epochs", "1", "--encoder-dim", "4", "--batch-size", "64"];
const skipHint = " (or pass --skip-bad-rows to skip rows like this one; the command lists the rows it skipped)";

before(() => {
  dir = scratchDir("reliability-checks");
  writeToy(dir);
  // line 6 (a train row) has a vector with a string in it
  writeToy(dir, "bad", (row, i) => (i === 5 ? { ...row, v: [1, "x", 0] } : row));
});
after(() => rmSync(dir, { recursive: true, force: true }));

function stderrLines(run: Run): string[] {
  return run.stderr.split("\n").filter((line) => line !== "" && !/: (preparing \d+ rows|prepared arrays from cache)/u.test(line));
}

describe("--skip-bad-rows on every command that loads rows", () => {
  const reason = 'v[1] is "x", expected a number (JSON has no NaN/Infinity; a missing value inside an array is not supported, mark the whole field null instead)';
  const badLine = `bad/data.jsonl:6 field "v": ${reason}`;

  test("without it the error names the flag, and every command has it", async () => {
    const run = await fusionkit(dir, ["train", "--data", "bad", ...tiny, "--out", "never"]);
    assert.equal(errorLine(run), `bad/data.jsonl:6, field "v": ${reason}${skipHint}`);
    for (const command of ["train", "bench", "align", "eval", "predict", "explain", "search", "data inspect"]) {
      const help = await fusionkit(dir, [...command.split(" "), "--help"]);
      assert.match(help.stdout, /--skip-bad-rows/u, `${command} --help`);
    }
  });

  test("train and eval skip the row and list it; the model records it", async () => {
    const run = await fusionkit(dir, ["train", "--data", "bad", ...tiny, "--skip-bad-rows", "--out", "skipped"]);
    assert.equal(run.code, 0, run.stderr);
    assert.deepEqual(stderrLines(run), ["skipped 1 bad row (--skip-bad-rows):", `  ${badLine}`]);
    const config = JSON.parse(readFileSync(join(dir, "skipped", "config.json"), "utf8"));
    assert.deepEqual(config.dataset.skipped, [{ file: "bad/data.jsonl", line: 6, field: "v", reason }]);
    assert.equal(config.dataset.loadOptions.skipBadRows, true);
    // eval reloads the data as training did, skipping the same row
    const evaluated = await fusionkit(dir, ["eval", "--model", "skipped"]);
    assert.equal(evaluated.code, 0, evaluated.stderr);
    assert.deepEqual(stderrLines(evaluated), ["skipped 1 bad row (--skip-bad-rows):", `  ${badLine}`]);
    assert.match(evaluated.stdout, /^early on bad test \(16 rows\): accuracy /u);
  });

  test("bench and align skip and list it; predict predicts the good rows", async () => {
    const bench = await fusionkit(dir, ["bench", "--data", "bad", "--methods", "early", "--seeds", "1", "--epochs", "1", "--lr-grid", "0.002", "--latency-samples", "2", "--no-explain", "--no-retrieval", "--quiet", "--skip-bad-rows", "--out", "bench"]);
    assert.equal(bench.code, 0, bench.stderr);
    assert.deepEqual(stderrLines(bench), ["skipped 1 bad row (--skip-bad-rows):", `  ${badLine}`]);
    const results = JSON.parse(readFileSync(join(dir, "bench", "results.json"), "utf8"));
    assert.equal(results.dataset.skipped.length, 1);
    assert.equal(results.dataset.rows.train, 47);
    const align = await fusionkit(dir, ["align", "--data", "bad", "--pair", "v,caption", "--epochs", "1", "--skip-bad-rows", "--out", "aligned"]);
    assert.equal(align.code, 0, align.stderr);
    assert.deepEqual(stderrLines(align), ["skipped 1 bad row (--skip-bad-rows):", `  ${badLine}`]);
    writeFileSync(join(dir, "rows.jsonl"), [JSON.stringify({ id: "a", v: [1, 0, 0] }), JSON.stringify({ id: "b", v: ["?", 0, 0] }), JSON.stringify({ id: "c", caption: "rising" })].join("\n") + "\n");
    const refused = await fusionkit(dir, ["predict", "--model", "skipped", "--rows", "rows.jsonl"]);
    const rowReason = reason.replace('v[1] is "x"', 'v[0] is "?"');
    assert.equal(errorLine(refused), `rows.jsonl:2, field "v": ${rowReason}${skipHint}`);
    const predicted = await fusionkit(dir, ["predict", "--model", "skipped", "--rows", "rows.jsonl", "--skip-bad-rows"]);
    assert.equal(predicted.code, 0, predicted.stderr);
    assert.deepEqual(stderrLines(predicted), ["skipped 1 bad row (--skip-bad-rows):", `  rows.jsonl:2 field "v": ${rowReason}`]);
    assert.deepEqual(predicted.stdout.trim().split("\n").map((line) => JSON.parse(line).id), ["a", "c"]);
  });
});

describe("training-time checks", () => {
  test("a value whose square overflows float32 fails before training, naming modality and row", async () => {
    writeToy(dir, "huge", (row, i) => (i === 3 ? { ...row, v: [3e38, 0, 0] } : row));
    const run = await fusionkit(dir, ["train", "--data", "huge", ...tiny, "--out", "never"]);
    assert.equal(
      errorLine(run),
      'modality "v", row "train-3" (train split): value 3.00e+38 at position 0 is too large for training: its square overflows float32 (|x| must stay below 1.8e19 after preprocessing), so the loss would become NaN at any learning rate. Rescale this modality\'s values (e.g. divide the vectors by their norm) or fix the row',
    );
    assert.doesNotMatch(run.stdout, /training|epoch/u);
  });

  test("one class in the train split is refused", async () => {
    writeToy(dir, "oneclass", (row) => ({ ...row, label: "up" }));
    const run = await fusionkit(dir, ["train", "--data", "oneclass", ...tiny, "--out", "never"]);
    assert.equal(
      errorLine(run),
      'the train split has only one class ("up", all 48 rows), so a classifier has nothing to separate and any accuracy it reports is meaningless. Add rows of at least one other class, or check the label field "label"',
    );
  });

  test("a modality missing from every train row is an error unless --allow-missing-modality", async () => {
    writeToy(dir, "nocaption", (row) => (row.split === "train" ? { ...row, caption: null } : row));
    const run = await fusionkit(dir, ["train", "--data", "nocaption", ...tiny, "--out", "nocaption-model"]);
    assert.equal(
      errorLine(run),
      'modality "caption" is missing (null or absent) in all 48 train rows, so nothing can learn from it. Check its field "caption" in dataset.json and the rows, or pass --allow-missing-modality to train without it',
    );
    const allowed = await fusionkit(dir, ["train", "--data", "nocaption", ...tiny, "--allow-missing-modality", "--out", "nocaption-model"]);
    assert.equal(allowed.code, 0, allowed.stderr);
  });

  test("a WAV cut mid-data or claiming 2 GB in its header is a bad row, not shorter audio", async () => {
    const data = join(dir, "audio");
    mkdirSync(data, { recursive: true });
    const samples = new Int16Array(1600).map((_, i) => Math.round(8000 * Math.sin(i / 3)));
    const wav = new wavefile.WaveFile();
    wav.fromScratch(1, 8000, "16", samples);
    const good = Buffer.from(wav.toBuffer());
    const claims2GB = Buffer.from(good);
    claims2GB.writeUInt32LE(0x7fffffff, 40); // the data chunk's size field
    writeFileSync(join(data, "good.wav"), good);
    writeFileSync(join(data, "cut.wav"), good.subarray(0, 44 + 1000));
    writeFileSync(join(data, "huge.wav"), claims2GB);
    const config = { task: "classification", label: "label", split: { field: "split" }, modalities: [{ name: "clip", type: "audio", field: "clip", sampleRate: 8000, frames: 4 }] };
    const rows = (bad: string) =>
      Array.from({ length: 20 }, (_, i) => JSON.stringify({ label: i % 2 ? "a" : "b", split: i < 12 ? "train" : i < 16 ? "val" : "test", clip: i === 2 ? bad : "good.wav" })).join("\n") + "\n";
    writeFileSync(join(data, "dataset.json"), JSON.stringify(config));
    for (const [bad, why] of [
      ["cut.wav", "its header declares 3200 bytes of audio data but only 1000 bytes follow"],
      ["huge.wav", "its header declares 2.0 GB of audio data but only 3200 bytes follow"],
    ]) {
      writeFileSync(join(data, "data.jsonl"), rows(bad!));
      const run = await fusionkit(dir, ["train", "--data", "audio", ...tiny, "--out", "never"]);
      assert.equal(
        errorLine(run),
        `audio/data.jsonl:3, field "clip": WAV ${join(data, bad!)} is truncated or damaged: ${why} (a file cut mid-data, or a wrong size in the header). Re-export or re-download the file, or write null to mark the audio missing${skipHint}`,
      );
    }
  });
});

describe("strict flags", () => {
  test("--config keys the method does not have are refused, naming the method and its settings", async () => {
    const run = await fusionkit(dir, ["train", "--data", "toy", "--method", "lmf", "--config", '{"rnak":8}', "--out", "never"]);
    assert.equal(errorLine(run), '--config: method "lmf" has no setting "rnak"; its settings: dim, rank');
    const bench = await fusionkit(dir, ["bench", "--data", "toy", "--methods", "lmf", "--config", '{"lmf":{"rnak":8}}', "--out", "never"]);
    assert.equal(errorLine(bench), '--config: method "lmf" has no setting "rnak"; its settings: dim, rank');
  });

  test("--seed must be a non-negative integer: abc, -5 and 1.5 are refused", async () => {
    for (const seed of ["abc", "-5", "1.5"]) {
      const run = await fusionkit(dir, ["train", "--data", "toy", "--seed", seed, "--out", "never"]);
      assert.equal(run.code, 1);
      assert.equal(run.stderr.split("\n")[0], `error: option '--seed <n>' argument '${seed}' is invalid. expected a non-negative integer seed (0 to 4294967295), got "${seed}".`);
    }
  });
});

describe("a model records its dataset by absolute path and content hash", () => {
  test("eval --model works from another directory, and refuses data changed since training", async () => {
    writeToy(dir, "recorded");
    const trained = await fusionkit(dir, ["train", "--data", "recorded", ...tiny, "--out", "recorded-model"]);
    assert.equal(trained.code, 0, trained.stderr);
    const config = JSON.parse(readFileSync(join(dir, "recorded-model", "config.json"), "utf8"));
    assert.equal(config.dataset.source, join(dir, "recorded"));
    assert.match(config.dataset.contentHash, /^[0-9a-f]{64}$/u);
    const elsewhere = join(dir, "elsewhere");
    mkdirSync(elsewhere);
    const evaluated = await fusionkit(elsewhere, ["eval", "--model", join(dir, "recorded-model")]);
    assert.equal(evaluated.code, 0, evaluated.stderr);
    assert.match(evaluated.stdout, /^early on recorded test \(16 rows\): accuracy /u);
    appendFileSync(join(dir, "recorded", "data.jsonl"), JSON.stringify({ id: "late", label: "up", split: "train", v: [1, 0, 0], caption: "rising" }) + "\n");
    const changed = await fusionkit(elsewhere, ["eval", "--model", join(dir, "recorded-model")]);
    assert.match(
      errorLine(changed),
      new RegExp(`^${escape(join(dir, "recorded-model", "config.json"))}, field "dataset.source": the model's training data ${escape(join(dir, "recorded"))} has changed since training \\(content sha256 [0-9a-f]{12} then, [0-9a-f]{12} now\\), so its splits and statistics are not the ones the model was trained with. Pass --data ${escape(join(dir, "recorded"))} to evaluate on it as it is now$`, "u"),
    );
  });
});

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/gu, "\\$&");
}

