/**
 * Per-channel sums of an [N, C, HW] tensor (bias gradients; HW = 1 for [N, C]). One workgroup per
 * channel with a fixed-order tree reduction: deterministic, no atomics.
 */
import type { Kernel } from '../gpu/kernel.js';

export const REDUCE_WG = 64;

/** Sums per channel into out[c]; `accumulate` adds to what is there. Dispatch C workgroups (folded). */
export function channelSumKernel(accumulate: boolean): Kernel {
  return {
    name: `reduce.channel_sum${accumulate ? '+' : ''}`,
    code: /* wgsl */ `
struct Params { N: u32, C: u32, HW: u32, _pad: u32 }
@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;
${workgroupSum('workgroup_sum')}

@compute @workgroup_size(${REDUCE_WG})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let c = wid.x + wid.y * nwg.x;
  if (c >= params.C) { return; }  // uniform per workgroup, so barriers stay uniform
  let count = params.N * params.HW;
  var s = 0.0;
  for (var e = lid; e < count; e += ${REDUCE_WG}u) {
    let n = e / params.HW;
    s += x[(n * params.C + c) * params.HW + (e - n * params.HW)];
  }
  let total = workgroup_sum(s, lid);
  if (lid == 0u) { out[c] ${accumulate ? '+=' : '='} total; }
}`,
  };
}

/**
 * WGSL for `fn name(v: T, lid: u32) -> T`: a workgroup-wide sum in a fixed order, the total
 * returned to every invocation. Each generated function owns its workgroup array, and a kernel
 * must call each at most once: on Dawn's GLES backend (llvmpipe) the read of the total was
 * moved past the closing barrier, so a second reduction through the same array overwrote it
 * before slower invocations had read it (measured: threads 8+ saw the next reduction's value).
 */
export function workgroupSum(name: string, type: 'f32' | 'vec2<f32>' = 'f32'): string {
  return /* wgsl */ `
var<workgroup> ${name}_partial: array<${type}, ${REDUCE_WG}>;
fn ${name}(v: ${type}, lid: u32) -> ${type} {
  ${name}_partial[lid] = v;
  workgroupBarrier();
  for (var stride = ${REDUCE_WG / 2}u; stride > 0u; stride >>= 1u) {
    if (lid < stride) { ${name}_partial[lid] += ${name}_partial[lid + stride]; }
    workgroupBarrier();
  }
  return ${name}_partial[0];
}`;
}

/** Workgroups for one per channel, folded past the per-dimension limit. */
export function perChannelGrid(C: number, maxPerDim = 65535): [number, number, number] {
  if (C <= maxPerDim) return [C, 1, 1];
  const y = Math.ceil(C / maxPerDim);
  return [Math.ceil(C / y), y, 1];
}
