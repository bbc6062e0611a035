/**
 * A decoded set's pixels left on disk (a decoded-cache entry's pixels.u8), read image by image:
 * what a streamed run packs its shards from when the host should hold two shards, not the set.
 * The file stays open for the process's life, so an entry replaced on disk by another run
 * (written whole and renamed into place) does not change what this run reads.
 */
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { createHash } from 'node:crypto';
import type { PixelSource } from './idx.js';

/** Bytes hashed per read while checking the file (the host holds no more of it at once). */
const CHUNK = 16 * 2 ** 20;

/**
 * Opens `file` of `count` images of `bytesPerImage` bytes, checking its size and its SHA-256
 * against `sha256` (read in chunks); `corrupt` makes the error for a mismatch.
 */
export function openPixelFile(file: string, count: number, bytesPerImage: number, sha256: string, corrupt: (why: string) => Error): PixelSource {
  const fd = openSync(file, 'r');
  try {
    const size = fstatSync(fd).size;
    if (size !== count * bytesPerImage) throw corrupt(`pixels.u8 holds ${size} bytes, not ${count} images of ${bytesPerImage}`);
    const hash = createHash('sha256');
    const chunk = new Uint8Array(Math.min(CHUNK, Math.max(size, 1)));
    for (let at = 0; at < size; ) {
      const n = readSync(fd, chunk, 0, Math.min(chunk.length, size - at), at);
      if (n <= 0) throw corrupt(`pixels.u8 ended at byte ${at} of ${size}`);
      hash.update(chunk.subarray(0, n));
      at += n;
    }
    if (hash.digest('hex') !== sha256) throw corrupt('pixels.u8 does not match its SHA-256');
  } catch (err) {
    closeSync(fd);
    throw err;
  }
  return {
    file,
    read(index: number, into: Uint8Array, at: number): void {
      const n = readSync(fd, into, at, bytesPerImage, index * bytesPerImage);
      if (n !== bytesPerImage) throw new Error(`${file}: image ${index} is cut short (${n} of ${bytesPerImage} bytes read); the decoded-image cache entry changed under this run`);
    },
  };
}
