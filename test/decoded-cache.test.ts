/**
 * Loading an image folder on decoding workers and from the decoded-set cache: the same set and
 * report as one thread with no cache, every time; a changed or added file decoded again, never
 * served stale; a corrupt entry and an unwritable cache directory refused with the path named.
 */
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { makeShapesFolder } from '../scripts/make-shapes.js';
import { loadImageFolder } from '../src/data/folder.js';
import { loadTrainingData } from '../src/data/files.js';
import { DataCacheError, DecodedCache } from '../src/data/decoded-cache.js';
import { DecodePool } from '../src/data/decode-pool.js';
import type { Worker } from 'node:worker_threads';
import { parseSafetensors } from '../src/io/safetensors.js';
import { cliInProcess } from './helpers/cli.js';

const tmp = (p: string) => mkdtempSync(join(tmpdir(), p));

function folder(): string {
  const dir = join(tmp('dcgan-cache-data-'), 'shapes');
  makeShapesFolder(dir, { perClass: 3 });
  return dir;
}

/** The reference: one thread, no cache. */
const plain = (dir: string) => loadImageFolder(dir, { size: 16, threads: 1 });

describe('decoding workers', () => {
  it('give the set and report one thread gives', async () => {
    const dir = folder();
    writeFileSync(join(dir, 'circle', 'cut.png'), readFileSync(join(dir, 'circle', 'circle_000.rgb.png')).subarray(0, 80));
    const one = await plain(dir);
    const two = await loadImageFolder(dir, { size: 16, threads: 2 });
    expect(two.set).toEqual(one.set);
    expect(two.report).toEqual(one.report);
    expect(one.report.bad.map((b) => b.file)).toEqual([join(dir, 'circle', 'cut.png')]);
  });
});

describe('a decoding pool whose worker dies', () => {
  it('fails the jobs in flight and every later one with the reason, never leaving one waiting', async () => {
    const dir = folder();
    const file = join(dir, 'circle', 'circle_000.rgb.png');
    const pool = new DecodePool(2);
    try {
      expect((await pool.prepare(file, 'png', 3, 8)).pixels.length).toBe(3 * 8 * 8);
      const pending = pool.prepare(file, 'png', 3, 8);
      await (pool as unknown as { workers: Worker[] }).workers[1]!.terminate(); // job 1 went to worker 1
      await expect(pending).rejects.toThrow(/^a decoding worker failed: exited with code 1$/);
      await expect(pool.prepare(file, 'png', 3, 8)).rejects.toThrow('a decoding worker failed');
    } finally {
      await pool.close();
    }
  });
});

describe('the decoded-set cache', () => {
  it('reads a folder back whole on the second load, and decodes it again when a file changes or is added', async () => {
    const dir = folder();
    const cache = new DecodedCache(tmp('dcgan-cache-'));
    const said: string[] = [];
    // The cache's lines (a loaded machine may add a timed "loading i/n" progress line).
    const load = () => loadImageFolder(dir, { size: 16, cache, log: (l) => { if (!l.startsWith('loading')) said.push(l); } });
    const first = await load();
    expect(said).toEqual([]);
    const second = await load();
    expect(said).toHaveLength(1);
    expect(said[0]).toMatch(new RegExp(`^cache    ${first.set.count} images of .*shapes decoded by an earlier run, read from ${cache.dir}/[0-9a-f]{64}$`));
    expect(second).toEqual(first);
    expect(second).toEqual(await plain(dir));

    // A file rewritten with other pixels: decoded again, the new pixels served.
    const circle = join(dir, 'circle', 'circle_000.rgb.png');
    writeFileSync(circle, readFileSync(join(dir, 'square', 'square_000.rgba.png')));
    const changed = await load();
    expect(said).toHaveLength(1);
    expect(changed).toEqual(await plain(dir));
    expect(changed.set.pixels).not.toEqual(first.set.pixels);
    // A file added: one more image.
    writeFileSync(join(dir, 'triangle', 'extra.png'), readFileSync(circle));
    const added = await load();
    expect(added.set.count).toBe(first.set.count + 1);
    expect(added).toEqual(await plain(dir));
    // Other options are other entries; a folder's older entry for the same options is dropped.
    await loadImageFolder(dir, { size: 8, cache });
    expect(readdirSync(cache.dir).filter((n) => !n.startsWith('.'))).toHaveLength(2);
  });

  it('refuses a corrupt entry, naming it and how to clear it', async () => {
    const dir = folder();
    const cache = new DecodedCache(tmp('dcgan-cache-'));
    await loadImageFolder(dir, { size: 16, cache });
    const [entry] = readdirSync(cache.dir);
    const pixels = join(cache.dir, entry!, 'pixels.u8');
    const bytes = readFileSync(pixels);
    bytes[7] = bytes[7]! ^ 1;
    writeFileSync(pixels, bytes);
    const at = join(cache.dir, entry!);
    await expect(loadImageFolder(dir, { size: 16, cache })).rejects.toThrow(new DataCacheError(`decoded-image cache entry ${at} is corrupt (pixels.u8 does not match its SHA-256); delete it (rm -r ${at}), or run with --data-cache off`));
    // Left on disk, the file is checked the same way, in chunks, before any image is read.
    await expect(loadImageFolder(dir, { size: 16, cache, pixelsOnDisk: true })).rejects.toThrow(`decoded-image cache entry ${at} is corrupt (pixels.u8 does not match its SHA-256)`);
    writeFileSync(join(at, 'entry.json'), '{"format"');
    await expect(loadImageFolder(dir, { size: 16, cache })).rejects.toThrow(/entry\.json: .*JSON/);
  });

  it('refuses a cache directory it cannot write before decoding anything', async () => {
    const file = join(tmp('dcgan-cache-'), 'a-file');
    writeFileSync(file, '');
    await expect(loadTrainingData(folder(), { size: 16, cache: new DecodedCache(join(file, 'decoded')) })).rejects.toThrow(
      `--data-cache ${join(file, 'decoded')}: cannot write there (ENOTDIR); pass another directory, or --data-cache off to decode every run`,
    );
  });

  it('leaves a cached set on disk for a streamed run: the host holds no pixels, and the run is the in-memory run bit for bit', async () => {
    const dir = folder();
    const cacheDir = tmp('dcgan-cache-');
    const cache = new DecodedCache(cacheDir);
    const memory = await loadImageFolder(dir, { size: 32, cache });
    const disk = await loadImageFolder(dir, { size: 32, cache, pixelsOnDisk: true });
    expect(disk.set.pixels.length).toBe(0);
    const per = 3 * 32 * 32;
    const image = new Uint8Array(2 * per);
    for (let k = 0; k < memory.set.count; k++) {
      disk.set.onDisk!.read(k, image, per);
      expect(Buffer.from(image.subarray(per)).equals(Buffer.from(memory.set.pixels.subarray(k * per, (k + 1) * per))), `image ${k}`).toBe(true);
    }
    // A streamed run from the entry on disk against one from memory (no cache): the same checkpoints.
    const args = ['--backend', 'gles', '--data', dir, '--image-size', '32', '--batch-size', '3', '--max-steps', '6', '--shard-mib', '0.01'];
    const [fromDisk, fromMemory] = [tmp('dcgan-disk-'), tmp('dcgan-memory-')];
    const d = await cliInProcess('train', ...args, '--data-cache', cacheDir, '--out', fromDisk);
    expect(d.code, d.err).toBe(0);
    expect(d.out).toContain('left on disk (read shard by shard)');
    expect(d.out).toMatch(/^stream   \d+ shards per epoch of 3 images .*; packed from .*pixels\.u8, so the host holds two shards, not the set$/m);
    const m = await cliInProcess('train', ...args, '--data-cache', 'off', '--out', fromMemory);
    expect(m.code, m.err).toBe(0);
    for (const f of ['generator.safetensors', 'discriminator.safetensors', 'optimizer.safetensors']) {
      const read = (run: string) => parseSafetensors(new Uint8Array(readFileSync(join(run, 'checkpoints', 'latest', f))), f);
      const [a, b] = [read(fromDisk), read(fromMemory)];
      for (const [key, t] of a.tensors) expect(Buffer.from(t.bytes).equals(Buffer.from(b.tensors.get(key)!.bytes)), `${f} ${key}`).toBe(true);
    }
  });
});
