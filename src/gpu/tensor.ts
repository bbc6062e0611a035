/** A typed view of (part of) a GPU buffer with a shape. Shapes are row-major, like PyTorch's. */
export type DType = 'f32' | 'u32' | 'i32';

export type HostArray = Float32Array | Uint32Array | Int32Array;

export const HOST_ARRAY = {
  f32: Float32Array,
  u32: Uint32Array,
  i32: Int32Array,
} as const;

export function numel(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

export class Tensor {
  constructor(
    readonly buffer: GPUBuffer,
    readonly shape: readonly number[],
    readonly dtype: DType = 'f32',
    /** Byte offset into `buffer`; 256-aligned when the tensor lives in an arena. */
    readonly offset = 0,
    /** Its name in errors when the buffer's label is not (a slot of an activation arena). */
    readonly name?: string,
  ) {
    for (const d of shape) {
      if (!Number.isInteger(d) || d < 0) throw new Error(`tensor "${name ?? buffer.label}": bad shape [${shape.join(', ')}]`);
    }
  }

  get label(): string {
    return this.name ?? this.buffer.label;
  }

  get size(): number {
    return numel(this.shape);
  }

  get byteLength(): number {
    return this.size * 4;
  }

  /** The same memory seen with another shape of the same element count (like `view`). */
  view(shape: readonly number[]): Tensor {
    if (numel(shape) !== this.size) {
      throw new Error(`tensor "${this.label}": cannot view [${this.shape.join(', ')}] as [${shape.join(', ')}]`);
    }
    return new Tensor(this.buffer, shape, this.dtype, this.offset, this.name);
  }

  /** The first `n` entries along dimension 0, same memory (e.g. the short last batch). */
  rows(n: number): Tensor {
    const d0 = this.shape[0] ?? 0;
    if (!Number.isInteger(n) || n < 0 || n > d0) {
      throw new Error(`tensor "${this.label}": cannot take ${n} rows of [${this.shape.join(', ')}]`);
    }
    return new Tensor(this.buffer, [n, ...this.shape.slice(1)], this.dtype, this.offset, this.name);
  }

  binding(): GPUBufferBinding {
    return { buffer: this.buffer, offset: this.offset, size: Math.max(4, this.byteLength) };
  }
}
