/**
 * PyTorch's `ToTensor()` then `Normalize([0.5], [0.5])` for each byte value, in float32:
 * (fround(b / 255) - 0.5) / 0.5 with every operation rounded to float32 as PyTorch does.
 * Verified against torchvision for all 256 values (test/gather.test.ts).
 */
export function normalizationTable(mean = 0.5, std = 0.5): Float32Array {
  const f = Math.fround;
  const table = new Float32Array(256);
  for (let b = 0; b < 256; b++) table[b] = f(f(f(b / 255) - f(mean)) / f(std));
  return table;
}
