/**
 * Checkpoints that load straight into the reference PyTorch model: `generator.safetensors` and
 * `discriminator.safetensors` hold exactly the state_dict keys (`model.0.weight`,
 * `model.1.running_mean`, `model.1.num_batches_tracked` as int64, ...); `optimizer.safetensors`
 * holds Adam's moments and, in its metadata, the counters that make --resume exact (the random
 * streams are counter-based: seed + step + epoch say everything). Format version, latent size,
 * hyperparameters, epoch and step are in every file's __metadata__.
 */
import type { Gpu } from '../gpu/gpu.js';
import type { Arena } from '../layers/arena.js';
import type { Sequential } from '../layers/sequential.js';
import { SafetensorsError, parseSafetensors, serializeSafetensors, tensorValues, type SafeFile, type SafeTensor } from '../io/safetensors.js';

export const CHECKPOINT_FORMAT = 'webgpu-dcgan-checkpoint';
export const CHECKPOINT_VERSION = '1';
export const FILES = { G: 'generator.safetensors', D: 'discriminator.safetensors', optimizer: 'optimizer.safetensors' } as const;
/** G's weight average (--ema): the generator's keys, its weights averaged, its BN state G's own. */
export const EMA_FILE = 'generator_ema.safetensors';

export type Metadata = Record<string, string>;

/** Bytes of a Float32Array as a safetensors tensor. */
function f32(shape: number[], values: Float32Array): SafeTensor {
  return { dtype: 'F32', shape, bytes: new Uint8Array(values.buffer, values.byteOffset, values.byteLength) };
}

/** BatchNorm layers' `num_batches_tracked` keys of a model. */
export function trackedKeys(model: Sequential): string[] {
  return [...model.walk()].filter((l) => l.kind.startsWith('BatchNorm')).map((l) => `${l.prefix}num_batches_tracked`);
}

/**
 * Reads a model's parameters and state into state_dict tensors (two readbacks). `weights`: an
 * arena with the parameter arena's layout to read the weights from instead (an EMA).
 */
export async function modelStateDict(gpu: Gpu, model: Sequential, numBatchesTracked: number, weights?: Arena<'ema'>): Promise<Map<string, SafeTensor>> {
  const out = new Map<string, SafeTensor>();
  const params = (await gpu.read(weights ? weights.all('ema') : model.params.all('param'))) as Float32Array;
  const state = (await gpu.read(model.state.all('state'))) as Float32Array;
  for (const [arena, values] of [[model.params, params], [model.state, state]] as const) {
    for (const e of arena.entries.values()) {
      const n = e.shape.reduce((a, b) => a * b, 1);
      out.set(e.name, f32(e.shape, values.slice(e.offset, e.offset + n)));
    }
  }
  for (const key of trackedKeys(model)) {
    out.set(key, { dtype: 'I64', shape: [], bytes: new Uint8Array(new BigInt64Array([BigInt(numBatchesTracked)]).buffer) });
  }
  return out;
}

/** Adam's moments, keyed `<state_dict key>.exp_avg` / `.exp_avg_sq`. */
export async function adamStateDict(gpu: Gpu, model: Sequential, prefix: string): Promise<Map<string, SafeTensor>> {
  const out = new Map<string, SafeTensor>();
  const m = (await gpu.read(model.params.all('adam_m'))) as Float32Array;
  const v = (await gpu.read(model.params.all('adam_v'))) as Float32Array;
  for (const e of model.params.entries.values()) {
    const n = e.shape.reduce((a, b) => a * b, 1);
    out.set(`${prefix}.${e.name}.exp_avg`, f32(e.shape, m.slice(e.offset, e.offset + n)));
    out.set(`${prefix}.${e.name}.exp_avg_sq`, f32(e.shape, v.slice(e.offset, e.offset + n)));
  }
  return out;
}

export function serialize(tensors: Map<string, SafeTensor>, metadata: Metadata): Uint8Array {
  return serializeSafetensors(tensors, { format: CHECKPOINT_FORMAT, format_version: CHECKPOINT_VERSION, ...metadata });
}

export interface ExpectedTensor {
  shape: number[];
  dtype: 'F32' | 'F64' | 'I64' | 'U8';
}

/** What a model's checkpoint must hold, key by key. */
export function expectedModelTensors(model: Sequential): Map<string, ExpectedTensor> {
  const out = new Map<string, ExpectedTensor>();
  for (const s of [...model.namedParamSpecs(), ...model.namedStateSpecs()]) out.set(s.name, { shape: s.shape, dtype: 'F32' });
  for (const key of trackedKeys(model)) out.set(key, { shape: [], dtype: 'I64' });
  return out;
}

/**
 * Parses a checkpoint file and checks it holds exactly `expected`: the first missing key,
 * unexpected key, wrong dtype or wrong shape is the error, with the file named.
 */
export function parseChecked(bytes: Uint8Array, file: string, expected: Map<string, ExpectedTensor>): SafeFile {
  return checkTensors(parseSafetensors(bytes, file), file, expected);
}

/** checkTensors for an already parsed file: the same checks, the same errors. */
export function checkTensors(parsed: SafeFile, file: string, expected: Map<string, ExpectedTensor>): SafeFile {
  const { tensors } = parsed;
  for (const [key, want] of expected) {
    const t = tensors.get(key);
    if (!t) throw new SafetensorsError(file, `missing tensor "${key}" (expected ${want.dtype} [${want.shape.join(', ')}])`);
    if (t.dtype !== want.dtype) throw new SafetensorsError(file, `tensor "${key}": expected dtype ${want.dtype}, found ${t.dtype}`);
    if (t.shape.length !== want.shape.length || t.shape.some((d, i) => d !== want.shape[i])) {
      throw new SafetensorsError(file, `tensor "${key}": expected shape [${want.shape.join(', ')}], found [${t.shape.join(', ')}]`);
    }
  }
  for (const key of tensors.keys()) {
    if (!expected.has(key)) throw new SafetensorsError(file, `unexpected tensor "${key}" (not part of this model)`);
  }
  return parsed;
}

/** Uploads checked state_dict tensors into a model's arenas. */
export function loadStateDict(gpu: Gpu, model: Sequential, tensors: Map<string, SafeTensor>): void {
  for (const [name, t] of tensors) {
    if (t.dtype !== 'F32') continue;
    const values = tensorValues(t) as Float32Array;
    if (model.params.entries.has(name)) gpu.write(model.params.view('param', name), values);
    else gpu.write(model.state.view('state', name), values);
  }
}

/** Uploads Adam moments (keys `<prefix>.<name>.exp_avg[_sq]`) into a model's arena. */
export function loadAdamState(gpu: Gpu, model: Sequential, prefix: string, tensors: Map<string, SafeTensor>): void {
  for (const e of model.params.entries.values()) {
    gpu.write(model.params.view('adam_m', e.name), tensorValues(tensors.get(`${prefix}.${e.name}.exp_avg`)!) as Float32Array);
    gpu.write(model.params.view('adam_v', e.name), tensorValues(tensors.get(`${prefix}.${e.name}.exp_avg_sq`)!) as Float32Array);
  }
}

export function expectedAdamTensors(model: Sequential, prefix: string): Map<string, ExpectedTensor> {
  const out = new Map<string, ExpectedTensor>();
  for (const s of model.namedParamSpecs()) {
    out.set(`${prefix}.${s.name}.exp_avg`, { shape: s.shape, dtype: 'F32' });
    out.set(`${prefix}.${s.name}.exp_avg_sq`, { shape: s.shape, dtype: 'F32' });
  }
  return out;
}

/** A tensor's int64 scalar (num_batches_tracked). */
export function int64Scalar(t: SafeTensor): number {
  return Number((tensorValues(t) as BigInt64Array)[0]);
}
