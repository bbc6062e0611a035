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
