/**
 * Where the GEMM tuner's winners persist between runs (a JSON file in Node, localStorage in a
 * page): records by key. The runtime's adapters provide the store; the tuner
 * (src/layers/matmul-tuner.ts) and the roofline's ceilings (src/layers/adapter-ceilings.ts) own
 * what their keys and records mean.
 */
import type { Gpu } from './gpu.js';

export interface TuneStore {
  load(): Record<string, TuneRecord>;
  /** Merges these records into the store (other keys, from other processes or modules, are kept). */
  save(records: Record<string, TuneRecord>): void;
  /** Where the store lives, for messages. */
  where: string;
}

export interface TuneRecord {
  /** A matmul variant, or a conv GEMM program (`conv_32x16`). */
  variant: string;
  /** GFLOP/s of every candidate timed, fastest first. */
  timings: Record<string, number>;
  /** The tune mode that timed them (quick or full), or `ceilings` for the adapter's own ceilings. */
  mode: string;
  /** For `ceilings`: the stream bandwidth in GB/s. */
  copyGBs?: number;
}

/** What a record is measured on: the adapter as it describes itself and the runtime's version. */
export function adapterKey(gpu: Gpu): string {
  const a = gpu.adapter;
  return [a.backend, a.vendor, a.architecture, a.device, a.description, gpu.runtimeVersion].join('/');
}

/**
 * A short fingerprint of the kernels a record timed (FNV-1a over their WGSL), for its key: a
 * kernel rewritten since is timed again rather than judged by what its old source measured.
 */
export function sourcesTag(codes: readonly string[]): string {
  let h = 0x811c9dc5;
  for (const code of codes) {
    for (let i = 0; i < code.length; i++) h = Math.imul(h ^ code.charCodeAt(i), 0x01000193) >>> 0;
    h = Math.imul(h ^ 0x2c, 0x01000193) >>> 0;
  }
  return h.toString(16).padStart(8, '0');
}
