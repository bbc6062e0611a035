/**
 * The images an evaluator for a user's folder learns from: its class folders as they are, or,
 * for a folder without classes, each image in its four rotations labelled by the rotation (a
 * self-supervised task whose features still describe the images). Every tenth image is held out:
 * the test images whose features FD and KID compare samples with.
 */
import type { ImageSet } from '../data/idx.js';
import type { EvaluatorSpec } from './classifier.js';

/** Images `pick` of a set, in that order. */
function subset(set: ImageSet, pick: readonly number[], source: string): ImageSet {
  const px = set.channels * set.height * set.width;
  const pixels = new Uint8Array(pick.length * px);
  pick.forEach((i, j) => pixels.set(set.pixels.subarray(i * px, (i + 1) * px), j * px));
  return { ...set, count: pick.length, pixels, labels: Uint8Array.from(pick, (i) => set.labels[i]!), source };
}

/** Every `every`-th image (from the first) as the test set, the rest as the training set. */
export function holdOut(set: ImageSet, every = 10): { train: ImageSet; test: ImageSet } {
  const all = Array.from({ length: set.count }, (_, i) => i);
  return {
    train: subset(set, all.filter((i) => i % every !== 0), `${set.source} (training part)`),
    test: subset(set, all.filter((i) => i % every === 0), `${set.source} (every ${every}th image, held out)`),
  };
}

/**
 * Each image four times, turned 0, 90, 180 and 270 degrees counter-clockwise (torch.rot90 with
 * k = 0..3 over H, W), labelled 0..3: the rotation task's data. Square images only.
 */
export function rotations(set: ImageSet): ImageSet {
  const { channels: C, height: H, width: W } = set;
  if (H !== W) throw new Error(`${set.source}: the rotation task needs square images, found ${H}x${W}`);
  const px = C * H * W;
  const pixels = new Uint8Array(4 * set.count * px);
  const labels = new Uint8Array(4 * set.count);
  for (let i = 0; i < set.count; i++) {
    let image = set.pixels.subarray(i * px, (i + 1) * px);
    for (let k = 0; k < 4; k++) {
      pixels.set(image, (4 * i + k) * px);
      labels[4 * i + k] = k;
      image = turned(image, C, H);
    }
  }
  return { ...set, count: 4 * set.count, pixels, labels, source: `${set.source} (4 rotations)`, classNames: ['0', '90', '180', '270'] };
}

/** One counter-clockwise quarter turn of C planes of S x S: out[y][x] = in[x][S - 1 - y]. */
function turned(image: Uint8Array, C: number, S: number): Uint8Array {
  const out = new Uint8Array(image.length);
  for (let c = 0; c < C; c++) {
    const plane = c * S * S;
    for (let y = 0; y < S; y++) for (let x = 0; x < S; x++) out[plane + y * S + x] = image[plane + x * S + (S - 1 - y)]!;
  }
  return out;
}

/** What an evaluator for `set` sees: its classes if it has at least two, else the four rotations. */
export function evaluatorSpecFor(set: ImageSet): EvaluatorSpec {
  const classes = set.classNames?.length ?? new Set(set.labels).size;
  return { channels: set.channels, size: set.height, classes: classes >= 2 ? classes : 4, task: classes >= 2 ? 'classes' : 'rotation' };
}
