/**
 * `fusionkit bench --queue` and `fusionkit worker` against a real
 * redis-server, as separate processes like on several machines: 2 workers
 * and 1 coordinator on the movies built-in give the same accuracy for every
 * (method, seed) as the local bench; a Redis restart (SIGKILL of the server)
 * and a worker SIGKILLed mid-run still give a complete report holding every
 * run exactly once; a worker frozen past its lock delivers its late result
 * in vain (the run is reported once); refused and failing jobs fail once,
 * visibly; Ctrl-C empties the bench's waiting jobs; the queue password
 * appears in no output.
 */
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { after, before, describe, test } from "node:test";
import { Job, Queue } from "bullmq";
import { runBench } from "../../../src/bench/runner.ts";
import type { BenchResults } from "../../../src/bench/results.ts";
import type { EncoderSource } from "../../../src/bench/job.ts";
import { redisOptions } from "../../../src/bench/queue/connection.ts";
import { codeVersion } from "../../../src/bench/queue/identity.ts";
import { protocolVersion, queueName, type QueueJob } from "../../../src/bench/queue/protocol.ts";
import { parseQueueUrl } from "../../../src/bench/queue/url.ts";
import { decodeEncoder, encodeEncoder, encoderKey, sourceEncoders, storeEncoders } from "../../../src/bench/queue/sharedEncoders.ts";
import { Redis } from "ioredis";
import { writeSignDataset } from "../synthetic.ts";
import { RedisServer } from "../../../bench/fixtures/redisServer.ts";

const bin = resolve(import.meta.dirname, "../../../bin/fusionkit.mjs");
// small enough for seconds per run, several runs per worker so the restart and the kill land mid-bench
const benchArgs = ["--data", "movies", "--methods", "early,late_mean", "--seeds", "2", "--epochs", "1", "--lr-grid", "0.002", "--noise", "1", "--latency-samples", "3", "--no-explain", "--no-retrieval"];
const password = randomBytes(12).toString("hex");

let dir: string;
let redis: RedisServer;
let local: BenchResults;
const workers: { child: ChildProcess; log: string; name: string }[] = [];

const env = () => ({ ...process.env, FUSIONKIT_CACHE: join(dir, "cache") });

function startWorker(): Promise<(typeof workers)[number]> {
  const child = spawn(process.execPath, [bin, "worker", "--queue", redis.url, "--concurrency", "1", "--lock-ms", "3000", "--stalled-check-ms", "1000"], { cwd: dir, env: env() });
  const worker = { child, log: "", name: "" };
  workers.push(worker);
  return new Promise((ready, fail) => {
    const timer = setTimeout(() => fail(new Error(`worker not ready in 300 s:\n${worker.log}`)), 300_000);
    child.stderr.on("data", (d: Buffer) => {
      worker.log += d.toString();
      const match = /worker (\S+) ready:/u.exec(worker.log);
      if (match && !worker.name) {
        worker.name = match[1]!;
        clearTimeout(timer);
        ready(worker);
      }
    });
    child.on("exit", (code) => fail(new Error(`worker exited with ${code}:\n${worker.log}`)));
  });
}

type Run = { code: number | null; stdout: string; stderr: string };

/** `fusionkit bench --queue` as a process; `onStderr` sees its stderr as it arrives. */
function coordinator(out: string, onStderr?: (text: string, child: ChildProcess) => void, extraArgs: string[] = []): Promise<Run> {
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, [bin, "bench", ...benchArgs, ...extraArgs, "--out", out, "--queue", redis.url], { cwd: dir, env: env() });
    let stdout = "";
    let stderr = "";
    // only against a hang: on a machine loaded by other jobs a bench can take minutes
    const timer = setTimeout(() => child.kill("SIGKILL"), 900_000);
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => {
      stderr += d.toString();
      onStderr?.(stderr, child);
    });
    child.on("error", fail);
    child.on("close", (code) => {
      clearTimeout(timer);
      done({ code, stdout, stderr });
    });
  });
}

const accuracies = (results: BenchResults) =>
  Object.fromEntries(results.methods.flatMap((m) => m.runs.map((r) => [`${m.name} seed ${r.seed}`, r.metrics.accuracy])));

/** Every planned (method, seed) exactly once, each accuracy equal to the local bench's. */
function assertSameAsLocal(results: BenchResults): void {
  assert.equal(results.complete, true);
  for (const method of results.methods) {
    assert.equal(method.status, "complete", `${method.name}: ${JSON.stringify(method.errors)}`);
    assert.deepEqual(method.runs.map((r) => r.seed), [0, 1], `${method.name} runs`);
  }
  assert.deepEqual(accuracies(results), accuracies(local));
}

function readResults(out: string): BenchResults {
  return JSON.parse(readFileSync(join(dir, out, "results.json"), "utf8")) as BenchResults;
}

before(async () => {
  dir = mkdtempSync(join(tmpdir(), "fusionkit-queue-"));
  redis = await RedisServer.start(join(dir, "redis"), password);
  // the reference: the same bench on this machine's worker threads (it also fills the dataset cache the workers read)
  local = await runBench({ data: "movies", methods: ["early", "late_mean"], seeds: 2, epochs: 1, lrGrid: [0.002], noiseLevels: [1], latencySamples: 3, explain: false, retrieval: false, workers: 2, cacheDir: join(dir, "cache") });
  await Promise.all([startWorker(), startWorker()]);
});

after(async () => {
  for (const { child } of workers) if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
  await redis?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe("a bench on a Redis queue with 2 worker processes", () => {
  test("gives the local bench's accuracy for every (method, seed), and the password appears nowhere", async () => {
    const run = await coordinator("queued");
    assert.equal(run.code, 0, run.stderr);
    const results = readResults("queued");
    assertSameAsLocal(results);
    assert.equal(results.config.queue?.workersAtStart, 2);
    assert.equal(Object.values(results.config.queue!.runsByWorker).reduce((a, b) => a + b, 0), 4);
    assert.match(results.config.queue!.url, /^redis:\/\/:\*\*\*@127\.0\.0\.1:\d+\/0$/u);
    const html = readFileSync(join(dir, "queued", "report.html"), "utf8");
    for (const text of [run.stdout, run.stderr, JSON.stringify(results), html, ...workers.map((w) => w.log)]) assert.ok(!text.includes(password), "the queue password leaked");
    assert.ok(results.command.includes("redis://:***@127.0.0.1:" + redis.port + "/0"));
  });

  test("warm start: the unimodal runs' workers store their encoders in Redis and the fusion run starts from them, with the local bench's accuracy", async () => {
    const methods = ["unimodal:title", "unimodal:facts", "early"];
    const reference = await runBench({ data: "movies", methods, seeds: 1, epochs: 1, lrGrid: [0.002], noiseLevels: [1], latencySamples: 3, explain: false, retrieval: false, workers: 2, cacheDir: join(dir, "cache") });
    const seen = workers.map((w) => w.log.length);
    const run = await coordinator("warm", undefined, ["--methods", methods.join(","), "--seeds", "1"]);
    assert.equal(run.code, 0, run.stderr);
    const results = readResults("warm");
    assert.equal(results.complete, true);
    assert.deepEqual(accuracies(results), accuracies(reference));
    const logs = workers.map((w, i) => w.log.slice(seen[i])).join("");
    assert.match(logs, /early seed 0 \(job \S+\) starts from unimodal:title \(stored\); unimodal:facts \(stored\)/u);
    assert.doesNotMatch(logs, /trained here first/u);
    // the finished bench takes its shared encoders out of Redis
    const client = new Redis(redisOptions(parseQueueUrl(redis.url)));
    try {
      assert.deepEqual(await client.keys(`fusionkit:encoder:${results.config.queue!.bench}-*`), []);
    } finally {
      client.disconnect();
    }
  });

  test("shared encoders: stored with a day's expiry and read back exactly; a source that is neither stored nor running is trained by the job itself, without waiting", async () => {
    const options = redisOptions(parseQueueUrl(redis.url));
    const client = new Redis(options);
    const queue = new Queue(queueName, { connection: options });
    try {
      const tree = { conv: { w: { data: Float32Array.from([1.5, -2, 3e-8]), shape: [3, 1] } }, layers: [{ b: { data: Float32Array.from([7]), shape: [1] } }] };
      assert.deepEqual(decodeEncoder(encodeEncoder(tree)), tree);
      await storeEncoders(client, "00aa00aa00aa00aa", 4, { text: tree });
      const ttl = await client.ttl(encoderKey("00aa00aa00aa00aa", 4, "text"));
      assert.ok(ttl > 86_000 && ttl <= 86_400, `ttl ${ttl}`);
      // sourceEncoders reads a source's index and method only
      const source = (index: number, method: string) => ({ index, method }) as unknown as EncoderSource;
      const stored = await sourceEncoders(queue, client, "00aa00aa00aa00aa", { text: source(4, "unimodal:text"), facts: source(5, "unimodal:facts") }, { pollMs: 10 });
      assert.deepEqual(stored.encoders, { text: tree });
      // job 5 was never enqueued: nothing to wait for
      assert.deepEqual(stored.trainedHere, ["unimodal:facts (its job is unknown)"]);
      // bytes that are not an encoder are not used: the job trains that source itself
      await client.set(encoderKey("00aa00aa00aa00aa", 6, "text"), Buffer.from([1, 2, 3]));
      const broken = await sourceEncoders(queue, client, "00aa00aa00aa00aa", { text: source(6, "unimodal:text") }, { pollMs: 10 });
      assert.deepEqual(broken.encoders, {});
      assert.match(broken.trainedHere[0]!, /^unimodal:text \(its stored encoder is unreadable: a shared encoder: not a valid safetensors checkpoint/u);
    } finally {
      await queue.close();
      client.disconnect();
    }
  });

  test("refused jobs and a job failing on bad data fail once, with the reason, and the workers carry on", async () => {
    const queue = new Queue(queueName, { connection: redisOptions(parseQueueUrl(redis.url)) });
    try {
      const bad = join(dir, "bad");
      writeSignDataset(bad, 20);
      writeFileSync(join(bad, "data.jsonl"), `${readFileSync(join(bad, "data.jsonl"), "utf8")}{"id": "bad", "split": "train", "label": "pos", "a": [1, 2, 3, 4], "b": "oops"}\n`);
      const job: QueueJob["job"] = { index: 0, method: "early", seed: 0, methodConfig: {}, epochs: 1, batchSize: 32, lr: 0.002, lrGrid: [0.002], lrTrialEpochs: 2, weightDecay: 0.3, modalityDropout: null, patience: 3, encoderDim: 32, timeBudgetMs: null, noiseLevels: [1], latencySamples: 2 };
      const base: QueueJob = { protocol: protocolVersion, bench: "0123456789abcdef", codeVersion: codeVersion(), dataset: { source: "movies", maxRows: null, name: "movies", hash: "0".repeat(64) }, warmup: { batchSize: 32, encoderDim: 32 }, job };
      const cases: [string, unknown, RegExp][] = [
        ["other-code", { ...base, codeVersion: "fusionkit@0.0.1 src:0000000000000000 @jax-js/jax@0.1.25" }, /refused by worker \S+: the bench was planned with fusionkit@0\.0\.1 .* but this worker runs fusionkit@/u],
        ["other-data", base, /refused by worker \S+: dataset "movies" prepared here has content hash [0-9a-f]{12}, the bench's has 000000000000/u],
        ["not-a-job", { ...base, job: { ...job, epochs: "all" } }, /refused by worker \S+: job \S+ is not a fusionkit bench job \(job\.epochs: /u],
        ["bad-data", { ...base, dataset: { ...base.dataset, source: bad, name: "sign" } }, /cannot prepare dataset .*data\.jsonl:21.*field "b"/u],
      ];
      for (const [id, data] of cases) await queue.add(id, data, { jobId: `test-${id}`, attempts: 1 });
      for (const [id, , reason] of cases) {
        let state = "";
        for (let i = 0; i < 300 && state !== "failed" && state !== "completed"; i++) {
          await new Promise((r) => setTimeout(r, 200));
          state = await queue.getJobState(`test-${id}`);
        }
        const failed = (await Job.fromId(queue, `test-${id}`))!;
        assert.equal(state, "failed", `${id} ended ${state}`);
        assert.match(failed.failedReason, reason);
        assert.equal(failed.attemptsMade, 1, `${id} was tried ${failed.attemptsMade} times`);
      }
      // the workers logged each failure and are still there
      const logs = workers.map((w) => w.log).join("");
      for (const [id] of cases) assert.match(logs, new RegExp(`FAILED job test-${id}:`, "u"));
      for (const { child } of workers) assert.equal(child.exitCode, null);
    } finally {
      await queue.close();
    }
  });

  test("Ctrl-C: the waiting jobs leave the queue, the partial report is marked incomplete", async () => {
    let sent = false;
    // 8 runs (4 seeds), so several are still waiting when the first finishes
    const run = await coordinator(
      "interrupted",
      (stderr, child) => {
        if (!sent && /\[1\/8\]/u.test(stderr)) {
          sent = true;
          child.kill("SIGINT");
        }
      },
      ["--seeds", "4"],
    );
    assert.ok(sent, `no progress line seen; stderr: ${run.stderr}`);
    assert.notEqual(run.code, 0);
    assert.match(run.stderr, /error: bench interrupted by Ctrl-C \(SIGINT\): the finished runs are in .*results\.json and .*report\.html, marked incomplete/u);
    const removed = Number(/queue: removed (\d+) waiting jobs? of bench/u.exec(run.stderr)?.[1]);
    assert.ok(removed >= 1, run.stderr);
    const results = readResults("interrupted");
    assert.equal(results.complete, false);
    const finished = results.methods.reduce((n, m) => n + m.runs.length, 0);
    assert.ok(finished >= 1 && finished < 8, `${finished} runs`);
    assert.match(readFileSync(join(dir, "interrupted", "report.html"), "utf8"), /INCOMPLETE/u);
    const queue = new Queue(queueName, { connection: redisOptions(parseQueueUrl(redis.url)) });
    try {
      const left = (await queue.getJobs(["waiting", "prioritized", "delayed"])).filter((job) => job.id?.startsWith(`${results.config.queue!.bench}-`));
      assert.deepEqual(left.map((job) => job.id), []);
    } finally {
      await queue.close();
    }
  });

  test("survives a Redis restart (SIGKILL of the server) mid-bench: complete, every run once", async () => {
    let restarted: Promise<void> | undefined;
    let seenAtRestart = "";
    const run = await coordinator("restart", (stderr) => {
      if (!restarted && /\[1\/4\]/u.test(stderr)) {
        seenAtRestart = stderr;
        restarted = redis.restart();
      }
    });
    assert.ok(restarted, `no progress line seen; stderr: ${run.stderr}`);
    await restarted;
    assert.equal(run.code, 0, run.stderr);
    const results = readResults("restart");
    // restarted before the last run finished: the bench really went on after it
    assert.doesNotMatch(seenAtRestart, /\[4\/4\]/u);
    assertSameAsLocal(results);
  });

  test("a worker frozen past its lock (SIGSTOP) and resumed: its job ran elsewhere, its late result is refused, every run once", async () => {
    const [frozen, other] = workers;
    const seen = frozen!.log.length;
    let stolen: string | undefined;
    const onFrozen = () => {
      const match = /running \S+ seed \d+ \(job (\S+)\)/u.exec(frozen!.log.slice(seen));
      if (match && !stolen) {
        stolen = match[1]!;
        frozen!.child.kill("SIGSTOP");
      }
    };
    // resumed once the other worker has run the frozen worker's job to the end
    const onOther = () => {
      if (stolen && new RegExp(`finished \\S+ seed \\d+ \\(job ${stolen}\\)`, "u").test(other!.log)) frozen!.child.kill("SIGCONT");
    };
    frozen!.child.stderr!.on("data", onFrozen);
    other!.child.stderr!.on("data", onOther);
    try {
      const run = await coordinator("frozen");
      assert.ok(stolen, "the frozen worker never started a job");
      assert.equal(run.code, 0, run.stderr);
      assertSameAsLocal(readResults("frozen"));
      frozen!.child.kill("SIGCONT");
      // the frozen worker finishes its copy of the run, and BullMQ refuses the result: the lock is no longer its own
      // ("Missing lock" / "Lock mismatch"), or the job is gone ("Missing key": the coordinator removed it once the bench completed)
      const refused = new RegExp(`finished \\S+ seed \\d+ \\(job ${stolen}\\)[^]*queue: .*(lock|Lock|Missing key).*${stolen}`, "u");
      for (let i = 0; i < 300 && !refused.test(frozen!.log.slice(seen)); i++) await new Promise((r) => setTimeout(r, 200));
      assert.match(frozen!.log.slice(seen), refused);
    } finally {
      frozen!.child.stderr!.off("data", onFrozen);
      other!.child.stderr!.off("data", onOther);
      frozen!.child.kill("SIGCONT");
    }
  });

  test("a worker SIGKILLed mid-run: its job is retried by the other worker, every run once", async () => {
    const [victim, survivor] = workers;
    const seen = victim!.log.length;
    let killed = false;
    const onData = () => {
      if (!killed && /running \S+ seed \d/u.test(victim!.log.slice(seen))) {
        killed = true;
        victim!.child.kill("SIGKILL");
      }
    };
    victim!.child.stderr!.on("data", onData);
    const run = await coordinator("killed");
    victim!.child.stderr!.off("data", onData);
    assert.ok(killed, "the worker never started a job");
    assert.equal(run.code, 0, run.stderr);
    const results = readResults("killed");
    assertSameAsLocal(results);
    // the survivor found the dead worker's job by its expired lock and ran it; the dead worker returned nothing
    assert.match(survivor!.log, /stalled \(its worker stopped renewing the lock\)/u);
    assert.deepEqual(Object.keys(results.config.queue!.runsByWorker), [survivor!.name]);
  });
});
