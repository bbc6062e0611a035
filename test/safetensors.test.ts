import { describe, expect, it } from 'vitest';
import { parseSafetensors, serializeSafetensors, tensorValues, type SafeTensor } from '../src/io/safetensors.js';
import { loadFixture } from './helpers/fixtures.js';

describe('safetensors', () => {
  it('reads the file Python wrote', () => {
    const f = loadFixture('mnist');
    expect(f.get('images').shape).toEqual([96, 1, 28, 28]);
    expect(f.get('indices').dtype).toBe('I32');
    const idx = f.values('indices') as Int32Array;
    expect([...idx.subarray(0, 4)]).toEqual([0, 1, 59999, 59998]);
  });

  it('round-trips tensors and metadata', () => {
    const tensors = new Map<string, SafeTensor>([
      ['b', { dtype: 'F32', shape: [2], bytes: new Uint8Array(new Float32Array([1.5, -2]).buffer) }],
      ['a.count', { dtype: 'I64', shape: [], bytes: new Uint8Array(new BigInt64Array([7n]).buffer) }],
    ]);
    const bytes = serializeSafetensors(tensors, { format: '1' });
    const back = parseSafetensors(bytes, 'mem');
    expect(back.metadata).toEqual({ format: '1' });
    expect([...(tensorValues(back.tensors.get('b')!) as Float32Array)]).toEqual([1.5, -2]);
    expect(tensorValues(back.tensors.get('a.count')!)).toEqual(new BigInt64Array([7n]));
    // Header then data 8-byte aligned, as the format recommends.
    expect(Number(new DataView(bytes.buffer).getBigUint64(0, true)) % 8).toBe(0);
  });

  it('names the file and the problem for corrupt input', () => {
    expect(() => parseSafetensors(new Uint8Array(3), 'x.safetensors')).toThrow('x.safetensors: truncated: 3 bytes');
    const good = serializeSafetensors(new Map([['w', { dtype: 'F32', shape: [4], bytes: new Uint8Array(16) }]]));
    expect(() => parseSafetensors(good.subarray(0, good.length - 4), 'w.st')).toThrow(
      /w\.st: tensor "w": shape \[4\] F32 needs 16 bytes, offsets \[0, 16\] in a body of 12/,
    );
    const badJson = good.slice();
    badJson[8] = 0x7b + 1;
    expect(() => parseSafetensors(badJson, 'j.st')).toThrow(/j\.st: header is not valid UTF-8 JSON/);
  });
});
