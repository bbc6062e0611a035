/** PNG files of pictures from images.ts, through pngjs (Node). */
import { PNG } from 'pngjs';
import type { Grid } from './images.js';

export function encodePng({ width, height, rgb }: Grid): Buffer {
  const png = new PNG({ width, height, colorType: 2, inputColorType: 2, inputHasAlpha: false });
  png.data = Buffer.from(rgb);
  return PNG.sync.write(png, { colorType: 2, inputColorType: 2, inputHasAlpha: false });
}

/** Decodes a PNG to RGB (tests, and comparing grids). */
export function decodePng(bytes: Uint8Array): Grid {
  const png = PNG.sync.read(Buffer.from(bytes));
  const rgb = new Uint8Array(png.width * png.height * 3);
  for (let i = 0; i < png.width * png.height; i++) {
    rgb[3 * i] = png.data[4 * i]!;
    rgb[3 * i + 1] = png.data[4 * i + 1]!;
    rgb[3 * i + 2] = png.data[4 * i + 2]!;
  }
  return { width: png.width, height: png.height, rgb };
}

