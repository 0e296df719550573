/**
 * The page's image preparation (src/export/web/client/image.ts) against the
 * training path (src/data/image.ts, sharp) on the same decoded pixels: the
 * browser decodes a PNG to the file's own RGBA, the page flattens and resizes
 * it. Measured on 120 Twemoji (64 px -> 32 px): the figures docs/browser.md
 * gives, with the bounds asserted here.
 */
import assert from "node:assert/strict";
import { readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import sharp from "sharp";
import { packageDir } from "../../src/data/builtin/emoji.ts";
import { decodeImage } from "../../src/data/image.ts";
import { containGeometry, prepareImagePixels } from "../../src/export/web/client/image.ts";
import { tempDir } from "../../bench/fixtures/datasetFiles.ts";

async function rawRgba(path: string) {
  const { data, info } = await sharp(path).ensureAlpha().raw().toBuffer({ resolveWithObject: true });
  return { rgba: data, width: info.width, height: info.height };
}

test("emoji prepared in the page match sharp's pixels within a few levels (mean < 0.25/255, max <= 16/255)", async () => {
  const dir = join(packageDir("emoji-datasource-twitter"), "img", "twitter", "64");
  const files = readdirSync(dir).filter((f) => f.endsWith(".png")).sort().filter((_, i) => i % 25 === 0).slice(0, 120);
  assert.equal(files.length, 120);
  let worst = 0;
  let sum = 0;
  let count = 0;
  let exact = 0;
  for (const file of files) {
    const path = join(dir, file);
    const expected = await decodeImage(path, { size: 32, channels: 3 });
    const { rgba, width, height } = await rawRgba(path);
    const got = prepareImagePixels(rgba, width, height, 32, 3);
    assert.equal(got.length, expected.length);
    for (let i = 0; i < got.length; i++) {
      const levels = Math.round(Math.abs(got[i]! - expected[i]!) * 255);
      worst = Math.max(worst, levels);
      sum += levels;
      if (levels === 0) exact++;
      count++;
    }
  }
  console.log(`page vs sharp on ${files.length} emoji: ${((100 * exact) / count).toFixed(1)}% of values equal, mean |diff| ${(sum / count).toFixed(3)}/255, max ${worst}/255`);
  assert.ok(sum / count < 0.25, `mean difference ${(sum / count).toFixed(3)} levels`);
  assert.ok(worst <= 16, `largest difference ${worst} levels`);
  assert.ok(exact / count > 0.85);
});

test("a picture already at the model's size is taken pixel for pixel, as sharp does", async () => {
  const size = 8;
  const pixels = Buffer.alloc(size * size * 4);
  for (let i = 0; i < size * size; i++) pixels.set([(i * 37) % 256, (i * 91) % 256, (i * 13) % 256, 255], i * 4);
  const path = join(tempDir("fusionkit-web-image-"), "exact.png");
  writeFileSync(path, await sharp(pixels, { raw: { width: size, height: size, channels: 4 } }).png().toBuffer());
  const expected = await decodeImage(path, { size, channels: 3 });
  const { rgba, width, height } = await rawRgba(path);
  assert.deepEqual(Array.from(prepareImagePixels(rgba, width, height, size, 3)), Array.from(expected));
});

test("a wide picture is letterboxed in white like sharp's contain, and one channel is sRGB luminance", async () => {
  assert.deepEqual(containGeometry(40, 20, 16), { width: 16, height: 8, left: 0, top: 4 });
  assert.deepEqual(containGeometry(9, 5, 4), { width: 4, height: 2, left: 0, top: 1 });
  const width = 40;
  const height = 20;
  const pixels = Buffer.alloc(width * height * 4);
  for (let i = 0; i < width * height; i++) pixels.set([200, 40 + (i % width) * 4, 90, i % 3 === 0 ? 128 : 255], i * 4);
  const path = join(tempDir("fusionkit-web-image-"), "wide.png");
  writeFileSync(path, await sharp(pixels, { raw: { width, height, channels: 4 } }).png().toBuffer());
  const { rgba } = await rawRgba(path);
  for (const channels of [3, 1] as const) {
    const expected = await decodeImage(path, { size: 16, channels });
    const got = prepareImagePixels(rgba, width, height, 16, channels);
    // the letterbox rows (4 above, 4 below) are white in both
    for (const row of [0, 3, 12, 15]) for (let x = 0; x < 16 * channels; x++) assert.equal(got[row * 16 * channels + x], 1);
    let worst = 0;
    for (let i = 0; i < got.length; i++) worst = Math.max(worst, Math.abs(got[i]! - expected[i]!));
    assert.ok(worst * 255 <= 16, `${channels} channel(s): largest difference ${(worst * 255).toFixed(1)} levels`);
  }
});
