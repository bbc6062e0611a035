/**
 * Half precision against PyTorch (test/fixtures/half.safetensors, scripts/fixtures/half_fixture.py):
 * float32 -> F16 and BF16 rounding bit for bit as torch's `.half()` and `.bfloat16()` (edge cases:
 * ties, subnormals, overflow, infinities, NaN; and 7,680 random values from 1e-9 to 1e5), widening
 * bit for bit as `.float()`, and a generator file stored in half precision sampling as its
 * float32 original does within the rounding it was stored with.
 */
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cliInProcess } from './helpers/cli.js';
import { describe, expect, it } from 'vitest';
import { narrowToHalf, widenHalf } from '../src/io/half.js';
import { parseSafetensors, serializeSafetensors, tensorValues, type SafeTensor } from '../src/io/safetensors.js';
import { generatorFromCheckpoint, sampleImages } from '../src/model/sample.js';
import { modelStateDict, serialize } from '../src/model/state-dict.js';
import { archDefaults, generator, initialValues, loadValues, modelSpec } from '../src/model/models.js';
import { halfCheckpoint } from '../src/model/half-checkpoint.js';
import { useGpu } from './helpers/gpu.js';

const fixture = parseSafetensors(new Uint8Array(readFileSync('test/fixtures/half.safetensors')), 'half.safetensors').tensors;
const x = tensorValues(fixture.get('x')!) as Float32Array;
const bits = (t: SafeTensor) => new Uint16Array(t.bytes.slice().buffer);

describe.each(['F16', 'BF16'] as const)('%s as PyTorch converts it', (dtype) => {
  const key = dtype === 'F16' ? 'f16' : 'bf16';
  const torchBits = bits(fixture.get(key)!);

  it('rounds float32 to the same bits (NaN stays NaN)', () => {
    const ours = new Uint16Array(narrowToHalf(x, dtype).buffer);
    const nanBits = (b: number) => (dtype === 'F16' ? (b & 0x7c00) === 0x7c00 && (b & 0x3ff) !== 0 : (b & 0x7f80) === 0x7f80 && (b & 0x7f) !== 0);
    let mismatches = 0;
    for (let i = 0; i < x.length; i++) {
      if (Number.isNaN(x[i]!)) expect(nanBits(ours[i]!) && nanBits(torchBits[i]!)).toBe(true);
      else if (ours[i] !== torchBits[i]) mismatches++;
    }
    expect(mismatches).toBe(0);
  });

  it('widens to the float32 that .float() gives, exactly', () => {
    const widened = widenHalf(fixture.get(key)!.bytes, dtype);
    const torchWide = tensorValues(fixture.get(`${key}_float`)!) as Float32Array;
    expect(widened.length).toBe(x.length);
    for (let i = 0; i < x.length; i++) expect(Object.is(widened[i], torchWide[i]) || (Number.isNaN(widened[i]!) && Number.isNaN(torchWide[i]!))).toBe(true);
    // The safetensors reader widens the same way.
    expect(tensorValues(fixture.get(key)!)).toEqual(widened);
  });
});

describe('a generator stored in half precision', () => {
  const gpu = useGpu('gles');

  it('loads as float32 and samples what the float32 file samples, within the storage rounding', async () => {
    const G = generator(modelSpec({ arch: 'reference', size: 28, latentDim: 100, channels: 1, classes: 0 })).allocate(gpu());
    loadValues(gpu(), G, initialValues(G, 5, archDefaults('reference').init, 0));
    const f32 = await modelStateDict(gpu(), G, 0);
    const full = serialize(f32, {});
    const half = halfCheckpoint(parseSafetensors(full, 'g.safetensors'), 'F16', 'g.safetensors');
    const halfBytes = serializeSafetensors(half.tensors, half.metadata);
    expect([...half.tensors.values()].filter((t) => t.dtype === 'F32')).toEqual([]);
    expect(half.tensors.get('model.1.num_batches_tracked')!.dtype).toBe('I64');
    expect(halfBytes.byteLength).toBeLessThan(0.51 * full.byteLength);
    const a = await sampleImages(gpu(), generatorFromCheckpoint(gpu(), full, 'g.safetensors').G, 16, 3);
    const b = await sampleImages(gpu(), generatorFromCheckpoint(gpu(), halfBytes, 'g-half.safetensors').G, 16, 3);
    let worst = 0;
    for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i]! - b[i]!));
    // Each weight moved by at most 2^-11 of itself; through four layers, tanh outputs move by well under 1e-2.
    expect(worst).toBeGreaterThan(0);
    expect(worst).toBeLessThan(1e-2);
  });

  it('export writes a run\'s generator at half the size, and refuses a file that is not a generator', async () => {
    const out = mkdtempSync(join(tmpdir(), 'dcgan-export-'));
    expect((await cliInProcess('train', '--backend', 'gles', '--batch-size', '8', '--max-steps', '1', '--out', out)).code).toBe(0);
    const half = join(out, 'g-half.safetensors');
    const r = await cliInProcess('export', '--checkpoint', out, '--out', half);
    expect(r.code, r.err).toBe(0);
    expect(r.out).toMatch(/^export   .*generator\.safetensors \(3\.02 MiB\) -> .*g-half\.safetensors \(1\.51 MiB, F16\)/);
    const file = parseSafetensors(new Uint8Array(readFileSync(half)), half);
    expect(file.tensors.get('model.0.weight')!.dtype).toBe('F16');
    expect(file.metadata.stored_as).toBe('F16');
    const bf = await cliInProcess('export', '--checkpoint', out, '--dtype', 'BF16', '--out', join(out, 'g-bf16.safetensors'));
    expect(bf.code, bf.err).toBe(0);
    expect((await cliInProcess('sample', '--backend', 'gles', '--checkpoint', half, '--out', join(out, 'half.png'))).code).toBe(0);
    const notG = await cliInProcess('export', '--checkpoint', join(out, 'checkpoints', 'latest', 'discriminator.safetensors'));
    expect(notG.code).toBe(1);
    expect(notG.err).toMatch(/discriminator\.safetensors: missing tensor "model\.0\.weight" .*not a generator checkpoint/);
    expect(existsSync('generator-half.safetensors')).toBe(false);
    const twice = await cliInProcess('export', '--checkpoint', half, '--dtype', 'BF16', '--out', join(out, 'twice.safetensors'));
    expect(twice.code).toBe(1);
    expect(twice.err).toContain('g-half.safetensors: already stored in half precision (F16); export from the float32 checkpoint');
    const badDtype = await cliInProcess('export', '--checkpoint', out, '--dtype', 'F8');
    expect(badDtype.code).toBe(2);
    expect(badDtype.err).toMatch(/--dtype: expected one of F16, BF16, found "F8"/);
  });

  it('refuses a value F16 cannot hold, naming the tensor and BF16', () => {
    const t = new Map<string, SafeTensor>([['model.0.weight', { dtype: 'F32', shape: [2], bytes: new Uint8Array(new Float32Array([1, 70000]).buffer) }]]);
    expect(() => halfCheckpoint({ tensors: t, metadata: {} }, 'F16', 'g.safetensors')).toThrow('g.safetensors: tensor "model.0.weight" holds 70000, beyond float16\'s 65504: store it as BF16');
  });
});
