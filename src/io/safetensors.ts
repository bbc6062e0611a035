/**
 * The safetensors format (https://github.com/huggingface/safetensors): u64 LE header length,
 * a JSON header {name: {dtype, shape, data_offsets}, __metadata__?: {string: string}}, then the
 * little-endian tensor bytes. Used for PyTorch fixtures and, later, checkpoints.
 */
export type SafeDType = 'F32' | 'F64' | 'I32' | 'I64' | 'U8';

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

const ELEMENT_BYTES: Record<SafeDType, number> = { F32: 4, F64: 8, I32: 4, I64: 8, U8: 1 };

export class SafetensorsError extends Error {
  override name = 'SafetensorsError';
  constructor(
    readonly file: string,
    message: string,
  ) {
    super(`${file}: ${message}`);
  }
}

export function parseSafetensors(data: Uint8Array, file: string): SafeFile {
  if (data.byteLength < 8) throw new SafetensorsError(file, `truncated: ${data.byteLength} bytes, the header length alone needs 8`);
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const headerLength = Number(view.getBigUint64(0, true));
  if (8 + headerLength > data.byteLength) {
    throw new SafetensorsError(file, `truncated: header of ${headerLength} bytes but the file has ${data.byteLength}`);
  }
  let header: Record<string, unknown>;
  try {
    header = JSON.parse(new TextDecoder().decode(data.subarray(8, 8 + headerLength)));
  } catch (err) {
    throw new SafetensorsError(file, `header is not valid JSON (${(err as Error).message})`);
  }
  const body = data.subarray(8 + headerLength);
  const tensors = new Map<string, SafeTensor>();
  let metadata: Record<string, string> = {};
  for (const [name, entry] of Object.entries(header)) {
    if (name === '__metadata__') {
      metadata = entry as Record<string, string>;
      continue;
    }
    const { dtype, shape, data_offsets } = entry as { dtype: SafeDType; shape: number[]; data_offsets: [number, number] };
    if (!(dtype in ELEMENT_BYTES)) throw new SafetensorsError(file, `tensor "${name}": unsupported dtype ${dtype}`);
    const [begin, end] = data_offsets;
    const expected = shape.reduce((a, b) => a * b, 1) * ELEMENT_BYTES[dtype];
    if (end - begin !== expected || end > body.byteLength || begin < 0) {
      throw new SafetensorsError(
        file,
        `tensor "${name}": shape [${shape.join(', ')}] ${dtype} needs ${expected} bytes, offsets [${begin}, ${end}] in a body of ${body.byteLength}`,
      );
    }
    tensors.set(name, { dtype, shape, bytes: body.subarray(begin, end) });
  }
  return { tensors, metadata };
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

/** A tensor's values as a typed array (copied, so alignment never matters). */
export function tensorValues(t: SafeTensor): Float32Array | Float64Array | Int32Array | BigInt64Array | Uint8Array {
  const copy = t.bytes.slice();
  switch (t.dtype) {
    case 'F32': return new Float32Array(copy.buffer);
    case 'F64': return new Float64Array(copy.buffer);
    case 'I32': return new Int32Array(copy.buffer);
    case 'I64': return new BigInt64Array(copy.buffer);
    case 'U8': return copy;
  }
}
