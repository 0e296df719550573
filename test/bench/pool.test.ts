/** Worker start-up flags: only module loaders pass to a worker, and tsx's loader is always among them. */
import assert from "node:assert/strict";
import { createRequire } from "node:module";
import { describe, test } from "node:test";
import { pathToFileURL } from "node:url";
import { workerExecArgv } from "../../src/bench/pool.ts";

const tsxLoader = pathToFileURL(createRequire(import.meta.url).resolve("tsx")).href;

describe("worker execArgv", () => {
  test("V8 flags a worker would refuse (node --expose-gc --test) are dropped, loaders kept", () => {
    assert.deepEqual(workerExecArgv(["--expose-gc", "--import", "tsx", "--max-old-space-size=512"]), ["--import", "tsx"]);
    assert.deepEqual(workerExecArgv(["--require", "/x/preflight.cjs", `--import=${tsxLoader}`]), ["--require", "/x/preflight.cjs", `--import=${tsxLoader}`]);
  });

  test("a parent that registered tsx from code (bin/fusionkit.mjs) still gives its workers the tsx loader", () => {
    assert.deepEqual(workerExecArgv([]), ["--import", tsxLoader]);
    assert.deepEqual(workerExecArgv(["--enable-source-maps"]), ["--import", tsxLoader]);
  });
});
