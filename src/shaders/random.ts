/**
 * Seeded normal noise on the GPU: Philox4x32-10 (same as src/random/philox.ts) + Box-Muller.
 * Thread t draws counter (t, stream_lo, stream_hi, domain) and writes out[4t .. 4t+3], so the
 * first n values for a (seed, stream) do not depend on n: a batch of 32 is a prefix of one of 64.
 */
import { program } from '../gpu/program.js';
import { wgsl } from 'wgsl-preprocessor/wgsl-preprocessor.js';
import { FLAT_ID, grid1d } from './common.js';

export const RANDOM_WG = 64;

/**
 * Uniforms: the key and the stream (two words each), the domain, `n` values to write and `first`,
 * the Philox block of out[0]: a slice of a longer stream (sampling in batches).
 */
export const RANDOM_UNIFORMS = { key0: 'u32', key1: 'u32', stream0: 'u32', stream1: 'u32', domain: 'u32', n: 'u32', first: 'u32' } as const;

const PHILOX = /* wgsl */ `
fn mulhilo(a: u32, b: u32) -> vec2<u32> {
  // WGSL has no 32x32->64 multiply: split into 16-bit halves.
  let a_lo = a & 0xffffu; let a_hi = a >> 16u;
  let b_lo = b & 0xffffu; let b_hi = b >> 16u;
  let lolo = a_lo * b_lo;
  let mid1 = a_hi * b_lo;
  let mid2 = a_lo * b_hi;
  let carry = ((lolo >> 16u) + (mid1 & 0xffffu) + (mid2 & 0xffffu)) >> 16u;
  let hi = a_hi * b_hi + (mid1 >> 16u) + (mid2 >> 16u) + carry;
  return vec2<u32>(hi, a * b);
}

fn philox4x32_10(counter: vec4<u32>, key: vec2<u32>) -> vec4<u32> {
  var c = counter;
  var k = key;
  for (var round = 0u; round < 10u; round++) {
    let p0 = mulhilo(0xd2511f53u, c.x);
    let p1 = mulhilo(0xcd9e8d57u, c.z);
    c = vec4<u32>(p1.x ^ c.y ^ k.x, p1.y, p0.x ^ c.w ^ k.y, p0.y);
    k += vec2<u32>(0x9e3779b9u, 0xbb67ae85u);
  }
  return c;
}

fn block(t: u32) -> vec4<u32> {
  return philox4x32_10(vec4<u32>(t + params.first, params.stream0, params.stream1, params.domain), vec2<u32>(params.key0, params.key1));
}
${FLAT_ID}
`;

/**
 * `normal`: standard normal float32 values, out[i] for i < params.n.
 * `bits`: the raw Philox words, 4 per thread, so tests can compare with the CPU generator exactly.
 */
export function randomProgram(kind: 'normal' | 'bits') {
  const bits = kind === 'bits';
  return program({
    name: `random.${kind}`,
    workgroupSize: [RANDOM_WG],
    uniforms: RANDOM_UNIFORMS,
    bindings: { out: bits ? { access: 'read_write', type: 'array<vec4<u32>>' } : 'read_write' },
    wgsl: wgsl`${PHILOX}
#if ${!bits}
// 24 random bits -> (0, 1]: never 0, so log() is finite.
fn unit_open0(x: u32) -> f32 { return f32((x >> 8u) + 1u) * (1.0 / 16777216.0); }
fn unit(x: u32) -> f32 { return f32(x >> 8u) * (1.0 / 16777216.0); }
#endif`,
    main: wgsl`fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let t = flat_id(gid, nwg, WG_X);
  let base = t * 4u;
  if (base >= params.n) { return; }
  let r = block(t);
#if ${bits}
  out[t] = r;
#else
  let TWO_PI = 6.283185307179586;
  let rad0 = sqrt(-2.0 * log(unit_open0(r.x)));
  let rad1 = sqrt(-2.0 * log(unit_open0(r.z)));
  let z = vec4<f32>(rad0 * cos(TWO_PI * unit(r.y)), rad0 * sin(TWO_PI * unit(r.y)),
                    rad1 * cos(TWO_PI * unit(r.w)), rad1 * sin(TWO_PI * unit(r.w)));
  for (var j = 0u; j < 4u; j++) {
    if (base + j < params.n) { out[base + j] = z[j]; }
  }
#endif
}`,
    /** One thread per 4 values. */
    grid: ({ n }: { n: number }, max: number) => grid1d(Math.ceil(n / 4), RANDOM_WG, max),
  });
}

export const RANDOM_PROGRAMS = [randomProgram('normal'), randomProgram('bits')];
