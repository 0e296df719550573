/**
 * The Tensor layer's contract with jax-js: scopes handle reference counting,
 * and the workarounds for jax-js 0.1.25 behaviour are pinned here, so an
 * engine upgrade that changes the behaviour shows up as a failing test.
 */
import { before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { jit, numpy as np, valueAndGrad as jaxValueAndGrad } from "@jax-js/jax";
import { startEngine } from "../../src/engine/backend.ts";
import { compile, valueAndGrad } from "../../src/engine/transforms.ts";
import { constant, scoped, takeRows, type Tensor } from "../../src/engine/tensor.ts";
import { randomArray } from "./gradcheck.ts";

before(startEngine);

describe("scopes", () => {
  test("raw jax-js needs .ref for a second use, even inside jit (why Tensor exists)", () => {
    const f = jit((x: np.Array) => x.mul(x).sum());
    assert.throws(() => f(np.array([1, 2, 3])), /freed|\.ref/);
  });
  test("Tensor code uses a value any number of times and gets the right answer", () => {
    const out = scoped(() => {
      const x = constant([1, 2, 3], [3]);
      return x.mul(x).add(x).sum();
    });
    assert.equal(out.data[0], 1 + 4 + 9 + 1 + 2 + 3);
  });
  test("an operation outside any scope is refused with an explanation", () => {
    let leaked: Tensor | undefined;
    scoped(() => {
      leaked = constant([1], [1]);
      return leaked;
    });
    assert.throws(() => leaked!.add(1), /outside a scope/);
  });
});

describe("jax-js workarounds", () => {
  test("matmul with odd widths (zero-padded internally) equals the exact product", () => {
    const a = randomArray(3 * 5, 1);
    const b = randomArray(5 * 7, 2);
    const out = scoped(() => constant(a, [3, 5]).matmul(constant(b, [5, 7])));
    assert.deepEqual(out.shape, [3, 7]);
    for (let i = 0; i < 3; i++) {
      for (let j = 0; j < 7; j++) {
        let s = 0;
        for (let k = 0; k < 5; k++) s += a[i * 5 + k]! * b[k * 7 + j]!;
        assert.ok(Math.abs(out.data[i * 7 + j]! - s) < 1e-5);
      }
    }
  });
  test("raw jax-js gather gradient under jit still fails on a view cotangent (keep the takeRows workaround)", () => {
    const f = jit((table: np.Array, ids: np.Array) =>
      jaxValueAndGrad((t: np.Array) => np.take(t, ids.ref.astype(np.int32), 0).sum())(table)[1],
    );
    assert.throws(() => f(np.zeros([4, 3]), np.array([0, 2, 2])).dataSync(), /scatter input is not imm/);
  });
  test("takeRows gradient under jit counts each row once per lookup", () => {
    const f = compile((table: Tensor, ids: Tensor) => valueAndGrad((t: Tensor) => [takeRows(t, ids).sum(), {}], table).grad);
    const g = Array.from(f(np.zeros([4, 3]), np.array(new Float32Array([0, 2, 2]))).dataSync());
    assert.deepEqual(g, [1, 1, 1, 0, 0, 0, 2, 2, 2, 0, 0, 0]);
  });
});
