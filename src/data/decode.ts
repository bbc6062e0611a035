/** Decoding one image file's bytes to RGBA (Node: pngjs, jpeg-js), checked as readImage checks it. */
import { readFileSync } from 'node:fs';
import jpeg from 'jpeg-js';
import { PNG } from 'pngjs';
import { MAX_IMAGE_PIXELS, readImage } from './image-folder.js';

/** Decodes to RGBA bytes. */
function decode(bytes: Uint8Array, kind: 'png' | 'jpeg'): Uint8Array {
  if (kind === 'png') return PNG.sync.read(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)).data;
  const img = jpeg.decode(bytes, { useTArray: true, formatAsRGBA: true, maxResolutionInMP: MAX_IMAGE_PIXELS / 1e6 + 1, maxMemoryUsageInMB: 2048 });
  return img.data;
}

/** An image file read and decoded: its header checked before decoding, a decoder's failure named as a corrupt file. */
export function readImageFile(path: string, kind: 'png' | 'jpeg'): ReturnType<typeof readImage> {
  const bytes = new Uint8Array(readFileSync(path));
  return readImage(bytes, kind, () => decode(bytes, kind));
}
