/**
 * Batch gather + normalise. The data set lives on the GPU as packed bytes; each thread writes
 * one float: table[byte of image order[start + i], pixel p]. The 256-entry table holds PyTorch's
 * ToTensor() + Normalize([0.5], [0.5]) in float32, computed on the CPU, because WGSL's f32
 * division is not correctly rounded and this must match bit for bit.
 */
import type { Kernel } from '../gpu/kernel.js';
import { FLAT_ID } from './common.js';

export const GATHER_WG = 256;

export function gatherNormalizeKernel(): Kernel {
  return {
    name: 'mnist.gather_normalize',
    code: /* wgsl */ `
struct Params {
  start: u32,   // position of the batch in the epoch order
  count: u32,   // images in this batch (the last one of an epoch may be short)
  pixels: u32,  // height * width
  _pad: u32,
}
@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> images: array<u32>;   // bytes, 4 per word, little-endian
@group(0) @binding(2) var<storage, read> order: array<u32>;
@group(0) @binding(3) var<storage, read> table: array<f32, 256>;
@group(0) @binding(4) var<storage, read_write> out: array<f32>;
${FLAT_ID}

@compute @workgroup_size(${GATHER_WG})
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = flat_id(gid, nwg, ${GATHER_WG}u);
  if (i >= params.count * params.pixels) { return; }
  let img = i / params.pixels;
  let p = i - img * params.pixels;
  let byte_index = order[params.start + img] * params.pixels + p;
  let byte = (images[byte_index >> 2u] >> ((byte_index & 3u) * 8u)) & 0xffu;
  out[i] = table[byte];
}`,
  };
}
