import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { z } from "zod";
import type { EncodedDims } from "../../src/encoders/types.ts";
import { FusionkitError } from "../../src/errors.ts";
import { parseMethodConfig, resolveMethodConfig } from "../../src/fusion/config.ts";
import { defaultMethodsFor } from "../../src/fusion/registry.ts";
import { checkMethodConfig } from "../../src/train/preflight.ts";

const dims: EncodedDims[] = [
  { name: "image", type: "image", dim: 8, tokens: 4 },
  { name: "caption", type: "text", dim: 8, tokens: 6 },
];
const methods = defaultMethodsFor({ modalities: dims.map((d) => ({ name: d.name, type: d.type, shape: [1] })) });

const fails = (fn: () => unknown, pattern: RegExp) =>
  assert.throws(fn, (e: unknown) => e instanceof FusionkitError && pattern.test(e.message), `expected ${pattern}`);

describe("method configs: one zod schema per method", () => {
  test("every method's defaults are what its schema parses {} to, and resolve unchanged", () => {
    assert.ok(methods.length >= 17);
    for (const m of methods) {
      assert.ok(m.config instanceof z.ZodType, m.name);
      assert.deepEqual(m.config.parse({}), m.defaults, m.name);
      assert.deepEqual(resolveMethodConfig(m, {}, dims), m.defaults, m.name);
      assert.deepEqual(resolveMethodConfig(m, { ...m.defaults }, dims), m.defaults, m.name);
    }
  });

  test("an unknown setting is refused naming the method, the setting and the valid ones", () => {
    for (const m of methods) {
      const settings = Object.keys(m.defaults).join(", ");
      fails(() => parseMethodConfig(m, { colour: 3 }), new RegExp(`method "${m.name}" has no setting "colour"; its settings: ${settings}`));
    }
  });

  test("a wrong value names the field, the method, what it must be and what it got", () => {
    for (const m of methods) {
      for (const [field, value] of Object.entries(m.defaults)) {
        const bad = typeof value === "string" ? 7 : "seven";
        const error = (() => {
          try {
            parseMethodConfig(m, { [field]: bad });
          } catch (e) {
            return e;
          }
          return undefined;
        })();
        assert.ok(error instanceof FusionkitError, `${m.name}.${field} accepted ${JSON.stringify(bad)}`);
        assert.match(error.message, new RegExp(`field "${field}", layer ${m.name.replace(/[:]/g, ".")}: ${field} must be .*, got ${JSON.stringify(bad)}`));
      }
    }
  });

  test("ranges: integers, rates, widths and enums say the valid range", () => {
    const byName = Object.fromEntries(methods.map((m) => [m.name, m]));
    fails(() => parseMethodConfig(byName.progressive!, { rounds: 0 }), /rounds must be an integer >= 1, got 0/);
    fails(() => parseMethodConfig(byName.progressive!, { dim: 2.5 }), /dim must be an integer >= 1, got 2.5/);
    fails(() => parseMethodConfig(byName.early!, { dropout: 1 }), /dropout must be a number in \[0, 1\), got 1/);
    fails(() => parseMethodConfig(byName.early!, { hidden: [] }), /hidden must be a non-empty list of positive integers, got \[\]/);
    fails(() => parseMethodConfig(byName.dense_fusion!, { activation: "swish" }), /activation must be one of relu, gelu, tanh, sigmoid, got "swish"/);
    fails(() => parseMethodConfig(byName.late_stacking!, { l2: -1 }), /l2 must be a number >= 0, got -1/);
    fails(() => parseMethodConfig(byName.late_mean!, { l2: 1 }), /method "late_mean" has no setting "l2"/);
    fails(() => parseMethodConfig(byName.flamingo!, { heads: 16, dim: 8 }), /heads must be an integer in 1\.\.8, got 16/);
  });

  test("the CLI's check (preflight) is the schema's, prefixed with the flag: unknown keys and bad values alike", () => {
    const lmf = methods.find((m) => m.name === "lmf")!;
    fails(() => checkMethodConfig(lmf, { rnak: 8, colour: 1 }), /^--config: method "lmf" has no setting "rnak", "colour"; its settings: dim, rank$/);
    fails(() => checkMethodConfig(lmf, { rank: 0 }), /^--config: field "rank", layer lmf: rank must be an integer >= 1, got 0$/);
    assert.doesNotThrow(() => checkMethodConfig(lmf, { rank: 2 }));
  });
});
