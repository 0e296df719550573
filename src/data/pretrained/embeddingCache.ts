/**
 * On-disk cache of frozen-encoder embeddings, one file per (encoder identity,
 * input content hash):
 *
 *   <cache>/embeddings/<identity>/shape.json        the per-row shape, e.g. [384] or [64, 384]
 *   <cache>/embeddings/<identity>/<ab>/<hash>.f32   the row's float32 values (little-endian)
 *
 * The input hash is over the text itself or the image file's bytes, so the
 * same text or picture in another dataset, split or row order is a hit, and
 * an edited image is a miss. Every file is written to a temporary name and
 * renamed, so a killed run leaves whole entries or none; an entry of the
 * wrong size is treated as a miss and rewritten.
 */
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { writeFileAtomic } from "../../io/atomicWrite.ts";
import { defaultCacheDir } from "../cache.ts";

export function contentKey(kind: "text" | "image", content: string | Uint8Array): string {
  return createHash("sha256").update(kind).update("\0").update(content).digest("hex");
}

const writeAtomic = (path: string, data: Uint8Array | string) => writeFileAtomic(path, data, { cache: true });

export class EmbeddingCache {
  readonly dir: string;
  private shapeKnown: number[] | undefined;

  constructor(identity: string, cacheDir: string = defaultCacheDir()) {
    this.dir = join(cacheDir, "embeddings", identity);
  }

  /** The per-row shape recorded by an earlier run, if any. */
  shape(): number[] | undefined {
    if (this.shapeKnown) return this.shapeKnown;
    const path = join(this.dir, "shape.json");
    if (!existsSync(path)) return undefined;
    try {
      const shape = JSON.parse(readFileSync(path, "utf8")) as unknown;
      if (Array.isArray(shape) && shape.every((d) => Number.isInteger(d) && d > 0)) return (this.shapeKnown = shape as number[]);
    } catch {
      // unreadable: rewritten by the next put
    }
    return undefined;
  }

  /** Stored values of a row: `width` floats, or undefined (miss, or an entry of the wrong size). */
  get(key: string, width: number): Float32Array | undefined {
    const path = this.pathOf(key);
    let bytes: Buffer;
    try {
      bytes = readFileSync(path);
    } catch {
      return undefined;
    }
    if (bytes.length !== width * 4) return undefined;
    const out = new Float32Array(width);
    new Uint8Array(out.buffer).set(bytes);
    return out;
  }

  put(key: string, values: Float32Array, shape: number[]): void {
    mkdirSync(join(this.dir, key.slice(0, 2)), { recursive: true });
    if (!this.shape()) {
      writeAtomic(join(this.dir, "shape.json"), JSON.stringify(shape));
      this.shapeKnown = shape;
    }
    writeAtomic(this.pathOf(key), new Uint8Array(values.buffer, values.byteOffset, values.byteLength));
  }

  private pathOf(key: string): string {
    return join(this.dir, key.slice(0, 2), `${key}.f32`);
  }
}
