/**
 * What the page trains on: MNIST, fetched from the page's server, or the user's own images (a
 * picked folder or dropped files), kept as files until a run starts and then decoded, resized,
 * classed and reported exactly as `train --data DIR` does it (web/image-files.ts), for the size
 * of the run's model.
 */
import { imageSetFromIdx, type ImageSet } from '../src/data/idx.js';
import type { FolderReport } from '../src/data/image-folder.js';
import { imageSetFromFiles } from './image-files.js';
import { $, state, status } from './page.js';

export async function loadMnist(base: string): Promise<ImageSet> {
  const get = async (name: string) => {
    const res = await fetch(base + name);
    if (!res.ok) throw new Error(`${base}${name}: HTTP ${res.status}`);
    return new Uint8Array(await res.arrayBuffer());
  };
  const [images, labels] = await Promise.all([get('train-images-idx3-ubyte'), get('train-labels-idx1-ubyte')]);
  return imageSetFromIdx(images, `${base}train-images-idx3-ubyte`, labels, `${base}train-labels-idx1-ubyte`);
}

/** The status line after loading the picked images: what was kept, skipped and upscaled. */
function describeImages(images: ImageSet, report: FolderReport, size: number): string {
  const skipped = report.bad.length ? `; ${report.bad.length} skipped (${report.bad[0]!.file}: ${report.bad[0]!.reason}${report.bad.length > 1 ? ', …' : ''})` : '';
  const upscaled = report.upscaled.count ? `; ${report.upscaled.count} smaller than ${size} px, upscaled` : '';
  const classes = `${report.classes.length} class${report.classes.length > 1 ? 'es' : ''} (${report.classes.map((c) => `${c.name} ${c.count}`).join(', ')})`;
  return `Images: ${images.count} ${images.channels === 3 ? 'RGB' : 'grey'} from ${images.source}, ${classes}, resized to ${size}x${size}${skipped}${upscaled}.`;
}

/** A hash of the pixels, for the tests to compare the page's data set with Node's. */
function checksum(pixels: Uint8Array): number {
  let sum = 0;
  for (let i = 0; i < pixels.length; i++) sum = (sum * 31 + pixels[i]!) >>> 0;
  return sum;
}

export class DataPicker {
  private picked: File[] | null = null;

  constructor(private readonly mnist: ImageSet) {
    state.data = { source: 'MNIST', count: mnist.count, channels: 1, size: 28, classNames: mnist.classNames ?? [], bad: 0, checksum: 0 };
  }

  /** Takes the files of the folder input and of drops on the drop zone. */
  listen(): void {
    $<HTMLInputElement>('folder').addEventListener('change', (e) => this.pick([...((e.target as HTMLInputElement).files ?? [])]));
    const drop = $('drop');
    drop.addEventListener('dragover', (e) => e.preventDefault());
    drop.addEventListener('drop', (e) => {
      e.preventDefault();
      this.pick([...(e.dataTransfer?.files ?? [])]);
    });
  }

  private pick(files: File[]): void {
    this.picked = files.length ? files : null;
    const folder = files[0]?.webkitRelativePath ? ` from ${files[0].webkitRelativePath.split('/')[0]}` : '';
    if (this.picked) status(`Picked ${files.length} files${folder}: they are decoded and resized when training starts.`);
  }

  /** The data for a model of `size` pixels (`channels`: a resumed run's): MNIST, or the picked images. */
  async dataFor(size: number, channels?: number): Promise<ImageSet> {
    if (!this.picked) {
      if (size !== 28 || (channels ?? 1) !== 1) throw new Error(`a ${channels ?? 1}x${size}x${size} model needs your images: pick a folder (MNIST is 1x28x28)`);
      return this.mnist;
    }
    const { set: images, report } = await imageSetFromFiles(this.picked, { size, ...(channels ? { channels } : {}), log: status });
    status(describeImages(images, report, size));
    state.data = { source: images.source, count: images.count, channels: images.channels, size, classNames: images.classNames ?? [], bad: report.bad.length, checksum: checksum(images.pixels) };
    return images;
  }
}
