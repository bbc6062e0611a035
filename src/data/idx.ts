/**
 * The IDX format of MNIST (http://yann.lecun.com/exdb/mnist/): magic 0x0000 <dtype> <ndim>,
 * ndim big-endian u32 sizes, then the data. We accept only unsigned bytes (dtype 0x08), which
 * is what every MNIST-style file holds.
 */
export class IdxError extends Error {
  override name = 'IdxError';
  constructor(
    readonly file: string,
    message: string,
  ) {
    super(`${file}: ${message}`);
  }
}

export interface IdxArray {
  dims: number[];
  data: Uint8Array;
}

const UBYTE = 0x08;
const DTYPE_NAMES: Record<number, string> = { 0x08: 'ubyte', 0x09: 'byte', 0x0b: 'short', 0x0c: 'int', 0x0d: 'float', 0x0e: 'double' };
const hex = (n: number, w = 8) => `0x${n.toString(16).padStart(w, '0')}`;

/**
 * Checks an IDX header (the first 4 + 4 x ndim bytes, or more) against the length of the whole
 * file, `length`: magic, dtype, dimensions and exact size, so a file can be refused before its
 * body is read. Returns the dimensions and the header's size.
 */
export function parseIdxHeader(bytes: Uint8Array, file: string, expectedDims: number, length = bytes.length): { dims: number[]; headerBytes: number } {
  if (bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b) {
    throw new IdxError(file, 'is gzip-compressed; decompress it first (loadIdxFile does this for .gz files)');
  }
  if (length < 4 || bytes.length < 4) throw new IdxError(file, `truncated: ${length} bytes, an IDX header needs at least 4`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const magic = view.getUint32(0);
  const dtype = bytes[2]!;
  const ndim = bytes[3]!;
  const expectedMagic = (UBYTE << 8) | expectedDims;
  if (bytes[0] !== 0 || bytes[1] !== 0 || dtype !== UBYTE || ndim !== expectedDims) {
    const found = DTYPE_NAMES[dtype] ? `${DTYPE_NAMES[dtype]} with ${ndim} dimensions` : 'not an IDX header';
    throw new IdxError(
      file,
      `bad magic number: expected ${hex(expectedMagic)} (ubyte, ${expectedDims} dimensions), found ${hex(magic)} (${found})`,
    );
  }
  const headerBytes = 4 + 4 * ndim;
  if (length < headerBytes || bytes.length < headerBytes) {
    throw new IdxError(file, `truncated header: ${length} bytes, ${ndim} dimensions need ${headerBytes}`);
  }
  const dims: number[] = [];
  for (let i = 0; i < ndim; i++) dims.push(view.getUint32(4 + 4 * i));
  const count = dims.reduce((a, b) => a * b, 1);
  const expectedLength = headerBytes + count;
  if (length !== expectedLength) {
    const what = length < expectedLength ? 'truncated' : 'trailing bytes';
    throw new IdxError(file, `${what}: dimensions [${dims.join(', ')}] need ${expectedLength} bytes, found ${length}`);
  }
  return { dims, headerBytes };
}

/** Parses one IDX file; `expectedDims` is the number of dimensions the caller needs (3 for images, 1 for labels). */
export function parseIdx(bytes: Uint8Array, file: string, expectedDims: number): IdxArray {
  const { dims, headerBytes } = parseIdxHeader(bytes, file, expectedDims);
  return { dims, data: bytes.subarray(headerBytes) };
}

export interface ImageSet {
  /** Number of images. */
  count: number;
  /** 1 (grey) or 3 (RGB). */
  channels: number;
  height: number;
  width: number;
  /** count * channels * height * width bytes, each image's planes in turn (CHW, as PyTorch's tensors), rows top down. */
  pixels: Uint8Array;
  /** count labels. */
  labels: Uint8Array;
  /** Where it came from, for messages. */
  source: string;
  /** What label k means (conditional models); absent: the digits. */
  classNames?: readonly string[];
  /**
   * Where the pixels stay when they are not in `pixels` (then empty): a decoded-cache file read
   * image by image (train --shard-mib on a cached folder). Only GpuDataset's streamed mode reads
   * such a set.
   */
  onDisk?: PixelSource;
}

/** Pixels read image by image from elsewhere than memory (src/data/pixel-file.ts). */
export interface PixelSource {
  /** For messages. */
  file: string;
  /** Copies image `index` (channels * height * width bytes) into `into` at byte `at`. */
  read(index: number, into: Uint8Array, at: number): void;
}

/** Checks that an image file and a label file belong together. */
export function imageSetFromIdx(
  images: Uint8Array,
  imagesFile: string,
  labels: Uint8Array,
  labelsFile: string,
): ImageSet {
  const img = parseIdx(images, imagesFile, 3);
  const lab = parseIdx(labels, labelsFile, 1);
  const [count, height, width] = img.dims as [number, number, number];
  if (count === 0 || height === 0 || width === 0) {
    throw new IdxError(imagesFile, `empty image set: dimensions [${img.dims.join(', ')}]`);
  }
  if (lab.dims[0] !== count) {
    throw new IdxError(labelsFile, `label count does not match ${imagesFile}: expected ${count}, found ${lab.dims[0]}`);
  }
  return { count, channels: 1, height, width, pixels: img.data, labels: lab.data, source: imagesFile };
}
