/** What `sample` and `eval` share: the generator file a --checkpoint path means. */
import { existsSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { EMA_FILE, FILES } from '../model/state-dict.js';
import { checkpointDir } from '../checkpoints/run-files.js';
import { UsageError } from './args.js';
import { SHIPPED_GENERATORS, isShippedName } from '../model/shipped.js';
import { generatorPath } from '../model/shipped-node.js';

/** The generator file a --checkpoint path (or a shipped generator's name) means (`ema`: the weight average saved beside it). */
export function generatorFile(path: string | undefined, ema = false): string {
  if (!path) throw new UsageError('--checkpoint: required (a generator .safetensors file, a run directory or a checkpoint directory)');
  if (!existsSync(path) && isShippedName(path)) {
    if (ema) throw new UsageError(`--ema: the shipped generator ${path} is one file, without a weight average`);
    try {
      return generatorPath(path);
    } catch (err) {
      throw new UsageError(`--checkpoint: ${(err as Error).message}`);
    }
  }
  if (!existsSync(path)) throw new UsageError(`--checkpoint: ${path} not found (a file or directory, or a shipped generator: ${Object.keys(SHIPPED_GENERATORS).join(', ')})`);
  let file = path;
  if (statSync(path).isDirectory()) {
    try {
      file = join(checkpointDir(path), FILES.G);
    } catch (err) {
      throw new UsageError(`--checkpoint: ${(err as Error).message}`);
    }
  }
  if (!ema) return file;
  const averaged = join(dirname(file), EMA_FILE);
  if (!existsSync(averaged)) throw new UsageError(`--ema: ${averaged} not found (train with --ema DECAY to keep a weight average)`);
  return averaged;
}

