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
  if (!existsSync(source) && isShippedName(source)) return fileURLToPath(SHIPPED_GENERATORS[source]);
  return statSync(source, { throwIfNoEntry: false })?.isDirectory() ? join(checkpointDir(source), FILES.G) : source;
}
