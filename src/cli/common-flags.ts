/** Flags several commands share, defined once: the adapter, the GEMM tuner, the data set, seeds. */
import { BACKEND_ENV, BACKENDS } from '../gpu/backend.js';
import { TUNE_MODES, type TuneMode } from '../layers/matmul-tuner.js';
import { choice, int, text } from './flags.js';

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
