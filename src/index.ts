/**
 * The package's Node entry: everything the browser entry (embed.ts) offers, plus what needs the
 * file system: checkpoints and data sets from paths (IDX files, image folders), PNG files.
 *
 *   import { loadGenerator, encodePng } from 'webgpu-dcgan';
 *   const g = await loadGenerator('out/quickstart');          // a run directory (its latest checkpoint) or a .safetensors file
 *   await g.sample({ n: 25, seed: 1 });
 *   writeFileSync('digits.png', encodePng(g.grid()));
 *   g.destroy();
 */
import { readFileSync } from 'node:fs';
import { generatorPath } from './model/shipped-node.js';
import { loadGenerator as loadFrom, type CheckpointSource, type LoadedGenerator } from './embed.js';
import type { Gpu, GpuOptions } from './gpu/gpu.js';

export * from './embed.js';
export { checkpointDir, latestCheckpoint, loadRun, saveRun, readRunConfig } from './checkpoints/run-files.js';
export { loadImageSet, loadTrainingData } from './data/files.js';
export { loadImageFolder } from './data/folder.js';
export { encodePng, decodePng } from './image/png.js';
export { generatorPath } from './model/shipped-node.js';

/**
 * As the browser's loadGenerator, and a string may also be a file path or a run directory; a
 * shipped generator's name ('mnist', 'mnist-conditional') reads its file from the package.
 */
export async function loadGenerator(source: CheckpointSource, options: GpuOptions & { gpu?: Gpu } = {}): Promise<LoadedGenerator> {
  if (typeof source === 'string' && !/^[a-z][a-z0-9+.-]*:\/\//i.test(source)) {
    const file = generatorPath(source);
    let bytes: Uint8Array;
    try {
      bytes = new Uint8Array(readFileSync(file));
    } catch (err) {
      throw new Error(`${file}: cannot read the generator checkpoint (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
    }
    return loadFrom(bytes, options, file);
  }
  return loadFrom(source, options);
}
