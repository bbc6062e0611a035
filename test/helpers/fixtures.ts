import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseSafetensors, tensorValues, type SafeTensor } from '../../src/io/safetensors.js';

const DIR = fileURLToPath(new URL('../fixtures/', import.meta.url));

/** A committed PyTorch fixture (see scripts/fixtures/make.py). */
export function loadFixture(name: string): {
  get(key: string): SafeTensor;
  values(key: string): ReturnType<typeof tensorValues>;
  metadata: Record<string, string>;
} {
  const file = `${DIR}${name}.safetensors`;
  const { tensors, metadata } = parseSafetensors(new Uint8Array(readFileSync(file)), file);
  const get = (key: string) => {
    const t = tensors.get(key);
    if (!t) throw new Error(`${file}: no tensor "${key}"`);
    return t;
  };
  return { get, values: (key) => tensorValues(get(key)), metadata };
}

/** Index and values of the first element where two arrays differ bitwise, or null. */
export function firstBitDifference(a: Float32Array, b: Float32Array): string | null {
  if (a.length !== b.length) return `lengths differ: ${a.length} vs ${b.length}`;
  const ua = new Uint32Array(a.buffer, a.byteOffset, a.length);
  const ub = new Uint32Array(b.buffer, b.byteOffset, b.length);
  for (let i = 0; i < ua.length; i++) {
    if (ua[i] !== ub[i]) return `element ${i}: ${a[i]} vs ${b[i]}`;
  }
  return null;
}
