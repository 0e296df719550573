/**
 * Reliability catalogue, faults (issue 16): a SIGKILL at any moment of
 * `train` or `bench` never leaves an output directory holding a checkpoint or
 * a results.json that loads as complete but is not. The kill lands at real
 * moments of the run: while training, the instant the save's first temporary
 * file appears, the instant the bench's first results.json appears.
 */
import assert from "node:assert/strict";
import { existsSync, readdirSync, readFileSync, rmSync, watch } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { loadCheckpoint } from "../../src/engine/checkpoint.ts";
import { FusionkitError } from "../../src/errors.ts";
import { fusionkit, scratchDir, writeToy } from "./cliHelpers.ts";

let dir: string;

before(() => {
  dir = scratchDir("reliability-faults");
  writeToy(dir);
});
after(() => rmSync(dir, { recursive: true, force: true }));

/** Loads the checkpoint in `out` the way every command does; "incomplete" when it is refused as such. */
function loadOutcome(out: string): { config: Record<string, any> } | "incomplete" {
  try {
    return { config: loadCheckpoint(out).config as Record<string, any> };
  } catch (error) {
    assert.ok(error instanceof FusionkitError, String(error));
    assert.match(error.message, /config\.json: missing checkpoint file|model\.safetensors: missing checkpoint file/u);
    return "incomplete";
  }
}

/** Starts `args`, SIGKILLs it the moment a file whose name matches `pattern` appears in `watched` (created if needed). */
async function killWhenFileAppears(args: string[], watched: string, pattern: RegExp) {
  let killed = false;
  let watcher: ReturnType<typeof watch> | undefined;
  const run = await fusionkit(dir, args, (_output, child) => {
    if (watcher || killed || !existsSync(watched)) return;
    const check = (name: string | null) => {
      if (!killed && name && pattern.test(name)) {
        killed = true;
        child.kill("SIGKILL");
      }
    };
    watcher = watch(watched, (_event, name) => check(name));
    readdirSync(watched).forEach(check);
  });
  watcher?.close();
  return { run, killed };
}

describe("SIGKILL during train", () => {
  test("while training: the output directory holds no loadable checkpoint", async () => {
    let killed = false;
    const run = await fusionkit(dir, ["train", "--data", "toy", "--epochs", "50", "--patience", "50", "--out", "killed-training"], (output, child) => {
      if (!killed && /epoch\s+2\/50/u.test(output)) {
        killed = true;
        child.kill("SIGKILL");
      }
    });
    assert.equal(run.signal, "SIGKILL");
    const out = join(dir, "killed-training");
    if (existsSync(out)) assert.equal(loadOutcome(out), "incomplete");
  });

  test("while saving over another model: the old pair, the new pair, or refused as incomplete; never a mix", async () => {
    const first = await fusionkit(dir, ["train", "--data", "toy", "--epochs", "1", "--encoder-dim", "256", "--seed", "1", "--out", "replaced"]);
    assert.equal(first.code, 0, first.stderr);
    const out = join(dir, "replaced");
    const oldWeights = readFileSync(join(out, "model.safetensors"));
    const { run, killed } = await killWhenFileAppears(["train", "--data", "toy", "--epochs", "1", "--encoder-dim", "256", "--seed", "2", "--out", "replaced", "--force"], out, /\.tmp$/u);
    assert.ok(killed, "the save started");
    assert.equal(run.signal, "SIGKILL");
    const outcome = loadOutcome(out);
    if (outcome !== "incomplete") {
      // config.json and weights must come from the same save (the weights' own checksum was verified by loading)
      const weights = readFileSync(join(out, "model.safetensors"));
      if (outcome.config.training.seed === 1) assert.deepEqual(weights, oldWeights, "old config with old weights");
      else assert.notDeepEqual(weights, oldWeights, "new config with new weights");
    }
    // the next save removes what the killed one left behind
    const again = await fusionkit(dir, ["train", "--data", "toy", "--epochs", "1", "--encoder-dim", "4", "--out", "replaced", "--force"]);
    assert.equal(again.code, 0, again.stderr);
    assert.deepEqual(readdirSync(out).sort(), ["config.json", "model.safetensors"]);
  });
});

describe("SIGKILL during bench", () => {
  test("the moment the first results.json appears: it loads as incomplete, never as complete", async () => {
    const out = join(dir, "bench-killed");
    const args = ["bench", "--data", "toy", "--methods", "early,late_mean,gmu", "--seeds", "1", "--epochs", "2", "--lr-grid", "0.002", "--workers", "1", "--latency-samples", "2", "--no-explain", "--no-retrieval", "--out", "bench-killed"];
    const { run, killed } = await killWhenFileAppears(args, out, /^results\.json$/u);
    assert.ok(killed);
    assert.equal(run.signal, "SIGKILL");
    const results = JSON.parse(readFileSync(join(out, "results.json"), "utf8"));
    assert.equal(results.complete, false, "two of three methods never ran");
    assert.ok(results.methods.some((m: { status: string }) => m.status === "not-run"));
  });
});
