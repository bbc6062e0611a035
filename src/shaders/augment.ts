/**
 * Differentiable augmentation (Zhao et al. 2020, DiffAugment): the paper's `color`
 * (brightness, saturation, contrast), `translation` (by up to 1/8 of the side, zeros shifted in)
 * and `cutout` (a square of half the side set to 0), applied to each image of D's input with draws
 * of its own, forward and backward, so G's gradient passes through them. Policies run in that
 * order. One workgroup per image: contrast needs the image's mean, and its backward the mean of
 * the gradient.
 *
 * Each image's draws are 8 u32s of Philox bits (src/random/noise.ts), rows from `first_row`:
 * unit(b) = (b >> 8) / 2^24 in [0, 1), as torch.rand; brightness + (u0 - 0.5), saturation factor
 * 2 u1, contrast factor u2 + 0.5; translation (tx, ty) = floor(u (2 s + 1)) - s, s = side / 8;
 * cutout centre floor(u (side + 1 - c % 2)), c = side / 2 (torch.randint's ranges, as
 * DiffAugment_pytorch.py at mit-han-lab/data-efficient-gans 297dc8c writes them: side // 8 and
 * side // 2; an older version rounded side * 0.125).
 */
import { program, type BindingLayout } from '../gpu/program.js';
import { workgroupSum } from './reduce.js';

export const AUGMENTS = ['color', 'translation', 'cutout'] as const;
export type Augment = (typeof AUGMENTS)[number];

/** Draws per image (u32s): brightness, saturation, contrast, tx, ty, cutout x, cutout y, unused. */
export const DRAWS_PER_IMAGE = 8;

const AUG_WG = 256;

export interface AugmentShape {
  N: number;
}

/** The WGSL both directions share: the image's draws decoded. */
function drawsWgsl(policy: readonly Augment[]): string {
  const has = (a: Augment) => policy.includes(a);
  return /* wgsl */ `
fn unit(b: u32) -> f32 { return f32(b >> 8u) * (1.0 / 16777216.0); }
fn pick(b: u32, count: u32) -> i32 { return i32(min(u32(floor(unit(b) * f32(count))), count - 1u)); }
struct Draws { bright: f32, sat: f32, con: f32, tx: i32, ty: i32, cx0: i32, cy0: i32 }
fn draws_of(n: u32) -> Draws {
  let at = (params.first_row + n) * ${DRAWS_PER_IMAGE}u;
  var d: Draws;
  d.bright = ${has('color') ? 'unit(draws[at]) - 0.5' : '0.0'};
  d.sat = ${has('color') ? 'unit(draws[at + 1u]) * 2.0' : '1.0'};
  d.con = ${has('color') ? 'unit(draws[at + 2u]) + 0.5' : '1.0'};
  let sx = i32(params.H / 8u);
  let sy = i32(params.W / 8u);
  d.tx = ${has('translation') ? 'pick(draws[at + 3u], u32(2 * sx + 1)) - sx' : '0'};
  d.ty = ${has('translation') ? 'pick(draws[at + 4u], u32(2 * sy + 1)) - sy' : '0'};
  let cw = params.H / 2u;
  let ch = params.W / 2u;
  // The cutout square's first row and column (clamped into the image where the mask is read).
  d.cx0 = ${has('cutout') ? 'pick(draws[at + 5u], params.H + 1u - cw % 2u) - i32(cw / 2u)' : '-1'};
  d.cy0 = ${has('cutout') ? 'pick(draws[at + 6u], params.W + 1u - ch % 2u) - i32(ch / 2u)' : '-1'};
  return d;
}
/** Whether output pixel (i, j) survives the cutout. */
fn kept(d: Draws, i: i32, j: i32) -> bool {
  ${has('cutout') ? 'return !(i >= d.cx0 && i < d.cx0 + i32(params.H / 2u) && j >= d.cy0 && j < d.cy0 + i32(params.W / 2u));' : 'return true;'}
}
${workgroupSum('total')}`;
}

const DRAWS_BINDING = { access: 'read', type: 'array<u32>' } as const;

/**
 * A direction's program: one workgroup per image, its shape and first draw row as uniforms, the
 * draws decoded; `body` runs with `n` (the image), `d` (its draws), `C` and `HW` defined.
 */
function perImageProgram<B extends BindingLayout>(direction: string, policy: readonly Augment[], bindings: B, helpers: string, body: string) {
  return program({
    name: `augment.${direction}.${policy.join('+')}`,
    workgroupSize: [AUG_WG],
    uniforms: { C: 'u32', H: 'u32', W: 'u32', first_row: 'u32' },
    bindings,
    wgsl: `${drawsWgsl(policy)}\n${helpers}`,
    main: /* wgsl */ `fn main(@builtin(local_invocation_index) lid: u32, @builtin(workgroup_id) wg: vec3<u32>) {
  let n = wg.x;
  let d = draws_of(n);
  let C = params.C;
  let HW = params.H * params.W;
  ${body}
}`,
    grid: ({ N }: AugmentShape) => [N, 1, 1] as const,
  });
}

/** color(x) at channel c of pixel p of image n (the forward's helper). */
const SATURATED = /* wgsl */ `fn saturated(n: u32, c: u32, p: u32, d: Draws) -> f32 {
  let C = params.C;
  let HW = params.H * params.W;
  var mean = 0.0;
  for (var k = 0u; k < C; k++) { mean += x[(n * C + k) * HW + p] + d.bright; }
  mean = mean / f32(C);
  return (x[(n * C + c) * HW + p] + d.bright - mean) * d.sat + mean;
}`;

/** y = cutout(translation(color(x))) per image; `policy` a subset of AUGMENTS in their order. */
export function augmentForwardProgram(policy: readonly Augment[]) {
  const color = policy.includes('color');
  return perImageProgram('forward', policy, { x: 'read', draws: DRAWS_BINDING, y: 'read_write' }, SATURATED, /* wgsl */ `let H = i32(params.H);
  let W = i32(params.W);
  ${
    color
      ? `// Contrast: around the mean of the saturated image.
  var s = 0.0;
  for (var k = lid; k < C * HW; k += WG_X) { s += saturated(n, k / HW, k % HW, d); }
  let mean = total(s, lid) / f32(C * HW);`
      : ''
  }
  for (var k = lid; k < C * HW; k += WG_X) {
    let c = k / HW;
    let i = i32((k % HW) / params.W);
    let j = i32(k % params.W);
    let si = i + d.tx;
    let sj = j + d.ty;
    var v = 0.0;
    if (kept(d, i, j) && si >= 0 && si < H && sj >= 0 && sj < W) {
      ${color ? 'v = (saturated(n, c, u32(si * W + sj), d) - mean) * d.con + mean;' : 'v = x[(n * C + c) * HW + u32(si * W + sj)];'}
    }
    y[(n * C + c) * HW + (k % HW)] = v;
  }`);
}

/** Without color: dx is dy moved back and masked. */
const TRANSLATED_BACKWARD = /* wgsl */ `for (var k = lid; k < C * HW; k += WG_X) {
    let p = k % HW;
    dx[n * C * HW + k] = g_translated(n, k / HW, i32(p / params.W), i32(p % params.W), d);
  }`;

/** With color: contrast's gradient con g + (1 - con) mean(g), then saturation's around each pixel's channel mean. */
const COLOR_BACKWARD = /* wgsl */ `var s = 0.0;
  for (var k = lid; k < C * HW; k += WG_X) {
    let p = k % HW;
    s += g_translated(n, k / HW, i32(p / params.W), i32(p % params.W), d);
  }
  let g_mean = total(s, lid) / f32(C * HW);
  for (var p = lid; p < HW; p += WG_X) {
    let si = i32(p / params.W);
    let sj = i32(p % params.W);
    var c_mean = 0.0;
    for (var c = 0u; c < C; c++) { c_mean += d.con * g_translated(n, c, si, sj, d) + (1.0 - d.con) * g_mean; }
    c_mean = c_mean / f32(C);
    for (var c = 0u; c < C; c++) {
      let g2 = d.con * g_translated(n, c, si, sj, d) + (1.0 - d.con) * g_mean;
      dx[(n * C + c) * HW + p] = d.sat * g2 + (1.0 - d.sat) * c_mean;
    }
  }`;

/** The gradient at the translated image's pixel (the backward's helper). */
const G_TRANSLATED = /* wgsl */ `/** The gradient at the translated image's pixel (si, sj), channel c: dy at the output pixel it moved to, if kept. */
fn g_translated(n: u32, c: u32, si: i32, sj: i32, d: Draws) -> f32 {
  let i = si - d.tx;
  let j = sj - d.ty;
  if (i < 0 || i >= i32(params.H) || j < 0 || j >= i32(params.W) || !kept(d, i, j)) { return 0.0; }
  return dy[(n * params.C + c) * params.H * params.W + u32(i) * params.W + u32(j)];
}`;

/** dx from dy through the same transform (the draws the forward used). */
export function augmentBackwardProgram(policy: readonly Augment[]) {
  const body = policy.includes('color') ? COLOR_BACKWARD : TRANSLATED_BACKWARD;
  return perImageProgram('backward', policy, { dy: 'read', draws: DRAWS_BINDING, dx: 'read_write' }, G_TRANSLATED, body);
}

const ALL: Augment[][] = [['color'], ['translation'], ['cutout'], ['color', 'translation', 'cutout']];
export const AUGMENT_PROGRAMS = ALL.flatMap((p) => [augmentForwardProgram(p), augmentBackwardProgram(p)]);
