/**
 * Non-finite loss detection on the GPU: if any watched value is NaN or infinite, the flag takes
 * the smallest step at which that happened (atomicMin), so one read at a log line or checkpoint
 * tells whether and when training diverged, without a readback per step.
 */
import { program, type BindingLayout } from '../gpu/program.js';

export const FLAG_CLEAR = 0xffffffff;

/** Watches the first value of each of `inputs` tensors (v0, v1, ...). One invocation. */
export function finiteCheckProgram(inputs: number) {
  const names = Array.from({ length: inputs }, (_, i) => `v${i}`);
  return program({
    name: `finite.check${inputs}`,
    workgroupSize: [1],
    uniforms: { step: 'u32' },
    bindings: { flag: { access: 'read_write', type: 'atomic<u32>' }, ...Object.fromEntries(names.map((n) => [n, 'read'])) } as BindingLayout,
    // By bits, not by comparison: fast-math compilers may fold x != x away.
    wgsl: 'fn finite(x: f32) -> bool { return (bitcast<u32>(x) & 0x7f800000u) != 0x7f800000u; }',
    main: /* wgsl */ `fn main() {
  var bad = false;
  ${names.map((n) => `bad = bad || !finite(${n}[0]);`).join('\n  ')}
  if (bad) { atomicMin(&flag, params.step); }
}`,
    grid: () => [1, 1, 1] as const,
  });
}

export const FINITE_PROGRAMS = [finiteCheckProgram(3)];
