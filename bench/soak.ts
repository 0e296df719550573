/**
 * Soak of `fusionkit serve` (run by bench/serve.ts): the server in its own
 * process, so its resident memory is measured alone, on the serve tests'
 * fixture model (early fusion, 5 modalities: vector, tabular, text, image,
 * audio).
 *
 *  phase 1  `smallSeconds` of 1-row requests (every modality, image and
 *           audio files included) at `connections` connections
 *  phase 2  `maxSeconds` of maximal requests (1,024 rows with image, audio
 *           and explain: 32,768 graph rows each) at `maxConnections`
 *  idle     10 s without requests
 *
 * RSS is read from /proc every second and /health is probed every second.
 * "Growth after warm-up" compares the mean RSS of phase 1's last 10 s with
 * its 10 s after the first 10 (warm-up: JIT, caches, pools).
 */
// @ts-expect-error autocannon ships no type declarations (and @types/autocannon is not installed)
import autocannon from "autocannon";
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { servedModelFixture } from "./fixtures/servedModel.ts";

export type SoakOptions = { smallSeconds: number; maxSeconds: number; connections: number; maxConnections: number };

function rssMiB(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? NaN);
  return kb / 1024;
}

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);
const percentile = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(p * s.length))] ?? NaN;
};

async function startServer(modelDir: string): Promise<{ address: string; pid: number; stop: () => void }> {
  const child = spawn(process.execPath, ["bin/fusionkit.mjs", "serve", "--model", modelDir, "--port", "0"], { stdio: ["ignore", "ignore", "pipe"] });
  let text = "";
  const address = await new Promise<string>((resolve, reject) => {
    child.stderr.on("data", (chunk) => {
      text += chunk;
      const match = /at (http:\/\/127\.0\.0\.1:\d+)/.exec(text);
      if (match) resolve(match[1]!);
    });
    child.on("exit", (code) => reject(new Error(`serve exited with ${code}: ${text}`)));
  });
  return { address, pid: child.pid!, stop: () => child.kill("SIGTERM") };
}

type Phase = { name: string; rps: number; p50: number; p99: number; requests: number; errors: number; rss: number[]; health: number[] };

async function phase(name: string, address: string, pid: number, seconds: number, connections: number, body: string): Promise<Phase> {
  const rss: number[] = [];
  const health: number[] = [];
  const sampler = setInterval(() => {
    rss.push(rssMiB(pid));
    const started = performance.now();
    fetch(`${address}/health`).then(async (r) => {
      await r.arrayBuffer();
      health.push(performance.now() - started);
    }, () => health.push(Infinity));
  }, 1000);
  const result = await autocannon({
    url: `${address}/predict`,
    method: "POST",
    headers: { "content-type": "application/json" },
    body,
    connections,
    duration: seconds,
    timeout: 120,
  });
  clearInterval(sampler);
  return {
    name,
    rps: result.requests.average,
    p50: result.latency.p50,
    p99: result.latency.p99,
    requests: result.requests.total,
    errors: result.errors + result.timeouts + result.non2xx,
    rss,
    health,
  };
}

export async function soak(options: SoakOptions): Promise<void> {
  const fixture = await servedModelFixture();
  const rows = fixture.rows.map(({ split: _s, ...rest }) => rest);
  const maximal = Array.from({ length: 1024 }, (_, i) => ({ ...rows[i % rows.length]!, id: `r${i}` }));
  const server = await startServer(fixture.modelDir);
  try {
    const startRss = rssMiB(server.pid);
    console.log(`\nsoak: fusionkit serve (pid ${server.pid}, RSS ${startRss.toFixed(0)} MiB at start), RSS and /health sampled every second`);
    const small = await phase(`1-row requests, ${options.connections} connections, ${options.smallSeconds} s`, server.address, server.pid, options.smallSeconds, options.connections, JSON.stringify({ rows: rows.slice(0, 1) }));
    const big = await phase(`maximal requests (1,024 rows, image+audio, explain), ${options.maxConnections} connections, ${options.maxSeconds} s`, server.address, server.pid, options.maxSeconds, options.maxConnections, JSON.stringify({ rows: maximal, explain: true }));
    const idle: number[] = [];
    for (let i = 0; i < 10; i++) {
      await new Promise((resolve) => setTimeout(resolve, 1000));
      idle.push(rssMiB(server.pid));
    }
    console.log(`${"phase".padEnd(82)} ${"req/s".padStart(8)} ${"p50 ms".padStart(8)} ${"p99 ms".padStart(8)} ${"requests".padStart(9)} ${"errors".padStart(7)} ${"health p50/max ms".padStart(18)}`);
    for (const p of [small, big]) {
      const health = `${percentile(p.health, 0.5).toFixed(1)}/${Math.max(...p.health).toFixed(1)}`;
      console.log(`${p.name.padEnd(82)} ${p.rps.toFixed(1).padStart(8)} ${p.p50.toFixed(1).padStart(8)} ${p.p99.toFixed(1).padStart(8)} ${String(p.requests).padStart(9)} ${String(p.errors).padStart(7)} ${health.padStart(18)}`);
    }
    const curve = (xs: number[]) => xs.map((x) => x.toFixed(0)).join(" ");
    console.log(`RSS MiB, 1-row phase (per second): ${curve(small.rss)}`);
    console.log(`RSS MiB, maximal phase (per second): ${curve(big.rss)}`);
    console.log(`RSS MiB, idle afterwards (per second): ${curve(idle)}`);
    const warm = small.rss.slice(10, 20);
    const late = small.rss.slice(-10);
    console.log(
      `1-row phase: RSS ${mean(warm).toFixed(0)} MiB after warm-up (s 10-20), ${mean(late).toFixed(0)} MiB in the last 10 s (growth ${(mean(late) - mean(warm)).toFixed(1)} MiB); ` +
        `maximal phase peak ${Math.max(...big.rss).toFixed(0)} MiB; idle ${idle.at(-1)!.toFixed(0)} MiB (start ${startRss.toFixed(0)} MiB)`,
    );
  } finally {
    server.stop();
  }
}
