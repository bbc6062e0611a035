/** Flags several commands share, defined once: the adapter, the GEMM tuner, the data set, seeds. */
import { BACKEND_ENV, BACKENDS } from '../gpu/backend.js';
import { TUNE_MODES, type TuneMode } from '../layers/matmul-tuner.js';
import { choice, int, text } from './flags.js';
import { DATA_CACHE_ENV, DecodedCache, defaultDataCacheDir } from '../data/decoded-cache.js';

/** `--backend`: unset means $WEBGPU_DCGAN_BACKEND or auto, resolved by requestGpu. */
export const backendFlag = (section?: string) =>
  choice(BACKENDS, 'the WebGPU adapter: a GPU, else the CPU default gles (auto); a GPU or an error (gpu); a CPU adapter (swiftshader, gles)', {
    section,
    env: BACKEND_ENV,
    shownDefault: `$${BACKEND_ENV} or auto`,
  });

export const TUNE_ENV = 'WEBGPU_DCGAN_TUNE';
export const TUNE_CACHE_ENV = 'WEBGPU_DCGAN_TUNE_CACHE';

/** `--tune`: how `auto` picks a matmul variant and a conv GEMM's register block per shape. */
export const tuneFlag = (fallback: TuneMode) =>
  choice(
    TUNE_MODES,
    `how auto picks a matmul variant (and an implicit conv GEMM's register block) per shape: timed once per adapter and shape and cached (quick: a short list; full: every variant), or a fixed table (off). The cache is $${TUNE_CACHE_ENV} or ~/.cache/webgpu-dcgan/matmul-tune.json`,
    { arg: 'MODE', env: TUNE_ENV, default: fallback, shownDefault: `$${TUNE_ENV} or ${fallback}` },
  );

/** `--data`: a data set name, a directory of IDX files, or a folder of images. */
export const dataFlag = (section?: string) =>
  text(
    "mnist | fashion (Debian's dataset-fashion-mnist) | a directory with IDX files | a folder of PNG and JPEG images (searched recursively; with subfolders, each first-level subfolder is a class, as torchvision's ImageFolder). Images are resized (shorter side to the model's size, bilinear) and centre-cropped, as torchvision's Resize + CenterCrop",
    { arg: 'NAME|DIR', default: 'mnist', section },
  );

/** `--seed`: an integer >= 0; what it seeds is the command's. */
export const seedFlag = (what: string, fallback: number) => int(`${what} seed`, { min: 0, default: fallback });

/** `--out` naming a file the command writes (checked not to be a directory before any work: outputFile). */
export const outFileFlag = (help: string, fallback: string, shown = fallback) => text(help, { arg: 'FILE', default: fallback, shownDefault: shown });

/** `--data-cache`: where decoded image folders are kept (a directory), or off. */
export const dataCacheFlag = (section?: string) =>
  text(
    `where a decoded image folder is kept, so the next run on the same files and size starts at once: a directory, or off. An entry is keyed by every file's path, size and times, so a changed or added file is decoded again; delete the directory to clear it`,
    { arg: 'DIR|off', section, shownDefault: `$${DATA_CACHE_ENV} or ~/.cache/webgpu-dcgan/decoded` },
  );

/** The cache --data-cache names (null: off). */
export function dataCache(value: string | undefined): DecodedCache | null {
  if (value === 'off') return null;
  return new DecodedCache(value ?? defaultDataCacheDir());
}
