/**
 * Catalogue: rows the server cannot answer truthfully are refused, never
 * answered with a confident guess.
 * - a row key that is not a model input (a typo) is a 400 naming the key and
 *   the fields a row may carry (it used to read as "modality missing": 200 with
 *   uniform probabilities); --ignore-unknown-fields opts out;
 * - a row whose outputs overflow (an embedding value of 3e38, finite in
 *   float32) is a 422 naming the row and its id (it used to be 200 with
 *   "probabilities": {"cold": null, ...}).
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { buildServeApp, type ServeApp } from "../../src/serve/server.ts";
import { servedModelFixture, type ServedFixture } from "../../bench/fixtures/servedModel.ts";

let fixture: ServedFixture;
let served: ServeApp;

before(async () => {
  fixture = await servedModelFixture();
  served = await buildServeApp({ modelDir: fixture.modelDir });
});

after(async () => {
  await served?.app.close();
});

async function post(app: ServeApp["app"], body: unknown): Promise<{ status: number; json: any }> {
  const response = await app.inject({ method: "POST", url: "/predict", payload: body as Record<string, unknown> });
  return { status: response.statusCode, json: response.json() };
}

const accepted = `"v", "age", "city", "caption", "photo", "clip", "id", "label"`;

describe("serve: rows", () => {
  it("a misspelt row key is a 400 naming the key and the expected fields", async () => {
    const { status, json } = await post(served.app, { rows: [{ id: "a", v: [1, 0, 0] }, { id: "b", captoin: "sunny day", v: [1, 0, 0] }] });
    assert.equal(status, 400);
    assert.deepEqual(json, {
      error: `rows[1].captoin: unknown field "captoin"; a row may carry ${accepted}. Fix the name (a misspelt field would read as a missing modality), or start the server with --ignore-unknown-fields`,
      field: "rows[1].captoin",
    });
  });

  it("a row whose keys are all misspelt is refused, not predicted as every modality missing", async () => {
    const { status, json } = await post(served.app, { rows: [{ vec: [1, 0, 0], Age: 30, captions: "sunny" }] });
    assert.equal(status, 400);
    assert.equal(json.field, "rows[0].vec");
  });

  it("--ignore-unknown-fields accepts and ignores keys that are not model inputs", async () => {
    const lenient = await buildServeApp({ modelDir: fixture.modelDir, ignoreUnknownFields: true });
    try {
      const { status, json } = await post(lenient.app, { rows: [{ v: [1, 0, 0], split: "test", note: "x" }] });
      assert.equal(status, 200, JSON.stringify(json));
      assert.deepEqual(json.predictions[0].missing, ["facts", "caption", "photo", "clip"]);
      const model = (await lenient.app.inject({ method: "GET", url: "/model" })).json();
      assert.equal(model.limits.unknownRowFields, "ignored");
    } finally {
      await lenient.app.close();
    }
  });

  it("an embedding value of 3e38 (finite float32) is a 422 naming the row and its id, never null probabilities", async () => {
    const { status, json } = await post(served.app, { rows: [{ id: "fine", v: [1, 0, 0] }, { id: "huge", v: [3e38, 3e38, -3e38] }] });
    assert.equal(status, 422, JSON.stringify(json));
    assert.deepEqual(json, {
      error: `rows[1] (id "huge"): the model's output for this row is not a finite number (a value too large for float32 arithmetic overflowed inside the model); check the row's values`,
      field: "rows[1]",
    });
  });
});
