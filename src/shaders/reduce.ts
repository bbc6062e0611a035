/**
 * Per-channel sums of an [N, C, HW] tensor (bias gradients; HW = 1 for [N, C]). One workgroup per
 * channel with a fixed-order tree reduction: deterministic, no atomics.
 */
import { program } from '../gpu/program.js';
import { FLAT_ID, grid1d, valuesBinding, valueType, type ValueWidth } from './common.js';

export const REDUCE_WG = 64;
/**
 * 16 invocations per workgroup for `thread`: on the CPU adapters, which run every per-channel
 * kernel this way, 64 channels then make 4 workgroups for the cores to share instead of 1
 * (measured: BatchNorm2d(64)'s backward 0.55x the time of 64-wide workgroups on llvmpipe).
 */
export const CHANNEL_THREAD_WG = 16;

/** Shape of a per-channel dispatch over an [N, C, HW] tensor. */
export interface ChannelShape {
  N: number;
  C: number;
  HW: number;
}

/** Sums per channel into out[c]; `accumulate` adds to what is there. */
export function channelSumProgram(form: ChannelForm, accumulate: boolean) {
  return program({
    name: `reduce.channel_sum.${form}${accumulate ? '+' : ''}`,
    workgroupSize: [channelWorkgroupSize(form)],
    uniforms: { N: 'u32', C: 'u32', HW: 'u32' },
    bindings: { x: channelValues(form, 'read'), out: channelParams(form, 'read_write') },
    wgsl: `${sumFn(form, 'channel_total')}
${addIn(form)}
${FLAT_ID}`,
    main: /* wgsl */ `${channelHead(form)}
  var s = ${channelType(form)}(0.0);
  ${channelLoop(form, 's = add_in(s, x[i]);')}
  let total = channel_total(s, lid);
  if (lid == 0u && count > 0u) { out[c] ${accumulate ? '+=' : '='} total; }
}`,
    grid: (shape: ChannelShape, max: number) => channelGrid(form, shape, max),
  });
}

/**
 * WGSL for `fn name(v: T, lid: u32) -> T`: a sum over a one-dimensional workgroup (WG_X
 * invocations, a power of two) in a fixed order, the total
 * returned to every invocation. Each generated function owns its workgroup array, and a kernel
 * must call each at most once: on Dawn's GLES backend (llvmpipe) the read of the total was
 * moved past the closing barrier, so a second reduction through the same array overwrote it
 * before slower invocations had read it (measured: threads 8+ saw the next reduction's value).
 */
export function workgroupSum(name: string, type: 'f32' | 'vec2<f32>' = 'f32'): string {
  return /* wgsl */ `
var<workgroup> ${name}_partial: array<${type}, WG_X>;
fn ${name}(v: ${type}, lid: u32) -> ${type} {
  ${name}_partial[lid] = v;
  workgroupBarrier();
  for (var stride = WG_X / 2u; stride > 0u; stride >>= 1u) {
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

/**
 * Two ways to own a channel, as variants of every per-channel kernel:
 *  - `workgroup`: a workgroup of REDUCE_WG invocations per channel, tree reductions; for many
 *    values per channel (BatchNorm2d: N*H*W) on GPUs.
 *  - `thread`: one invocation per channel, sequential sums; on GPUs for few values per channel
 *    and many channels (BatchNorm1d(6272), Linear biases at batch 64), and on the CPU adapters
 *    always: there a workgroup per channel cost SwiftShader ~0.4 s per pass in scheduling for
 *    BatchNorm1d(6272), and even BatchNorm2d's thousands of values per channel run in 0.53-0.86x
 *    the time as one invocation each (docs/benchmarks.md), the invocations' own overhead and
 *    the barriers of the tree outweighing what a workgroup shares.
 * Kernels using these expect `params.N, params.C, params.HW` and FLAT_ID in scope.
 */
export const CHANNEL_STRATEGIES = ['workgroup', 'thread'] as const;
export type ChannelStrategy = (typeof CHANNEL_STRATEGIES)[number];

/** The strategy for N*HW values per channel on a CPU adapter (`software`) or a GPU. */
export function channelStrategy(valuesPerChannel: number, software: boolean): ChannelStrategy {
  return software || valuesPerChannel <= 256 ? 'thread' : 'workgroup';
}

/**
 * A per-channel program's form: its strategy, and for a thread per channel how it loads. Over
 * HW a multiple of 4, `thread_vec4`: each load and store 4 pixels of a row (0.55x the time of a
 * value per load for BatchNorm2d(64)'s forward on both CPU adapters). Over other HW (above 4, in
 * a tensor of a multiple of 4 values), `thread_span4`: the vec4s that cover each row are loaded
 * and the values outside the row skipped, stores one value at a time (BatchNorm2d(128) at 7x7:
 * 0.69x on llvmpipe, 0.77x on SwiftShader). Either way the WGSL adds value after value in the
 * same order as one value per load (SwiftShader keeps it; llvmpipe may reorder a vec4's four
 * adds: test/batchnorm-feed.test.ts).
 */
export const CHANNEL_FORMS = ['workgroup', 'thread', 'thread_vec4', 'thread_span4', 'thread_channels4'] as const;
export type ChannelForm = (typeof CHANNEL_FORMS)[number];

/**
 * The form for `strategy` over an [N, C, HW] tensor of `size` values in all (the whole bound
 * tensor), for a BatchNorm or a channel sum, on `adapter`. Over HW = 1 with C a multiple of 4,
 * `thread_channels4` takes 4 channels per invocation as vec4s: the channel sums gain on both CPU
 * adapters (0.61x the time on llvmpipe, 0.43x on SwiftShader, BatchNorm1d(6272)'s shape), the
 * BatchNorms on SwiftShader only (forward / backward 0.55x / 0.61x; llvmpipe 1.01x / 1.27x).
 */
export function channelForm(strategy: ChannelStrategy, { C, HW, size }: { C: number; HW: number; size: number }, kernel: 'batchnorm' | 'sum', adapter: { isSwiftShader: boolean }): ChannelForm {
  if (strategy !== 'thread') return strategy;
  if (HW % 4 === 0) return 'thread_vec4';
  if (HW === 1 && C % 4 === 0 && (kernel === 'sum' || adapter.isSwiftShader)) return 'thread_channels4';
  return HW > 4 && size % 4 === 0 ? 'thread_span4' : 'thread';
}

/** Values per load of a form. */
export const channelWidth = (form: ChannelForm): ValueWidth => (form === 'thread_vec4' || form === 'thread_channels4' ? 4 : 1);

/** The binding of an [N, C, HW] tensor a form reads or writes (vec4s for thread_vec4 and thread_channels4, and for thread_span4's reads). */
export const channelValues = (form: ChannelForm, access: 'read' | 'read_write') =>
  valuesBinding(access, form === 'thread_span4' && access === 'read' ? 4 : channelWidth(form));

/** The binding of a per-channel array ([C], or [2, C]): vec4s of 4 channels for thread_channels4. */
export const channelParams = (form: ChannelForm, access: 'read' | 'read_write') => valuesBinding(access, form === 'thread_channels4' ? 4 : 1);

/** The WGSL type of one invocation's per-channel values and sums (thread_channels4: 4 channels). */
export const channelType = (form: ChannelForm) => (form === 'thread_channels4' ? 'vec4<f32>' : 'f32');

/** The WGSL type of a pair of per-channel sums (BatchNorm backward's): vec2<f32>, or a column of 4 channels each for thread_channels4. */
export const channelPairType = (form: ChannelForm) => (form === 'thread_channels4' ? 'mat2x4<f32>' : 'vec2<f32>');

/**
 * WGSL `add_in(s, v)` (f32) and `add_in2(s, a, b)` (vec2<f32>): a sum with the values of one
 * load added one after another, as a value per load would add them.
 */
export function addIn(form: ChannelForm): string {
  const T = valueType(channelWidth(form));
  const P = channelPairType(form);
  if (form === 'thread_channels4') {
    // Each component is its own channel: the vec4 sums are the per-channel sums.
    return /* wgsl */ `fn add_in(s: ${T}, v: ${T}) -> ${T} { return s + v; }
fn add_in2(s: ${P}, a: ${T}, b: ${T}) -> ${P} { return ${P}(s[0] + a, s[1] + b); }`;
  }
  if (channelWidth(form) === 1) {
    return /* wgsl */ `fn add_in(s: f32, v: f32) -> f32 { return s + v; }
fn add_in2(s: vec2<f32>, a: f32, b: f32) -> vec2<f32> { return s + vec2<f32>(a, b); }`;
  }
  return /* wgsl */ `fn add_in(s: f32, v: ${T}) -> f32 { return s + v.x + v.y + v.z + v.w; }
fn add_in2(s: vec2<f32>, a: ${T}, b: ${T}) -> vec2<f32> {
  return s + vec2<f32>(a.x, b.x) + vec2<f32>(a.y, b.y) + vec2<f32>(a.z, b.z) + vec2<f32>(a.w, b.w);
}`;
}

export function channelGrid(form: ChannelForm, { N, C, HW }: { N: number; C: number; HW: number }, maxPerDim = 65535): [number, number, number] {
  if (form === 'thread_vec4' && HW % 4 !== 0) throw new Error(`a thread_vec4 per-channel kernel needs HW a multiple of 4, found ${HW}`);
  if (form === 'thread_span4' && (N * C * HW) % 4 !== 0) throw new Error(`a thread_span4 per-channel kernel needs a multiple of 4 values, found ${N} x ${C} x ${HW}`);
  if (form === 'thread_channels4') {
    if (HW !== 1 || C % 4 !== 0) throw new Error(`a thread_channels4 per-channel kernel needs HW = 1 and C a multiple of 4, found C ${C}, HW ${HW}`);
    return grid1d(C / 4, CHANNEL_THREAD_WG, maxPerDim);
  }
  return form === 'workgroup' ? perChannelGrid(C, maxPerDim) : grid1d(C, CHANNEL_THREAD_WG, maxPerDim);
}

/** The workgroup size of a per-channel program. */
export const channelWorkgroupSize = (form: ChannelForm) => (form === 'workgroup' ? REDUCE_WG : CHANNEL_THREAD_WG);

/**
 * main()'s signature and prologue: c, count, inv_count, lid and CS for the loops. `c` indexes the
 * per-channel arrays, which hold CS entries (`channelParams`): a channel, or for thread_channels4
 * a vec4 of channels 4 c .. 4 c + 3 (CS = C / 4).
 */
export function channelHead(form: ChannelForm): string {
  if (form !== 'workgroup') {
    return /* wgsl */ `fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let CS = ${form === 'thread_channels4' ? 'params.C / 4u' : 'params.C'};
  let c = flat_id(gid, nwg, WG_X);
  if (c >= CS) { return; }
  let lid = 0u;
  let count = params.N * params.HW;
  let inv_count = 1.0 / f32(count);`;
  }
  return /* wgsl */ `fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  // Folded grids may have spare workgroups: they do no work (count 0) but still reach every
  // barrier (an early return before a barrier is not uniform control flow).
  let CS = params.C;
  let c = min(wid.x + wid.y * nwg.x, params.C);
  let count = select(0u, params.N * params.HW, c < params.C);
  let inv_count = 1.0 / f32(count);`;
}

/**
 * A loop over channel c's values (e = lid, lid + stride, ... < count) with `i`, each value's
 * index in the [first + N, C, HW] tensor, `n`, its sample counted from `first`, and `hw`, its
 * pixel, in scope for `body`. One invocation per channel
 * (`thread`) walks sample by sample and pixel by pixel: i just counts up within a sample, no
 * index arithmetic per value; `thread_vec4` the same with `i` indexing vec4s of 4 pixels (hw the
 * first of them); `thread_channels4` sample by sample with `i` indexing a vec4 of 4 channels;
 * `thread_span4` loads the vec4s covering each row once per binding in `reads` and runs `body`
 * for each value inside the row, with `i` its index and every `name[i]` of `reads` in `body`
 * taken from the loaded vec4. A workgroup (`workgroup`) strides by its size, stepping the
 * sample n and pixel hw rather than dividing them out of e: llvmpipe has no vector integer
 * division (the bias sums took 0.66-0.79x the time without it). Either visits the values in the
 * order e / HW would give, so the sums are unchanged bit for bit.
 */
export function channelLoop(form: ChannelForm, body: string, first = '0u', reads: readonly string[] = ['x']): string {
  if (form === 'thread_channels4') {
    return /* wgsl */ `for (var n = 0u; n < params.N; n++) {
    let i = (${first} + n) * CS + c;
    let hw = 0u;
    ${body}
  }`;
  }
  if (form === 'thread_span4') {
    // Unrolled over the 4 values of a vec4: constant component indices.
    const values = [0, 1, 2, 3].map((u) => {
      const inner = reads.reduce((b, r) => b.replace(new RegExp(`\\b${r}\\[i\\]`, 'g'), `${r}_v[${u}]`), body);
      return `{
        let i = q4 * 4u + ${u}u;
        if (i >= e0 && i < e1) {
          let hw = i - e0;
          ${inner}
        }
      }`;
    });
    return /* wgsl */ `for (var n = 0u; n < params.N; n++) {
    let e0 = ((${first} + n) * params.C + c) * params.HW;
    let e1 = e0 + params.HW;
    for (var q4 = e0 / 4u; q4 < (e1 + 3u) / 4u; q4++) {
      ${reads.map((r) => `let ${r}_v = ${r}[q4];`).join(' ')}
      ${values.join('\n      ')}
    }
  }`;
  }
  if (form === 'thread_vec4') {
    return /* wgsl */ `for (var n = 0u; n < params.N; n++) {
    let row = ((${first} + n) * params.C + c) * (params.HW / 4u);
    for (var i = row; i < row + params.HW / 4u; i++) {
      let hw = (i - row) * 4u;
      ${body}
    }
  }`;
  }
  if (form === 'thread') {
    return /* wgsl */ `if (params.HW == 1u) {
    for (var n = 0u; n < params.N; n++) {
      let i = (${first} + n) * params.C + c;
      let hw = 0u;
      ${body}
    }
  } else {
    for (var n = 0u; n < params.N; n++) {
      let row = ((${first} + n) * params.C + c) * params.HW;
      for (var i = row; i < row + params.HW; i++) {
        let hw = i - row;
        ${body}
      }
    }
  }`;
  }
  return /* wgsl */ `{
    let dn = WG_X / params.HW;
    let dh = WG_X - dn * params.HW;
    var n = lid / params.HW;
    var hw = lid - n * params.HW;
    for (var e = lid; e < count; e += WG_X) {
      let i = ((${first} + n) * params.C + c) * params.HW + hw;
      ${body}
      hw += dh;
      n += dn;
      let wrap = hw >= params.HW;
      hw = select(hw, hw - params.HW, wrap);
      n = select(n, n + 1u, wrap);
    }
  }`;
}

/** A reduction function: a tree over the workgroup, or the identity for one thread. */
export function sumFn(form: ChannelForm, name: string, type: 'f32' | 'vec2<f32>' = 'f32'): string {
  if (form === 'workgroup') return workgroupSum(name, type);
  const t = type === 'f32' ? channelType(form) : channelPairType(form);
  return `fn ${name}(v: ${t}, lid: u32) -> ${t} { return v; }`;
}

export const REDUCE_PROGRAMS = CHANNEL_FORMS.flatMap((f) => [channelSumProgram(f, false), channelSumProgram(f, true)]);
