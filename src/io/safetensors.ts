/**
 * The safetensors format (https://github.com/huggingface/safetensors): u64 LE header length,
 * a JSON header {name: {dtype, shape, data_offsets}, __metadata__?: {string: string}}, then the
 * little-endian tensor bytes. Used for PyTorch fixtures and checkpoints; files come from users, so
 * the parser trusts nothing in them (test/safetensors-fuzz.test.ts).
 */
import { widenHalf } from './half.js';

export type SafeDType = 'F32' | 'F64' | 'F16' | 'BF16' | 'I32' | 'I64' | 'U8';

export interface SafeTensor {
  dtype: SafeDType;
  shape: number[];
  /** Raw little-endian bytes. */
  bytes: Uint8Array;
}

export interface SafeFile {
  tensors: Map<string, SafeTensor>;
  metadata: Record<string, string>;
}

const ELEMENT_BYTES: Record<SafeDType, number> = { F32: 4, F64: 8, F16: 2, BF16: 2, I32: 4, I64: 8, U8: 1 };

export class SafetensorsError extends Error {
  override name = 'SafetensorsError';
  constructor(
    readonly file: string,
    message: string,
  ) {
    super(`${file}: ${message}`);
  }
}

/**
 * The reference implementation's cap on the JSON header (safetensors' MAX_HEADER_SIZE): a
 * hostile length field can never make us decode or allocate more than this.
 */
export const MAX_HEADER_BYTES = 100_000_000;

/**
 * Parses and validates a whole file; every way the bytes can be wrong throws SafetensorsError
 * naming the file and, where there is one, the entry. Checks follow the reference
 * implementation: a JSON object header of at most MAX_HEADER_BYTES of UTF-8; each entry an
 * object with a known dtype, a shape of non-negative safe integers and two offsets whose span is
 * exactly the shape's bytes; entries contiguous and non-overlapping, covering the body exactly;
 * metadata string to string. Tensor bytes are views of `data`: nothing is allocated per entry.
 */
export function parseSafetensors(data: Uint8Array, file: string): SafeFile {
  const fail = (message: string): never => {
    throw new SafetensorsError(file, message);
  };
  if (data.byteLength < 8) fail(`truncated: ${data.byteLength} bytes, the header length alone needs 8`);
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const rawLength = view.getBigUint64(0, true);
  if (rawLength > BigInt(MAX_HEADER_BYTES)) fail(`header length ${rawLength} exceeds the format's limit of ${MAX_HEADER_BYTES} bytes`);
  const headerLength = Number(rawLength);
  if (8 + headerLength > data.byteLength) fail(`truncated: header of ${headerLength} bytes but the file has ${data.byteLength}`);
  let header: unknown;
  try {
    header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(data.subarray(8, 8 + headerLength)));
  } catch (err) {
    fail(`header is not valid UTF-8 JSON (${(err as Error).message})`);
  }
  if (!isPlainObject(header)) fail(`header must be a JSON object, found ${describe(header)}`);
  const body = data.subarray(8 + headerLength);
  const entries: Array<{ name: string; dtype: SafeDType; shape: number[]; begin: number; end: number }> = [];
  let metadata: Record<string, string> = {};
  for (const [name, entry] of Object.entries(header as Record<string, unknown>)) {
    if (name === '__metadata__') {
      metadata = parseMetadata(entry, fail);
      continue;
    }
    const at = `tensor "${name}"`;
    if (!isPlainObject(entry)) fail(`${at}: expected an object {dtype, shape, data_offsets}, found ${describe(entry)}`);
    const { dtype, shape, data_offsets: offsets } = entry as Record<string, unknown>;
    if (typeof dtype !== 'string' || !Object.hasOwn(ELEMENT_BYTES, dtype)) {
      fail(`${at}: unsupported dtype ${describe(dtype)} (supported: ${Object.keys(ELEMENT_BYTES).join(', ')})`);
    }
    if (!Array.isArray(shape) || !shape.every(isCount)) fail(`${at}: shape must be an array of non-negative integers, found ${describe(shape)}`);
    if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every(isCount)) {
      fail(`${at}: data_offsets must be [begin, end] non-negative integers, found ${describe(offsets)}`);
    }
    const [begin, end] = offsets as [number, number];
    const dims = shape as number[];
    // Multiplying in floating point is exact while the product stays below 2^53; past the body's
    // size it no longer matters by how much it is exceeded.
    let bytes = ELEMENT_BYTES[dtype as SafeDType];
    for (const d of dims) bytes = Math.min(bytes * d, Number.MAX_SAFE_INTEGER);
    if (begin > end || end > body.byteLength || end - begin !== bytes) {
      fail(`${at}: shape [${dims.join(', ')}] ${dtype} needs ${bytes} bytes, offsets [${begin}, ${end}] in a body of ${body.byteLength}`);
    }
    entries.push({ name, dtype: dtype as SafeDType, shape: dims, begin, end });
  }
  // Contiguous and non-overlapping, covering the whole body (as the reference implementation checks).
  entries.sort((a, b) => a.begin - b.begin || a.end - b.end);
  let covered = 0;
  for (const e of entries) {
    if (e.begin !== covered) {
      fail(`tensor "${e.name}": data starts at ${e.begin}, expected ${covered} (tensors must be contiguous and must not overlap)`);
    }
    covered = e.end;
  }
  if (covered !== body.byteLength) fail(`tensors cover ${covered} bytes of a body of ${body.byteLength} (trailing or missing data)`);
  const tensors = new Map<string, SafeTensor>();
  for (const e of entries.sort((a, b) => (a.name < b.name ? -1 : 1))) {
    tensors.set(e.name, { dtype: e.dtype, shape: e.shape, bytes: body.subarray(e.begin, e.end) });
  }
  return { tensors, metadata };
}

function parseMetadata(entry: unknown, fail: (message: string) => never): Record<string, string> {
  if (!isPlainObject(entry)) fail(`__metadata__ must be an object of strings, found ${describe(entry)}`);
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(entry as Record<string, unknown>)) {
    if (typeof v !== 'string') fail(`__metadata__ "${k}" must be a string, found ${describe(v)}`);
    out[k] = v as string;
  }
  return out;
}

const isPlainObject = (x: unknown): boolean => typeof x === 'object' && x !== null && !Array.isArray(x);
const isCount = (x: unknown): boolean => typeof x === 'number' && Number.isSafeInteger(x) && x >= 0;

/** A JSON value in an error message, shortened. */
function describe(x: unknown): string {
  const text = x === undefined ? 'nothing' : JSON.stringify(x);
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

export function serializeSafetensors(tensors: Map<string, SafeTensor>, metadata: Record<string, string> = {}): Uint8Array {
  const header: Record<string, unknown> = {};
  let offset = 0;
  const names = [...tensors.keys()].sort();
  for (const name of names) {
    const t = tensors.get(name)!;
    header[name] = { dtype: t.dtype, shape: t.shape, data_offsets: [offset, offset + t.bytes.byteLength] };
    offset += t.bytes.byteLength;
  }
  if (Object.keys(metadata).length > 0) header.__metadata__ = metadata;
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - ((json.length + 8) % 8)) % 8);
  const headerBytes = new TextEncoder().encode(json);
  const out = new Uint8Array(8 + headerBytes.byteLength + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(headerBytes.byteLength), true);
  out.set(headerBytes, 8);
  let pos = 8 + headerBytes.byteLength;
  for (const name of names) {
    const bytes = tensors.get(name)!.bytes;
    out.set(bytes, pos);
    pos += bytes.byteLength;
  }
  return out;
}

/** A tensor's values as a typed array (copied, so alignment never matters; half precision widened to float32). */
export function tensorValues(t: SafeTensor): Float32Array | Float64Array | Int32Array | BigInt64Array | Uint8Array {
  if (t.dtype === 'F16' || t.dtype === 'BF16') return widenHalf(t.bytes, t.dtype);
  const copy = t.bytes.slice();
  switch (t.dtype) {
    case 'F32': return new Float32Array(copy.buffer);
    case 'F64': return new Float64Array(copy.buffer);
    case 'I32': return new Int32Array(copy.buffer);
    case 'I64': return new BigInt64Array(copy.buffer);
    case 'U8': return copy;
  }
}

/** The file with its half-precision tensors (F16, BF16) widened to F32, exactly: weights stored small, used in float32. */
export function widenedToF32(file: SafeFile): SafeFile {
  const tensors = new Map<string, SafeTensor>();
  for (const [name, t] of file.tensors) {
    const half = t.dtype === 'F16' || t.dtype === 'BF16';
    tensors.set(name, half ? { dtype: 'F32', shape: t.shape, bytes: new Uint8Array(tensorValues(t).buffer) } : t);
  }
  return { tensors, metadata: file.metadata };
}
