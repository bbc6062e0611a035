/** What `sample`, `eval` and `export` share: the --checkpoint flag and the generator file it means. */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { EMA_FILE, FILES } from '../model/state-dict.js';
import { UsageError } from './args.js';
import { text } from './flags.js';
import { SHIPPED_GENERATORS, isShippedName } from '../model/shipped.js';
import { generatorPath } from '../model/shipped-node.js';

/** `--checkpoint`, as sample, eval and export take it; `more` ends its help. */
export const checkpointFlag = (more = '') =>
  text(`a generator .safetensors file, a run directory (its latest checkpoint), a checkpoint directory holding ${FILES.G}, or a shipped generator (${Object.keys(SHIPPED_GENERATORS).join(', ')})${more}`);

/** The generator file a --checkpoint path (or a shipped generator's name) means (`ema`: the weight average saved beside it). */
export function generatorFile(path: string | undefined, ema = false): string {
  if (!path) throw new UsageError('--checkpoint: required (a generator .safetensors file, a run directory or a checkpoint directory)');
  const shipped = !existsSync(path) && isShippedName(path);
  if (!shipped && !existsSync(path)) throw new UsageError(`--checkpoint: ${path} not found (a file or directory, or a shipped generator: ${Object.keys(SHIPPED_GENERATORS).join(', ')})`);
  if (shipped && ema) throw new UsageError(`--ema: the shipped generator ${path} is one file, without a weight average`);
  let file: string;
  try {
    file = generatorPath(path);
  } catch (err) {
    throw new UsageError(`--checkpoint: ${(err as Error).message}`);
  }
  if (!ema) return file;
  const averaged = join(dirname(file), EMA_FILE);
  if (!existsSync(averaged)) throw new UsageError(`--ema: ${averaged} not found (train with --ema DECAY to keep a weight average)`);
  return averaged;
}
