/**
 * A small builder for ONNX graphs over the generated protobuf types of
 * onnx-proto (onnx.proto compiled by protobufjs). The lowering (lower.ts)
 * adds nodes and constants through it; `encodeModel` writes the ModelProto.
 *
 * Opset 17: Reduce{Max,Min,Prod,Mean} still take `axes` as an attribute there
 * (ReduceSum, Squeeze, Unsqueeze, Slice, Pad, Split take it as an input), and
 * Shape has start/end (15+). ONNX Runtime 1.30 runs opset 17 natively.
 */
import onnxProto from "onnx-proto";

const { onnx } = onnxProto as unknown as { onnx: any };

export const opsetVersion = 17;
/** Train-step graphs (lowerStep.ts) need opset 18 for BitwiseXor/BitwiseOr (the random stream's threefry rounds). */
export const trainOpsetVersion = 18;
/** IR version 8 is the one that goes with opsets 15-18. */
export const irVersion = 8;

export type DType = "float32" | "int32" | "uint32" | "bool" | "float16" | "float64" | "int64";

export const onnxElemType: Record<DType, number> = {
  float32: 1,
  int32: 6,
  int64: 7,
  bool: 9,
  float16: 10,
  float64: 11,
  uint32: 12,
};

/** A static dim, or a dim that is `a * batch + c` at run time. */
export type Dim = number | { a: number; c: number };

type AttributeValue = number | number[] | string | { float: number } | { floats: number[] };

const attributeType = { FLOAT: 1, INT: 2, STRING: 3, FLOATS: 6, INTS: 7 };

function attribute(name: string, value: AttributeValue): Record<string, unknown> {
  if (typeof value === "number") return { name, type: attributeType.INT, i: value };
  if (typeof value === "string") return { name, type: attributeType.STRING, s: new TextEncoder().encode(value) };
  if (Array.isArray(value)) return { name, type: attributeType.INTS, ints: value };
  if ("float" in value) return { name, type: attributeType.FLOAT, f: value.float };
  return { name, type: attributeType.FLOATS, floats: value.floats };
}

function bytesOf(data: Float32Array | Int32Array | Uint32Array | BigInt64Array | Uint8Array): Uint8Array {
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength).slice();
}

export class GraphBuilder {
  readonly nodes: Record<string, unknown>[] = [];
  readonly initializers: Record<string, unknown>[] = [];
  readonly inputs: Record<string, unknown>[] = [];
  readonly outputs: Record<string, unknown>[] = [];
  private counter = 0;
  private readonly constantCache = new Map<string, string>();

  fresh(hint: string): string {
    return `${hint}_${this.counter++}`;
  }

  /** Adds a node; returns its output names (one fresh name per `outputs` count). */
  node(opType: string, inputs: string[], attrs: Record<string, AttributeValue> = {}, outputs: number | string[] = 1): string[] {
    const outNames = typeof outputs === "number" ? Array.from({ length: outputs }, () => this.fresh(opType.toLowerCase())) : outputs;
    this.nodes.push({
      opType,
      name: this.fresh(`n_${opType}`),
      input: inputs,
      output: outNames,
      attribute: Object.entries(attrs).map(([k, v]) => attribute(k, v)),
    });
    return outNames;
  }

  /** Shorthand for a single-output node. */
  op(opType: string, inputs: string[], attrs: Record<string, AttributeValue> = {}): string {
    return this.node(opType, inputs, attrs, 1)[0]!;
  }

  initializer(name: string, dtype: DType, dims: number[], data: Float32Array | Int32Array | Uint32Array | BigInt64Array | Uint8Array): string {
    this.initializers.push({ name, dims, dataType: onnxElemType[dtype], rawData: bytesOf(data) });
    return name;
  }

  /** A constant tensor, deduplicated by content (literals like 0 and 1 recur constantly). */
  constant(dtype: DType, dims: number[], values: ArrayLike<number>): string {
    const key = `${dtype}|${dims.join(",")}|${Array.from(values).join(",")}`;
    const cached = this.constantCache.get(key);
    if (cached) return cached;
    const name = this.fresh("const");
    this.initializer(name, dtype, dims, typedArray(dtype, values));
    this.constantCache.set(key, name);
    return name;
  }

  int64s(values: number[]): string {
    return this.constant("int64", [values.length], values);
  }

  /** Renames a value everywhere it is produced or read (a node's output becoming a graph output). */
  rename(from: string, to: string): void {
    for (const node of this.nodes) {
      node.input = (node.input as string[]).map((n) => (n === from ? to : n));
      node.output = (node.output as string[]).map((n) => (n === from ? to : n));
    }
  }

  /**
   * Drops nodes whose outputs reach no graph output, and initializers nothing
   * reads (the lowering emits a few, e.g. reshapes a MatMul reads past).
   */
  prune(): void {
    const needed = new Set<string>(this.outputs.map((o) => o.name as string));
    const kept: Record<string, unknown>[] = [];
    for (let i = this.nodes.length - 1; i >= 0; i--) {
      const node = this.nodes[i]!;
      if (!(node.output as string[]).some((o) => needed.has(o))) continue;
      kept.push(node);
      for (const input of node.input as string[]) needed.add(input);
    }
    this.nodes.splice(0, this.nodes.length, ...kept.reverse());
    const used = this.initializers.filter((t) => needed.has(t.name as string));
    this.initializers.splice(0, this.initializers.length, ...used);
  }

  graphInput(name: string, dtype: DType, dims: Dim[]): void {
    this.inputs.push({ name, type: tensorType(dtype, dims) });
  }

  graphOutput(name: string, dtype: DType, dims: Dim[]): void {
    this.outputs.push({ name, type: tensorType(dtype, dims) });
  }
}

export function typedArray(dtype: DType, values: ArrayLike<number>): Float32Array | Int32Array | Uint32Array | BigInt64Array | Uint8Array {
  switch (dtype) {
    case "float32":
      return Float32Array.from(values);
    case "int32":
      return Int32Array.from(values);
    case "uint32":
      return Uint32Array.from(values);
    case "int64":
      return BigInt64Array.from(Array.from(values, (v) => BigInt(Math.trunc(v))));
    case "bool":
      return Uint8Array.from(values, (v) => (v ? 1 : 0));
    case "float64":
      return new Uint8Array(Float64Array.from(values).buffer);
    case "float16":
      throw new Error("float16 constants are not supported by the ONNX writer");
  }
}

function dimProto(d: Dim): Record<string, unknown> {
  if (typeof d === "number") return { dimValue: d };
  if (d.a === 1 && d.c === 0) return { dimParam: "batch" };
  return { dimParam: `batch*${d.a}${d.c >= 0 ? "+" : ""}${d.c}` };
}

function tensorType(dtype: DType, dims: Dim[]): Record<string, unknown> {
  return { tensorType: { elemType: onnxElemType[dtype], shape: { dim: dims.map(dimProto) } } };
}

export type ModelInfo = {
  graphName: string;
  docString?: string;
  metadata?: Record<string, string>;
  producerVersion?: string;
  /** default opsetVersion */
  opset?: number;
};

/** Serialises the graph as an ONNX ModelProto (binary protobuf). */
export function encodeModel(graph: GraphBuilder, info: ModelInfo): Uint8Array {
  const model = {
    irVersion,
    opsetImport: [{ domain: "", version: info.opset ?? opsetVersion }],
    producerName: "fusionkit",
    producerVersion: info.producerVersion ?? "0.1.0",
    docString: info.docString ?? "",
    graph: {
      name: info.graphName,
      node: graph.nodes,
      initializer: graph.initializers,
      input: graph.inputs,
      output: graph.outputs,
    },
    metadataProps: Object.entries(info.metadata ?? {}).map(([key, value]) => ({ key, value })),
  };
  const problem = onnx.ModelProto.verify(model);
  if (problem) throw new Error(`ONNX writer produced an invalid ModelProto: ${problem}`);
  return onnx.ModelProto.encode(model).finish();
}

/** Reads a ModelProto back (tests and `fusionkit serve` read metadata_props from it). */
export function decodeModel(bytes: Uint8Array): any {
  return onnx.ModelProto.decode(bytes);
}

/** The same graph with metadata_props entries set (others kept): records found after lowering, such as the verification. */
export function withMetadataProps(bytes: Uint8Array, props: Record<string, string>): Uint8Array {
  const model = decodeModel(bytes);
  const kept = (model.metadataProps as { key: string; value: string }[]).filter((p) => !(p.key in props));
  model.metadataProps = [...kept, ...Object.entries(props).map(([key, value]) => ({ key, value }))];
  return onnx.ModelProto.encode(model).finish();
}
