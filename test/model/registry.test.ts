import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { FusionkitError } from "../../src/errors.ts";
import { defaultMethodsFor, getMethod, listMethods } from "../../src/fusion/registry.ts";

describe("method registry", () => {
  test("an unknown method name fails with a FusionkitError listing every valid name", () => {
    const modalities = ["image", "text"];
    assert.throws(
      () => getMethod("ealry", modalities),
      (e: unknown) => {
        assert.ok(e instanceof FusionkitError);
        for (const m of listMethods()) assert.match(e.message, new RegExp(`\\b${m.name}\\b`));
        assert.match(e.message, /unimodal:image/);
        assert.match(e.message, /unimodal:text/);
        assert.match(e.message, /"ealry"/);
        return true;
      },
    );
  });

  test("a unimodal baseline for a modality the dataset lacks is refused", () => {
    assert.throws(() => getMethod("unimodal:audio", ["image", "text"]), FusionkitError);
    assert.equal(getMethod("unimodal:text", ["image", "text"]).family, "unimodal");
  });

  test("names are unique and every method states a citation and family", () => {
    const names = listMethods().map((m) => m.name);
    assert.equal(new Set(names).size, names.length);
    for (const m of listMethods()) {
      assert.ok(m.citation.length > 5, `${m.name} has no citation`);
      assert.ok(m.family && m.summary, `${m.name} lacks family or summary`);
    }
  });

  test("the default set is every method plus one unimodal baseline per modality", () => {
    const methods = defaultMethodsFor({ modalities: [{ name: "a", type: "vector", shape: [2] }, { name: "b", type: "text", shape: [4], vocabSize: 5 }] });
    assert.equal(methods.length, listMethods().length + 2);
    assert.deepEqual(methods.slice(-2).map((m) => m.name), ["unimodal:a", "unimodal:b"]);
  });
});
