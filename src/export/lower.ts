/**
 * Lowering a traced Tensor function (a jax-js jaxpr) to an ONNX graph.
 *
 * The function is traced twice, at two batch sizes (13 and 17, primes that
 * rarely coincide with a model width). Walking both jaxprs side by side tells
 * which dims follow the batch: every dim is solved as d = a * batch + c, so a
 * Reshape to [B * T, D] becomes shape arithmetic on the runtime batch size
 * instead of a constant baked in at trace time, and the exported graph runs at
 * batch 1 or 32 alike. Anything else that differs between the two traces (a
 * literal, a pad width) means the computation depends on the batch size in a
 * way a graph cannot express, and is refused.
 *
 * Parameters enter the trace as inputs and leave as initializers; constants the
 * trace closed over become initializers too. `dot` (jax-js's "sum of products
 * over the last axis") is recognised as the matrix product it comes from and
 * lowered to MatMul. A primitive with no lowering fails with a FusionkitError
 * naming it, before anything is written.
 */
import { numpy as np } from "@jax-js/jax";
import { FusionkitError } from "../errors.ts";
import { withoutMatmulPadding, type Tensor } from "../engine/tensor.ts";
import { trace } from "../engine/transforms.ts";
import { liveVars } from "../engine/jaxpr.ts";
import { encodeModel, GraphBuilder, opsetVersion, type Dim, type DType } from "./onnxGraph.ts";

export type GraphInputSpec = { name: string; /** per-row shape (the batch dim is added in front) */ shape: number[] };
export type GraphParam = { name: string; data: Float32Array; shape: number[] };

export type LowerRequest = {
  graphName: string;
  /** float32 graph inputs, each [batch, ...shape] */
  inputs: GraphInputSpec[];
  /** become initializers */
  params: GraphParam[];
  /** names of the tensors `fn` returns, in order */
  outputs: string[];
  /** the inference function: parameter leaves (in `params` order) and inputs (in `inputs` order) -> outputs */
  fn: (params: Tensor[], inputs: Tensor[]) => Tensor[];
  metadata?: Record<string, string>;
  docString?: string;
};

/**
 * Batch sizes the function is traced at (see the header). A second pair is
 * tried when a model width happens to equal a traced batch size and jax-js
 * simplifies the two traces differently (a reshape that is a no-op at one size only).
 */
export const traceBatchSizes: [number, number][] = [[13, 17], [19, 23]];

const int64Max = Number.MAX_SAFE_INTEGER;
const int64Min = Number.MIN_SAFE_INTEGER;

/** Primitives with a lowering below; listed in the unsupported-primitive error. */
export const supportedPrimitives = [
  "add", "mul", "idiv", "mod", "min", "max", "neg", "reciprocal", "floor", "ceil", "stop_gradient", "cast",
  "sin", "cos", "asin", "atan", "exp", "log", "erf", "erfc", "sqrt", "reduce", "dot", "conv", "compare", "where",
  "concatenate", "split", "gather", "transpose", "broadcast", "reshape", "flip", "shrink", "pad",
  "scatter", "bitcast", "random_bits",
] as const;

/**
 * How the lowering binds each traced input (in trace order, after the constants
 * the trace closed over): a graph input, or an initializer with fixed data.
 */
export type Binding =
  | { kind: "input"; name: string }
  | { kind: "initializer"; name: string; data: Float32Array; shape: number[] };

export type LoweringPlan = {
  bindings: Binding[];
  /** graph output names, in the order the function returns them */
  outputs: string[];
  opset: number;
  /** what the graph is for, used in error messages ("this model cannot be exported") */
  purpose: string;
  /** the graph input whose first dim is the runtime batch (dynamic-batch lowering only) */
  batchInput?: string;
};

// jax-js's jaxpr classes are not exported by name; these are the fields the lowering reads.
type Aval = { shape: number[]; dtype: string };
type Var = { id: number; aval: Aval };
type Lit = { value: number; aval: Aval };
type Atom = Var | Lit;
type Eqn = { primitive: string; inputs: Atom[]; params: Record<string, any>; outBinders: Var[] };
type Jaxpr = { inBinders: Var[]; eqns: Eqn[]; outs: Atom[] };
type Traced = { jaxpr: Jaxpr; consts: { ref: { dataSync(): ArrayLike<number> }; shape: number[]; dtype: string }[]; dispose(): void };

const isLit = (a: Atom): a is Lit => "value" in a && !("id" in a);

/** Lowers `req.fn` to an ONNX ModelProto (binary). Throws before returning anything when a primitive has no lowering. */
export function lowerToOnnx(req: LowerRequest): Uint8Array {
  let lowering: Lowering | undefined;
  for (const [i, batches] of traceBatchSizes.entries()) {
    const [first, second] = batches.map((b) => traceAt(req, b)) as [Traced, Traced];
    lowering = new Lowering(inferencePlan(req), first, second, batches);
    try {
      lowering.run();
      break;
    } catch (error) {
      if (!(error instanceof StructureMismatch) || i === traceBatchSizes.length - 1) throw error;
    } finally {
      // the constants were copied into initializers
      first.dispose();
      second.dispose();
    }
  }
  const graph = lowering!.g;
  graph.prune();
  return encodeModel(graph, {
    graphName: req.graphName,
    ...(req.docString !== undefined ? { docString: req.docString } : {}),
    ...(req.metadata ? { metadata: req.metadata } : {}),
  });
}

function inferencePlan(req: LowerRequest): LoweringPlan {
  return {
    bindings: [
      ...req.params.map((p): Binding => ({ kind: "initializer", name: `param.${p.name}`, data: p.data, shape: p.shape })),
      ...req.inputs.map((i): Binding => ({ kind: "input", name: i.name })),
    ],
    outputs: req.outputs,
    opset: opsetVersion,
    purpose: "this model cannot be exported. Use only inference-time operations in apply (no sampling or sorting)",
    ...(req.inputs[0] ? { batchInput: req.inputs[0].name } : {}),
  };
}

export type FixedInput = { name: string; dtype: DType; shape: number[] };
export type FixedLowerRequest = {
  graphName: string;
  /** every graph input with its exact shape (no dynamic dims) */
  inputs: FixedInput[];
  outputs: string[];
  fn: (inputs: Tensor[]) => Tensor[];
  opset: number;
  purpose: string;
  docString?: string;
};

/**
 * Lowers `req.fn` traced once at fixed shapes: every input is a graph input
 * (nothing is baked in but the constants the trace closed over). Used for train
 * steps, whose batches are padded to one size (src/export/lowerStep.ts).
 */
export function lowerFixedShape(req: FixedLowerRequest): Uint8Array {
  const raws = req.inputs.map((i) => np.zeros(i.shape, { dtype: i.dtype as np.DType }));
  let traced: Traced;
  try {
    const { jaxpr } = withoutMatmulPadding(() => trace((...all: Tensor[]) => req.fn(all), ...(raws as any[]))) as unknown as {
      jaxpr: { jaxpr: Jaxpr & { flatten(): Jaxpr }; consts: Traced["consts"]; dispose(): void };
    };
    traced = { jaxpr: jaxpr.jaxpr.flatten(), consts: jaxpr.consts, dispose: () => jaxpr.dispose() };
  } finally {
    for (const r of raws) r.dispose();
  }
  const plan: LoweringPlan = {
    bindings: req.inputs.map((i): Binding => ({ kind: "input", name: i.name })),
    outputs: req.outputs,
    opset: req.opset,
    purpose: req.purpose,
  };
  const lowering = new Lowering(plan, traced, traced, [0, 0]);
  try {
    lowering.run();
  } finally {
    traced.dispose();
  }
  lowering.g.prune();
  return encodeModel(lowering.g, { graphName: req.graphName, opset: req.opset, ...(req.docString !== undefined ? { docString: req.docString } : {}) });
}

/** Traces `fn` at these inputs' shapes and drops the jaxpr: for what tracing the function does on the side (lowerStep.ts records its random draws). */
export function traceOnly(inputs: Pick<FixedInput, "dtype" | "shape">[], fn: (all: Tensor[]) => Tensor[]): void {
  const raws = inputs.map((i) => np.zeros(i.shape, { dtype: i.dtype as np.DType }));
  try {
    const { jaxpr } = withoutMatmulPadding(() => trace((...all: Tensor[]) => fn(all), ...(raws as any[]))) as unknown as { jaxpr: { dispose(): void } };
    jaxpr.dispose();
  } finally {
    for (const r of raws) r.dispose();
  }
}

function traceAt(req: LowerRequest, batch: number): Traced {
  const raws = [
    ...req.params.map((p) => np.zeros(p.shape)),
    ...req.inputs.map((i) => np.zeros([batch, ...i.shape])),
  ];
  const P = req.params.length;
  try {
    const { jaxpr } = trace((...all: Tensor[]) => req.fn(all.slice(0, P), all.slice(P)), ...(raws as any[])) as unknown as {
      jaxpr: { jaxpr: Jaxpr & { flatten(): Jaxpr }; consts: Traced["consts"]; dispose(): void };
    };
    return { jaxpr: jaxpr.jaxpr.flatten(), consts: jaxpr.consts, dispose: () => jaxpr.dispose() };
  } finally {
    // tracing only reads the example arrays' shapes and leaves them owned by the caller
    for (const r of raws) r.dispose();
  }
}

/** A primitive (or a form of one) the lowering cannot express; `primitive` names it for fallbacks. */
export class UnsupportedPrimitive extends FusionkitError {
  constructor(readonly primitive: string, readonly detail: string, purpose: string) {
    super(
      `primitive "${primitive}"${detail ? ` (${detail})` : ""} has no ONNX lowering, so ${purpose}. ` +
        `Supported primitives: ${supportedPrimitives.join(", ")}`,
      { layer: "ONNX lowering" },
    );
  }
}

let currentPurpose = "this model cannot be exported";

function unsupported(primitive: string, detail = ""): UnsupportedPrimitive {
  return new UnsupportedPrimitive(primitive, detail, currentPurpose);
}

/** The two traces differ in structure (see traceBatchSizes). */
class StructureMismatch extends FusionkitError {}

function batchDependent(what: string): FusionkitError {
  return new FusionkitError(
    `${what} changes with the batch size, so the exported graph could not run at another batch size. ` +
      `Inference code must treat rows independently (no statistics over the batch)`,
    { layer: "ONNX export" },
  );
}

const sameDim = (x: Dim, y: Dim): boolean =>
  typeof x === "number" ? x === y : typeof y !== "number" && x.a === y.a && x.c === y.c;

/** d1 at batch b1 and d2 at batch b2 -> a static dim or a * batch + c. */
function solveDim(d1: number, d2: number, what: string, [b1, b2]: [number, number]): Dim {
  if (d1 === d2) return d1;
  const a = (d2 - d1) / (b2 - b1);
  const c = d1 - a * b1;
  if (!Number.isInteger(a) || !Number.isInteger(c)) throw batchDependent(`${what} (${d1} at batch ${b1}, ${d2} at batch ${b2})`);
  return { a, c };
}

const float = (dtype: string) => dtype === "float32" || dtype === "float16" || dtype === "float64";

class Lowering {
  readonly g = new GraphBuilder();
  private readonly names = new Map<Var, string>();
  private readonly twin = new Map<Var, Var>();
  private readonly producer = new Map<Var, Eqn>();
  /** how many equations and outputs read each var */
  private readonly readers = new Map<Var, number>();
  private batchName?: string;

  constructor(
    private readonly plan: LoweringPlan,
    private readonly first: Traced,
    private readonly second: Traced,
    private readonly batches: [number, number],
  ) {}

  run(): void {
    const j1 = this.first.jaxpr;
    const j2 = this.second.jaxpr;
    this.checkSameStructure(j1, j2);
    j1.inBinders.forEach((v, i) => this.twin.set(v, j2.inBinders[i]!));
    j1.eqns.forEach((e, i) => e.outBinders.forEach((v, k) => this.twin.set(v, j2.eqns[i]!.outBinders[k]!)));

    const live = liveVars(j1);
    for (const a of [...j1.eqns.flatMap((e) => e.inputs), ...j1.outs]) if (!isLit(a)) this.readers.set(a, (this.readers.get(a) ?? 0) + 1);
    const nConsts = this.first.consts.length;
    this.plan.bindings.forEach((b, i) => {
      const v = j1.inBinders[nConsts + i]!;
      if (b.kind === "input") {
        this.names.set(v, b.name);
        this.g.graphInput(b.name, v.aval.dtype as DType, this.symShape(v));
        return;
      }
      // parameters nothing reads (a unimodal baseline's other encoders) are left out of the file
      if (!live.has(v)) return;
      this.g.initializer(b.name, "float32", b.shape, b.data);
      this.names.set(v, b.name);
    });
    this.first.consts.forEach((c, i) => {
      if (live.has(j1.inBinders[i]!)) this.names.set(j1.inBinders[i]!, this.lowerConst(j1.inBinders[i]!, c));
    });

    currentPurpose = this.plan.purpose;
    if ((globalThis as any).__dumpEqns) for (const e of j1.eqns) console.log(`${e.outBinders.map((v) => `v${v.id}[${v.aval.shape}]`).join(",")} = ${e.primitive}(${e.inputs.map((a) => (isLit(a) ? a.value : `v${a.id}`)).join(", ")}) ${JSON.stringify(e.params).slice(0, 80)}`);
    j1.eqns.forEach((e, i) => {
      if (!e.outBinders.some((v) => live.has(v))) return;
      this.lowerEqn(e, j2.eqns[i]!);
      for (const v of e.outBinders) this.producer.set(v, e);
    });

    // An output a node computes takes that node's output name (an Identity would copy it: for the
    // train step's state, a pass over every parameter); graph inputs, constants and values that
    // are already another output go through an Identity.
    const computed = new Set(this.g.nodes.flatMap((n) => n.output as string[]));
    const claimed = new Set<string>();
    j1.outs.forEach((atom, i) => {
      const name = this.plan.outputs[i] ?? `output_${i}`;
      const source = this.name(atom);
      if (computed.has(source) && !claimed.has(source)) {
        this.g.rename(source, name);
        claimed.add(source);
      } else this.g.node("Identity", [source], {}, [name]);
      const dims = isLit(atom) ? [] : this.symShape(atom);
      this.g.graphOutput(name, atom.aval.dtype as DType, dims);
    });
  }

  /** The equation that computed `atom`, when it is a lowered intermediate with primitive `primitive`. */
  private producedBy(atom: Atom, primitive: string): Eqn | undefined {
    if (isLit(atom)) return undefined;
    const e = this.producer.get(atom);
    return e?.primitive === primitive ? e : undefined;
  }

  private checkSameStructure(j1: Jaxpr, j2: Jaxpr): void {
    const mismatch = (where: string) =>
      new StructureMismatch(
        `the traced computation differs between batch sizes ${this.batches.join(" and ")} (${where}); ` +
          `a model whose operations depend on the batch size cannot be exported with a dynamic batch`,
        { layer: "ONNX export" },
      );
    if (j1.eqns.length !== j2.eqns.length) throw mismatch(`${j1.eqns.length} vs ${j2.eqns.length} operations`);
    if (j1.inBinders.length !== j2.inBinders.length || j1.outs.length !== j2.outs.length) throw mismatch("inputs or outputs");
    j1.eqns.forEach((e, i) => {
      const e2 = j2.eqns[i]!;
      if (e.primitive !== e2.primitive || e.inputs.length !== e2.inputs.length) throw mismatch(`operation ${i}: ${e.primitive} vs ${e2.primitive}`);
      e.inputs.forEach((a, k) => {
        const b = e2.inputs[k]!;
        if (isLit(a) !== isLit(b)) throw mismatch(`operation ${i} (${e.primitive})`);
        if (isLit(a) && isLit(b) && a.value !== b.value && !(Number.isNaN(a.value) && Number.isNaN(b.value))) {
          throw batchDependent(`the constant ${a.value} in operation ${i} (${e.primitive})`);
        }
      });
    });
  }

  private symShape(v: Var): Dim[] {
    const t = this.twin.get(v);
    if (!t) return v.aval.shape;
    return v.aval.shape.map((d, i) => solveDim(d, t.aval.shape[i]!, `a dimension of an intermediate value`, this.batches));
  }

  private name(atom: Atom, dtype?: string): string {
    if (isLit(atom)) return this.g.constant((dtype ?? atom.aval.dtype) as DType, [], [atom.value]);
    const n = this.names.get(atom);
    if (n === undefined) throw new Error(`ONNX lowering: value ${atom.id} used before it was defined`);
    if (dtype && dtype !== atom.aval.dtype) return this.g.op("Cast", [n], { to: onnxType(dtype) });
    return n;
  }

  private bind(v: Var, name: string): void {
    this.names.set(v, name);
  }

  /** The runtime batch size as an int64 [1] tensor. */
  private batch(): string {
    if (!this.batchName) {
      const first = this.plan.batchInput;
      if (!first) throw new Error("ONNX lowering: a dynamic batch needs at least one graph input");
      this.batchName = this.g.op("Shape", [first], { start: 0, end: 1 });
    }
    return this.batchName;
  }

  private dimTensor(d: Dim): string {
    if (typeof d === "number") return this.g.int64s([d]);
    let t = this.batch();
    if (d.a !== 1) t = this.g.op("Mul", [t, this.g.int64s([d.a])]);
    if (d.c !== 0) t = this.g.op("Add", [t, this.g.int64s([d.c])]);
    return t;
  }

  /** A 1-D int64 shape tensor; with `minusOne`, a single dynamic dim becomes -1 (Reshape infers it). */
  private shapeTensor(dims: Dim[], minusOne = false): string {
    const dynamic = dims.filter((d) => typeof d !== "number").length;
    if (dynamic === 0) return this.g.int64s(dims as number[]);
    if (dynamic === 1 && minusOne && !dims.includes(0)) return this.g.int64s(dims.map((d) => (typeof d === "number" ? d : -1)));
    const parts: string[] = [];
    let run: number[] = [];
    for (const d of dims) {
      if (typeof d === "number") run.push(d);
      else {
        if (run.length) parts.push(this.g.int64s(run));
        run = [];
        parts.push(this.dimTensor(d));
      }
    }
    if (run.length) parts.push(this.g.int64s(run));
    return parts.length === 1 ? parts[0]! : this.g.op("Concat", parts, { axis: 0 });
  }

  private lowerConst(v: Var, c: Traced["consts"][number]): string {
    const dtype = v.aval.dtype as DType;
    const data = c.ref.dataSync();
    const dims = this.symShape(v);
    const shape = v.aval.shape;
    if (dims.every((d) => typeof d === "number")) return this.g.constant(dtype, shape, data);
    // A constant shaped by the batch (zeros([B, d]) in model code) is the same in every row: keep one row and Expand.
    const dynamicAxes = dims.flatMap((d, i) => (typeof d === "number" ? [] : [i]));
    const strides = shape.map((_, i) => shape.slice(i + 1).reduce((a, b) => a * b, 1));
    const reducedShape = shape.map((s, i) => (dynamicAxes.includes(i) ? 1 : s));
    const reduced: number[] = [];
    for (let flat = 0; flat < data.length; flat++) {
      let base = 0;
      let onFirstRow = true;
      shape.forEach((_, i) => {
        const coord = Math.floor(flat / strides[i]!) % shape[i]!;
        if (dynamicAxes.includes(i)) {
          if (coord !== 0) onFirstRow = false;
        } else base += coord * strides[i]!;
      });
      if (data[flat] !== data[base]) throw batchDependent("a constant that varies along the batch axis");
      if (onFirstRow) reduced.push(data[flat]!);
    }
    const small = this.g.constant(dtype, reducedShape, reduced);
    return this.g.op("Expand", [small, this.shapeTensor(dims)]);
  }

  private lowerEqn(e: Eqn, e2: Eqn): void {
    const [x, y] = e.inputs as [Atom, Atom];
    const out = e.outBinders[0]!;
    const outType = out?.aval.dtype;
    const unary = (op: string) => this.bind(out, this.g.op(op, [this.name(x)]));
    const binary = (op: string, attrs = {}) => this.bind(out, this.g.op(op, [this.name(x, outType), this.name(y, outType)], attrs));
    switch (e.primitive) {
      case "add": {
        // jax-js has no subtraction: x - y is add(x, neg(y)). One Sub instead of a Neg pass and an Add
        // (the Neg is pruned when nothing else reads it).
        if (float(outType!)) {
          const [a, b] = this.producedBy(y, "neg") ? [x, y] : this.producedBy(x, "neg") ? [y, x] : [];
          if (a && b) return this.bind(out, this.g.op("Sub", [this.name(a, outType), this.name(this.producedBy(b, "neg")!.inputs[0]!, outType)]));
        }
        return binary("Add");
      }
      case "mul": {
        // likewise x / y is mul(x, reciprocal(y)): one Div
        if (float(outType!)) {
          const [a, b] = this.producedBy(y, "reciprocal") ? [x, y] : this.producedBy(x, "reciprocal") ? [y, x] : [];
          if (a && b) return this.bind(out, this.g.op("Div", [this.name(a, outType), this.name(this.producedBy(b, "reciprocal")!.inputs[0]!, outType)]));
        }
        return binary("Mul");
      }
      case "min":
        return binary("Min");
      case "max":
        return binary("Max");
      case "idiv":
        if (float(outType!)) throw unsupported("idiv", "on floats");
        return binary("Div");
      case "mod":
        // jax-js's mod takes the sign of the dividend (C fmod), which is ONNX Mod with fmod=1.
        return binary("Mod", { fmod: 1 });
      case "neg":
        return unary("Neg");
      case "reciprocal":
        return unary("Reciprocal");
      // ONNX Floor/Ceil are float-only; on integers they are the identity anyway
      // identities need no node: the value keeps its name
      case "floor":
        return float(outType!) ? unary("Floor") : this.bind(out, this.name(x));
      case "ceil":
        return float(outType!) ? unary("Ceil") : this.bind(out, this.name(x));
      case "stop_gradient":
        return this.bind(out, this.name(x));
      case "sin":
        return unary("Sin");
      case "cos":
        return unary("Cos");
      case "asin":
        return unary("Asin");
      case "atan":
        return unary("Atan");
      case "exp":
        return unary("Exp");
      case "log":
        return unary("Log");
      case "sqrt":
        return unary("Sqrt");
      case "erf":
        return unary("Erf");
      case "erfc":
        return this.bind(out, this.g.op("Sub", [this.g.constant(outType as DType, [], [1]), this.g.op("Erf", [this.name(x)])]));
      case "cast":
        return this.bind(out, this.g.op("Cast", [this.name(x)], { to: onnxType(e.params.dtype) }));
      case "reduce":
        return this.lowerReduce(e);
      case "dot":
        return this.lowerDot(e);
      case "conv":
        return this.lowerConv(e);
      case "compare":
        return this.lowerCompare(e);
      case "where": {
        const cond = x.aval.dtype === "bool" ? this.name(x) : this.name(x, "bool");
        return this.bind(out, this.g.op("Where", [cond, this.name(y, outType), this.name(e.inputs[2]!, outType)]));
      }
      case "concatenate":
        return this.bind(out, this.g.op("Concat", e.inputs.map((a) => this.name(a, outType)), { axis: e.params.axis }));
      case "split": {
        const axis = e.params.axis as number;
        (e.params.sizes as number[]).forEach((s, i) => {
          if (s !== e2.params.sizes[i]) throw batchDependent(`a split along axis ${axis}`);
        });
        const names = this.g.node("Split", [this.name(x), this.g.int64s(e.params.sizes)], { axis }, e.outBinders.length);
        e.outBinders.forEach((v, i) => this.bind(v, names[i]!));
        return;
      }
      case "gather":
        return this.lowerGather(e);
      case "scatter":
        return this.lowerScatter(e);
      case "random_bits":
        return this.lowerRandomBits(e);
      case "bitcast":
        return this.lowerBitcast(e);
      case "transpose": {
        const fused = this.transposedDot(x, e.params.perm as number[], out);
        if (fused) return this.bind(out, fused);
        return this.bind(out, this.g.op("Transpose", [this.name(x)], { perm: e.params.perm }));
      }
      case "reshape":
        return this.bind(out, this.g.op("Reshape", [this.name(x), this.shapeTensor(this.symShape(out), true)]));
      case "broadcast":
        return this.lowerBroadcast(e);
      case "flip": {
        const axes = e.params.axis as number[];
        if (axes.length === 0) return this.bind(out, this.name(x));
        const ones = axes.map(() => -1);
        return this.bind(
          out,
          this.g.op("Slice", [this.name(x), this.g.int64s(ones), this.g.int64s(axes.map(() => int64Min)), this.g.int64s(axes), this.g.int64s(ones)]),
        );
      }
      case "shrink":
        return this.lowerShrink(e, e2);
      case "pad": {
        const width = e.params.width as [number, number][];
        width.forEach(([lo, hi], i) => {
          const [lo2, hi2] = e2.params.width[i] as [number, number];
          if (lo !== lo2 || hi !== hi2) throw batchDependent(`padding on axis ${i}`);
        });
        if (width.every(([lo, hi]) => lo === 0 && hi === 0)) return this.bind(out, this.name(x));
        const pads = [...width.map((w) => w[0]), ...width.map((w) => w[1])];
        return this.bind(out, this.g.op("Pad", [this.name(x), this.g.int64s(pads), this.g.constant(x.aval.dtype as DType, [], [0])], { mode: "constant" }));
      }
      default:
        throw unsupported(e.primitive);
    }
  }

  private lowerReduce(e: Eqn): void {
    const x = e.inputs[0]!;
    const out = e.outBinders[0]!;
    const axes = e.params.axis as number[];
    if (axes.length === 0) return this.bind(out, this.name(x));
    const op = String(e.params.op);
    // ONNX Runtime has no ReduceMax/Min over bool: go through int32.
    const viaInt = x.aval.dtype === "bool";
    const input = viaInt ? this.name(x, "int32") : this.name(x);
    let result: string;
    const squared = op === "Add" ? this.producedBy(x, "mul") : undefined;
    switch (op) {
      case "Add":
        // a sum of squares (gradient clipping's global norm): one pass, the squares never materialised
        if (squared && !viaInt && squared.inputs[0] === squared.inputs[1] && !isLit(squared.inputs[0]!)) {
          result = this.reduceOp("ReduceSumSquare", this.name(squared.inputs[0]!, x.aval.dtype), axes);
          break;
        }
        result = this.g.op("ReduceSum", [input, this.g.int64s(axes)], { keepdims: 0 });
        break;
      case "Mul":
        result = this.reduceOp("ReduceProd", input, axes);
        break;
      case "Max":
        result = this.reduceOp("ReduceMax", input, axes);
        break;
      case "Min":
        result = this.reduceOp("ReduceMin", input, axes);
        break;
      default:
        throw unsupported("reduce", `op ${op}`);
    }
    this.bind(out, viaInt ? this.g.op("Cast", [result], { to: onnxType("bool") }) : result);
  }

  /** ReduceMax/Min/Prod/SumSquare take `axes` as an attribute up to opset 17 and as an input from 18. */
  private reduceOp(op: string, input: string, axes: number[]): string {
    if (this.plan.opset >= 18) return this.g.op(op, [input, this.g.int64s(axes)], { keepdims: 0 });
    return this.g.op(op, [input], { axes, keepdims: 0 });
  }

  /**
   * jax-js writes A @ B as dot(A[..., M, 1, K], B^T[..., 1, N, K]) (a sum over the
   * last axis of a broadcast product). That pattern becomes one MatMul of
   * A[..., M, K] by B[..., K, N]; the singleton axes are dropped by reading past
   * the reshape that inserted them, and the transpose it leaves on B cancels with
   * the one jax-js applied (ONNX Runtime folds Transpose pairs and constant weights).
   * Any other dot is a batch of inner products: MatMul of [..., 1, K] by [..., K, 1].
   */
  private lowerDot(e: Eqn): void {
    const [x, y] = e.inputs as [Atom, Atom];
    const out = e.outBinders[0]!;
    const outType = out.aval.dtype;
    const xs = x.aval.shape;
    const ys = y.aval.shape;
    const n = xs.length;
    if (!isLit(x) && !isLit(y) && n >= 3 && ys.length === n && xs[n - 2] === 1 && ys[n - 3] === 1) {
      const a = this.withoutSingleton(x, n - 2, outType);
      const bT = this.withoutSingleton(y, n - 3, outType);
      let b = this.g.op("Transpose", [bT.name], { perm: [...Array(n - 3).keys(), n - 2, n - 3] });
      // Tensor.matmul zero-pads the contracted width to a multiple of 4 (a jax-js speed trick). The padded
      // columns of A are zeros, so the product only needs the first K rows of B: drop the activation's Pad
      // and slice B instead (on a weight, ONNX Runtime folds that Slice away at load time).
      const unpadded = a.source ? this.trailingZeroPadSource(a.source) : undefined;
      if (unpadded) {
        const K = unpadded.aval.shape[unpadded.aval.shape.length - 1]!;
        b = this.g.op("Slice", [b, this.g.int64s([0]), this.g.int64s([K]), this.g.int64s([-2])]);
        return this.bind(out, this.g.op("MatMul", [this.name(unpadded), b]));
      }
      return this.bind(out, this.g.op("MatMul", [a.name, b]));
    }
    const viaMatMul = this.broadcastDotAsMatMul(e);
    if (viaMatMul) return this.bind(out, viaMatMul);
    const a = this.g.op("Unsqueeze", [this.name(x, outType), this.g.int64s([-2])]);
    const b = this.g.op("Unsqueeze", [this.name(y, outType), this.g.int64s([-1])]);
    const product = this.g.op("MatMul", [a, b]);
    this.bind(out, this.g.op("Squeeze", [product, this.g.int64s([-2, -1])]));
  }

  /**
   * The backward pass writes dW = X^T dY as dot(transpose(broadcast(dY)), X^T) over
   * broadcast operands: a batch of tiny inner products if lowered literally (and
   * the broadcasts materialised). Reading through transposes and broadcasts tells,
   * for every output axis, which operand really varies along it: both (a batch
   * axis), only x (a row axis), only y (a column axis). That is one MatMul of
   * x'[batch, rows, K] by y'[batch, K, cols] on the un-broadcast sources.
   * Static shapes only (train steps); undefined when the pattern does not apply.
   * `after`: the perm of a transpose that is the product's only reader (the
   * backward pass transposes dW^T to dW), to compute the product in that layout.
   */
  private broadcastDotAsMatMul(e: Eqn, after?: number[]): string | undefined {
    const [x, y] = e.inputs as [Atom, Atom];
    const out = e.outBinders[0]!;
    if (isLit(x) || isLit(y) || x.aval.dtype !== out.aval.dtype || y.aval.dtype !== out.aval.dtype) return undefined;
    const n = x.aval.shape.length;
    if (n < 2 || y.aval.shape.length !== n) return undefined;
    const static_ = (v: Var) => this.symShape(v).every((d) => typeof d === "number");
    if (!static_(x) || !static_(y) || !static_(out)) return undefined;
    const rx = this.resolveBroadcasts(x);
    const ry = this.resolveBroadcasts(y);
    const K = n - 1;
    if (rx.map[K] === null || ry.map[K] === null) return undefined;
    const batch: number[] = [];
    const rows: number[] = [];
    const cols: number[] = [];
    for (let i = 0; i < K; i++) {
      const inX = rx.map[i] !== null;
      const inY = ry.map[i] !== null;
      if (inX && inY) batch.push(i);
      else if (inX) rows.push(i);
      else if (inY) cols.push(i);
      else return undefined;
    }
    // worth it only when something was broadcast (else the generic lowering is already a plain product)
    if (rows.length === 0 && cols.length === 0) return undefined;
    const outShape = out.aval.shape;
    const size = (axes: number[]) => axes.reduce((p, a) => p * outShape[a]!, 1);
    const batchDims = batch.map((i) => outShape[i]!);
    // Axis i of the result is axis wanted[i] of the dot's output. x y gives [batch, rows, cols];
    // (y^T x^T) gives [batch, cols, rows]: take the one already in the wanted order, so no
    // Transpose of the product is left (the operands' transposes fold into ONNX Runtime's FusedMatMul).
    const wanted = after ?? [...Array(K).keys()];
    const rowsFirst = [...batch, ...rows, ...cols];
    const colsFirst = [...batch, ...cols, ...rows];
    const identity = (order: number[]) => wanted.every((d, i) => order[i] === d);
    const swap = !identity(rowsFirst) && identity(colsFirst);
    if (after && !identity(rowsFirst) && !swap) return undefined;
    const xs = this.gatherAxes(rx, swap ? [...batch, K, ...rows] : [...batch, ...rows, K], swap ? [...batchDims, x.aval.shape[K]!, size(rows)] : [...batchDims, size(rows), x.aval.shape[K]!]);
    const ys = this.gatherAxes(ry, swap ? [...batch, ...cols, K] : [...batch, K, ...cols], swap ? [...batchDims, size(cols), y.aval.shape[K]!] : [...batchDims, y.aval.shape[K]!, size(cols)]);
    let result = this.g.op("MatMul", swap ? [ys, xs] : [xs, ys]);
    const order = swap ? colsFirst : rowsFirst;
    const unflat = order.map((i) => outShape[i]!);
    if (rows.length !== 1 || cols.length !== 1) result = this.g.op("Reshape", [result, this.g.int64s(unflat)]);
    const perm = wanted.map((d) => order.indexOf(d));
    if (!perm.every((p, i) => p === i)) result = this.g.op("Transpose", [result], { perm });
    return result;
  }

  /**
   * transpose(x, perm) where x is a dot's product, maybe behind reshapes that only add or drop
   * size-1 axes, and nothing else reads it: the backward pass's dW = transpose(dW^T). The
   * product computed directly in the transposed layout (broadcastDotAsMatMul's `after`),
   * instead of a Transpose pass over every weight gradient.
   */
  private transposedDot(x: Atom, perm: number[], out: Var): string | undefined {
    let at = x;
    let dot: Eqn | undefined;
    while (!dot) {
      if (isLit(at) || this.readers.get(at) !== 1) return undefined;
      const made = this.producer.get(at);
      if (made?.primitive === "dot") dot = made;
      else if (made?.primitive === "reshape") {
        const source = made.inputs[0]!;
        const solid = (shape: number[]) => shape.filter((d) => d !== 1);
        if (isLit(source) || !sameShape(solid(source.aval.shape), solid(at.aval.shape))) return undefined;
        at = source;
      } else return undefined;
    }
    const product = dot.outBinders[0]!.aval.shape;
    if (product.includes(1) || isLit(x)) return undefined;
    // the product's axes in x's non-singleton axes' order, then as the transpose orders them
    const solidAxes = [...x.aval.shape.keys()].filter((i) => x.aval.shape[i] !== 1);
    const wanted = perm.filter((p) => x.aval.shape[p] !== 1).map((p) => solidAxes.indexOf(p));
    const result = this.broadcastDotAsMatMul(dot, wanted);
    if (!result) return undefined;
    const shape = wanted.map((d) => product[d]!);
    return sameShape(shape, out.aval.shape) ? result : this.g.op("Reshape", [result, this.g.int64s(out.aval.shape)]);
  }

  /**
   * `v` as a view of an un-broadcast source: map[i] lists the source axes behind
   * axis i of v (several when a reshape merged them), or is null where v is
   * constant along it (a broadcast, or a size-1 axis). Reads through transposes,
   * broadcasts and reshapes that only merge or keep axes.
   */
  private resolveBroadcasts(v: Var): { name: string; shape: number[]; map: (number[] | null)[] } {
    const made = this.producer.get(v);
    const source = made?.inputs[0];
    if (made && source && !isLit(source) && source.aval.dtype === v.aval.dtype) {
      if (made.primitive === "transpose") {
        const r = this.resolveBroadcasts(source);
        return { ...r, map: (made.params.perm as number[]).map((p) => r.map[p]!) };
      }
      if (made.primitive === "broadcast") {
        const r = this.resolveBroadcasts(source);
        const inserted = new Set(made.params.axis as number[]);
        const map: (number[] | null)[] = [];
        let j = 0;
        v.aval.shape.forEach((d, i) => {
          if (inserted.has(i)) return map.push(null);
          const from = source.aval.shape[j]!;
          map.push(from === 1 && d !== 1 ? null : r.map[j]!);
          j++;
        });
        return { ...r, map };
      }
      if (made.primitive === "reshape") {
        const groups = mergeGroups(source.aval.shape, v.aval.shape);
        if (groups) {
          const r = this.resolveBroadcasts(source);
          const map = groups.map((g) => {
            const parts = g.filter((a) => source.aval.shape[a] !== 1).map((a) => r.map[a]!);
            if (parts.length === 0 || parts.every((p) => p === null)) return null;
            if (parts.some((p) => p === null)) return undefined; // a broadcast axis merged with a real one
            return parts.flatMap((p) => p!);
          });
          if (!map.includes(undefined)) return { ...r, map: map as (number[] | null)[] };
        }
      }
    }
    return { name: this.name(v), shape: v.aval.shape, map: v.aval.shape.map((d, i) => (d === 1 ? null : [i])) };
  }

  /** The source's axes behind `axes` of the view, in that order, reshaped to `shape` (a null axis contributes size 1). */
  private gatherAxes(r: { name: string; shape: number[]; map: (number[] | null)[] }, axes: number[], shape: number[]): string {
    const picked = axes.flatMap((a) => r.map[a] ?? []);
    const rest = [...r.shape.keys()].filter((i) => !picked.includes(i));
    const perm = [...picked, ...rest];
    let t = r.name;
    let current = perm.map((i) => r.shape[i]!);
    if (!perm.every((p, i) => p === i)) {
      // Source axes that stay adjacent and in order move as one block: merge them first (a free
      // reshape), so the Transpose is over fewer axes. dW = X^T dY with X [B, T, D] then moves
      // [B*T, D] -> [D, B*T], which ONNX Runtime folds into its MatMul (transA), instead of a
      // strided copy of the activations.
      const blocks: number[][] = [];
      for (const p of perm) {
        const last = blocks[blocks.length - 1];
        if (last && last[last.length - 1]! + 1 === p) last.push(p);
        else blocks.push([p]);
      }
      if (blocks.length < perm.length) {
        const bySource = [...blocks].sort((a, b) => a[0]! - b[0]!);
        t = this.g.op("Reshape", [t, this.g.int64s(bySource.map((b) => b.reduce((n, a) => n * r.shape[a]!, 1)))]);
        t = this.g.op("Transpose", [t], { perm: blocks.map((b) => bySource.indexOf(b)) });
        current = blocks.map((b) => b.reduce((n, a) => n * r.shape[a]!, 1));
      } else t = this.g.op("Transpose", [t], { perm });
    }
    if (!sameShape(current, shape)) t = this.g.op("Reshape", [t, this.g.int64s(shape)]);
    return t;
  }

  /**
   * `v` with its singleton axis removed: the reshape's input when a reshape only inserted it
   * (`source` is then that var), else a Squeeze.
   */
  private withoutSingleton(v: Var, axis: number, dtype: string): { name: string; source?: Var } {
    const made = this.producer.get(v);
    if (made?.primitive === "reshape" && dtype === v.aval.dtype) {
      const source = made.inputs[0]!;
      const wanted = this.symShape(v).filter((_, i) => i !== axis);
      const have = isLit(source) ? [] : this.symShape(source);
      if (!isLit(source) && have.length === wanted.length && have.every((d, i) => sameDim(d, wanted[i]!))) return { name: this.name(source), source };
    }
    return { name: this.g.op("Squeeze", [this.name(v, dtype), this.g.int64s([axis])]) };
  }

  /** The unpadded input when `v` = pad(x) with zeros appended on the last axis only. */
  private trailingZeroPadSource(v: Var): Var | undefined {
    const made = this.producer.get(v);
    if (made?.primitive !== "pad") return undefined;
    const source = made.inputs[0]!;
    const width = made.params.width as [number, number][];
    const last = width.length - 1;
    const onlyTrailing = width.every(([lo, hi], i) => lo === 0 && (i === last ? hi > 0 : hi === 0));
    return onlyTrailing && !isLit(source) && source.aval.dtype === v.aval.dtype ? source : undefined;
  }

  private lowerConv(e: Eqn): void {
    const [x, w] = e.inputs as [Atom, Atom];
    const p = e.params as { vmapDims: number; strides: number[]; padding: [number, number][]; lhsDilation: number[]; rhsDilation: number[] };
    if (p.vmapDims !== 0) throw unsupported("conv", "with batched kernels (vmapDims > 0)");
    if (p.lhsDilation.some((d) => d !== 1)) throw unsupported("conv", "with input dilation (a transposed convolution)");
    if (p.padding.some(([lo, hi]) => lo < 0 || hi < 0)) throw unsupported("conv", "with negative padding");
    const outType = e.outBinders[0]!.aval.dtype;
    this.bind(
      e.outBinders[0]!,
      this.g.op("Conv", [this.name(x, outType), this.name(w, outType)], {
        strides: p.strides,
        pads: [...p.padding.map((q) => q[0]), ...p.padding.map((q) => q[1])],
        dilations: p.rhsDilation,
      }),
    );
  }

  private lowerCompare(e: Eqn): void {
    const [x, y] = e.inputs as [Atom, Atom];
    const out = e.outBinders[0]!;
    // Operands are compared in the dtype of the non-literal side (floats win when both are arrays).
    let common = isLit(x) ? y.aval.dtype : isLit(y) ? x.aval.dtype : x.aval.dtype === y.aval.dtype ? x.aval.dtype : float(x.aval.dtype) ? x.aval.dtype : y.aval.dtype;
    const op = String(e.params.op);
    if (common === "bool" && op !== "equal" && op !== "not_equal") common = "int32";
    const a = this.name(x, common);
    const b = this.name(y, common);
    switch (op) {
      case "less":
        return this.bind(out, this.g.op("Less", [a, b]));
      case "less_equal":
        return this.bind(out, this.g.op("LessOrEqual", [a, b]));
      case "equal":
        return this.bind(out, this.g.op("Equal", [a, b]));
      case "not_equal":
        return this.bind(out, this.g.op("Not", [this.g.op("Equal", [a, b])]));
      default:
        throw unsupported("compare", `op ${op}`);
    }
  }

  /**
   * gather(x, idx_1..idx_k; axis, outDim): the k indexed axes are replaced by the
   * broadcast index shape, inserted at outDim. One index: ONNX Gather (+ a
   * Transpose when outDim differs from the axis). Several: move the indexed axes
   * to the front, stack the indices, GatherND, move the index dims to outDim.
   */
  private lowerGather(e: Eqn): void {
    const [x, ...indices] = e.inputs as Atom[];
    const out = e.outBinders[0]!;
    const axes = e.params.axis as number[];
    const outDim = e.params.outDim as number;
    const xRank = x!.aval.shape.length;
    const outRank = out.aval.shape.length;
    let gathered: string;
    let indexRank: number;
    let indexStart: number;
    if (indices.length === 1) {
      const idx = indices[0]!;
      indexRank = idx.aval.shape.length;
      gathered = this.g.op("Gather", [this.name(x!), this.name(idx, idx.aval.dtype === "uint32" ? "int32" : undefined)], { axis: axes[0]! });
      indexStart = axes[0]!;
    } else {
      const rest = [...Array(xRank).keys()].filter((i) => !axes.includes(i));
      const front = this.g.op("Transpose", [this.name(x!)], { perm: [...axes, ...rest] });
      indexRank = Math.max(...indices.map((i) => i.aval.shape.length));
      const broadcastShape = out.aval.shape.slice(outDim, outDim + indexRank);
      const broadcastDims = this.symShape(out).slice(outDim, outDim + indexRank);
      const stacked = indices.map((idx) => {
        let t = this.name(idx, "int64");
        if (!sameShape(idx.aval.shape, broadcastShape)) t = this.g.op("Expand", [t, this.shapeTensor(broadcastDims)]);
        return this.g.op("Unsqueeze", [t, this.g.int64s([-1])]);
      });
      gathered = this.g.op("GatherND", [front, this.g.op("Concat", stacked, { axis: -1 })]);
      indexStart = 0;
    }
    if (indexStart !== outDim) {
      // Result dims now: [others before indexStart, index dims, others after]; move the index block to outDim.
      const others = [...Array(outRank).keys()].filter((i) => i < indexStart || i >= indexStart + indexRank);
      const indexDims = [...Array(indexRank).keys()].map((i) => indexStart + i);
      const perm = [...others.slice(0, outDim), ...indexDims, ...others.slice(outDim)];
      gathered = this.g.op("Transpose", [gathered], { perm });
    }
    this.bind(out, gathered);
  }

  /**
   * scatter(updates, idx_1..idx_k; shape, axis, outDim): the transpose of gather
   * (a gradient of an embedding or row lookup): zeros of `shape` with each
   * update row added at its index, repeated indices summing. Lowered as
   * ScatterND with reduction "add" on a layout whose indexed axes come first,
   * then transposed back.
   */
  private lowerScatter(e: Eqn): void {
    const [updates, ...indices] = e.inputs as Atom[];
    const out = e.outBinders[0]!;
    const shape = e.params.shape as number[];
    const axes = e.params.axis as number[];
    const outDim = e.params.outDim as number;
    const rank = shape.length;
    const dtype = out.aval.dtype;
    if (typeof shape.find((d) => typeof d !== "number") !== "undefined") throw unsupported("scatter", "with a dynamic shape");
    const rest = [...Array(rank).keys()].filter((i) => !axes.includes(i));
    const frontShape = [...axes.map((a) => shape[a]!), ...rest.map((a) => shape[a]!)];
    const indexRank = Math.max(...indices.map((i) => i.aval.shape.length));
    const updRank = updates!.aval.shape.length;
    // updates dims: [rest before outDim, index dims, rest after]; ScatterND wants [index dims, rest]
    const updIndexDims = [...Array(indexRank).keys()].map((i) => outDim + i);
    const updOthers = [...Array(updRank).keys()].filter((i) => !updIndexDims.includes(i));
    const updPerm = [...updIndexDims, ...updOthers];
    const updName = updPerm.every((d, i) => d === i) ? this.name(updates!) : this.g.op("Transpose", [this.name(updates!)], { perm: updPerm });
    const indexShape = updates!.aval.shape.slice(outDim, outDim + indexRank);
    const stacked = indices.map((idx) => {
      let t = this.name(idx, "int64");
      if (!sameShape(idx.aval.shape, indexShape)) t = this.g.op("Expand", [t, this.g.int64s(indexShape)]);
      return this.g.op("Unsqueeze", [t, this.g.int64s([-1])]);
    });
    const idxName = stacked.length === 1 ? stacked[0]! : this.g.op("Concat", stacked, { axis: -1 });
    const zeros = this.g.op("Expand", [this.g.constant(dtype as DType, [], [0]), this.g.int64s(frontShape)]);
    let result = this.g.op("ScatterND", [zeros, idxName, updName], { reduction: "add" });
    const frontOrder = [...axes, ...rest];
    if (!frontOrder.every((d, i) => d === i)) {
      const back = [...Array(rank).keys()].map((d) => frontOrder.indexOf(d));
      result = this.g.op("Transpose", [result], { perm: back });
    }
    this.bind(out, result);
  }

  /**
   * random_bits(k0, k1; shape, mode): jax-js's threefry2x32 stream. Element i of
   * the output is threefry(key, counter = (0, i mod the size of the dims after
   * the key's)), and the output is x0 ^ x1 (mode "xor") or one word (modes 0 and 1,
   * used by random.split). Lowered round by round on uint32 tensors, which wrap
   * on overflow in ONNX Runtime as in jax-js, so the bits are identical.
   */
  private lowerRandomBits(e: Eqn): void {
    const [k0, k1] = e.inputs as [Atom, Atom];
    const out = e.outBinders[0]!;
    const shape = e.params.shape as number[];
    const mode = e.params.mode as "xor" | 0 | 1;
    const keyShape = k0.aval.shape;
    const trailing = shape.slice(keyShape.length);
    const count = Math.max(1, trailing.reduce((a, b) => a * b, 1));
    const g = this.g;
    const u32 = (v: number) => g.constant("uint32", [], [v >>> 0]);
    const keyPart = (k: Atom) => (trailing.length ? g.op("Reshape", [this.name(k), g.int64s([...keyShape, ...trailing.map(() => 1)])]) : this.name(k));
    const ks0 = keyPart(k0);
    const ks1 = keyPart(k1);
    const ks2 = g.op("BitwiseXor", [g.op("BitwiseXor", [ks0, ks1]), u32(0x1bd11bda)]);
    const ks = [ks0, ks1, ks2];
    const counter = g.constant("uint32", trailing, Array.from({ length: count }, (_, i) => i));
    let x0 = ks0;
    let x1 = g.op("Add", [counter, ks1]);
    const rotations = [
      [13, 15, 26, 6],
      [17, 29, 16, 24],
    ];
    for (let group = 0; group < 5; group++) {
      for (const r of rotations[group % 2]!) {
        x0 = g.op("Add", [x0, x1]);
        const rotl = g.op("BitwiseOr", [
          g.op("BitShift", [x1, u32(r)], { direction: "LEFT" }),
          g.op("BitShift", [x1, u32(32 - r)], { direction: "RIGHT" }),
        ]);
        x1 = g.op("BitwiseXor", [rotl, x0]);
      }
      x0 = g.op("Add", [x0, ks[(group + 1) % 3]!]);
      x1 = g.op("Add", [x1, g.op("Add", [ks[(group + 2) % 3]!, u32(group + 1)])]);
    }
    // the first round's x0 + x1 already broadcast the key over the counter: both words have `shape`
    const result = mode === "xor" ? g.op("BitwiseXor", [x0, x1]) : mode === 0 ? x0 : mode === 1 ? x1 : undefined;
    if (result === undefined) throw unsupported("random_bits", `mode ${String(mode)}`);
    this.bind(out, result);
  }

  /**
   * bitcast: between int32 and uint32 a Cast (same bits, wrapping). uint32/int32 ->
   * float32 (how random.uniform turns bits into floats) is decoded from the IEEE
   * fields: (-1)^s * 2^(e-127) * (1 + m/2^23), subnormals m * 2^-149, e = 255 inf/NaN.
   * Every step is exact in float32.
   */
  private lowerBitcast(e: Eqn): void {
    const x = e.inputs[0]!;
    const out = e.outBinders[0]!;
    const from = x.aval.dtype;
    const to = out.aval.dtype;
    const ints = ["int32", "uint32"];
    if (from === to) return this.bind(out, this.name(x));
    if (ints.includes(from) && ints.includes(to)) return this.bind(out, this.g.op("Cast", [this.name(x)], { to: onnxType(to) }));
    if (!(ints.includes(from) && to === "float32")) throw unsupported("bitcast", `${from} to ${to}`);
    const g = this.g;
    const bits = from === "uint32" ? this.name(x) : g.op("Cast", [this.name(x)], { to: onnxType("uint32") });
    const u32 = (v: number) => g.constant("uint32", [], [v]);
    const f32 = (v: number) => g.constant("float32", [], [v]);
    const sign = g.op("BitShift", [bits, u32(31)], { direction: "RIGHT" });
    const exponent = g.op("BitwiseAnd", [g.op("BitShift", [bits, u32(23)], { direction: "RIGHT" }), u32(255)]);
    const mantissaBits = g.op("BitwiseAnd", [bits, u32(0x7fffff)]);
    const fraction = g.op("Mul", [g.op("Cast", [mantissaBits], { to: onnxType("float32") }), f32(2 ** -23)]);
    const scale = g.op("Pow", [f32(2), g.op("Sub", [g.op("Cast", [exponent], { to: onnxType("float32") }), f32(127)])]);
    const normal = g.op("Mul", [g.op("Add", [fraction, f32(1)]), scale]);
    const subnormal = g.op("Mul", [fraction, f32(2 ** -126)]);
    const isZeroExp = g.op("Equal", [exponent, u32(0)]);
    const isNaN = g.op("And", [g.op("Equal", [exponent, u32(255)]), g.op("Not", [g.op("Equal", [mantissaBits, u32(0)])])]);
    let magnitude = g.op("Where", [isZeroExp, subnormal, normal]);
    magnitude = g.op("Where", [isNaN, f32(NaN), magnitude]);
    // times +1 or -1 (not Where/Neg, which ONNX Runtime folds to +0 for -0)
    const signFactor = g.op("Sub", [f32(1), g.op("Mul", [g.op("Cast", [sign], { to: onnxType("float32") }), f32(2)])]);
    this.bind(out, g.op("Mul", [magnitude, signFactor]));
  }

  /** broadcast(x, shape, axis): insert the new axes, then Expand; dims x already has are written as 1 so the batch never gets baked in. */
  private lowerBroadcast(e: Eqn): void {
    const x = e.inputs[0]!;
    const out = e.outBinders[0]!;
    const axes = [...(e.params.axis as number[])].sort((a, b) => a - b);
    let t = this.name(x);
    const inDims: Dim[] = isLit(x) ? [] : [...this.symShape(x)];
    if (isLit(x)) for (let i = 0; i < out.aval.shape.length; i++) inDims.push(1);
    else if (axes.length) {
      t = this.g.op("Unsqueeze", [t, this.g.int64s(axes)]);
      for (const a of axes) inDims.splice(a, 0, 1);
    } 
    if (isLit(x) && out.aval.shape.length > 0) t = this.g.op("Reshape", [t, this.g.int64s(inDims as number[])]);
    const outDims = this.symShape(out);
    const target = outDims.map((d, i) => (sameDim(inDims[i]!, d) ? 1 : d));
    if (target.every((d) => d === 1)) return this.bind(out, t);
    this.bind(out, this.g.op("Expand", [t, this.shapeTensor(target)]));
  }

  /** shrink = Slice; on a batch-shaped axis the bounds are written relative to the end so any batch size works. */
  private lowerShrink(e: Eqn, e2: Eqn): void {
    const x = e.inputs[0]!;
    const out = e.outBinders[0]!;
    const inDims = isLit(x) ? [] : this.symShape(x);
    const starts: number[] = [];
    const ends: number[] = [];
    const axes: number[] = [];
    (e.params.slice as [number, number][]).forEach(([s1, t1], i) => {
      const [s2, t2] = e2.params.slice[i] as [number, number];
      const start = solveDim(s1, s2, `a slice start on axis ${i}`, this.batches);
      const end = solveDim(t1, t2, `a slice end on axis ${i}`, this.batches);
      const dim = inDims[i]!;
      if (sameDim(start, 0) && sameDim(end, dim)) return;
      axes.push(i);
      starts.push(this.boundIndex(start, dim, false, i));
      ends.push(this.boundIndex(end, dim, true, i));
    });
    if (axes.length === 0) return this.bind(out, this.name(x));
    this.bind(out, this.g.op("Slice", [this.name(x), this.g.int64s(starts), this.g.int64s(ends), this.g.int64s(axes)]));
  }

  private boundIndex(bound: Dim, dim: Dim, isEnd: boolean, axis: number): number {
    if (typeof bound === "number") return bound;
    if (typeof dim !== "number" && dim.a === bound.a) {
      const fromEnd = bound.c - dim.c;
      if (fromEnd < 0) return fromEnd;
      if (fromEnd === 0 && isEnd) return int64Max;
    }
    throw batchDependent(`a slice bound on axis ${axis}`);
  }
}

/**
 * For a reshape from `from` to `to` that only merges runs of consecutive axes (or
 * keeps them), the input axes behind each output axis; undefined for any other reshape.
 */
function mergeGroups(from: number[], to: number[]): number[][] | undefined {
  const groups: number[][] = [];
  let j = 0;
  for (const d of to) {
    const group: number[] = [];
    let size = 1;
    while (j < from.length && (size < d || (group.length === 0 && d === 1 && from[j] === 1))) {
      size *= from[j]!;
      group.push(j++);
      if (d === 1) break;
    }
    // trailing size-1 input axes belong to this group
    while (j < from.length && from[j] === 1 && size === d && (groups.length === to.length - 1)) group.push(j++);
    if (size !== d) return undefined;
    groups.push(group);
  }
  return j === from.length ? groups : undefined;
}

function sameShape(a: number[], b: number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

function onnxType(dtype: string): number {
  const table: Record<string, number> = { float32: 1, int32: 6, int64: 7, bool: 9, float16: 10, float64: 11, uint32: 12 };
  const t = table[dtype];
  if (t === undefined) throw unsupported("cast", `to ${dtype}`);
  return t;
}
