/**
 * A generated image folder for tests and demos: coloured circles, squares and triangles in
 * ImageFolder class subfolders, of mixed sizes and in every mode the loader reads (PNG RGB,
 * RGBA, grey, grey+alpha, palette, 16-bit RGB; baseline JPEG), plus a text file it must ignore.
 *
 *   npm run make:shapes -- DIR [--per-class N] [--seed S]
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { crc32, deflateSync } from 'node:zlib';
import jpeg from 'jpeg-js';
import { seeded } from '../test/helpers/seeded.js';

export const SHAPES = ['circle', 'square', 'triangle'] as const;

/** One shape on a background, RGBA bytes (alpha 0 outside the shape when `transparent`). */
function draw(shape: (typeof SHAPES)[number], w: number, h: number, fg: number[], bg: number[], transparent: boolean): Uint8Array {
  const out = new Uint8Array(w * h * 4);
  const cx = w / 2;
  const cy = h / 2;
  const r = Math.min(w, h) * 0.35;
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const dx = x + 0.5 - cx;
      const dy = y + 0.5 - cy;
      const inside = shape === 'circle' ? dx * dx + dy * dy < r * r : shape === 'square' ? Math.abs(dx) < r && Math.abs(dy) < r : dy < r && dy > -r && Math.abs(dx) < (dy + r) / 2;
      const c = inside ? fg : bg;
      out.set([c[0]!, c[1]!, c[2]!, inside || !transparent ? 255 : 0], (y * w + x) * 4);
    }
  }
  return out;
}

function chunk(type: string, data: Uint8Array): Buffer {
  const head = Buffer.alloc(8);
  head.writeUInt32BE(data.length, 0);
  head.write(type, 4, 'latin1');
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(Buffer.concat([head.subarray(4), data])), 0);
  return Buffer.concat([head, data, crc]);
}

/** A PNG of raw scanlines (filter 0) in any colour type and bit depth; `plte` for palette images. */
export function pngBytes(w: number, h: number, colorType: number, bitDepth: number, rows: Uint8Array, plte?: Uint8Array): Buffer {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(w, 0);
  ihdr.writeUInt32BE(h, 4);
  ihdr[8] = bitDepth;
  ihdr[9] = colorType;
  const stride = rows.length / h;
  const raw = new Uint8Array(h * (stride + 1));
  for (let y = 0; y < h; y++) raw.set(rows.subarray(y * stride, (y + 1) * stride), y * (stride + 1) + 1);
  return Buffer.concat([
    Buffer.from([137, 80, 78, 71, 13, 10, 26, 10]),
    chunk('IHDR', ihdr),
    ...(plte ? [chunk('PLTE', plte)] : []),
    chunk('IDAT', deflateSync(raw)),
    chunk('IEND', new Uint8Array(0)),
  ]);
}

/** The modes cycled through, as [file suffix, encoder of RGBA bytes]. */
const MODES: Array<[string, (rgba: Uint8Array, w: number, h: number) => Buffer]> = [
  ['rgb.png', (p, w, h) => pngBytes(w, h, 2, 8, pick(p, [0, 1, 2]))],
  ['rgba.png', (p, w, h) => pngBytes(w, h, 6, 8, p)],
  ['jpg', (p, w, h) => jpeg.encode({ data: p, width: w, height: h }, 90).data],
  ['grey.png', (p, w, h) => pngBytes(w, h, 0, 8, luma(p))],
  ['rgb16.png', (p, w, h) => pngBytes(w, h, 2, 16, sixteen(pick(p, [0, 1, 2])))],
  ['palette.png', (p, w, h) => palette(p, w, h)],
  ['greya.png', (p, w, h) => pngBytes(w, h, 4, 8, interleave(luma(p), pick(p, [3])))],
];

function pick(rgba: Uint8Array, channels: number[]): Uint8Array {
  const n = rgba.length / 4;
  const out = new Uint8Array(n * channels.length);
  for (let i = 0; i < n; i++) channels.forEach((c, j) => (out[i * channels.length + j] = rgba[i * 4 + c]!));
  return out;
}

function luma(rgba: Uint8Array): Uint8Array {
  const n = rgba.length / 4;
  return Uint8Array.from({ length: n }, (_, i) => (rgba[i * 4]! * 19595 + rgba[i * 4 + 1]! * 38470 + rgba[i * 4 + 2]! * 7471 + 0x8000) >>> 16);
}

function interleave(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length * 2);
  for (let i = 0; i < a.length; i++) [out[2 * i], out[2 * i + 1]] = [a[i]!, b[i]!];
  return out;
}

/** 8-bit samples as 16-bit big-endian ones (v * 257, so they read back as v). */
function sixteen(v: Uint8Array): Uint8Array {
  const out = new Uint8Array(v.length * 2);
  for (let i = 0; i < v.length; i++) out[2 * i] = out[2 * i + 1] = v[i]!;
  return out;
}

/** A palette PNG of the image's (two) colours. */
function palette(rgba: Uint8Array, w: number, h: number): Buffer {
  const colours: number[] = [];
  const index = new Uint8Array(w * h);
  for (let i = 0; i < w * h; i++) {
    const key = (rgba[i * 4]! << 16) | (rgba[i * 4 + 1]! << 8) | rgba[i * 4 + 2]!;
    let k = colours.indexOf(key);
    if (k < 0) k = colours.push(key) - 1;
    index[i] = k;
  }
  const plte = new Uint8Array(colours.flatMap((c) => [c >> 16, (c >> 8) & 255, c & 255]));
  return pngBytes(w, h, 3, 8, index, plte);
}

/** Writes `perClass` images of each shape under dir/<shape>/; returns the files written. */
export function makeShapesFolder(dir: string, { perClass = 20, seed = 1 }: { perClass?: number; seed?: number } = {}): string[] {
  const r = seeded(seed);
  const files: string[] = [];
  const colour = () => [0, 1, 2].map(() => Math.floor(r() * 256));
  SHAPES.forEach((shape, k) => {
    mkdirSync(join(dir, shape), { recursive: true });
    for (let i = 0; i < perClass; i++) {
      const [suffix, encode] = MODES[(i + k) % MODES.length]!;
      const w = 20 + Math.floor(r() * 80);
      const h = 20 + Math.floor(r() * 80);
      const file = join(dir, shape, `${shape}_${String(i).padStart(3, '0')}.${suffix}`);
      writeFileSync(file, encode(draw(shape, w, h, colour(), colour(), suffix.includes('a.png')), w, h));
      files.push(file);
    }
  });
  writeFileSync(join(dir, 'README.txt'), 'Generated by scripts/make-shapes.ts: one folder per class.\n');
  return files;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const [dir, ...rest] = process.argv.slice(2);
  if (!dir || dir.startsWith('-')) {
    console.error('usage: npm run make:shapes -- DIR [--per-class N] [--seed S]');
    process.exit(2);
  }
  const flag = (name: string, fallback: number) => {
    const i = rest.indexOf(name);
    return i >= 0 ? Number(rest[i + 1]) : fallback;
  };
  const files = makeShapesFolder(dir, { perClass: flag('--per-class', 20), seed: flag('--seed', 1) });
  console.log(`wrote ${files.length} images in ${SHAPES.length} class folders to ${dir}`);
}
