/**
 * `fusionkit bench` as a user runs it: the leaderboard on stdout, --quiet
 * keeping stderr empty, a real SIGINT writing incomplete outputs and exiting
 * non-zero, and a bad flag failing with a one-line message.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { after, before, describe, test } from "node:test";
import type { BenchResults } from "../../src/bench/results.ts";
import { writeSignDataset } from "./synthetic.ts";

const bin = resolve(import.meta.dirname, "../../bin/fusionkit.mjs");
let dir: string;

type Run = { code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string };

/** Runs the CLI; `onStderr` sees stderr as it arrives and may signal the child. */
function fusionkit(args: string[], onStderr?: (text: string, child: ReturnType<typeof spawn>) => void): Promise<Run> {
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, [bin, ...args], { cwd: dir, env: { ...process.env, FUSIONKIT_CACHE: join(dir, "cache") } });
    let stdout = "";
    let stderr = "";
    const timer = setTimeout(() => child.kill("SIGKILL"), 120_000);
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => {
      stderr += d.toString();
      onStderr?.(stderr, child);
    });
    child.on("error", fail);
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      done({ code, signal, stdout, stderr });
    });
  });
}

before(() => {
  dir = mkdtempSync(join(tmpdir(), "fusionkit-bench-cli-"));
  writeSignDataset(join(dir, "sign"));
});
after(() => rmSync(dir, { recursive: true, force: true }));

describe("fusionkit bench command", () => {
  test("--quiet prints only the summary: the leaderboard on stdout, nothing on stderr", async () => {
    const run = await fusionkit(["bench", "--data", "sign", "--methods", "early,unimodal:a", "--seeds", "1", "--epochs", "2", "--latency-samples", "3", "--quiet", "--out", "quiet"]);
    assert.equal(run.code, 0, run.stderr);
    assert.equal(run.stderr, "");
    assert.match(run.stdout, /#\s+method\s+family\s+accuracy \(mean ± std\)\s+params\s+train s\s+p50 ms\s+p95 ms/);
    assert.match(run.stdout, /\n\s*1\s+\S+/);
    assert.match(run.stdout, /\n\s*2\s+\S+/);
    const results = JSON.parse(readFileSync(join(dir, "quiet", "results.json"), "utf8")) as BenchResults;
    assert.equal(results.complete, true);
    assert.deepEqual(results.command.slice(0, 3), ["fusionkit", "bench", "--data"]);
  });

  test("Ctrl-C (SIGINT) after the first run writes incomplete outputs and exits non-zero", async () => {
    let sent = false;
    const run = await fusionkit(
      ["bench", "--data", "sign", "--methods", "early,unimodal:a", "--seeds", "3", "--epochs", "3", "--lr-grid", "0.002", "--workers", "1", "--latency-samples", "3", "--out", "interrupted"],
      (stderr, child) => {
        // not a terminal: the plain reporter prints one line per finished run
        if (!sent && /\[1\/6\]/.test(stderr)) {
          sent = true;
          child.kill("SIGINT");
        }
      },
    );
    assert.ok(sent, `no progress line seen; stderr: ${run.stderr}`);
    assert.notEqual(run.code, 0);
    assert.match(run.stderr, /error: bench interrupted by Ctrl-C \(SIGINT\): the finished runs are in .*results\.json and .*report\.html, marked incomplete/);
    const results = JSON.parse(readFileSync(join(dir, "interrupted", "results.json"), "utf8")) as BenchResults;
    assert.equal(results.complete, false);
    const finished = results.methods.reduce((n, m) => n + m.runs.length, 0);
    assert.ok(finished >= 1 && finished < 6, `${finished} runs finished`);
    assert.match(readFileSync(join(dir, "interrupted", "report.html"), "utf8"), /INCOMPLETE/);
    assert.match(run.stdout, /INCOMPLETE/);
  });

  test("an unknown method fails in one line, before anything is written", async () => {
    const run = await fusionkit(["bench", "--data", "sign", "--methods", "early,nope", "--out", "never"]);
    assert.equal(run.code, 1);
    assert.match(run.stderr, /^error: .*unknown fusion method "nope"/);
    assert.doesNotMatch(run.stderr, /\n\s+at /);
    assert.equal(existsSync(join(dir, "never")), false);
  });
});
