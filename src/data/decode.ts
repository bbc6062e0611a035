/** Decoding one image file's bytes to RGBA (Node: pngjs, jpeg-js), checked as readImage checks it. */
import jpeg from 'jpeg-js';
import { PNG } from 'pngjs';
import { MAX_IMAGE_PIXELS, readImage } from './image-folder.js';

/** Decodes to RGBA bytes. */
function decode(bytes: Uint8Array, kind: 'png' | 'jpeg'): Uint8Array {
  if (kind === 'png') return PNG.sync.read(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)).data;
  const img = jpeg.decode(bytes, { useTArray: true, formatAsRGBA: true, maxResolutionInMP: MAX_IMAGE_PIXELS / 1e6 + 1, maxMemoryUsageInMB: 2048 });
  return img.data;
}

/** A file's bytes as an image: header checked before decoding, a decoder's failure named as a corrupt file. */
export function readImageBytes(bytes: Uint8Array, kind: 'png' | 'jpeg'): ReturnType<typeof readImage> {
  return readImage(bytes, kind, () => decode(bytes, kind));
}
