/**
 * The queue's pieces that need no server: the URL (parsed, and its password
 * redacted everywhere it could be printed), the job schema (jobs are data: a
 * planned job passes, anything else is refused with the field named), the
 * dataset content hash (same content, same hash, whatever the cache key; one
 * changed value, another hash) and the code version.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type { PreparedDataset } from "../../../src/data/types.ts";
import { FusionkitError } from "../../../src/errors.ts";
import { codeVersion, datasetHash } from "../../../src/bench/queue/identity.ts";
import { firstIssue, jobId, jobIndex, protocolVersion, queueJobSchema, type QueueJob } from "../../../src/bench/queue/protocol.ts";
import { parseQueueUrl, redactArgs, redactQueueUrl } from "../../../src/bench/queue/url.ts";

describe("the queue URL", () => {
  test("host, port, database, user and password; defaults 6379 and 0", () => {
    assert.deepEqual(parseQueueUrl("redis://:pa%40ss@10.0.0.5:6380/3"), { host: "10.0.0.5", port: 6380, db: 3, password: "pa@ss", tls: false, display: "redis://:***@10.0.0.5:6380/3" });
    assert.deepEqual(parseQueueUrl("redis://localhost", {}), { host: "localhost", port: 6379, db: 0, tls: false, display: "redis://localhost" });
    // the password may come from the environment instead, out of the command line and process lists
    assert.equal(parseQueueUrl("redis://localhost", { FUSIONKIT_REDIS_PASSWORD: "s3cret" }).password, "s3cret");
    assert.equal(parseQueueUrl("redis://:inurl@localhost", { FUSIONKIT_REDIS_PASSWORD: "s3cret" }).password, "inurl");
    const withUser = parseQueueUrl("rediss://bench:secret@[::1]:7000");
    assert.equal(withUser.host, "::1");
    assert.equal(withUser.username, "bench");
    assert.equal(withUser.tls, true);
    assert.equal(withUser.display, "rediss://bench:***@[::1]:7000");
  });

  test("a bad URL is refused with the flag named and the password not repeated", () => {
    for (const [url, pattern] of [
      ["http://:secret@host:6379", /field "--queue": must be a redis:\/\/ or rediss:\/\/ URL/],
      ["redis://:secret@host:6379/zero", /the database after the host must be a number/],
      ["not a url :secret@", /field "--queue": not a URL/],
    ] as const) {
      assert.throws(() => parseQueueUrl(url), (error: unknown) => {
        assert.ok(error instanceof FusionkitError);
        assert.match(error.message, pattern);
        assert.ok(!error.message.includes("secret"), error.message);
        return true;
      });
    }
  });

  test("redaction of a URL and of a command line", () => {
    assert.equal(redactQueueUrl("redis://:s3cret@h:1/0"), "redis://:***@h:1/0");
    assert.equal(redactQueueUrl("redis://user:s3cret@h"), "redis://user:***@h");
    assert.equal(redactQueueUrl("redis://h:1"), "redis://h:1");
    assert.deepEqual(redactArgs(["bench", "--queue", "redis://:s3cret@h:1", "--queue=rediss://:s3cret@h", "--data", "movies"]), [
      "bench",
      "--queue",
      "redis://:***@h:1",
      "--queue=rediss://:***@h",
      "--data",
      "movies",
    ]);
  });
});

describe("the job schema", () => {
  const job: QueueJob = {
    protocol: protocolVersion,
    bench: "0123456789abcdef",
    codeVersion: "fusionkit@0.1.0 src:0 @jax-js/jax@0.1.25",
    dataset: { source: "movies", maxRows: null, name: "movies", hash: "a".repeat(64) },
    warmup: { batchSize: 32, encoderDim: 32 },
    job: { index: 3, method: "gmu", seed: 1, methodConfig: { hidden: 16 }, epochs: 6, batchSize: 32, lr: 0.002, lrGrid: [0.002], lrTrialEpochs: 2, weightDecay: 0.3, modalityDropout: null, patience: 3, encoderDim: 32, timeBudgetMs: null, noiseLevels: [0.5, 1], latencySamples: 30, explain: { maxRows: 256, samples: 3, imageSize: 48 } },
  };

  test("accepts a planned job, through JSON, unchanged", () => {
    assert.deepEqual(queueJobSchema.parse(JSON.parse(JSON.stringify(job))), job);
  });

  test("refuses extra fields, wrong types and other protocol versions, naming the field", () => {
    const refused = (data: unknown) => {
      const parsed = queueJobSchema.safeParse(data);
      assert.equal(parsed.success, false);
      return firstIssue(parsed.error!);
    };
    assert.match(refused({ ...job, protocol: protocolVersion + 1 }), /^protocol: /);
    assert.match(refused({ ...job, job: { ...job.job, lrGrid: [] } }), /^job\.lrGrid: /);
    assert.match(refused({ ...job, job: { ...job.job, epochs: 0 } }), /^job\.epochs: /);
    assert.match(refused({ ...job, job: { ...job.job, lr: Number.NaN } }), /^job\.lr: /);
    assert.match(refused({ ...job, script: "process.exit()" }), /script/);
    assert.match(refused({ ...job, dataset: { ...job.dataset, hash: "abc" } }), /^dataset\.hash: /);
  });

  test("warm start: a job's unimodal sources are checked like jobs, and may lie outside the plan (index -1), no further", () => {
    const { explain: _explain, ...plain } = job.job;
    const source = { ...plain, index: 0, method: "unimodal:text" };
    const withSources = (from: unknown) => ({ ...job, job: { ...job.job, encodersFrom: from } });
    assert.deepEqual(queueJobSchema.parse(JSON.parse(JSON.stringify(withSources({ text: source })))), withSources({ text: source }));
    assert.equal(queueJobSchema.safeParse(withSources({ text: { ...source, index: -1 } })).success, true);
    const refused = (data: unknown) => firstIssue(queueJobSchema.safeParse(data).error!);
    assert.match(refused(withSources({ text: { ...source, index: -2 } })), /^job\.encodersFrom\.text\.index: /);
    assert.match(refused(withSources({ text: { ...source, lr: -1 } })), /^job\.encodersFrom\.text\.lr: /);
    // a source carries no extras of its own (nor sources of its own)
    assert.match(refused(withSources({ text: { ...source, explain: job.job.explain } })), /encodersFrom\.text/);
    assert.match(refused(withSources({ text: { ...source, encodersFrom: {} } })), /encodersFrom\.text/);
    assert.match(refused(withSources(["unimodal:text"])), /^job\.encodersFrom/);
    assert.equal(queueJobSchema.safeParse({ ...job, shareEncoder: true }).success, true);
    assert.match(refused({ ...job, shareEncoder: "yes" }), /^shareEncoder: /);
  });

  test("job ids carry the bench id; another bench's ids are not ours", () => {
    assert.equal(jobId("00ff00ff00ff00ff", 12), "00ff00ff00ff00ff-12");
    assert.equal(jobIndex("00ff00ff00ff00ff", "00ff00ff00ff00ff-12"), 12);
    assert.equal(jobIndex("00ff00ff00ff00ff", "11ff00ff00ff00ff-12"), undefined);
    assert.equal(jobIndex("00ff00ff00ff00ff", "00ff00ff00ff00ff-x"), undefined);
  });
});

describe("identity", () => {
  const dataset = (): PreparedDataset => ({
    name: "toy",
    task: "classification",
    labelField: "label",
    labelNames: ["a", "b"],
    modalities: [{ name: "v", type: "vector", shape: [2] }],
    splits: Object.fromEntries(
      (["train", "val", "test"] as const).map((split) => [
        split,
        { n: 2, ids: [`${split}0`, `${split}1`], inputs: { v: Float32Array.from([1, 2, 3, 4]) }, tokenMasks: {}, present: { v: Float32Array.from([1, 1]) }, labels: Float32Array.from([0, 1]), fields: {} },
      ]),
    ) as unknown as PreparedDataset["splits"],
    skipped: [],
    cacheKey: "machine-a",
  });

  test("the dataset hash follows the content, not the cache key or field order", () => {
    const a = dataset();
    const b = { ...dataset(), cacheKey: "machine-b" };
    const reordered = Object.fromEntries(Object.entries(dataset()).reverse()) as PreparedDataset;
    assert.match(datasetHash(a), /^[0-9a-f]{64}$/);
    assert.equal(datasetHash(a), datasetHash(b));
    assert.equal(datasetHash(a), datasetHash(reordered));
    const changed = dataset();
    changed.splits.test.inputs.v![3] = 4.0001;
    assert.notEqual(datasetHash(changed), datasetHash(a));
    const relabelled = dataset();
    relabelled.labelNames = ["a", "c"];
    assert.notEqual(datasetHash(relabelled), datasetHash(a));
  });

  test("the code version names the package, a source hash and the engine", () => {
    assert.match(codeVersion(), /^fusionkit@\d+\.\d+\.\d+ src:[0-9a-f]{16} @jax-js\/jax@\d+\.\d+\.\d+$/);
  });
});
