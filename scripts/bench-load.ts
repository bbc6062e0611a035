/**
 * Loading speed of an image folder as `train --data DIR` loads it (src/data/folder.ts): the first
 * load (decoding + resizing) on one thread and on one per core, then a second load from the
 * decoded-set cache, read into memory and left on disk (as a streamed run loads it); each the
 * median of --runs. Without --dir it first writes --count PNGs (or JPEGs: --format jpeg) of
 * --side x --side pixels (70 distinct coloured shapes, not timed) into a temporary folder.
 *
 *   npm run bench:load -- [--dir DIR] [--count 20000] [--side 64] [--size 64] [--runs 3] [--format png]
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import jpeg from 'jpeg-js';
import { PNG } from 'pngjs';
import { DecodedCache } from '../src/data/decoded-cache.js';
import { loadImageFolder } from '../src/data/folder.js';
import { median } from '../src/gpu/timer.js';

const { values } = parseArgs({
  options: { dir: { type: 'string' }, count: { type: 'string', default: '20000' }, side: { type: 'string', default: '64' }, size: { type: 'string', default: '64' }, runs: { type: 'string', default: '3' }, format: { type: 'string', default: 'png' } },
});
const [count, side, size, runs] = [values.count, values.side, values.size, values.runs].map(Number) as [number, number, number, number];

let dir = values.dir;
let made: string | null = null;
if (!dir) {
  made = dir = mkdtempSync(join(tmpdir(), 'bench-load-'));
  const t = performance.now();
  for (let c = 0; c < 10; c++) mkdirSync(join(dir, `class${c}`));
  // 70 distinct pictures (jpeg-js encodes slowly), each written under many names: decoding costs the same.
  const distinct = Array.from({ length: 70 }, (_, i) => {
    const rgba = new Uint8Array(side * side * 4);
    for (let p = 0; p < side * side; p++) {
      const x = p % side;
      const y = Math.floor(p / side);
      const inside = (x - side / 2) ** 2 + (y - side / 2) ** 2 < (side * (0.2 + (i % 7) * 0.03)) ** 2;
      rgba.set(inside ? [(i * 37) & 255, (i * 91) & 255, (i * 13) & 255, 255] : [(x * 4 + i) & 255, (y * 4) & 255, 128, 255], p * 4);
    }
    if (values.format === 'jpeg') return jpeg.encode({ data: rgba, width: side, height: side }, 90).data;
    const png = new PNG({ width: side, height: side });
    png.data = Buffer.from(rgba);
    return PNG.sync.write(png);
  });
  const ext = values.format === 'jpeg' ? 'jpg' : 'png';
  for (let i = 0; i < count; i++) writeFileSync(join(dir, `class${i % 10}`, `${i}.${ext}`), distinct[i % distinct.length]!);
  console.log(`wrote ${count} ${side}x${side} ${ext.toUpperCase()}s to ${dir} in ${((performance.now() - t) / 1000).toFixed(1)} s (not timed below)`);
}

const threads = availableParallelism();
console.log(`cpu      ${cpus()[0]?.model.trim() ?? 'unknown CPU'}, ${cpus().length} cores (${threads} decoding threads at most)`);
const cacheDir = mkdtempSync(join(tmpdir(), 'bench-load-cache-'));

/** The median of --runs loads with `o`. */
async function timed(label: string, o: { threads: number; cache: DecodedCache | null; pixelsOnDisk?: boolean }): Promise<number> {
  const times: number[] = [];
  let n = 0;
  for (let r = 0; r < runs; r++) {
    const t = performance.now();
    const { set } = await loadImageFolder(dir!, { size, channels: 3, ...o });
    times.push((performance.now() - t) / 1000);
    n = set.count;
  }
  const s = median(times);
  console.log(`${label.padEnd(26)} ${n} images -> 3x${size}x${size}: ${s.toFixed(2)} s median of ${runs} (min ${Math.min(...times).toFixed(2)}, max ${Math.max(...times).toFixed(2)}), ${(n / s).toFixed(0)} images/s`);
  return s;
}

const one = await timed('first load, 1 thread', { threads: 1, cache: null });
const all = await timed(`first load, ${threads} threads`, { threads, cache: null });
const cache = new DecodedCache(cacheDir);
await loadImageFolder(dir, { size, channels: 3, threads, cache }); // fills the cache
const cached = await timed('second load (cache)', { threads, cache });
// As a streamed run (--shard-mib) loads it: checked, then left on disk for its shards.
const onDisk = await timed('second load (cache, on disk)', { threads, cache, pixelsOnDisk: true });
console.log(`ratios   ${threads} threads ${(one / all).toFixed(2)}x one thread; the cached load ${(all / cached).toFixed(1)}x faster than the first (${threads} threads), left on disk ${(all / onDisk).toFixed(1)}x`);
rmSync(cacheDir, { recursive: true, force: true });
if (made) rmSync(made, { recursive: true, force: true });
