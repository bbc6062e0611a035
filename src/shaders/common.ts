/**
 * WGSL shared by kernels. Grids wider than the adapter's maxComputeWorkgroupsPerDimension
 * (65535) fold into two dimensions; kernels recover the flat index with `flat_id`.
 */
export const FLAT_ID = /* wgsl */ `
fn flat_id(gid: vec3<u32>, nwg: vec3<u32>, wg_size: u32) -> u32 {
  return gid.x + gid.y * nwg.x * wg_size;
}`;

/** Workgroup counts for `threads` invocations in workgroups of `wgSize`, folded as FLAT_ID expects. */
export function grid1d(threads: number, wgSize: number, maxPerDim = 65535): [number, number, number] {
  const groups = Math.max(1, Math.ceil(threads / wgSize));
  if (groups <= maxPerDim) return [groups, 1, 1];
  const y = Math.ceil(groups / maxPerDim);
  return [Math.ceil(groups / y), y, 1];
}

/**
 * Values per invocation of a pointwise kernel over n values: 4 (vec4 loads and stores) when n
 * is a multiple of 4. On the CPU adapters a scalar per invocation took about twice the time
 * (Adam 0.47-0.61x, LeakyReLU's backward 0.53x as vec4s; docs/benchmarks.md).
 */
export type ValueWidth = 1 | 4;
export const pointwiseWidth = (n: number): ValueWidth => (n % 4 === 0 ? 4 : 1);

/** The WGSL type of one value at a width. */
export const valueType = (width: ValueWidth) => (width === 4 ? 'vec4<f32>' : 'f32');

/** A storage binding of values at a width: array<f32> or array<vec4<f32>>. */
export const valuesBinding = (access: 'read' | 'read_write', width: ValueWidth) => (width === 4 ? { access, type: 'array<vec4<f32>>' } : access);

/** n / 4 for a kernel that takes 4 values per invocation; n must be a multiple of 4. */
export function quads(name: string, n: number): number {
  if (n % 4 !== 0) throw new Error(`${name}: ${n} values are no multiple of 4`);
  return n / 4;
}
