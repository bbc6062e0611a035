/**
 * Image folders as data (src/data/folder.ts, src/image/resize.ts): the resize against
 * torchvision's Resize + CenterCrop byte for byte, ImageFolder's classes, every PNG mode and
 * JPEG, and each kind of bad input with its message.
 */
import { mkdirSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadImageFolder, imageHeader, MAX_IMAGE_PIXELS } from '../src/data/folder.js';
import { loadTrainingData } from '../src/data/files.js';
import { fromRgba, resizeCenterCrop, resizedSize } from '../src/image/resize.js';
import { makeShapesFolder, pngBytes, SHAPES } from '../scripts/make-shapes.js';
import { loadFixture } from './helpers/fixtures.js';

const fixture = loadFixture('resize');

describe("the loader's resize", () => {
  const sizes = fixture.metadata.sizes!.split(';');
  sizes.forEach((name, i) => {
    it(`equals torchvision's Resize + CenterCrop (PIL bilinear) byte for byte: ${name}`, () => {
      const input = fixture.get(`case${i}.input`);
      const [h, w, c] = input.shape.length === 3 ? (input.shape as [number, number, number]) : [...(input.shape as [number, number]), 1];
      const size = Number(name.split('->')[1]);
      const ours = resizeCenterCrop(fixture.values(`case${i}.input`) as Uint8Array, w, h, c, size);
      const theirs = fixture.values(`case${i}.output`) as Uint8Array;
      expect(ours.length).toBe(theirs.length);
      const diff = ours.findIndex((v, j) => v !== theirs[j]);
      expect(diff, `first difference at ${diff}: ${ours[diff]} vs ${theirs[diff]}`).toBe(-1);
    });
  });

  it('sizes the shorter side as torchvision does (the longer truncated)', async () => {
    expect(resizedSize(97, 61, 32)).toEqual([50, 32]);
    expect(resizedSize(20, 33, 64)).toEqual([64, 105]);
    expect(resizedSize(64, 64, 64)).toEqual([64, 64]);
  });

  it('composites alpha over black and takes Pillow\'s luma for grey', () => {
    const rgba = new Uint8Array([200, 100, 50, 255, 200, 100, 50, 0, 255, 255, 255, 128]);
    expect([...fromRgba(rgba, 3, 3)]).toEqual([200, 100, 50, 0, 0, 0, 128, 128, 128]);
    // L = (299 R + 587 G + 114 B) / 1000 in Pillow's 16-bit fixed point.
    expect([...fromRgba(rgba, 3, 1)]).toEqual([(200 * 19595 + 100 * 38470 + 50 * 7471 + 0x8000) >>> 16, 0, 128]);
  });
});

function tempDir(): string {
  return mkdtempSync(join(tmpdir(), 'dcgan-folder-'));
}

describe('an image folder', () => {
  it('reads every PNG mode and JPEG, classes from the subfolders, colour detected, other files ignored', async () => {
    const dir = tempDir();
    makeShapesFolder(dir, { perClass: 7 });
    const { set, report } = await loadImageFolder(dir, { size: 32 });
    expect(set.classNames).toEqual([...SHAPES]);
    expect([set.count, set.channels, set.height, set.width]).toEqual([21, 3, 32, 32]);
    expect(set.pixels.length).toBe(21 * 3 * 32 * 32);
    expect([...set.labels]).toEqual([...Array(7).fill(0), ...Array(7).fill(1), ...Array(7).fill(2)]);
    expect(report.classes).toEqual(SHAPES.map((name) => ({ name, count: 7 })));
    expect([...report.modes.keys()].sort()).toEqual(['JPEG colour', 'PNG RGB 16-bit', 'PNG RGB 8-bit', 'PNG RGBA 8-bit', 'PNG grey 8-bit', 'PNG grey+alpha 8-bit', 'PNG palette 8-bit']);
    expect(report.ignored).toBe(1); // README.txt
    expect(report.bad).toEqual([]);
    expect(report.colour).toBe(true);
    expect(report.upscaled.count).toBeGreaterThan(0); // sides from 20 px
  });

  it('keeps one channel for grey data, identical to converting to grey first; --channels 3 keeps three', async () => {
    const dir = tempDir();
    mkdirSync(join(dir, 'a'));
    const grey = Uint8Array.from({ length: 40 * 30 }, (_, i) => (i * 7) % 256);
    writeFileSync(join(dir, 'a', 'x.png'), pngBytes(40, 30, 0, 8, grey));
    const one = (await loadImageFolder(dir, { size: 28 })).set;
    expect(one.channels).toBe(1);
    expect([...one.pixels]).toEqual([...resizeCenterCrop(grey, 40, 30, 1, 28)]);
    const three = (await loadImageFolder(dir, { size: 28, channels: 3 })).set;
    expect(three.channels).toBe(3);
    for (let c = 0; c < 3; c++) expect([...three.pixels.subarray(c * 784, (c + 1) * 784)]).toEqual([...one.pixels]);
  });

  it('a folder of images without subfolders is one class named after it', async () => {
    const dir = join(tempDir(), 'sprites');
    mkdirSync(dir);
    writeFileSync(join(dir, 'a.png'), pngBytes(8, 8, 0, 8, new Uint8Array(64).fill(9)));
    const { set } = await loadImageFolder(dir, { size: 28 });
    expect(set.classNames).toEqual(['sprites']);
    expect(set.count).toBe(1);
  });

  it('names a corrupt PNG and JPEG and skips them, or refuses the folder with strict', async () => {
    const dir = tempDir();
    makeShapesFolder(dir, { perClass: 3 });
    const good = readFileSync(join(dir, 'circle', 'circle_000.rgb.png'));
    writeFileSync(join(dir, 'circle', 'broken.png'), good.subarray(0, good.length - 30));
    writeFileSync(join(dir, 'square', 'broken.jpg'), Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0, 16, 1, 2, 3]));
    writeFileSync(join(dir, 'square', 'text.png'), 'not a png at all');
    const { set, report } = await loadImageFolder(dir, { size: 28 });
    expect(set.count).toBe(9);
    expect(report.bad.map((b) => b.file.replace(dir, '')).sort()).toEqual(['/circle/broken.png', '/square/broken.jpg', '/square/text.png']);
    expect(report.bad.find((b) => b.file.endsWith('text.png'))!.reason).toBe('not a PNG file (bad signature)');
    expect(report.bad.find((b) => b.file.endsWith('broken.png'))!.reason).toMatch(/^corrupt PNG: /);
    await expect(loadImageFolder(dir, { size: 28, strict: true })).rejects.toThrow(/broken\.png: corrupt PNG: .*\(--strict-data refuses the folder at the first bad image\)/);
  });

  it('refuses a 20000 x 20000 image from its header, naming the file and the limit, before decoding it', async () => {
    const dir = tempDir();
    makeShapesFolder(dir, { perClass: 1 });
    const huge = pngBytes(1, 1, 0, 8, new Uint8Array(1));
    huge.writeUInt32BE(20000, 16);
    huge.writeUInt32BE(20000, 20);
    writeFileSync(join(dir, 'circle', 'huge.png'), huge);
    expect(imageHeader(huge, 'png')).toEqual({ width: 20000, height: 20000, mode: 'PNG grey 8-bit' });
    // A JPEG's frame header (SOF0 after an APP0 segment) says the same, read before any decoding.
    const sof = Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0x00, 0x04, 0x00, 0x00, 0xff, 0xc0, 0x00, 0x11, 0x08, 0x4e, 0x20, 0x4e, 0x20, 0x03, 1, 0x22, 0, 2, 0x11, 1, 3, 0x11, 1]);
    expect(imageHeader(sof, 'jpeg')).toEqual({ width: 20000, height: 20000, mode: 'JPEG colour' });
    writeFileSync(join(dir, 'circle', 'huge.jpg'), sof);
    const { report } = await loadImageFolder(dir, { size: 28 });
    const reason = `20000x20000 is over the ${MAX_IMAGE_PIXELS / 1024 / 1024} megapixel limit for an image (refused before decoding)`;
    expect(report.bad).toEqual([{ file: join(dir, 'circle', 'huge.jpg'), reason }, { file: join(dir, 'circle', 'huge.png'), reason }]);
  });

  it('follows links but reads a directory once: a symlink loop is reported, not followed forever', async () => {
    const dir = tempDir();
    makeShapesFolder(dir, { perClass: 2 });
    symlinkSync(join(dir, 'circle'), join(dir, 'circle', 'again'));
    const { set, report } = await loadImageFolder(dir, { size: 28 });
    expect(set.count).toBe(6);
    expect(report.loops).toEqual([join(dir, 'circle', 'again')]);
  });

  it('refuses an empty folder, a folder of only other files, and a class folder with no readable image', async () => {
    const empty = tempDir();
    await expect(loadTrainingData(empty, { size: 28 })).rejects.toThrow(`--data ${empty}: neither MNIST-style IDX files (train-images-idx3-ubyte[.gz]) nor PNG/JPEG images found in ${empty}`);
    const others = tempDir();
    writeFileSync(join(others, 'notes.txt'), 'x');
    mkdirSync(join(others, 'a'));
    writeFileSync(join(others, 'a', 'b.gif'), 'x');
    await expect(loadImageFolder(others, { size: 28 })).rejects.toThrow(`${others}: no PNG or JPEG images found (2 other files ignored)`);
    const dead = tempDir();
    makeShapesFolder(dead, { perClass: 1 });
    mkdirSync(join(dead, 'zebra'));
    writeFileSync(join(dead, 'zebra', 'z.png'), 'garbage');
    await expect(loadImageFolder(dead, { size: 28 })).rejects.toThrow(`${dead}: class folder "zebra" holds no readable image`);
  });
});
