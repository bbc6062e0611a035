import { describe, expect, it } from 'vitest';
import { makeGrid } from '../src/image/images.js';
import { decodePng, encodePng } from '../src/image/png.js';
import { pythonFloatRepr, referenceLogLine } from '../src/train/pyrepr.js';
import { loadFixture } from './helpers/fixtures.js';

const fixture = loadFixture('format');

describe("the reference's output formats", () => {
  it("prints float32 losses exactly as Python's f-string of tensor.item() does", () => {
    const cases = JSON.parse(fixture.metadata.float_reprs!) as Array<{ bits: number; repr: string }>;
    expect(cases.length).toBeGreaterThan(70);
    for (const { bits, repr } of cases) {
      const value = new Float32Array(new Uint32Array([bits]).buffer)[0]!;
      expect(pythonFloatRepr(value), `bits 0x${bits.toString(16)}`).toBe(repr);
    }
    expect(pythonFloatRepr(NaN)).toBe('nan');
    expect(pythonFloatRepr(-Infinity)).toBe('-inf');
  });

  it('formats the log line like the notebook', () => {
    expect(referenceLogLine(0, 20, 400, 938, Math.fround(1.3862944), 2)).toBe('Epoch [0/20] Batch 400/938 Loss D: 1.3862943649291992, Loss G: 2.0');
  });

  it("draws the 5x5 grid exactly as torchvision's save_image(normalize=True), pixel for pixel", () => {
    const images = fixture.values('images') as Float32Array;
    const pixels = fixture.values('pixels') as Uint8Array;
    const grid = makeGrid(images, 25, [1, 28, 28]);
    expect([grid.height, grid.width]).toEqual(fixture.get('pixels').shape.slice(0, 2));
    expect(Buffer.from(grid.rgb).equals(Buffer.from(pixels))).toBe(true);
    // And the PNG round-trips.
    expect(Buffer.from(decodePng(encodePng(grid)).rgb).equals(Buffer.from(pixels))).toBe(true);
  });
});
