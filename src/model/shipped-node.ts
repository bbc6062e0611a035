/** Which generator file a path or a shipped generator's name means, in Node. */
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { checkpointDir } from '../checkpoints/run-files.js';
import { FILES } from './state-dict.js';
import { SHIPPED_GENERATORS, isShippedName } from './shipped.js';

/**
 * A run directory's latest generator, a checkpoint directory's, a file as it is, or, for a name
 * that is no file or directory here, the shipped generator of that name ('mnist', 'mnist-conditional').
 */
export function generatorPath(source: string): string {
  if (!existsSync(source) && isShippedName(source)) {
    const file = fileURLToPath(SHIPPED_GENERATORS[source]);
    if (!existsSync(file)) throw new Error(`${source}: the shipped generator's file ${file} is not here (the npm package carries mnist-conditional only, within its 3 MiB; the repository's models/ has both)`);
    return file;
  }
  return statSync(source, { throwIfNoEntry: false })?.isDirectory() ? join(checkpointDir(source), FILES.G) : source;
}
