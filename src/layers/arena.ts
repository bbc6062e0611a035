/**
 * An arena: named tensors at fixed, 256-byte-aligned offsets in one buffer per role. A model's
 * parameters, their gradients and Adam's m and v are four roles with identical offsets, so
 * zeroing the gradients is one clear and Adam is one dispatch over the whole buffer. (WebGPU
 * forbids binding one buffer read-only and writable in one dispatch, so roles cannot share.)
 */
import type { Gpu } from '../gpu/gpu.js';
import { Tensor, numel } from '../gpu/tensor.js';

export const ARENA_ALIGN_BYTES = 256;

export interface ArenaEntry {
  name: string;
  shape: number[];
  /** Float offset in the arena. */
  offset: number;
}

export class Arena<Role extends string> {
  readonly entries = new Map<string, ArenaEntry>();
  /** Floats per buffer, padding included. */
  readonly length: number;
  readonly buffers: Record<Role, GPUBuffer>;

  constructor(
    private readonly gpu: Gpu,
    readonly label: string,
    specs: ReadonlyArray<{ name: string; shape: number[] }>,
    readonly roles: readonly Role[],
  ) {
    let offset = 0;
    const alignFloats = ARENA_ALIGN_BYTES / 4;
    for (const { name, shape } of specs) {
      if (this.entries.has(name)) throw new Error(`${label}: duplicate tensor name "${name}"`);
      this.entries.set(name, { name, shape: [...shape], offset });
      offset += Math.ceil(numel(shape) / alignFloats) * alignFloats;
    }
    this.length = Math.max(offset, alignFloats);
    const usage = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST;
    this.buffers = Object.fromEntries(roles.map((r) => [r, gpu.createBuffer(`${label}.${r}`, this.length * 4, usage)])) as Record<Role, GPUBuffer>;
  }

  entry(name: string): ArenaEntry {
    const e = this.entries.get(name);
    if (!e) throw new Error(`${this.label}: no tensor "${name}" (has ${[...this.entries.keys()].join(', ')})`);
    return e;
  }

  view(role: Role, name: string): Tensor {
    const e = this.entry(name);
    return new Tensor(this.buffers[role], e.shape, 'f32', e.offset * 4);
  }

  /** The whole buffer of a role as one flat tensor (Adam, zeroing, checkpoints). */
  all(role: Role): Tensor {
    return new Tensor(this.buffers[role], [this.length]);
  }

  /**
   * The buffer cut into spans of at most `maxBytes` (whole alignment units), first to last: a
   * kernel over every value binds one span at a time when the whole buffer is over the adapter's
   * binding limit (a 256-pixel dcgan's 48 M parameters are 192 MB). Float offsets and lengths.
   */
  spans(maxBytes: number): Array<{ offset: number; length: number }> {
    const unit = ARENA_ALIGN_BYTES / 4;
    const most = Math.max(unit, Math.floor(maxBytes / ARENA_ALIGN_BYTES) * unit);
    const out: Array<{ offset: number; length: number }> = [];
    for (let offset = 0; offset < this.length; offset += most) out.push({ offset, length: Math.min(most, this.length - offset) });
    return out;
  }

  /** A span of a role's buffer as one flat tensor. */
  slice(role: Role, span: { offset: number; length: number }): Tensor {
    return new Tensor(this.buffers[role], [span.length], 'f32', span.offset * 4);
  }

  /** Encodes a clear of a role's buffer (e.g. gradients before a backward pass). */
  clear(encoder: GPUCommandEncoder, role: Role): void {
    encoder.clearBuffer(this.buffers[role]);
  }

  destroy(): void {
    for (const r of this.roles) this.gpu.destroyBuffer(this.buffers[r]);
  }
}

export const PARAM_ROLES = ['param', 'grad', 'adam_m', 'adam_v'] as const;
export type ParamRole = (typeof PARAM_ROLES)[number];
export type ParameterArena = Arena<ParamRole>;
export type StateArena = Arena<'state'>;
