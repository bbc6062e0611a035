/** A compute kernel: WGSL source plus the name every error and profile row uses. */
export interface Kernel {
  /** Names the kernel in errors, labels and profiles, e.g. "mnist.gather_normalize". */
  name: string;
  code: string;
  entryPoint?: string;
  /** Values for WGSL `override` declarations. */
  constants?: Record<string, number>;
}

/** Anything a dispatch can bind: bindings are listed in @binding order of @group(0). */
export type Binding = GPUBuffer | GPUBufferBinding | { binding(): GPUBufferBinding };

/** A dispatch prepared once (pipeline + bind group) and encoded any number of times. */
export interface Dispatch {
  kernel: string;
  /** Useful floating-point operations, when known (2 x multiply-adds), for profiles. */
  flops?: number;
  /** Bytes it must move at least (Program's `bytes`), for the roofline profile. */
  bytes?: number;
  pipeline: GPUComputePipeline;
  bindGroup: GPUBindGroup;
  /** The buffers bound, in binding order (what the activation arena's lifetimes are read from). */
  buffers: readonly GPUBuffer[];
  workgroups: readonly [number, number, number];
}

export function kernelKey(k: Kernel): string {
  return `${k.entryPoint ?? 'main'}\u0000${JSON.stringify(k.constants ?? {})}\u0000${k.code}`;
}

export function toBufferBinding(b: Binding): GPUBufferBinding {
  if ('binding' in b && typeof b.binding === 'function') return b.binding();
  if ('buffer' in b) return b as GPUBufferBinding;
  return { buffer: b as GPUBuffer };
}

/** Formats WGSL compiler messages with the offending source line, for a thrown error. */
export function formatCompilationMessages(code: string, messages: readonly GPUCompilationMessage[]): string {
  const lines = code.split('\n');
  return messages
    .map((m) => {
      const src = m.lineNum > 0 ? lines[m.lineNum - 1] : undefined;
      const where = m.lineNum > 0 ? `${m.lineNum}:${m.linePos} ` : '';
      return `${m.type} ${where}${m.message}${src !== undefined ? `\n    | ${src.trim()}` : ''}`;
    })
    .join('\n');
}
