/**
 * A reader for NumPy .npy files (format versions 1-3), enough for the
 * precomputed embedding matrices users bring as vector modalities:
 * little-endian or single-byte numeric dtypes, C order.
 * Format: https://numpy.org/doc/stable/reference/generated/numpy.lib.format.html
 */

export type NpyArray = { shape: number[]; data: Float64Array };

type Reader = (view: DataView, byteOffset: number) => number;

const readers: Record<string, { bytes: number; read: Reader }> = {
  f4: { bytes: 4, read: (v, o) => v.getFloat32(o, true) },
  f8: { bytes: 8, read: (v, o) => v.getFloat64(o, true) },
  f2: { bytes: 2, read: (v, o) => float16(v.getUint16(o, true)) },
  i1: { bytes: 1, read: (v, o) => v.getInt8(o) },
  u1: { bytes: 1, read: (v, o) => v.getUint8(o) },
  i2: { bytes: 2, read: (v, o) => v.getInt16(o, true) },
  u2: { bytes: 2, read: (v, o) => v.getUint16(o, true) },
  i4: { bytes: 4, read: (v, o) => v.getInt32(o, true) },
  u4: { bytes: 4, read: (v, o) => v.getUint32(o, true) },
  i8: { bytes: 8, read: (v, o) => Number(v.getBigInt64(o, true)) },
  u8: { bytes: 8, read: (v, o) => Number(v.getBigUint64(o, true)) },
  b1: { bytes: 1, read: (v, o) => v.getUint8(o) },
};

/** Parses .npy bytes; throws an Error whose message says what is wrong with the file. */
export function parseNpy(bytes: Uint8Array): NpyArray {
  const magic = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // "\x93NUMPY"
  if (bytes.length < 10 || magic.some((b, i) => bytes[i] !== b)) throw new Error("not a .npy file (missing the \\x93NUMPY magic)");
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const major = bytes[6];
  const headerLength = major === 1 ? view.getUint16(8, true) : view.getUint32(8, true);
  const headerStart = major === 1 ? 10 : 12;
  const header = new TextDecoder(major === 3 ? "utf-8" : "latin1").decode(bytes.subarray(headerStart, headerStart + headerLength));
  const descr = /'descr'\s*:\s*'([^']+)'/.exec(header)?.[1];
  const fortran = /'fortran_order'\s*:\s*(True|False)/.exec(header)?.[1];
  const shapeText = /'shape'\s*:\s*\(([^)]*)\)/.exec(header)?.[1];
  if (!descr || !fortran || shapeText === undefined) throw new Error(`unreadable .npy header: ${header.trim()}`);
  if (fortran === "True") throw new Error("Fortran-ordered arrays are not supported; save with np.ascontiguousarray(x)");
  const byteOrder = descr[0];
  const kind = descr.slice(1);
  const reader = readers[kind];
  if (!reader) throw new Error(`dtype ${descr} is not supported; save as float32 (x.astype("float32"))`);
  if (byteOrder === ">" && reader.bytes > 1) throw new Error(`big-endian dtype ${descr} is not supported; save with x.astype("<f4")`);
  const shape = shapeText.split(",").map((s) => s.trim()).filter((s) => s !== "").map(Number);
  const count = shape.reduce((a, b) => a * b, 1);
  const dataStart = headerStart + headerLength;
  if (bytes.length < dataStart + count * reader.bytes) {
    throw new Error(`file is truncated: shape (${shape.join(", ")}) needs ${count * reader.bytes} data bytes, found ${bytes.length - dataStart}`);
  }
  const data = new Float64Array(count);
  for (let i = 0; i < count; i++) data[i] = reader.read(view, dataStart + i * reader.bytes);
  return { shape, data };
}

function float16(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exponent = (bits >> 10) & 0x1f;
  const fraction = bits & 0x3ff;
  if (exponent === 0) return sign * 2 ** -14 * (fraction / 1024);
  if (exponent === 0x1f) return fraction ? NaN : sign * Infinity;
  return sign * 2 ** (exponent - 15) * (1 + fraction / 1024);
}
