/**
 * Reliability catalogue, CLI outputs (issue 18, issue 16 faults): every
 * command checks its --out before preparing data or training; a full disk
 * during a save is one line naming the path and what to do, leaves the
 * previous checkpoint byte-identical and no temporary file behind; train and
 * align refuse to overwrite another model without --force. Real file
 * systems: read-only and full tmpfs mounts (root, as here and in CI).
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { FusionkitError } from "../../src/errors.ts";
import { writeFileAtomic, writeFilesAtomic } from "../../src/io/atomicWrite.ts";
import { errorLine, fillDisk, fusionkit, mountTmpfs, scratchDir, writeToy } from "./cliHelpers.ts";

let dir: string;
const unmounts: (() => void)[] = [];
const tiny = ["--epochs", "1", "--encoder-dim", "4", "--batch-size", "64"];

before(() => {
  dir = scratchDir("reliability-outputs");
  writeToy(dir);
});
after(() => {
  unmounts.forEach((unmount) => unmount());
  rmSync(dir, { recursive: true, force: true });
});

describe("outputs are checked before any work", () => {
  test("a read-only --out fails before the data is prepared, for every command that writes", async () => {
    const ro = mountTmpfs(dir, "ro", { bytes: 64 * 1024, readOnly: true });
    unmounts.push(ro.unmount);
    const trained = await fusionkit(dir, ["train", "--data", "toy", ...tiny, "--out", "model"]);
    assert.equal(trained.code, 0, trained.stderr);
    const cases: [string[], string][] = [
      [["train", "--data", "toy", "--out", "ro/model"], `cannot write the train output to ro/model: ${ro.path} is not writable: the file system is read-only (EROFS). Choose a writable --out directory`],
      [["train", "--data", "toy", "--out", "ro"], `cannot write the train output to ro: the file system is read-only (EROFS). Choose a writable --out directory`],
      [["align", "--data", "toy", "--pair", "v,caption", "--out", "ro/aligned"], `cannot write the align output to ro/aligned: ${ro.path} is not writable: the file system is read-only (EROFS). Choose a writable --out directory`],
      [["bench", "--data", "toy", "--methods", "early", "--out", "ro/bench"], `cannot write the bench output to ro/bench: ${ro.path} is not writable: the file system is read-only (EROFS). Choose a writable --out directory`],
      [["export", "--model", "model", "--out", "ro/model.onnx"], `cannot write ro/model.onnx: the file system is read-only (EROFS). Choose a writable --out file`],
    ];
    for (const [args, message] of cases) {
      const cacheBefore = existsSync(join(dir, "cache")) ? readdirSync(join(dir, "cache")).length : 0;
      const run = await fusionkit(dir, args);
      assert.equal(run.code, 1, args.join(" "));
      assert.equal(errorLine(run), message);
      assert.doesNotMatch(run.stdout + run.stderr, /preparing|training|epoch/u, "no data preparation or training before the check");
      assert.equal(existsSync(join(dir, "cache")) ? readdirSync(join(dir, "cache")).length : 0, cacheBefore, "no dataset cache written");
    }
    // predict and explain write a file: checked before the model is even loaded
    const rows = join(dir, "toy", "data.jsonl");
    for (const command of ["predict", "explain"]) {
      const run = await fusionkit(dir, [command, "--model", "model", "--rows", rows, "--out", "ro/out.json"]);
      assert.equal(errorLine(run), `cannot write ro/out.json: the file system is read-only (EROFS). Choose a writable --out file`);
    }
  });

  test("train and align refuse an --out that holds another model unless --force", async () => {
    const first = await fusionkit(dir, ["train", "--data", "toy", ...tiny, "--seed", "1", "--out", "kept"]);
    assert.equal(first.code, 0, first.stderr);
    const before = readFileSync(join(dir, "kept", "config.json"), "utf8");
    for (const command of [["train", "--data", "toy"], ["align", "--data", "toy", "--pair", "v,caption"]]) {
      const run = await fusionkit(dir, [...command, "--out", "kept"]);
      assert.equal(errorLine(run), "kept already holds a model (config.json, model.safetensors). Pass --force to replace it, or choose another --out");
      assert.doesNotMatch(run.stdout, /training/u);
    }
    assert.equal(readFileSync(join(dir, "kept", "config.json"), "utf8"), before, "untouched");
    const forced = await fusionkit(dir, ["train", "--data", "toy", ...tiny, "--seed", "2", "--out", "kept", "--force"]);
    assert.equal(forced.code, 0, forced.stderr);
    assert.equal(JSON.parse(readFileSync(join(dir, "kept", "config.json"), "utf8")).training.seed, 2);
  });
});

describe("a full disk during a save", () => {
  test("train: one line naming the file, the previous checkpoint byte-identical, no temporary file left", async () => {
    const disk = mountTmpfs(dir, "full", { bytes: 1024 * 1024 });
    unmounts.push(disk.unmount);
    const first = await fusionkit(dir, ["train", "--data", "toy", ...tiny, "--out", "full/model"]);
    assert.equal(first.code, 0, first.stderr);
    const weights = readFileSync(join(disk.path, "model", "model.safetensors"));
    const config = readFileSync(join(disk.path, "model", "config.json"));
    fillDisk(disk.path, 8 * 1024);
    // a bigger model (encoder width 32) does not fit in the 8 KiB left
    const run = await fusionkit(dir, ["train", "--data", "toy", "--epochs", "1", "--encoder-dim", "32", "--out", "full/model", "--force"]);
    assert.equal(run.code, 1);
    assert.match(run.stdout, /best epoch/u, "it trained, then the save failed");
    assert.equal(errorLine(run), "cannot write full/model/model.safetensors (ENOSPC): the disk is full. Free space on it, or write to another disk (--out); nothing was changed there");
    assert.deepEqual(readFileSync(join(disk.path, "model", "model.safetensors")), weights);
    assert.deepEqual(readFileSync(join(disk.path, "model", "config.json")), config);
    assert.deepEqual(readdirSync(join(disk.path, "model")).sort(), ["config.json", "model.safetensors"], "no temporary file left");
  });

  test("bench: the partial results write fails with one line, no stack trace, no temporary file", async () => {
    const disk = mountTmpfs(dir, "fullbench", { bytes: 256 * 1024 });
    unmounts.push(disk.unmount);
    fillDisk(disk.path, 0);
    const run = await fusionkit(dir, ["bench", "--data", "toy", "--methods", "early", "--seeds", "1", "--epochs", "1", "--lr-grid", "0.002", "--latency-samples", "2", "--no-explain", "--no-retrieval", "--quiet", "--out", "fullbench/out"]);
    assert.equal(run.code, 1);
    assert.equal(errorLine(run), `cannot write ${join(disk.path, "out", "results.json")} (ENOSPC): the disk is full. Free space on it, or write to another disk (--out); nothing was changed there`);
    assert.deepEqual(readdirSync(join(disk.path, "out")), [], "no results.json, no report.html, no temporary file");
  });

  test("writeFileAtomic and writeFilesAtomic: ENOSPC is a FusionkitError, the old files stay, temporaries go", () => {
    const disk = mountTmpfs(dir, "unit", { bytes: 64 * 1024 });
    unmounts.push(disk.unmount);
    const target = join(disk.path, "a.bin");
    writeFileAtomic(target, "old");
    writeFilesAtomic([{ path: join(disk.path, "w.bin"), data: "old weights" }, { path: join(disk.path, "marker.json"), data: "old marker" }]);
    fillDisk(disk.path, 0);
    assert.throws(() => writeFileAtomic(target, new Uint8Array(32 * 1024)), (e: unknown) => e instanceof FusionkitError && /^cannot write .*a\.bin \(ENOSPC\): the disk is full/u.test(e.message));
    assert.throws(
      () => writeFilesAtomic([{ path: join(disk.path, "w.bin"), data: new Uint8Array(32 * 1024) }, { path: join(disk.path, "marker.json"), data: "new marker" }]),
      (e: unknown) => e instanceof FusionkitError && /w\.bin \(ENOSPC\)/u.test(e.message),
    );
    assert.equal(readFileSync(target, "utf8"), "old");
    assert.equal(readFileSync(join(disk.path, "w.bin"), "utf8"), "old weights");
    assert.equal(readFileSync(join(disk.path, "marker.json"), "utf8"), "old marker");
    assert.deepEqual(readdirSync(disk.path).filter((name) => name.endsWith(".tmp")), []);
  });

  test("a temporary file left by a killed process is removed by the next write of that file; a running one's is kept", () => {
    const scratch = join(dir, "stale");
    mkdirSync(scratch);
    const dead = spawnSync(process.execPath, ["-e", ""]).pid!;
    const stale = join(scratch, `.a.bin.${dead}.1.tmp`);
    const live = join(scratch, `.a.bin.${process.pid}.999.tmp`);
    writeFileSync(stale, "left by a SIGKILLed save");
    writeFileSync(live, "a save in progress");
    writeFileAtomic(join(scratch, "a.bin"), "new");
    assert.deepEqual(readdirSync(scratch).sort(), [".a.bin." + process.pid + ".999.tmp", "a.bin"]);
    assert.equal(readFileSync(live, "utf8"), "a save in progress");
  });
});

