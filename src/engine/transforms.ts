/**
 * jit and autodiff over Tensor code. Both open a scope (see tensor.ts), so the
 * functions they transform are written without any reference counting.
 */
import { jit, valueAndGrad as jaxValueAndGrad, makeJaxpr } from "@jax-js/jax";
import { adopt, inScope, isRaw, isTensor, mapTree, type RawArray, type Tensor, type TensorTree } from "./tensor.ts";

/**
 * Compiles a Tensor function into one jit kernel graph. The result takes raw
 * arrays (it consumes them, jax-js ownership) and returns raw arrays the caller owns.
 * Numbers in `staticArgs` positions are baked into the trace.
 */
export function compile<A extends unknown[]>(
  fn: (...args: any[]) => TensorTree,
): (...args: A) => any {
  return jit((...raws: unknown[]) => inScope(raws, (wrapped: unknown[]) => fn(...wrapped))) as any;
}

/** The jaxpr of a Tensor function applied to example raw inputs (for ONNX lowering). */
export function trace(fn: (...args: any[]) => TensorTree, ...raws: RawArray[]): ReturnType<ReturnType<typeof makeJaxpr>> {
  return makeJaxpr((...rs: unknown[]) => inScope(rs, (wrapped: unknown[]) => fn(...wrapped)))(...raws);
}

/**
 * value, gradient and auxiliary outputs of `f` at `x`, usable inside compile().
 * `f` returns [scalar loss, aux tree]; tensors it closes over are constants.
 */
export function valueAndGrad<X extends TensorTree, Aux extends TensorTree>(
  f: (x: X) => [Tensor, Aux],
  x: X,
): { value: Tensor; grad: X; aux: Aux } {
  const g = jaxValueAndGrad((xr: unknown) => inScope(xr, (xt: X) => f(xt)) as any, { hasAux: true });
  const borrowed = mapTree(x, isTensor, (t) => t.borrow);
  const [[value, aux], grad] = g(borrowed as any) as unknown as [[RawArray, unknown], unknown];
  return {
    value: adopt(value),
    grad: mapTree(grad, isRaw, (r) => adopt(r)) as X,
    aux: mapTree(aux, isRaw, (r) => adopt(r)) as Aux,
  };
}
