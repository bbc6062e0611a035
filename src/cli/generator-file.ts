/** What `sample` and `eval` share: the generator file a --checkpoint path means. */
import { existsSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { EMA_FILE, FILES } from '../model/state-dict.js';
import { checkpointDir } from '../checkpoints/run-files.js';
import { UsageError } from './args.js';

/** The generator file a --checkpoint path means (`ema`: the weight average saved beside it). */
export function generatorFile(path: string | undefined, ema = false): string {
  if (!path) throw new UsageError('--checkpoint: required (a generator .safetensors file, a run directory or a checkpoint directory)');
  if (!existsSync(path)) throw new UsageError(`--checkpoint: ${path} not found`);
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

