/**
 * The roofline as a picture (train --profile's roofline.png, the page's chart): each kernel that
 * declares its FLOPs a dot at its arithmetic intensity (FLOPs per byte moved) and GFLOP/s, on
 * log-log axes, under the adapter's two measured roofs: stream bandwidth x intensity, then the
 * best GEMM's GFLOP/s. A dot's area follows its share of the step; the top kernels are numbered
 * and named with their share.
 */
import type { Ceilings, KernelProfile } from '../gpu/profiler.js';
import { drawText, type Grid } from './images.js';

type Rgb = readonly [number, number, number];

const LABELLED = 6;

export function rooflineChart(rows: readonly KernelProfile[], ceilings: Ceilings, width = 720, height = 440): Grid {
  const rgb = new Uint8Array(width * height * 3).fill(255);
  const set = (x: number, y: number, c: readonly number[]) => {
    const xi = Math.round(x);
    const yi = Math.round(y);
    if (xi >= 0 && yi >= 0 && xi < width && yi < height) rgb.set(c, (yi * width + xi) * 3);
  };
  const points = rows.filter((r) => r.gflops !== null && r.gbs !== null && r.gflops > 0 && r.gbs > 0).map((r) => ({ r, ai: r.gflops! / r.gbs!, g: r.gflops! }));
  // Axes in decades around the points and the ridge (where the two roofs meet).
  const ridge = ceilings.gemmGflops / ceilings.copyGBs;
  const decade = (v: number, up: boolean) => 10 ** (up ? Math.ceil(Math.log10(v)) : Math.floor(Math.log10(v)));
  const [x0, x1] = [decade(Math.min(ridge / 10, ...points.map((p) => p.ai)), false), decade(Math.max(ridge * 10, ...points.map((p) => p.ai)), true)];
  const [y0, y1] = [decade(Math.min(ceilings.gemmGflops / 1000, ...points.map((p) => p.g)), false), decade(ceilings.gemmGflops * 1.5, true)];
  const [left, right, top, bottom] = [70, width - 20, 30, height - 40];
  const px = (ai: number) => left + ((Math.log10(ai) - Math.log10(x0)) / (Math.log10(x1) - Math.log10(x0))) * (right - left);
  const py = (g: number) => bottom - ((Math.log10(g) - Math.log10(y0)) / (Math.log10(y1) - Math.log10(y0))) * (bottom - top);
  for (let d = x0; d <= x1 * 1.001; d *= 10) {
    for (let y = top; y <= bottom; y++) set(px(d), y, [230, 230, 230]);
    drawText(set, formatDecade(d), Math.min(px(d) - 4 * formatDecade(d).length, right - 8 * formatDecade(d).length), bottom + 6, [90, 90, 90]);
  }
  for (let d = y0; d <= y1 * 1.001; d *= 10) {
    for (let x = left; x <= right; x++) set(x, py(d), [230, 230, 230]);
    drawText(set, formatDecade(d), 4, py(d) - 5, [90, 90, 90]);
  }
  drawText(set, 'FLOP/BYTE', right - 80, bottom + 20, [60, 60, 60]);
  drawText(set, 'GFLOP/S', 4, 8, [60, 60, 60]);
  // The roofs: min(bandwidth x intensity, GEMM).
  for (let x = left; x <= right; x++) {
    const ai = 10 ** (Math.log10(x0) + ((x - left) / (right - left)) * (Math.log10(x1) - Math.log10(x0)));
    const roof = Math.min(ceilings.copyGBs * ai, ceilings.gemmGflops);
    if (roof >= y0) for (let t = 0; t < 2; t++) set(x, py(roof) - t, [200, 40, 40]);
  }
  drawText(set, `GEMM ${ceilings.gemmGflops.toFixed(1)} GFLOP/S`, px(ridge) + 8, py(ceilings.gemmGflops) - 14, [200, 40, 40]);
  drawText(set, `${ceilings.copyGBs.toFixed(1)} GB/S`, left + 6, py(ceilings.copyGBs * x0 * 3) - 14, [200, 40, 40]);
  const ranked = [...points].sort((a, b) => b.r.share - a.r.share);
  for (const { r, ai, g } of [...ranked].reverse()) dot(set, px(ai), py(g), 2 + Math.sqrt(r.share) * 14, r.bound === 'memory' ? [31, 119, 180] : [44, 160, 44]);
  // The top kernels numbered at their dots, named in a legend in the lower right (under the roofs, where kernels rarely are).
  const top5 = ranked.slice(0, LABELLED);
  top5.forEach(({ ai, g }, k) => drawText(set, String(k + 1), px(ai) + 5 + (k % 2) * 10, py(g) - 14 + (k % 3) * 6, [30, 30, 30]));
  const short = (name: string) => (name.length > 34 ? `${name.slice(0, 33)}-` : name).toUpperCase();
  top5.forEach(({ r }, k) => drawText(set, `${k + 1} ${short(r.kernel)} ${(100 * r.share).toFixed(0)}%`, left + (right - left) * 0.38, bottom - 14 * (top5.length - k) - 4, [30, 30, 30]));
  for (let y = top; y <= bottom; y++) set(left, y, [0, 0, 0]);
  for (let x = left; x <= right; x++) set(x, bottom, [0, 0, 0]);
  return { width, height, rgb };
}

function dot(set: (x: number, y: number, c: Rgb) => void, cx: number, cy: number, radius: number, colour: Rgb): void {
  for (let dy = -radius; dy <= radius; dy++) for (let dx = -radius; dx <= radius; dx++) if (dx * dx + dy * dy <= radius * radius) set(cx + dx, cy + dy, colour);
}

function formatDecade(v: number): string {
  return v >= 1 ? String(Math.round(v)) : v.toPrecision(1);
}
