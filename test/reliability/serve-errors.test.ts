/**
 * Catalogue: every error the server sends has ONE shape, {error, field}
 * (field null when the problem is not one request field), for 400, 404, 413,
 * 415, 422, 503 and body-parse errors alike (404s and parse errors used to
 * be fastify's {statusCode, code, error, message}), and no message shows a
 * server path or what the model directory holds. Earlier-fixed cases stay
 * fixed: paths leaving the model directory are refused, oversize bodies are 413.
 */
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { buildServeApp, type ServeApp } from "../../src/serve/server.ts";
import { servedModelFixture, type ServedFixture } from "../../bench/fixtures/servedModel.ts";

let fixture: ServedFixture;
let served: ServeApp;

before(async () => {
  fixture = await servedModelFixture();
  served = await buildServeApp({ modelDir: fixture.modelDir });
  // a file with an image name that is not an image
  writeFileSync(join(fixture.modelDir, "img", "broken.png"), "not a png");
});

after(async () => {
  await served?.app.close();
});

type Reply = { status: number; body: Record<string, unknown>; raw: string };

async function send(options: { method?: "GET" | "POST"; url?: string; payload?: string | Record<string, unknown>; headers?: Record<string, string> }): Promise<Reply> {
  const response = await served.app.inject({ method: options.method ?? "POST", url: options.url ?? "/predict", ...(options.payload !== undefined ? { payload: options.payload } : {}), ...(options.headers ? { headers: options.headers } : {}) });
  return { status: response.statusCode, body: response.json(), raw: response.body };
}

function assertShape(reply: Reply, status: number, error: string, field: string | null): void {
  assert.equal(reply.status, status, reply.raw);
  assert.deepEqual(reply.body, { error, field });
  // no server path: neither the model directory nor any other absolute path
  assert.ok(!reply.raw.includes(fixture.modelDir) && !reply.raw.includes("/tmp/"), reply.raw);
}

describe("serve: error bodies", () => {
  it("404 for an unknown route", async () => {
    assertShape(await send({ method: "GET", url: "/nope?x=1" }), 404, "no route GET /nope; the routes are POST /predict, GET /model, GET /health", null);
  });

  it("400 for a body that is not JSON, an empty body, and a body that is not a request", async () => {
    const broken = await send({ payload: "{rows:", headers: { "content-type": "application/json" } });
    assert.equal(broken.status, 400);
    assert.equal(broken.body.field, "(body)");
    assert.match(String(broken.body.error), /^the body is not valid JSON \(/);
    assertShape(broken, 400, String(broken.body.error), "(body)");
    assertShape(await send({ payload: "", headers: { "content-type": "application/json" } }), 400, `the body is empty; send {"rows": [...]}`, "(body)");
    assertShape(await send({ payload: { rows: [{}], extra: 1 } }), 400, `extra: unknown field "extra"; a request is {"rows": [...], "explain"?: true}`, "extra");
  });

  it("415 for a body that is not JSON by content type", async () => {
    assertShape(await send({ payload: "rows", headers: { "content-type": "text/plain" } }), 415, "send the body as JSON (content-type: application/json)", null);
  });

  it("413 for a body over the limit (earlier-fixed case)", async () => {
    assertShape(await send({ payload: { rows: [{ caption: "x".repeat(1024 * 1024) }] } }), 413, "the request body is larger than 1048576 bytes; send fewer rows per request", null);
  });

  it("400 for a path leaving the model directory, a hidden or non-image file, an absent or undecodable image: no server path, nothing about other files", async () => {
    assertShape(await send({ payload: { rows: [{ photo: "../../etc/passwd.png" }] } }), 400, "rows[0].photo: the path leaves the model directory", "rows[0].photo");
    assertShape(await send({ payload: { rows: [{ photo: "/etc/passwd" }] } }), 400, "rows[0].photo: expected an image file (.png, .jpg, .jpeg, .webp, .gif, .tif, .tiff, .avif) relative to the model directory", "rows[0].photo");
    assertShape(await send({ payload: { rows: [{ photo: "config.json" }] } }), 400, "rows[0].photo: expected an image file (.png, .jpg, .jpeg, .webp, .gif, .tif, .tiff, .avif) relative to the model directory", "rows[0].photo");
    assertShape(await send({ payload: { rows: [{ clip: "model.safetensors" }] } }), 400, "rows[0].clip: expected a .wav file (.wav) relative to the model directory", "rows[0].clip");
    assertShape(await send({ payload: { rows: [{ photo: "img/.hidden.png" }] } }), 400, "rows[0].photo: hidden files are not readable; give a path relative to the model directory", "rows[0].photo");
    assertShape(await send({ payload: { rows: [{ photo: "img/none.png" }] } }), 400, "rows[0].photo: no such file in the model directory: img/none.png", "rows[0].photo");
    const broken = await send({ payload: { rows: [{ photo: "img/broken.png" }] } });
    assert.equal(broken.status, 400);
    assert.match(String(broken.body.error), /^rows\[0\]\.photo: cannot decode image img\/broken\.png /);
    assertShape(broken, 400, String(broken.body.error), "rows[0].photo");
  });

  it("422 for a row whose output overflows", async () => {
    assertShape(await send({ payload: { rows: [{ v: [3e38, 3e38, 3e38] }] } }), 422, "rows[0]: the model's output for this row is not a finite number (a value too large for float32 arithmetic overflowed inside the model); check the row's values", "rows[0]");
  });
});
