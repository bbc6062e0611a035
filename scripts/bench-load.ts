/**
 * Loading speed of an image folder: decoding + resizing as `train --data DIR` does it
 * (src/data/folder.ts), timed over several runs. Without --dir it first writes --count JPEGs of
 * --side x --side pixels (70 distinct coloured shapes, not timed) into a temporary folder.
 *
 *   npm run bench:load -- [--dir DIR] [--count 10000] [--side 64] [--size 64] [--runs 3]
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import jpeg from 'jpeg-js';
import { loadImageFolder } from '../src/data/folder.js';
import { median } from '../src/gpu/timer.js';

const { values } = parseArgs({
  options: { dir: { type: 'string' }, count: { type: 'string', default: '10000' }, side: { type: 'string', default: '64' }, size: { type: 'string', default: '64' }, runs: { type: 'string', default: '3' } },
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
    return jpeg.encode({ data: rgba, width: side, height: side }, 90).data;
  });
  for (let i = 0; i < count; i++) writeFileSync(join(dir, `class${i % 10}`, `${i}.jpg`), distinct[i % distinct.length]!);
  console.log(`wrote ${count} ${side}x${side} JPEGs (quality 90) to ${dir} in ${((performance.now() - t) / 1000).toFixed(1)} s (not timed below)`);
}

console.log(`cpu      ${cpus()[0]?.model.trim() ?? 'unknown CPU'}, ${cpus().length} cores; one thread decodes`);
const times: number[] = [];
let n = 0;
for (let r = 0; r < runs; r++) {
  const t = performance.now();
  const { set } = await loadImageFolder(dir, { size, channels: 3 });
  times.push((performance.now() - t) / 1000);
  n = set.count;
}
const s = median(times);
console.log(`load     ${n} images -> 3x${size}x${size}: ${s.toFixed(2)} s median of ${runs} (min ${Math.min(...times).toFixed(2)}, max ${Math.max(...times).toFixed(2)}), ${(n / s).toFixed(0)} images/s`);
if (made) rmSync(made, { recursive: true, force: true });
