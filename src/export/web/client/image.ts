/**
 * Image preparation in the page, following src/data/image.ts (sharp):
 * transparency flattened onto white, resized to fit size x size keeping the
 * aspect ratio (Lanczos-3, the kernel sharp uses), letterboxed in white and
 * centred, values in [0, 1]; one channel = sRGB luminance.
 *
 * The browser decodes the file (canvas), so the pixels at the file's own size
 * are the file's pixels; the resize here is a plain float Lanczos-3 with
 * libvips's pixel-centre convention, whose output differs from sharp's
 * fixed-point one by at most a few levels on a few edge pixels
 * (test/web/image.test.ts measures it on emoji; docs/browser.md gives the figures).
 * Pure functions on typed arrays: the same code runs in that Node test.
 */

/** Where the resized picture sits in the size x size square: sharp's "contain" with centre gravity. */
export function containGeometry(width: number, height: number, size: number): { width: number; height: number; left: number; top: number } {
  const factor = Math.max(width / size, height / size);
  const w = Math.max(1, Math.min(size, Math.round(width / factor)));
  const h = Math.max(1, Math.min(size, Math.round(height / factor)));
  return { width: w, height: h, left: Math.floor((size - w) / 2), top: Math.floor((size - h) / 2) };
}

/** RGBA bytes (not premultiplied) -> RGB on white, 0..255 rounded as sharp's flatten leaves them. */
export function flattenOntoWhite(rgba: ArrayLike<number>, pixels: number): Float64Array {
  const rgb = new Float64Array(pixels * 3);
  for (let i = 0; i < pixels; i++) {
    const alpha = rgba[i * 4 + 3]! / 255;
    for (let c = 0; c < 3; c++) rgb[i * 3 + c] = Math.round(rgba[i * 4 + c]! * alpha + 255 * (1 - alpha));
  }
  return rgb;
}

function lanczos3(x: number): number {
  if (x === 0) return 1;
  if (x <= -3 || x >= 3) return 0;
  const px = Math.PI * x;
  return (3 * Math.sin(px) * Math.sin(px / 3)) / (px * px);
}

/** One separable pass along the rows (horizontal) or the columns, `length` -> `outLength` samples. */
function resamplePass(src: Float64Array, width: number, height: number, channels: number, outLength: number, horizontal: boolean): Float64Array {
  const length = horizontal ? width : height;
  const lines = horizontal ? height : width;
  const outWidth = horizontal ? outLength : width;
  const out = new Float64Array((horizontal ? outLength * height : width * outLength) * channels);
  const scale = length / outLength;
  // downscaling stretches the kernel over `scale` input pixels (an anti-aliasing low-pass); upscaling interpolates
  const stretch = Math.max(1, scale);
  for (let o = 0; o < outLength; o++) {
    const centre = (o + 0.5) * scale - 0.5;
    const first = Math.ceil(centre - 3 * stretch);
    const last = Math.floor(centre + 3 * stretch);
    const weights: number[] = [];
    const taps: number[] = [];
    let total = 0;
    for (let i = first; i <= last; i++) {
      const w = lanczos3((i - centre) / stretch);
      weights.push(w);
      taps.push(Math.min(length - 1, Math.max(0, i)));
      total += w;
    }
    for (let line = 0; line < lines; line++) {
      for (let c = 0; c < channels; c++) {
        let sum = 0;
        for (let k = 0; k < taps.length; k++) {
          const at = horizontal ? (line * width + taps[k]!) * channels + c : (taps[k]! * width + line) * channels + c;
          sum += weights[k]! * src[at]!;
        }
        const to = horizontal ? (line * outWidth + o) * channels + c : (o * outWidth + line) * channels + c;
        out[to] = sum / total;
      }
    }
  }
  return out;
}

/** Lanczos-3 resize of an interleaved [height, width, channels] image (values kept as floats). */
export function resizeLanczos3(src: Float64Array, width: number, height: number, channels: number, outWidth: number, outHeight: number): Float64Array {
  const across = outWidth === width ? src : resamplePass(src, width, height, channels, outWidth, true);
  return outHeight === height ? across : resamplePass(across, outWidth, height, channels, outHeight, false);
}

const toLinear = (v: number) => (v <= 0.04045 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4);
const toGamma = (v: number) => (v <= 0.0031308 ? v * 12.92 : 1.055 * v ** (1 / 2.4) - 0.055);

/**
 * Decoded RGBA at the file's size -> the model's [size, size, channels] input in [0, 1].
 * Each 0..255 value is rounded like sharp's 8-bit output before dividing by 255.
 */
export function prepareImagePixels(rgba: ArrayLike<number>, width: number, height: number, size: number, channels: 1 | 3): Float32Array {
  const geometry = containGeometry(width, height, size);
  const flat = flattenOntoWhite(rgba, width * height);
  const resized = resizeLanczos3(flat, width, height, 3, geometry.width, geometry.height);
  const out = new Float32Array(size * size * channels).fill(1);
  for (let y = 0; y < geometry.height; y++) {
    for (let x = 0; x < geometry.width; x++) {
      const from = (y * geometry.width + x) * 3;
      const to = ((y + geometry.top) * size + x + geometry.left) * channels;
      const byte = (v: number) => Math.min(255, Math.max(0, Math.round(v)));
      if (channels === 3) {
        for (let c = 0; c < 3; c++) out[to + c] = byte(resized[from + c]!) / 255;
      } else {
        // libvips's sRGB -> B_W: luminance of the linear-light colour, encoded back with the sRGB curve
        const [r, g, b] = [0, 1, 2].map((c) => toLinear(byte(resized[from + c]!) / 255)) as [number, number, number];
        out[to] = byte(toGamma(0.2126 * r + 0.7152 * g + 0.0722 * b) * 255) / 255;
      }
    }
  }
  return out;
}
