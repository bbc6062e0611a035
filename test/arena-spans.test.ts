/**
 * An arena over the adapter's binding limit (a 256-pixel dcgan's parameters are 192 MB, gles binds
 * 128 MiB): Adam runs one dispatch per span, and gives every value what one dispatch over the
 * whole arena gives, bit for bit.
 */
import { describe, expect, it } from 'vitest';
import { Adam } from '../src/backprop/adam.js';
import { Arena, PARAM_ROLES } from '../src/layers/arena.js';
import { useGpu } from './helpers/gpu.js';
import { hashTensor } from './helpers/hashdata.js';

describe('arena spans', () => {
  const gpu = useGpu('gles');

  it('cut the buffer in aligned spans that cover it once', () => {
    const arena = new Arena(gpu(), 'spans', [{ name: 'a', shape: [300] }, { name: 'b', shape: [700] }], ['param'] as const);
    expect(arena.length).toBe(1024); // 320 + 704: each tensor padded to 64 floats (256 bytes)
    expect(arena.spans(768)).toEqual([0, 192, 384, 576, 768, 960].map((offset) => ({ offset, length: offset === 960 ? 64 : 192 })));
    expect(arena.spans(1000)).toHaveLength(6); // rounded down to whole 256-byte units: 768 bytes
    expect(arena.spans(1 << 20)).toEqual([{ offset: 0, length: 1024 }]);
    arena.destroy();
  });

  it('Adam over six spans equals Adam over one, bit for bit', async () => {
    const g = gpu();
    const run = async (spanBytes: number) => {
      const arena = new Arena(g, `adam ${spanBytes}`, [{ name: 'a', shape: [300] }, { name: 'b', shape: [700] }], PARAM_ROLES);
      for (const [name, n, salt] of [['a', 300, 1], ['b', 700, 2]] as const) g.write(arena.view('param', name), hashTensor({ shape: [n], salt, scale: 1, offset: 0 }));
      const adam = await Adam.create(g, arena, { lr: 2e-4, beta1: 0.5, beta2: 0.999, eps: 1e-8, weightDecay: 0 }, spanBytes);
      for (let step = 0; step < 3; step++) {
        for (const [name, n, salt] of [['a', 300, 10], ['b', 700, 20]] as const) g.write(arena.view('grad', name), hashTensor({ shape: [n], salt: salt + step, scale: 1, offset: 0 }));
        adam.nextStep();
        g.run(adam.dispatches);
      }
      const out = await Promise.all((['param', 'adam_m', 'adam_v'] as const).map((r) => g.read(arena.all(r))));
      arena.destroy();
      return { spans: adam.dispatches.length, out };
    };
    const one = await run(1 << 20);
    const six = await run(768);
    expect([one.spans, six.spans]).toEqual([1, 6]);
    six.out.forEach((values, k) => expect(Buffer.from(values.buffer).equals(Buffer.from(one.out[k]!.buffer)), ['param', 'm', 'v'][k]).toBe(true));
  });
});
