/**
 * Non-finite loss detection on the GPU: if any watched value is NaN or infinite, the flag takes
 * the smallest step at which that happened (atomicMin), so one read at a log line or checkpoint
 * tells whether and when training diverged, without a readback per step.
 */
import type { Kernel } from '../gpu/kernel.js';

export const FLAG_CLEAR = 0xffffffff;

export function finiteCheckKernel(inputs: number): Kernel {
  const bindings = Array.from({ length: inputs }, (_, i) => `@group(0) @binding(${i + 2}) var<storage, read> v${i}: array<f32>;`).join('\n');
  const checks = Array.from({ length: inputs }, (_, i) => `bad = bad || !finite(v${i}[0]);`).join('\n  ');
  return {
    name: `finite.check${inputs}`,
    code: /* wgsl */ `
struct Params { step: u32, _a: u32, _b: u32, _c: u32 }
@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read_write> flag: atomic<u32>;
${bindings}

// By bits, not by comparison: fast-math compilers may fold x != x away.
fn finite(x: f32) -> bool { return (bitcast<u32>(x) & 0x7f800000u) != 0x7f800000u; }

@compute @workgroup_size(1)
fn main() {
  var bad = false;
  ${checks}
  if (bad) { atomicMin(&flag, params.step); }
}`,
  };
}
