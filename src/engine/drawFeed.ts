/**
 * Random draws computed on the host and fed to a lowered train step
 * (src/export/lowerStep.ts) instead of being computed inside its graph.
 *
 * Why: the ONNX lowering of jax-js's threefry2x32 stream is bit-exact but
 * costs about 120 uint32 nodes per random_bits call (20 rounds of add,
 * rotate, xor on small tensors), and a model with modality dropout and
 * dropout makes several calls (splits, then draws). In the default bench's
 * early-fusion step that was 700 of 979 nodes (bench:ort-profile -- --method
 * early); fed, the step ran 4-8% faster on a quiet machine (bench:ort-warmup
 * -- --draws host,graph; docs/benchmarks.md). The draws depend on
 * the step key alone, so the host can compute them with jax-js itself, in one
 * compiled call per step, and the graph takes them as inputs: the same bits,
 * since it is the same jax-js code on the same key.
 *
 * How: a first trace of the loss and gradient with a RecordingRng logs every
 * split and draw in call order (DrawOp); drawReplay compiles a function of the
 * key that makes the same splits and draws; the lowering traces again with a
 * FedRng, which hands out graph inputs in that order.
 */
import { Rng, stepKey } from "./random.ts";
import { compile } from "./transforms.ts";
import type { RawArray, Tensor } from "./tensor.ts";

/** One split or draw of an Rng tree, in call order. Nodes: 0 is the root; a split appends its children. */
export type DrawOp = { kind: "split"; from: number; n: number } | { kind: "uniform" | "normal"; from: number; shape: number[] };

type Log = { ops: DrawOp[]; nodes: number };

/** An Rng that draws for real and logs what it was asked (shared log over the tree it roots). */
export class RecordingRng extends Rng {
  private constructor(key: Tensor, private readonly log: Log, private readonly id: number) {
    super(key);
  }

  static root(key: Tensor, ops: DrawOp[]): RecordingRng {
    return new RecordingRng(key, { ops, nodes: 1 }, 0);
  }

  override split(n: number): Rng[] {
    this.log.ops.push({ kind: "split", from: this.id, n });
    return super.split(n).map((child) => new RecordingRng(child.key, this.log, this.log.nodes++));
  }

  override uniform(shape: number[]): Tensor {
    this.log.ops.push({ kind: "uniform", from: this.id, shape: [...shape] });
    return super.uniform(shape);
  }

  override normal(shape: number[]): Tensor {
    this.log.ops.push({ kind: "normal", from: this.id, shape: [...shape] });
    return super.normal(shape);
  }
}

/**
 * An Rng whose draws are given tensors, handed out in call order. It keeps the
 * key it was made with only to be an Rng: it never reads it.
 */
export class FedRng extends Rng {
  constructor(key: Tensor, private readonly feed: { values: Tensor[]; next: number }) {
    super(key);
  }

  override split(n: number): Rng[] {
    return Array.from({ length: n }, () => new FedRng(this.key, this.feed));
  }

  override uniform(shape: number[]): Tensor {
    return this.take(shape);
  }

  override normal(shape: number[]): Tensor {
    return this.take(shape);
  }

  private take(shape: number[]): Tensor {
    const i = this.feed.next++;
    const value = this.feed.values[i];
    if (!value || value.shape.length !== shape.length || value.shape.some((d, k) => d !== shape[k])) {
      throw new Error(`FedRng: draw ${i} asks for shape [${shape}], the recorded draw is ${value ? `[${value.shape}]` : "missing"}`);
    }
    return value;
  }
}

/** The draws of `ops` in order (uniform and normal ones), their shapes. */
export function drawShapes(ops: DrawOp[]): number[][] {
  return ops.flatMap((op) => (op.kind === "split" ? [] : [op.shape]));
}

/** A compiled function of the step seed that makes `ops`' splits and draws from stepKey(seed): the values a FedRng must hand out. */
export function drawReplay(ops: DrawOp[]): (seed: number) => Float32Array[] {
  const compiled = compile((key: Tensor) => {
    const nodes: Rng[] = [new Rng(key)];
    const out: Tensor[] = [];
    for (const op of ops) {
      if (op.kind === "split") nodes.push(...nodes[op.from]!.split(op.n));
      else out.push(op.kind === "uniform" ? nodes[op.from]!.uniform(op.shape) : nodes[op.from]!.normal(op.shape));
    }
    return out;
  });
  return (seed) => (compiled(stepKey(seed)) as RawArray[]).map((r) => r.dataSync() as Float32Array);
}
