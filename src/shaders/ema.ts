/**
 * Exponential moving average of a parameter arena, one dispatch for all of a model's tensors:
 * ema = decay * ema + (1 - decay) * param, in the order of PyTorch's
 * ema.mul_(decay).add_(param, alpha=1 - decay). Four values per invocation (an arena's length is
 * a multiple of 64 floats), as Adam.
 */
import { program } from '../gpu/program.js';
import { FLAT_ID, grid1d, quads, valuesBinding } from './common.js';

export const EMA_WG = 256;

export function emaProgram() {
  return program({
    name: 'ema.update',
    workgroupSize: [EMA_WG],
    uniforms: { n: 'u32', decay: 'f32', one_minus_decay: 'f32' },
    bindings: { param: valuesBinding('read', 4), ema: valuesBinding('read_write', 4) },
    wgsl: FLAT_ID,
    main: /* wgsl */ `fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = flat_id(gid, nwg, WG_X);
  if (i >= params.n / 4u) { return; }
  ema[i] = ema[i] * params.decay + params.one_minus_decay * param[i];
}`,
    grid: ({ n }: { n: number }, max: number) => grid1d(quads('ema.update', n), EMA_WG, max),
    bytes: ({ n }: { n: number }) => 12 * n,
  });
}

export const EMA_PROGRAMS = [emaProgram()];
