/**
 * Batch gather + normalise. The data set lives on the GPU as packed bytes; each thread writes
 * one float: table[byte of image order[start + i], pixel p]. The 256-entry table holds PyTorch's
 * ToTensor() + Normalize([0.5], [0.5]) in float32, computed on the CPU, because WGSL's f32
 * division is not correctly rounded and this must match bit for bit.
 */
import { program } from '../gpu/program.js';
import { FLAT_ID, grid1d } from './common.js';

export const GATHER_WG = 256;

/**
 * Uniforms: `start`, the batch's position in the epoch order; `count`, images in this batch (the
 * last one of an epoch may be short); `pixels`, height * width. Images are bytes, 4 per word,
 * little-endian. The grid covers `batch` (the full batch size) images.
 */
export function gatherNormalizeProgram() {
  return program({
    name: 'mnist.gather_normalize',
    workgroupSize: [GATHER_WG],
    uniforms: { start: 'u32', count: 'u32', pixels: 'u32' },
    bindings: { images: { access: 'read', type: 'array<u32>' }, order: { access: 'read', type: 'array<u32>' }, table: { access: 'read', type: 'array<f32, 256>' }, out: 'read_write' },
    wgsl: FLAT_ID,
    main: /* wgsl */ `fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = flat_id(gid, nwg, WG_X);
  if (i >= params.count * params.pixels) { return; }
  let img = i / params.pixels;
  let p = i - img * params.pixels;
  let byte_index = order[params.start + img] * params.pixels + p;
  let byte = (images[byte_index >> 2u] >> ((byte_index & 3u) * 8u)) & 0xffu;
  out[i] = table[byte];
}`,
    grid: ({ batch, pixels }: { batch: number; pixels: number }, max: number) => grid1d(batch * pixels, GATHER_WG, max),
    // The batch's bytes, its order entries, the table and the floats written; not the whole set it binds.
    bytes: ({ batch, pixels }: { batch: number; pixels: number }) => batch * pixels * 5 + batch * 4 + 1024,
  });
}

export const LABELS_WG = 64;

/** The batch's class labels (conditional training): out[i] = f32(labels[order[start + i]]) for i < count. */
export function gatherLabelsProgram() {
  return program({
    name: 'mnist.gather_labels',
    workgroupSize: [LABELS_WG],
    uniforms: { start: 'u32', count: 'u32' },
    bindings: { labels: { access: 'read', type: 'array<u32>' }, order: { access: 'read', type: 'array<u32>' }, out: 'read_write' },
    wgsl: FLAT_ID,
    main: /* wgsl */ `fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = flat_id(gid, nwg, WG_X);
  if (i >= params.count) { return; }
  out[i] = f32(labels[order[params.start + i]]);
}`,
    grid: ({ batch }: { batch: number }, max: number) => grid1d(batch, LABELS_WG, max),
    bytes: ({ batch }: { batch: number }) => batch * 12,
  });
}

export const MNIST_PROGRAMS = [gatherNormalizeProgram(), gatherLabelsProgram()];
