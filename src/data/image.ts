/**
 * Image decoding with sharp: any format libvips reads (PNG, JPEG, WebP, GIF,
 * TIFF, AVIF...), transparency flattened onto white (emoji and icons are drawn
 * on transparent backgrounds; black would hide dark strokes), resized to
 * size x size keeping the aspect ratio (letterboxed in white), values in [0, 1].
 */
import sharp from "sharp";

export type ImageOptions = { size: number; channels: 1 | 3 };

/** Decodes one image file to a Float32Array [size, size, channels]; throws sharp's error on unreadable data. */
export async function decodeImage(path: string, options: ImageOptions): Promise<Float32Array> {
  const { size, channels } = options;
  const { data, info } = await sharp(path, { failOn: "error" })
    .flatten({ background: { r: 255, g: 255, b: 255 } })
    .resize(size, size, { fit: "contain", background: { r: 255, g: 255, b: 255 } })
    .toColourspace(channels === 3 ? "srgb" : "b-w")
    .raw()
    .toBuffer({ resolveWithObject: true });
  if (info.width !== size || info.height !== size || info.channels !== channels) {
    throw new Error(`decoded to ${info.width}x${info.height}x${info.channels}, expected ${size}x${size}x${channels}`);
  }
  const pixels = new Float32Array(data.length);
  for (let i = 0; i < data.length; i++) pixels[i] = data[i] / 255;
  return pixels;
}
