/**
 * What fusionkit reads of jax-js's jaxprs (its classes are not exported by
 * name): atoms are variables (with an id) or literals (a value, no id), and
 * the walks shared by the ONNX lowering (src/export/lower.ts) and the
 * train steps' read analysis (readLeaves.ts).
 */
export type JaxprAtom = { id: number } | { value: number };
export type JaxprLike<A> = { eqns: { inputs: A[]; outBinders: A[] }[]; outs: A[] };

export const isLiteral = (a: object): boolean => "value" in a && !("id" in a);

/** Variables that reach an output (walking the equations backwards); literals are left out. */
export function liveVars<A extends object>(j: JaxprLike<A>): Set<A> {
  const live = new Set<A>();
  for (const a of j.outs) if (!isLiteral(a)) live.add(a);
  for (let i = j.eqns.length - 1; i >= 0; i--) {
    const e = j.eqns[i]!;
    if (!e.outBinders.some((v) => live.has(v))) continue;
    for (const a of e.inputs) if (!isLiteral(a)) live.add(a);
  }
  return live;
}
