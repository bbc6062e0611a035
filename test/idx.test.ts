import { mkdtempSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { loadImageSet } from '../src/data/files.js';
import { IdxError, imageSetFromIdx, parseIdx } from '../src/data/idx.js';

/** A well-formed ubyte IDX file with the given dimensions (data: index mod 256). */
function idx(dims: number[], extraBytes = 0): Uint8Array {
  const count = dims.reduce((a, b) => a * b, 1);
  const out = new Uint8Array(4 + 4 * dims.length + count + Math.max(0, extraBytes));
  const view = new DataView(out.buffer);
  out[2] = 0x08;
  out[3] = dims.length;
  dims.forEach((d, i) => view.setUint32(4 + 4 * i, d));
  for (let i = 0; i < count; i++) out[4 + 4 * dims.length + i] = i % 256;
  return extraBytes < 0 ? out.subarray(0, out.length + extraBytes) : out;
}

describe('IDX parser', () => {
  it('reads the real MNIST files with the known counts', () => {
    const train = loadImageSet('mnist', 'train');
    expect([train.count, train.height, train.width]).toEqual([60000, 28, 28]);
    expect(train.pixels.length).toBe(60000 * 784);
    expect(train.labels.length).toBe(60000);
    // The first training label of MNIST is a 5, the first test label a 7.
    expect(train.labels[0]).toBe(5);
    const test = loadImageSet('mnist', 'test');
    expect([test.count, test.height, test.width]).toEqual([10000, 28, 28]);
    expect(test.labels[0]).toBe(7);
    expect(Math.max(...train.labels)).toBe(9);
  });

  it('parses a hand-made file', () => {
    const a = parseIdx(idx([3, 2, 2]), 'x', 3);
    expect(a.dims).toEqual([3, 2, 2]);
    expect([...a.data]).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
  });

  it('rejects a truncated file, naming it and the byte counts', () => {
    expect(() => parseIdx(idx([3, 2, 2], -1), 'imgs.idx', 3)).toThrow(
      /imgs\.idx: truncated: dimensions \[3, 2, 2\] need 28 bytes, found 27/,
    );
    expect(() => parseIdx(idx([3, 2, 2]).subarray(0, 10), 'imgs.idx', 3)).toThrow(/imgs\.idx: truncated header/);
    expect(() => parseIdx(new Uint8Array(2), 'empty.idx', 3)).toThrow(/empty\.idx: truncated: 2 bytes/);
  });

  it('rejects trailing bytes', () => {
    expect(() => parseIdx(idx([2, 2, 2], 3), 'f', 3)).toThrow(/f: trailing bytes: dimensions \[2, 2, 2\] need 24 bytes, found 27/);
  });

  it('rejects a wrong magic number with expected vs found', () => {
    const bad = idx([2, 2, 2]);
    bad[0] = 0x50; // e.g. a PNG or text file
    expect(() => parseIdx(bad, 'weird.bin', 3)).toThrow(/weird\.bin: bad magic number: expected 0x00000803 .* found 0x50000803/);
    const floats = idx([2, 2, 2]);
    floats[2] = 0x0d;
    expect(() => parseIdx(floats, 'f.idx', 3)).toThrow(/expected 0x00000803 \(ubyte, 3 dimensions\), found 0x00000d03 \(float with 3 dimensions\)/);
  });

  it('rejects wrong dimensions (a label file given as images)', () => {
    expect(() => parseIdx(idx([10]), 'labels.idx', 3)).toThrow(/labels\.idx: bad magic number: expected 0x00000803 .* found 0x00000801 \(ubyte with 1 dimensions\)/);
  });

  it('rejects an image/label count mismatch, naming the label file', () => {
    expect(() => imageSetFromIdx(idx([5, 2, 2]), 'img', idx([4]), 'lab')).toThrow(
      /lab: label count does not match img: expected 5, found 4/,
    );
    expect(() => imageSetFromIdx(idx([0, 2, 2]), 'img', idx([0]), 'lab')).toThrow(IdxError);
  });

  it('says so when handed a gzip file directly', () => {
    expect(() => parseIdx(gzipSync(idx([1, 2, 2])), 'x.gz', 3)).toThrow(/x\.gz: is gzip-compressed/);
  });

  it('loads a directory of gzipped files and reports missing ones', () => {
    const dir = mkdtempSync(join(tmpdir(), 'idx-'));
    writeFileSync(join(dir, 'train-images-idx3-ubyte.gz'), gzipSync(idx([3, 4, 5])));
    expect(() => loadImageSet(dir, 'train')).toThrow(/no train-labels-idx1-ubyte \(or train-labels-idx1-ubyte\.gz\) found/);
    writeFileSync(join(dir, 'train-labels-idx1-ubyte.gz'), gzipSync(idx([3])));
    const set = loadImageSet(dir, 'train');
    expect([set.count, set.height, set.width]).toEqual([3, 4, 5]);
    writeFileSync(join(dir, 't10k-images-idx3-ubyte.gz'), new Uint8Array([0x1f, 0x8b, 1, 2, 3]));
    writeFileSync(join(dir, 't10k-labels-idx1-ubyte'), idx([3]));
    expect(() => loadImageSet(dir, 'test')).toThrow(/t10k-images-idx3-ubyte\.gz: corrupt gzip data/);
    expect(() => loadImageSet(join(dir, 'nope'), 'train')).toThrow(/--data: expected mnist, fashion or a directory/);
  });

  it('refuses a huge or mis-sized file from its header and size, before reading its body', () => {
    const dir = mkdtempSync(join(tmpdir(), 'idx-big-'));
    const images = join(dir, 'train-images-idx3-ubyte');
    // A 10 GB sparse file whose header claims 60000 images of 28x28: reading it would take minutes.
    writeFileSync(images, idx([60000, 28, 28]).subarray(0, 16));
    truncateSync(images, 10_000_000_000);
    writeFileSync(join(dir, 'train-labels-idx1-ubyte'), idx([60000]));
    const t0 = performance.now();
    expect(() => loadImageSet(dir, 'train')).toThrow(/train-images-idx3-ubyte: trailing bytes: dimensions \[60000, 28, 28\] need 47040016 bytes, found 10000000000/);
    // A stat and a 16-byte read; a full read of 10 GB takes seconds even from the page cache.
    expect(performance.now() - t0).toBeLessThan(1000);
    // A gzip file larger than its header's data is refused before inflating; one that inflates
    // past the size its header promises (a bomb) is cut off there.
    const gz = join(dir, 't10k-images-idx3-ubyte.gz');
    writeFileSync(join(dir, 't10k-labels-idx1-ubyte'), idx([2]));
    writeFileSync(gz, gzipSync(Buffer.concat([idx([2, 2, 2]), new Uint8Array(50_000_000).map((_, i) => (i * 7919) % 251)])));
    expect(() => loadImageSet(dir, 'test')).toThrow(/t10k-images-idx3-ubyte\.gz: trailing bytes: \d+ compressed bytes are more than the 24 bytes/);
    writeFileSync(gz, gzipSync(Buffer.concat([idx([2, 2, 2]), new Uint8Array(500_000)])));
    expect(() => loadImageSet(dir, 'test')).toThrow(/t10k-images-idx3-ubyte\.gz: corrupt gzip data: Cannot create a Buffer larger than 25 bytes/);
  });
});
