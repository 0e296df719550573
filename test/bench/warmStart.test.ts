/**
 * Warm start (src/bench/warmStart.ts): the plan names each multimodal run's
 * unimodal sources, the pool hands their trained encoders over, a job without
 * them trains the same ones itself, and the trainer starts from what it is given
 * (and refuses what does not fit, or what would leak into stacking's folds).
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { runJob, type JobOutput } from "../../src/bench/job.ts";
import { withDefaults } from "../../src/bench/options.ts";
import { planBench, type BenchPlan } from "../../src/bench/plan.ts";
import { runJobsInWorkers } from "../../src/bench/pool.ts";
import { startEngine } from "../../src/engine/backend.ts";
import { flattenParams } from "../../src/engine/params.ts";
import { HostRng } from "../../src/engine/random.ts";
import { FusionkitError } from "../../src/errors.ts";
import type { TextEncoderParams } from "../../src/encoders/text.ts";
import { getMethod } from "../../src/fusion/registry.ts";
import { buildModel } from "../../src/model/model.ts";
import { buildSpec } from "../../src/model/spec.ts";
import { trainModel, withEncoders } from "../../src/train/trainer.ts";
import { writeColourDataset, writeSignDataset } from "./synthetic.ts";

let dir: string;
let data: string;
before(async () => {
  await startEngine();
  dir = mkdtempSync(join(tmpdir(), "fusionkit-warm-"));
  ({ dir: data } = writeSignDataset(join(dir, "sign")));
});
after(() => rmSync(dir, { recursive: true, force: true }));

const small = { seeds: 2, epochs: 3, lr: 0.01, lrGrid: [0.01], batchSize: 16, encoderDim: 8, latencySamples: 2, noiseLevels: [], explain: false, retrieval: false };
const plan = (methods: string[], extra: Record<string, unknown> = {}, log?: (m: string) => void) =>
  planBench(withDefaults({ ...small, methods, data, cacheDir: join(dir, "cache"), ...extra }), log);

describe("the plan", () => {
  test("runs each seed's unimodal jobs first and points every multimodal job at its own seed's", async () => {
    const { jobs } = await plan(["early", "late_stacking", "unimodal:a", "unimodal:b", "linear:a"]);
    assert.deepEqual(
      jobs.map((j) => `${j.method}@${j.seed}`),
      ["unimodal:a@0", "unimodal:b@0", "early@0", "late_stacking@0", "linear:a@0", "unimodal:a@1", "unimodal:b@1", "early@1", "late_stacking@1"],
    );
    for (const job of jobs) {
      if (job.method !== "early") {
        // stacking's folds must not start from encoders that saw their held-out rows; unimodal and linear rows are the sources
        assert.equal(job.encodersFrom, undefined, job.method);
        continue;
      }
      for (const [modality, source] of Object.entries(job.encodersFrom!)) {
        const planned = jobs.find((j) => j.method === `unimodal:${modality}` && j.seed === job.seed)!;
        const { explain: _e, retrieval: _r, ...plain } = planned;
        assert.deepEqual(source, plain);
      }
    }
  });

  test("a unimodal run the bench does not make is described as it would be (index -1), and the log says so", async () => {
    const lines: string[] = [];
    const { jobs } = await plan(["early", "unimodal:a"], {}, (m) => lines.push(m));
    const early = jobs.find((j) => j.method === "early" && j.seed === 0)!;
    assert.equal(early.encodersFrom!.a!.index, jobs.find((j) => j.method === "unimodal:a" && j.seed === 0)!.index);
    const b = early.encodersFrom!.b!;
    assert.equal(b.index, -1);
    assert.equal(b.method, "unimodal:b");
    assert.equal(b.seed, 0);
    assert.equal(b.modalityDropout, null);
    assert.equal(b.unimodalAux, null);
    assert.ok(lines.some((l) => /warm start: this bench does not run unimodal:b/.test(l)));
  });

  test("the alignment run rides on a job no other job waits for", async () => {
    const colours = await writeColourDataset(join(dir, "colours"));
    const { jobs } = await plan(["early", "unimodal:image", "unimodal:caption"], { retrieval: true, data: colours });
    const carriers = jobs.filter((j) => j.retrieval);
    assert.deepEqual(carriers.map((j) => `${j.method}@${j.seed}`), ["early@0"]);
  });

  test("--no-warm-start: plan order and no sources", async () => {
    const { jobs } = await plan(["early", "unimodal:a"], { warmStart: false });
    assert.deepEqual(jobs.map((j) => j.method).slice(0, 2), ["early", "unimodal:a"]);
    assert.ok(jobs.every((j) => j.encodersFrom === undefined));
  });
});

describe("running warm-started jobs", () => {
  let benchPlan: BenchPlan;
  const outputs = new Map<string, JobOutput>();
  before(async () => {
    benchPlan = await plan(["unimodal:a", "unimodal:b", "early"], { seeds: 1 });
    const events = { onResult: (job: { method: string }, output: JobOutput) => outputs.set(job.method, output), onFailure: (_job: unknown, failure: { message: string }) => assert.fail(failure.message) };
    await runJobsInWorkers(benchPlan.dataset, benchPlan.jobs, 2, { batchSize: 16, encoderDim: 8 }, events);
  });

  test("the pool hands over the unimodal runs' encoders and keeps them out of the results", () => {
    assert.deepEqual([...outputs.keys()].sort(), ["early", "unimodal:a", "unimodal:b"]);
    for (const output of outputs.values()) assert.equal(output.encoders, undefined);
    assert.deepEqual(outputs.get("early")!.result.chosen!.warmStartFrom, ["unimodal:a", "unimodal:b"]);
  });

  test("a job given no encoders trains its sources itself and makes the very same predictions", async () => {
    const early = benchPlan.jobs.find((j) => j.method === "early")!;
    const alone = await runJob(benchPlan.dataset, early);
    assert.deepEqual(alone.result.testPredictions, outputs.get("early")!.result.testPredictions);
    assert.equal(alone.result.bestValMetric, outputs.get("early")!.result.bestValMetric);
  });

  test("warm start changes the run: from random init the same job trains another model", async () => {
    const { encodersFrom: _from, ...cold } = benchPlan.jobs.find((j) => j.method === "early")!;
    const fromScratch = await runJob(benchPlan.dataset, cold);
    const warm = outputs.get("early")!.result;
    assert.notDeepEqual(fromScratch.result.history.map((h) => h.trainLoss), warm.history.map((h) => h.trainLoss));
  });
});

describe("the trainer's encoderInit", () => {
  test("training starts from the given encoder: at a vanishing learning rate it ends where it began", async () => {
    const { dataset } = await plan(["early"], { seeds: 1 });
    const method = getMethod("early", dataset.modalities);
    const source = buildModel(buildSpec(dataset, { method, encoderDim: 8 })).init(new HostRng(99)).encoders.a!;
    const trained = await trainModel(dataset, { method, encoderDim: 8, epochs: 1, lr: 1e-12, weightDecay: 0, seed: 0, encoderInit: { a: source } });
    const before = flattenParams(source).flat;
    const afterTraining = flattenParams(trained.params.encoders.a!).flat;
    assert.equal(afterTraining.length, before.length);
    for (let i = 0; i < before.length; i++) assert.ok(Math.abs(afterTraining[i]! - before[i]!) < 1e-6, `leaf value ${i}`);
  });

  test("copies what it is given, and refuses an encoder of another layout or a modality the model lacks", async () => {
    const { dataset } = await plan(["early"], { seeds: 1 });
    const method = getMethod("early", dataset.modalities);
    const model = buildModel(buildSpec(dataset, { method, encoderDim: 8 }));
    const wider = buildModel(buildSpec(dataset, { method, encoderDim: 16 })).init(new HostRng(1));
    const params = model.init(new HostRng(0));
    const given = model.init(new HostRng(5)).encoders.b!;
    const started = withEncoders(params, { b: given }, "early", model.encoders);
    assert.deepEqual(flattenParams(started.encoders.b!).flat, flattenParams(given).flat);
    assert.notEqual(flattenParams(started.encoders.b!).flat, flattenParams(given).flat);
    assert.deepEqual(flattenParams(started.encoders.a!).flat, flattenParams(params.encoders.a!).flat);
    assert.throws(() => withEncoders(params, { a: wider.encoders.a! }, "early", model.encoders), (e: unknown) => e instanceof FusionkitError && /"a" encoder given to start from has another layout/.test(e.message));
    assert.throws(() => withEncoders(params, { c: given }, "early", model.encoders), (e: unknown) => e instanceof FusionkitError && /no "c" encoder/.test(e.message));
  });

  test("a bag text encoder's token table starts from its trained bag table; an ordered one keeps its own", async () => {
    const colours = await writeColourDataset(join(dir, "colours"));
    const { dataset } = await planBench(withDefaults({ ...small, methods: ["cross_attention"], seeds: 1, data: colours, cacheDir: join(dir, "cache") }));
    const method = getMethod("cross_attention", dataset.modalities);
    for (const textEncoder of ["bag", "ordered"] as const) {
      const model = buildModel(buildSpec(dataset, { method, encoderDim: 8, textEncoder }));
      const given = model.init(new HostRng(5)).encoders.caption!;
      const started = withEncoders(model.init(new HostRng(0)), { caption: given }, "cross_attention", model.encoders).encoders.caption as unknown as Required<TextEncoderParams>;
      const trained = given as unknown as Required<TextEncoderParams>;
      assert.deepEqual(started.bag.table.data, trained.bag.table.data);
      assert.deepEqual(started.positions.data, trained.positions.data);
      assert.notDeepEqual(trained.embedding.table.data, trained.bag.table.data);
      // "ordered" reads E in its own pooled vector, so the unimodal run trained it
      assert.deepEqual(started.embedding.table.data, textEncoder === "bag" ? trained.bag.table.data : trained.embedding.table.data, textEncoder);
      assert.notEqual(started.embedding.table.data, trained.bag.table.data, "a copy, not the given array");
    }
  });

  test("refuses encoders for a method whose second stage is fitted on out-of-fold predictions", async () => {
    const { dataset } = await plan(["early"], { seeds: 1 });
    const method = getMethod("late_stacking", dataset.modalities);
    const encoder = buildModel(buildSpec(dataset, { method, encoderDim: 8 })).init(new HostRng(0)).encoders.a!;
    await assert.rejects(trainModel(dataset, { method, encoderDim: 8, epochs: 1, encoderInit: { a: encoder } }), (e: unknown) => e instanceof FusionkitError && /folds would leak/.test(e.message));
  });
});
