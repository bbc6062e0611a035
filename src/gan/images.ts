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
 * make_grid + save_image: min-max normalise over all given images (float32 arithmetic as
 * PyTorch: (x - min) / max(max - min, 1e-5)), tile `nrow` per row with 2-px padding of 0, then
 * byte = floor(clamp(v * 255 + 0.5, 0, 255)), grey replicated to RGB.
 */
export function makeGrid(images: Float32Array, count: number, height: number, width: number, nrow = 5, padding = 2): Grid {
  const f = Math.fround;
  const n = height * width * count;
  if (images.length < n) throw new Error(`grid: ${count} images of ${height}x${width} need ${n} values, found ${images.length}`);
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
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) {
        const v = f(f(images[(k * height + y) * width + x]! - lo) / range);
        const byte = Math.floor(Math.min(255, Math.max(0, f(f(v * 255) + 0.5))));
        const o = ((oy + y) * W + ox + x) * 3;
        rgb[o] = rgb[o + 1] = rgb[o + 2] = byte;
      }
    }
  }
  return { width: W, height: H, rgb };
}

/** Line plot of series over steps (white background, light grid, one colour per series). */
export function lossCurve(steps: number[], series: Array<{ values: number[]; color: [number, number, number] }>, width = 640, height = 360): Grid {
  const rgb = new Uint8Array(width * height * 3).fill(255);
  const margin = 20;
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
  }
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
