/**
 * The bench's option defaults and checks that live apart from the code they
 * configure (src/bench/options.ts repeats the text encoder kinds so the CLI's
 * registration loads no encoder code): the copies agree, and a bad value is
 * refused naming its flag.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { benchDefaults, checkOptions, textPoolings, withDefaults } from "../../src/bench/options.ts";
import { defaultTextEncoder, textEncoderKinds } from "../../src/encoders/index.ts";
import { FusionkitError } from "../../src/errors.ts";

test("--text-pooling's choices and default are the text encoder's kinds and default", () => {
  assert.deepEqual([...textPoolings], [...textEncoderKinds]);
  assert.equal(benchDefaults.textPooling, defaultTextEncoder);
});

test("a text pooling that is not a kind is refused, naming --text-pooling", () => {
  const options = withDefaults({ textPooling: "bigram" as never });
  assert.throws(() => checkOptions(options), (e: unknown) => e instanceof FusionkitError && /--text-pooling must be one of bag, ordered/.test(e.message));
  checkOptions(withDefaults({ textPooling: "ordered" }));
});
