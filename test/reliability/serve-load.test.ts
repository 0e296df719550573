/**
 * Catalogue: the server stays responsive and bounded under load.
 * - /health answers while a maximal request (1,024 rows with image, audio and
 *   explain) is processed: preprocessing and graph runs go in slices with the
 *   event loop free between them;
 * - beyond the concurrency cap and the bounded queue, requests get 503 with
 *   Retry-After and the {error, field} body;
 * - a body that trickles in is cut off at the request timeout (408) instead
 *   of being held for minutes;
 * - with 2,000 trickling bodies held open on loopback, /health still answers
 *   within 100 ms.
 * The latency bounds are the acceptance figures; each is a median of
 * several probes so that one scheduling hiccup on a loaded machine does not decide.
 */
import assert from "node:assert/strict";
import { connect, type Socket } from "node:net";
import { after, before, describe, it } from "node:test";
import { buildServeApp, type ServeApp } from "../../src/serve/server.ts";
import { servedModelFixture, type ServedFixture } from "../../bench/fixtures/servedModel.ts";

let fixture: ServedFixture;

before(async () => {
  fixture = await servedModelFixture();
});

const requestRows = (n: number) => Array.from({ length: n }, (_, i) => {
  const { split: _split, ...row } = fixture.rows[i % fixture.rows.length]!;
  return { ...row, id: `r${i}` };
});

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function timedHealth(address: string): Promise<number> {
  const started = performance.now();
  const response = await fetch(`${address}/health`);
  assert.equal(response.status, 200);
  await response.json();
  return performance.now() - started;
}

async function listening(options: Partial<Parameters<typeof buildServeApp>[0]> = {}): Promise<{ served: ServeApp; address: string; port: number }> {
  const served = await buildServeApp({ modelDir: fixture.modelDir, ...options });
  const address = await served.app.listen({ port: 0, host: "127.0.0.1" });
  return { served, address, port: Number(new URL(address).port) };
}

/** A connection that sends the headers of a POST announcing `length` body bytes and its first byte, then one byte every `everyMs`. */
function trickle(port: number, length: number, everyMs: number): { socket: Socket; received: () => string; sent: () => number; closed: Promise<void> } {
  const socket = connect(port, "127.0.0.1");
  let received = "";
  let sent = 0;
  socket.setEncoding("utf8");
  socket.on("data", (chunk: string) => (received += chunk));
  socket.on("error", () => {});
  const closed = new Promise<void>((resolve) => socket.on("close", () => resolve()));
  socket.on("connect", () => {
    socket.write(`POST /predict HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: ${length}\r\n\r\n{`);
    sent = 1;
    const timer = setInterval(() => {
      if (socket.destroyed || sent >= length) return clearInterval(timer);
      socket.write(" ");
      sent++;
    }, everyMs);
    socket.on("close", () => clearInterval(timer));
  });
  return { socket, received: () => received, sent: () => sent, closed };
}

describe("serve: load", () => {
  let server: { served: ServeApp; address: string; port: number } | undefined;
  after(async () => {
    await server?.served.app.close();
  });

  it("/health answers within 50 ms while a maximal request (1,024 rows, image + audio, explain) is processed", async () => {
    server = await listening();
    const body = JSON.stringify({ rows: requestRows(1024), explain: true });
    let done = false;
    const heavy = fetch(`${server.address}/predict`, { method: "POST", headers: { "content-type": "application/json" }, body }).then(async (r) => {
      done = true;
      return { status: r.status, json: (await r.json()) as { predictions: unknown[] } };
    });
    const during: number[] = [];
    while (!done) {
      const ms = await timedHealth(server.address);
      if (!done) during.push(ms);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    const result = await heavy;
    assert.equal(result.status, 200);
    assert.equal(result.json.predictions.length, 1024);
    assert.ok(during.length >= 3, `only ${during.length} /health answers while the maximal request ran`);
    console.log(`# /health during a maximal request: ${during.length} probes, median ${median(during).toFixed(1)} ms, max ${Math.max(...during).toFixed(1)} ms`);
    assert.ok(median(during) <= 50, `/health took a median ${median(during).toFixed(1)} ms during a maximal request`);
    await server.served.app.close();
    server = undefined;
  });

  it("beyond the concurrency cap and the queue: 503 with Retry-After and the {error, field} body", async () => {
    const capped = await buildServeApp({ modelDir: fixture.modelDir, maxConcurrent: 1, maxQueued: 1 });
    try {
      const payload = { rows: requestRows(64), explain: true };
      const replies = await Promise.all(Array.from({ length: 4 }, () => capped.app.inject({ method: "POST", url: "/predict", payload })));
      const statuses = replies.map((r) => r.statusCode);
      assert.deepEqual(statuses, [200, 200, 503, 503]);
      for (const reply of replies.filter((r) => r.statusCode === 503)) {
        assert.equal(reply.headers["retry-after"], "1");
        assert.deepEqual(reply.json(), { error: "the server is busy (1 requests running, 1 waiting); retry after 1 s", field: null });
      }
      // the slots are free again afterwards
      assert.equal((await capped.app.inject({ method: "POST", url: "/predict", payload: { rows: requestRows(1) } })).statusCode, 200);
    } finally {
      await capped.app.close();
    }
  });

  it("a trickling body is cut off at the request timeout with 408", async () => {
    server = await listening({ requestTimeoutMs: 1000 });
    const slow = trickle(server.port, 200, 100);
    await slow.closed;
    assert.match(slow.received(), /^HTTP\/1\.1 408 /);
    // the same error shape as every other answer: {error, field}
    const body = JSON.parse(slow.received().split("\r\n\r\n")[1]!);
    assert.deepEqual(Object.keys(body).sort(), ["error", "field"]);
    assert.match(body.error, /request timeout \(1000 ms\).*--request-timeout/);
    assert.ok(slow.sent() < 200, `the whole body (${slow.sent()} bytes) was accepted`);
    await server.served.app.close();
    server = undefined;
  });

  it("with 2,000 trickling bodies held open on loopback, /health still answers within 100 ms", async () => {
    server = await listening({ requestTimeoutMs: 60_000 });
    const count = 2000;
    // one byte every 5 s, as in the case
    const held = Array.from({ length: count }, () => trickle(server!.port, 10_000, 5000));
    // wait until every connection has sent its headers and a first byte
    while (held.some((h) => h.sent() === 0 && !h.socket.destroyed)) await new Promise((resolve) => setTimeout(resolve, 100));
    // and the server has taken every connection in
    while ((await new Promise<number>((resolve) => server!.served.app.server.getConnections((_e, n) => resolve(n)))) < count) await new Promise((resolve) => setTimeout(resolve, 100));
    assert.equal(held.filter((h) => h.socket.destroyed).length, 0, "connections were refused");
    const probes: number[] = [];
    for (let i = 0; i < 7; i++) probes.push(await timedHealth(server.address));
    console.log(`# /health with ${count} trickling bodies: median ${median(probes).toFixed(1)} ms, max ${Math.max(...probes).toFixed(1)} ms`);
    assert.ok(median(probes) <= 100, `/health took a median ${median(probes).toFixed(1)} ms`);
    for (const h of held) h.socket.destroy();
    await server.served.app.close();
    server = undefined;
  });
});
