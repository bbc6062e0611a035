/**
 * Property-based tests of the two parsers that read user files: thousands of random, mutated and
 * structurally hostile inputs. Every input must be either accepted (and then consistent) or
 * rejected with the parser's own error type; any other exception fails the property, and the
 * file's size bounds what a parser may allocate (tensor bytes are views, IDX data a subarray).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SafetensorsError, parseSafetensors, serializeSafetensors, type SafeTensor } from '../src/io/safetensors.js';
import { IdxError, imageSetFromIdx, parseIdx } from '../src/data/idx.js';

const RUNS = 5000; // per property; three properties per parser
let tried = { safetensors: 0, idx: 0 };

/** Runs `parse`, returning its result or null when it threw `errorType`; anything else is rethrown. */
function acceptOrOwnError<T>(parse: () => T, errorType: new (...a: never[]) => Error): T | null {
  try {
    return parse();
  } catch (err) {
    if (err instanceof errorType) return null;
    throw err;
  }
}

const encoder = new TextEncoder();
function withHeader(header: string, body: Uint8Array, lengthOverride?: bigint): Uint8Array {
  const h = encoder.encode(header);
  const out = new Uint8Array(8 + h.byteLength + body.byteLength);
  new DataView(out.buffer).setBigUint64(0, lengthOverride ?? BigInt(h.byteLength), true);
  out.set(h, 8);
  out.set(body, 8 + h.byteLength);
  return out;
}

const validFile = fc
  .array(
    fc.record({
      name: fc.string({ maxLength: 12 }).filter((n) => n !== '__metadata__'),
      dtype: fc.constantFrom('F32', 'F64', 'F16', 'BF16', 'I32', 'I64', 'U8'),
      shape: fc.array(fc.integer({ min: 0, max: 4 }), { maxLength: 3 }),
    }),
    { maxLength: 5 },
  )
  .map((specs) => {
    const size = { F32: 4, F64: 8, F16: 2, BF16: 2, I32: 4, I64: 8, U8: 1 } as const;
    const tensors = new Map<string, SafeTensor>();
    for (const s of specs) {
      const n = s.shape.reduce((a, b) => a * b, 1) * size[s.dtype];
      tensors.set(s.name, { dtype: s.dtype, shape: s.shape, bytes: new Uint8Array(n).map((_, i) => i * 37) });
    }
    return serializeSafetensors(tensors, { format: 'x' });
  });

/** Byte-level damage to a valid file: overwrite, truncate, extend, or rewrite the length field. */
const mutation = fc.oneof(
  fc.record({ kind: fc.constant('set' as const), at: fc.nat(), value: fc.integer({ min: 0, max: 255 }) }),
  fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('extend' as const), extra: fc.uint8Array({ maxLength: 16 }) }),
  fc.record({ kind: fc.constant('length' as const), value: fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }) }),
);
type Mutation = typeof mutation extends fc.Arbitrary<infer M> ? M : never;
function mutate(bytes: Uint8Array, ms: Mutation[]): Uint8Array {
  let out = bytes.slice();
  for (const m of ms) {
    if (m.kind === 'set' && out.length > 0) out[m.at % out.length] = m.value;
    else if (m.kind === 'truncate') out = out.slice(0, m.at % (out.length + 1));
    else if (m.kind === 'extend') out = new Uint8Array([...out, ...m.extra]);
    else if (m.kind === 'length' && out.length >= 8) new DataView(out.buffer).setBigUint64(0, m.value, true);
  }
  return out;
}

/** Header entries built from the JSON values a hostile file could put in each field. */
const hostileValue = fc.oneof(
  fc.jsonValue({ maxDepth: 2 }),
  fc.constantFrom('toString', '__proto__', 'constructor', 'F32', 'I64', -1, 1e300, 2 ** 53, 0.5, null),
  fc.array(fc.oneof(fc.integer({ min: -3, max: 1 << 20 }), fc.double(), fc.constant(2 ** 60)), { maxLength: 4 }),
);
const hostileHeader = fc.oneof(
  hostileValue.map((v) => JSON.stringify(v) ?? 'null'),
  fc
    .dictionary(
      fc.oneof(fc.string({ maxLength: 6 }), fc.constant('__metadata__')),
      fc.oneof(hostileValue, fc.record({ dtype: hostileValue, shape: hostileValue, data_offsets: hostileValue }, { requiredKeys: [] })),
      { maxKeys: 4 },
    )
    .map((h) => JSON.stringify(h)),
);

/** What an accepted safetensors file must satisfy. */
function checkAccepted(file: ReturnType<typeof parseSafetensors>, input: Uint8Array): void {
  const size = { F32: 4, F64: 8, F16: 2, BF16: 2, I32: 4, I64: 8, U8: 1 } as const;
  let total = 0;
  for (const t of file.tensors.values()) {
    expect(t.bytes.byteLength).toBe(t.shape.reduce((a, b) => a * b, 1) * size[t.dtype]);
    expect(t.bytes.buffer).toBe(input.buffer); // a view: no copy, no allocation
    total += t.bytes.byteLength;
  }
  expect(total).toBeLessThanOrEqual(input.byteLength);
  for (const v of Object.values(file.metadata)) expect(typeof v).toBe('string');
}

describe('safetensors parser under fuzzing', () => {
  it('random bytes: accepted or SafetensorsError', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
        tried.safetensors++;
        const f = acceptOrOwnError(() => parseSafetensors(bytes, 'fuzz.safetensors'), SafetensorsError);
        if (f) checkAccepted(f, bytes);
      }),
      { numRuns: RUNS },
    );
  });

  it('mutated valid files: accepted or SafetensorsError', () => {
    fc.assert(
      fc.property(validFile, fc.array(mutation, { minLength: 1, maxLength: 3 }), (good, ms) => {
        tried.safetensors++;
        const bytes = mutate(good, ms);
        const f = acceptOrOwnError(() => parseSafetensors(bytes, 'fuzz.safetensors'), SafetensorsError);
        if (f) checkAccepted(f, bytes);
      }),
      { numRuns: RUNS },
    );
  });

  it('hostile headers over a random body: accepted or SafetensorsError', () => {
    fc.assert(
      fc.property(hostileHeader, fc.uint8Array({ maxLength: 64 }), (header, body) => {
        tried.safetensors++;
        const bytes = withHeader(header, body);
        const f = acceptOrOwnError(() => parseSafetensors(bytes, 'fuzz.safetensors'), SafetensorsError);
        if (f) checkAccepted(f, bytes);
      }),
      { numRuns: RUNS },
    );
    console.log(`safetensors parser: ${tried.safetensors} fuzz inputs, all accepted or rejected with SafetensorsError`);
    expect(tried.safetensors).toBeGreaterThanOrEqual(3 * RUNS);
  });

  it('names the file and the entry for each case found by hand', () => {
    const cases: Array<[string, RegExp]> = [
      ['null', /header must be a JSON object, found null/],
      ['[1]', /header must be a JSON object, found \[1\]/],
      ['{"w":{"dtype":"F32","shape":[1]}}', /tensor "w": data_offsets must be \[begin, end\]/],
      ['{"w":{"dtype":"toString","shape":[],"data_offsets":[0,0]}}', /tensor "w": unsupported dtype "toString"/],
      ['{"w":{"dtype":"F32","shape":[-1],"data_offsets":[0,0]}}', /tensor "w": shape must be an array of non-negative integers, found \[-1\]/],
      ['{"w":7}', /tensor "w": expected an object/],
      ['{"__metadata__":{"a":1}}', /__metadata__ "a" must be a string, found 1/],
      ['{"a":{"dtype":"U8","shape":[2],"data_offsets":[0,2]},"b":{"dtype":"U8","shape":[2],"data_offsets":[1,3]}}', /tensor "b": data starts at 1, expected 2/],
      ['{"a":{"dtype":"U8","shape":[2],"data_offsets":[2,4]}}', /tensor "a": data starts at 2, expected 0/],
      ['{"a":{"dtype":"U8","shape":[2],"data_offsets":[0,2]}}', /tensors cover 2 bytes of a body of 4/],
    ];
    for (const [header, message] of cases) {
      expect(() => parseSafetensors(withHeader(header, new Uint8Array(4)), 'bad.safetensors')).toThrow(SafetensorsError);
      expect(() => parseSafetensors(withHeader(header, new Uint8Array(4)), 'bad.safetensors')).toThrow(message);
    }
    expect(() => parseSafetensors(withHeader('{}', new Uint8Array(0), 1n << 62n), 'big.safetensors')).toThrow(
      /big\.safetensors: header length 4611686018427387904 exceeds the format's limit of 100000000 bytes/,
    );
    const badUtf8 = withHeader('{"a":1}', new Uint8Array(0));
    badUtf8[10] = 0xff;
    expect(() => parseSafetensors(badUtf8, 'u.safetensors')).toThrow(/u\.safetensors: header is not valid UTF-8 JSON/);
  });
});

function idxFile(dims: number[], extra = 0): Uint8Array {
  const n = dims.reduce((a, b) => a * b, 1);
  const out = new Uint8Array(4 + 4 * dims.length + n + extra);
  const view = new DataView(out.buffer);
  out[2] = 0x08;
  out[3] = dims.length;
  dims.forEach((d, i) => view.setUint32(4 + 4 * i, d));
  return out.map((b, i) => (i < 4 + 4 * dims.length ? b : i * 31));
}

describe('IDX parser under fuzzing', () => {
  const parseBoth = (images: Uint8Array, labels: Uint8Array) =>
    acceptOrOwnError(() => imageSetFromIdx(images, 'img.idx', labels, 'lab.idx'), IdxError);

  it('random bytes: accepted or IdxError', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 48 }), fc.integer({ min: 0, max: 4 }), (bytes, ndim) => {
        tried.idx++;
        const a = acceptOrOwnError(() => parseIdx(bytes, 'fuzz.idx', ndim), IdxError);
        if (a) expect(a.data.byteLength).toBe(a.dims.reduce((x, y) => x * y, 1));
      }),
      { numRuns: RUNS },
    );
  });

  it('mutated valid image and label files: accepted or IdxError', () => {
    const dims = fc.tuple(fc.integer({ min: 0, max: 4 }), fc.integer({ min: 0, max: 5 }), fc.integer({ min: 0, max: 5 }));
    fc.assert(
      fc.property(dims, fc.array(mutation, { maxLength: 3 }), fc.array(mutation, { maxLength: 2 }), ([n, h, w], mi, ml) => {
        tried.idx++;
        const set = parseBoth(mutate(idxFile([n, h, w]), mi), mutate(idxFile([n]), ml));
        if (set) {
          expect(set.pixels.byteLength).toBe(set.count * set.height * set.width);
          expect(set.labels.byteLength).toBe(set.count);
          expect(set.count * set.height * set.width).toBeGreaterThan(0);
        }
      }),
      { numRuns: RUNS },
    );
  });

  it('hostile dimensions (huge, zero, overflowing): accepted or IdxError', () => {
    const dim = fc.oneof(fc.integer({ min: 0, max: 6 }), fc.constantFrom(0xffffffff, 0x80000000, 65536, 2 ** 26));
    fc.assert(
      fc.property(fc.array(dim, { minLength: 0, maxLength: 4 }), fc.integer({ min: 0, max: 8 }), (dims, bodyBytes) => {
        tried.idx++;
        const header = new Uint8Array(4 + 4 * dims.length + bodyBytes);
        header[2] = 0x08;
        header[3] = dims.length;
        dims.forEach((d, i) => new DataView(header.buffer).setUint32(4 + 4 * i, d));
        const a = acceptOrOwnError(() => parseIdx(header, 'dims.idx', dims.length), IdxError);
        if (a) expect(a.data.byteLength).toBe(bodyBytes);
      }),
      { numRuns: RUNS },
    );
    console.log(`IDX parser: ${tried.idx} fuzz inputs, all accepted or rejected with IdxError`);
    expect(tried.idx).toBeGreaterThanOrEqual(3 * RUNS);
  });
});
