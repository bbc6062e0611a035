/**
 * Exponential moving average of a parameter arena, one dispatch for all of a model's tensors:
 * ema = decay * ema + (1 - decay) * param, in the order of PyTorch's
 * ema.mul_(decay).add_(param, alpha=1 - decay).
 */
import type { Kernel } from '../gpu/kernel.js';
import { FLAT_ID } from './common.js';

export const EMA_WG = 256;

export function emaParams(n: number, decay: number): ArrayBuffer {
  const buf = new ArrayBuffer(16);
  new Uint32Array(buf, 0, 1)[0] = n;
  new Float32Array(buf, 4, 2).set([decay, 1 - decay]);
  return buf;
}

export function emaKernel(): Kernel {
  return {
    name: 'ema.update',
    code: /* wgsl */ `
struct Params { n: u32, decay: f32, one_minus_decay: f32, _pad: u32 }
@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> param: array<f32>;
@group(0) @binding(2) var<storage, read_write> ema: array<f32>;
${FLAT_ID}

@compute @workgroup_size(${EMA_WG})
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = flat_id(gid, nwg, ${EMA_WG}u);
  if (i >= params.n) { return; }
  ema[i] = ema[i] * params.decay + params.one_minus_decay * param[i];
}`,
  };
}
