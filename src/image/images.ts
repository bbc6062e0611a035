/**
 * Pictures of a run as RGB pixels (no I/O, so the browser page uses them too): the sample grid
 * with torchvision's `save_image(x, nrow=5, normalize=True)` semantics, and the loss curves.
 * PNG encoding lives in png.ts (Node).
 */

export interface Grid {
  width: number;
  height: number;
  /** RGB, 3 bytes per pixel. */
  rgb: Uint8Array;
}

/**
 * make_grid + save_image: min-max normalise over all given images and channels (float32
 * arithmetic as PyTorch: (x - min) / max(max - min, 1e-5)), tile `nrow` per row with 2-px
 * padding of 0, then byte = floor(clamp(v * 255 + 0.5, 0, 255)) per channel; a grey image's one
 * channel is replicated to RGB, as make_grid does. `shape`: one image's [C, H, W], C 1 or 3.
 */
export function makeGrid(images: Float32Array, count: number, shape: readonly [number, number, number], nrow = 5, padding = 2): Grid {
  const f = Math.fround;
  const [C, height, width] = shape;
  if (C !== 1 && C !== 3) throw new Error(`grid: images of ${C} channels; expected 1 (grey) or 3 (RGB)`);
  const plane = height * width;
  const n = C * plane * count;
  if (images.length < n) throw new Error(`grid: ${count} images of ${C}x${height}x${width} need ${n} values, found ${images.length}`);
  let lo = Infinity;
  let hi = -Infinity;
  for (let i = 0; i < n; i++) {
    lo = Math.min(lo, images[i]!);
    hi = Math.max(hi, images[i]!);
  }
  const range = f(Math.max(f(hi - lo), 1e-5));
  const cols = Math.min(nrow, count);
  const rows = Math.ceil(count / cols);
  const W = (width + padding) * cols + padding;
  const H = (height + padding) * rows + padding;
  const rgb = new Uint8Array(W * H * 3);
  for (let k = 0; k < count; k++) {
    const oy = Math.floor(k / cols) * (height + padding) + padding;
    const ox = (k % cols) * (width + padding) + padding;
    for (let c = 0; c < 3; c++) {
      const base = (k * C + (C === 1 ? 0 : c)) * plane;
      for (let y = 0; y < height; y++) {
        for (let x = 0; x < width; x++) {
          const v = f(f(images[base + y * width + x]! - lo) / range);
          rgb[((oy + y) * W + ox + x) * 3 + c] = Math.floor(Math.min(255, Math.max(0, f(f(v * 255) + 0.5))));
        }
      }
    }
  }
  return { width: W, height: H, rgb };
}

/**
 * One image [C, H, W] in [-1, 1] as an RGB picture: byte = round(clamp((x + 1) / 2, 0, 1) * 255)
 * per channel (a grey image replicated), without a grid's min-max normalisation.
 */
export function imageRgb(image: Float32Array, shape: readonly [number, number, number]): Grid {
  const [C, height, width] = shape;
  if (C !== 1 && C !== 3) throw new Error(`image: ${C} channels; expected 1 (grey) or 3 (RGB)`);
  const plane = height * width;
  const rgb = new Uint8Array(plane * 3);
  for (let c = 0; c < 3; c++) {
    const src = image.subarray((C === 1 ? 0 : c) * plane, ((C === 1 ? 0 : c) + 1) * plane);
    for (let p = 0; p < plane; p++) rgb[p * 3 + c] = Math.round(Math.min(1, Math.max(0, (src[p]! + 1) / 2)) * 255);
  }
  return { width, height, rgb };
}

/** 3x5 pixel glyphs for the chart's labels (rows top to bottom, 3 bits each, MSB left). */
const GLYPHS: Record<string, number[]> = {
  '0': [7, 5, 5, 5, 7], '1': [2, 6, 2, 2, 7], '2': [7, 1, 7, 4, 7], '3': [7, 1, 7, 1, 7], '4': [5, 5, 7, 1, 1],
  '5': [7, 4, 7, 1, 7], '6': [7, 4, 7, 5, 7], '7': [7, 1, 1, 2, 2], '8': [7, 5, 7, 5, 7], '9': [7, 5, 7, 1, 7],
  '.': [0, 0, 0, 0, 2], '-': [0, 0, 7, 0, 0], ' ': [0, 0, 0, 0, 0], D: [6, 5, 5, 5, 6], G: [7, 4, 5, 5, 7],
  s: [0, 7, 4, 1, 7], t: [2, 7, 2, 2, 3], e: [7, 5, 7, 4, 7], p: [7, 5, 7, 4, 4], l: [4, 4, 4, 4, 7], o: [0, 7, 5, 5, 7],
  // Other letters, any case, as capitals.
  A: [2, 5, 7, 5, 5], B: [6, 5, 6, 5, 6], C: [3, 4, 4, 4, 3], E: [7, 4, 6, 4, 7], F: [7, 4, 6, 4, 4], H: [5, 5, 7, 5, 5],
  I: [7, 2, 2, 2, 7], J: [1, 1, 1, 5, 2], K: [5, 5, 6, 5, 5], L: [4, 4, 4, 4, 7], M: [5, 7, 7, 5, 5], N: [6, 5, 5, 5, 5],
  O: [2, 5, 5, 5, 2], P: [6, 5, 6, 4, 4], Q: [2, 5, 5, 6, 3], R: [6, 5, 6, 5, 5], S: [3, 4, 2, 1, 6], T: [7, 2, 2, 2, 2],
  U: [5, 5, 5, 5, 7], V: [5, 5, 5, 5, 2], W: [5, 5, 7, 7, 5], X: [5, 5, 2, 5, 5], Y: [5, 5, 2, 2, 2], Z: [7, 1, 2, 4, 7],
  '(': [1, 2, 2, 2, 1], ')': [4, 2, 2, 2, 4], _: [0, 0, 0, 0, 7], '/': [1, 1, 2, 4, 4], '%': [5, 1, 2, 4, 5], ':': [0, 2, 0, 2, 0],
};

/** Writes `text` with the glyphs above, each pixel `scale` x `scale`. */
export function drawText(set: (x: number, y: number, c: readonly number[]) => void, text: string, x: number, y: number, color: readonly number[], scale = 2): void {
  [...text].forEach((ch, i) => {
    const rows = GLYPHS[ch] ?? GLYPHS[ch.toUpperCase()] ?? GLYPHS[' ']!;
    rows.forEach((bits, r) => {
      for (let c = 0; c < 3; c++) {
        if (!(bits & (4 >> c))) continue;
        for (let dy = 0; dy < scale; dy++) for (let dx = 0; dx < scale; dx++) set(x + (i * 4 + c) * scale + dx, y + r * scale + dy, color);
      }
    });
  });
}

/**
 * Line plot of series over steps (white background, light grid, one colour per series), with
 * the y values of the grid lines, the last step, and a legend of the series' labels.
 */
export function lossCurve(steps: number[], series: Array<{ values: number[]; color: [number, number, number]; label?: string }>, width = 640, height = 360): Grid {
  const rgb = new Uint8Array(width * height * 3).fill(255);
  const margin = 40;
  const finite = series.flatMap((s) => s.values.filter(Number.isFinite));
  const lo = Math.min(0, ...finite);
  const hi = Math.max(1e-6, ...finite);
  const x0 = steps[0] ?? 0;
  const x1 = Math.max(x0 + 1, steps[steps.length - 1] ?? 1);
  const px = (s: number) => margin + ((s - x0) / (x1 - x0)) * (width - 2 * margin);
  const py = (v: number) => height - margin - ((v - lo) / (hi - lo)) * (height - 2 * margin);
  const set = (x: number, y: number, c: readonly number[]) => {
    const xi = Math.round(x);
    const yi = Math.round(y);
    if (xi < 0 || yi < 0 || xi >= width || yi >= height) return;
    rgb.set(c, (yi * width + xi) * 3);
  };
  for (let i = 0; i <= 4; i++) {
    const y = margin + (i * (height - 2 * margin)) / 4;
    for (let x = margin; x < width - margin; x++) set(x, y, [225, 225, 225]);
    const v = hi - (i * (hi - lo)) / 4;
    drawText(set, v.toFixed(2), 2, Math.round(y) - 5, [90, 90, 90]);
  }
  drawText(set, `step ${x1}`, width - margin - 4 * 2 * (5 + String(x1).length), height - margin + 8, [90, 90, 90]);
  series.forEach(({ color, label }, k) => {
    if (!label) return;
    const x = margin + 10 + k * 60;
    for (let dy = 0; dy < 10; dy++) for (let dx = 0; dx < 14; dx++) set(x + dx, 12 + dy, color);
    drawText(set, label, x + 20, 12, [40, 40, 40]);
  });
  for (let y = margin; y < height - margin; y++) set(margin, y, [0, 0, 0]);
  for (let x = margin; x < width - margin; x++) set(x, py(0), [0, 0, 0]);
  for (const { values, color } of series) {
    for (let i = 1; i < values.length; i++) {
      const [a, b] = [values[i - 1]!, values[i]!];
      if (!Number.isFinite(a) || !Number.isFinite(b)) continue;
      const steps_ = Math.max(1, Math.ceil(Math.abs(px(steps[i]!) - px(steps[i - 1]!)) + Math.abs(py(b) - py(a))));
      for (let t = 0; t <= steps_; t++) {
        const u = t / steps_;
        set(px(steps[i - 1]!) + u * (px(steps[i]!) - px(steps[i - 1]!)), py(a) + u * (py(b) - py(a)), color);
      }
    }
  }
  return { width, height, rgb };
}
