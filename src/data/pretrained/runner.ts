/**
 * What an encoder runner does, whichever engine runs it: a batch of rows in,
 * one Float32Array per row out. A row's array is its stored embedding:
 *   pooled: [D]
 *   tokens: [T * H] states followed by the [T] token mask (1 = real token)
 * `shape` is [D] or [T, H]. Shared helpers: masked mean pooling, L2 norm.
 */
export type EncoderInput = { key: string; text?: string; bytes?: Uint8Array; display: string };

export interface EncoderRunner {
  embed(batch: EncoderInput[]): Promise<{ rows: Float32Array[]; shape: number[] }>;
  close(): Promise<void>;
}

/** Mean over the masked steps of states [B, T, H] -> [B][H]. */
export function maskedMean(states: Float32Array, mask: ArrayLike<number> | undefined, B: number, T: number, H: number): Float32Array[] {
  const rows: Float32Array[] = [];
  for (let b = 0; b < B; b++) {
    const out = new Float32Array(H);
    let count = 0;
    for (let t = 0; t < T; t++) {
      const weight = mask ? Number(mask[b * T + t]) : 1;
      if (!weight) continue;
      count += weight;
      const offset = (b * T + t) * H;
      for (let h = 0; h < H; h++) out[h] += states[offset + h]! * weight;
    }
    if (count > 0) for (let h = 0; h < H; h++) out[h] /= count;
    rows.push(out);
  }
  return rows;
}

export function l2Normalise(row: Float32Array): Float32Array {
  let sum = 0;
  for (const v of row) sum += v * v;
  const norm = Math.sqrt(sum);
  if (norm > 0) for (let i = 0; i < row.length; i++) row[i] /= norm;
  return row;
}

/** Token rows: states [B, T, H] + mask [B, T] -> per row [T*H ++ T]. */
export function tokenRows(states: Float32Array, mask: ArrayLike<number> | undefined, B: number, T: number, H: number): Float32Array[] {
  const rows: Float32Array[] = [];
  for (let b = 0; b < B; b++) {
    const row = new Float32Array(T * H + T);
    row.set(states.subarray(b * T * H, (b + 1) * T * H));
    for (let t = 0; t < T; t++) row[T * H + t] = mask ? Number(mask[b * T + t]) : 1;
    rows.push(row);
  }
  return rows;
}
