/**
 * A GPU program: everything about one kernel in one object, in the spirit of
 * tfjs-backend-webgpu's programs. Its name; its workgroup size, from which the WGSL's
 * `@workgroup_size` and the `WG_X`/`WG_Y`/`WG_Z` constants the WGSL may use are generated; a
 * typed uniform layout (field names and types), from which both the WGSL `struct Params` and
 * the bytes the host packs are generated, so the byte size exists once; named bindings, whose
 * declarations are generated in order (callers pass an object, never a positional list); and
 * the dispatch grid as a function of the program's shape. `prepare` is the one way a program
 * becomes a Dispatch.
 *
 * The author writes only what is the kernel's own: helper functions and overrides (`wgsl`) and
 * the entry point without its attributes (`main`: `fn main(...) { ... }`).
 */
import type { Gpu } from './gpu.js';
import { toBufferBinding, type Binding, type Dispatch, type Kernel } from './kernel.js';

export type UniformType = 'u32' | 'i32' | 'f32';
export type UniformLayout = Readonly<Record<string, UniformType>>;
export type Access = 'read' | 'read_write';
/** A storage binding: its access (an array<f32>), or its access and WGSL type. */
export type BindingSpec = Access | { readonly access: Access; readonly type: string };
export type BindingLayout = Readonly<Record<string, BindingSpec>>;

export type UniformValues<U extends UniformLayout> = { readonly [K in keyof U]: number };
/** What a dispatch binds: a buffer (or view) per declared binding, by name. */
export type Bindings<B extends BindingLayout> = { readonly [K in keyof B]: Binding };

export interface ProgramSpec<S, U extends UniformLayout, B extends BindingLayout> {
  /** Names the kernel in errors, labels and profiles, e.g. "activation.relu_forward". */
  name: string;
  /** 1 to 3 dimensions. */
  workgroupSize: readonly number[];
  /** The `params` uniform at binding 0 (absent: no uniform; storage bindings start at 0). */
  uniforms?: U;
  bindings: B;
  /** Values for the WGSL's `override` declarations. */
  constants?: Record<string, number>;
  /** WGSL before the entry point: overrides, constants, helper functions. */
  wgsl?: string;
  /** The entry point, `fn main(...) { ... }`, without `@compute @workgroup_size`. */
  main: string;
  /** Workgroup counts for a shape; `maxPerDim` is the adapter's maxComputeWorkgroupsPerDimension. */
  grid(shape: S, maxPerDim: number): readonly [number, number, number];
  /** Useful floating-point operations of one dispatch (2 x multiply-adds), for profiles. */
  flops?(shape: S): number;
  /**
   * Bytes one dispatch must move at least, for the roofline profile. By default every byte of
   * every storage binding once; a program that reads only part of a binding (a gather) or reads
   * and writes one (Adam's moments) says what it moves.
   */
  bytes?(shape: S): number;
}

const SIZES: Record<UniformType, number> = { u32: 4, i32: 4, f32: 4 };

/** The bytes of a uniform layout's values, in the declared order and types, padded to 16 bytes. */
export function packUniforms<U extends UniformLayout>(layout: U, values: UniformValues<U>, name: string): ArrayBuffer {
  const fields = Object.entries(layout);
  const buf = new ArrayBuffer(Math.ceil(fields.reduce((a, [, t]) => a + SIZES[t], 0) / 16) * 16);
  const view = new DataView(buf);
  fields.forEach(([field, type], i) => {
    const v = (values as Record<string, number>)[field];
    if (typeof v !== 'number' || Number.isNaN(v)) throw new Error(`${name}: uniform "${field}" needs a number, found ${v}`);
    if (type === 'f32') view.setFloat32(4 * i, v, true);
    else if (type === 'i32') view.setInt32(4 * i, v, true);
    else view.setUint32(4 * i, v, true);
  });
  return buf;
}

const bindingType = (b: BindingSpec) => (typeof b === 'string' ? { access: b, type: 'array<f32>' } : b);

export class Program<S, U extends UniformLayout = UniformLayout, B extends BindingLayout = BindingLayout> {
  readonly name: string;
  readonly workgroupSize: readonly [number, number, number];
  readonly uniforms: U | undefined;
  readonly bindings: B;
  readonly kernel: Kernel;
  /** The uniform buffer's size: the fields, rounded up to 16 bytes. 0 without uniforms. */
  readonly uniformBytes: number;

  constructor(private readonly spec: ProgramSpec<S, U, B>) {
    const [x = 1, y = 1, z = 1] = spec.workgroupSize;
    if (spec.workgroupSize.length < 1 || spec.workgroupSize.length > 3 || ![x, y, z].every((d) => Number.isInteger(d) && d >= 1)) {
      throw new Error(`${spec.name}: workgroup size [${spec.workgroupSize.join(', ')}] must be 1 to 3 positive integers`);
    }
    if (/@workgroup_size|@binding|@compute/.test(`${spec.wgsl ?? ''}${spec.main}`)) {
      throw new Error(`${spec.name}: the program's WGSL must not declare workgroup sizes, bindings or entry attributes (they are generated)`);
    }
    this.name = spec.name;
    this.workgroupSize = [x, y, z];
    this.uniforms = spec.uniforms;
    this.bindings = spec.bindings;
    const fields = Object.entries(spec.uniforms ?? {});
    const bytes = fields.reduce((a, [, t]) => a + SIZES[t], 0);
    this.uniformBytes = fields.length ? Math.ceil(bytes / 16) * 16 : 0;
    this.kernel = { name: spec.name, constants: spec.constants, code: this.generate() };
  }

  /** The full WGSL: generated header (sizes, uniform struct, bindings), the author's code, the entry point. */
  private generate(): string {
    const [x, y, z] = this.workgroupSize;
    const lines = [`const WG_X: u32 = ${x}u;`, `const WG_Y: u32 = ${y}u;`, `const WG_Z: u32 = ${z}u;`];
    let binding = 0;
    const fields = Object.entries(this.uniforms ?? {});
    if (fields.length) {
      const pad = (this.uniformBytes - fields.length * 4) / 4;
      const members = [...fields.map(([n, t]) => `${n}: ${t}`), ...Array.from({ length: pad }, (_, i) => `_pad${i}: u32`)];
      lines.push(`struct Params { ${members.join(', ')} }`, `@group(0) @binding(${binding++}) var<uniform> params: Params;`);
    }
    for (const [name, spec] of Object.entries(this.bindings)) {
      const { access, type } = bindingType(spec);
      lines.push(`@group(0) @binding(${binding++}) var<storage, ${access}> ${name}: ${type};`);
    }
    const size = this.workgroupSize.slice(0, this.spec.workgroupSize.length).join(', ');
    return `${lines.join('\n')}\n${this.spec.wgsl ?? ''}\n@compute @workgroup_size(${size})\n${this.spec.main}\n`;
  }

  /** The uniform's bytes for these values, in the declared order and types. */
  params(values: UniformValues<U>): ArrayBuffer {
    return this.uniforms ? packUniforms(this.uniforms, values, this.name) : new ArrayBuffer(0);
  }

  grid(shape: S, maxPerDim: number): readonly [number, number, number] {
    return this.spec.grid(shape, maxPerDim);
  }

  /** A uniform buffer holding these values (for state written per step later with `params`). */
  uniform(gpu: Gpu, values: UniformValues<U>, label = `${this.name} params`): GPUBuffer {
    return gpu.uniform(label, new Uint32Array(this.params(values)));
  }

  /**
   * The one way a program becomes a Dispatch: its uniform (values to upload, or `{ uniform }`, a
   * buffer from `uniform()` that the caller rewrites per step; by default the shape's own fields),
   * its bindings by name, its grid.
   */
  async prepare(gpu: Gpu, shape: S, bindings: Bindings<B>, params: UniformValues<U> | { uniform: GPUBuffer } = shape as unknown as UniformValues<U>): Promise<Dispatch> {
    const list: Binding[] = [];
    if (this.uniformBytes) {
      list.push('uniform' in params && typeof params.uniform === 'object' ? params.uniform : this.uniform(gpu, params as UniformValues<U>));
    }
    for (const name of Object.keys(this.bindings)) {
      const b = (bindings as Record<string, Binding | undefined>)[name];
      if (!b) throw new Error(`${this.name}: binding "${name}" not given`);
      list.push(b);
    }
    const extra = Object.keys(bindings).filter((n) => !(n in this.bindings));
    if (extra.length) throw new Error(`${this.name}: unknown bindings ${extra.join(', ')} (it binds ${Object.keys(this.bindings).join(', ')})`);
    const dispatch = await gpu.prepare(this.kernel, list, this.grid(shape, gpu.limits.maxComputeWorkgroupsPerDimension));
    const flops = this.spec.flops?.(shape);
    const bound = () => list.slice(this.uniformBytes ? 1 : 0).map(toBufferBinding).reduce((a, b) => a + (b.size ?? b.buffer.size - (b.offset ?? 0)), 0);
    const bytes = this.spec.bytes?.(shape) ?? bound();
    return { ...dispatch, bytes, ...(flops === undefined ? {} : { flops }) };
  }
}

/** Declares a program (see Program). */
export function program<S, U extends UniformLayout = Record<never, UniformType>, B extends BindingLayout = BindingLayout>(spec: ProgramSpec<S, U, B>): Program<S, U, B> {
  return new Program(spec);
}

/** Any program, for lists of them (the program test enumerates every one). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyProgram = Program<any, any, any>;
