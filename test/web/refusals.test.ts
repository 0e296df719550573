/**
 * Models the page cannot take are refused before anything is written, with
 * the modality named and what to do: a pretrained encoder (the page does not
 * run transformers.js) and vectors read from a .npy matrix (a person has no
 * row of it to give).
 */
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import type { ModalitySpec } from "../../src/data/types.ts";
import { FusionkitError } from "../../src/errors.ts";
import { writeWebPage } from "../../src/export/web/build.ts";
import { tempDir } from "../../bench/fixtures/datasetFiles.ts";

function modelWith(spec: ModalitySpec): Parameters<typeof writeWebPage>[0] {
  return { spec: { modalities: [spec] } } as unknown as Parameters<typeof writeWebPage>[0];
}

test("a modality prepared by a pretrained encoder or read from a .npy matrix is refused, naming it; no file is written", async () => {
  const out = join(tempDir("fusionkit-web-refuse-"), "site");
  const encoded: ModalitySpec = { name: "caption", type: "vector", shape: [384], config: { name: "caption", type: "text", field: "caption", encoder: { model: "Xenova/all-MiniLM-L6-v2" } } };
  await assert.rejects(writeWebPage(modelWith(encoded), out), (error: Error) => {
    assert.ok(error instanceof FusionkitError);
    assert.match(error.message, /field "caption": modality "caption" is prepared by the pretrained encoder Xenova\/all-MiniLM-L6-v2, which the page does not run/);
    return true;
  });
  const fromFile: ModalitySpec = { name: "emb", type: "vector", shape: [8], config: { name: "emb", type: "vector", file: "emb.npy" } };
  await assert.rejects(writeWebPage(modelWith(fromFile), out), /modality "emb" was trained from emb\.npy/);
  assert.equal(existsSync(out), false);
});
