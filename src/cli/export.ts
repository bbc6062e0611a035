/** `export`: a run's generator as one small file for embedding (half precision). `--help` for the flags. */
import { readFileSync, statSync } from 'node:fs';
import { halfCheckpoint } from '../model/half-checkpoint.js';
import { parseSafetensors, serializeSafetensors } from '../io/safetensors.js';
import { writeFileAtomic } from '../checkpoints/run-files.js';
import { checkedGenerator } from '../model/sample.js';
import { checkpointFlag, generatorFile } from './generator-file.js';
import { runMain } from './args.js';
import { outFileFlag } from './common-flags.js';
import { HELP_FLAG, bool, choice, flagHelp, outputFile, parseFlags } from './flags.js';

export const EXPORT_FLAGS = {
  checkpoint: checkpointFlag(),
  ema: bool('export the weight average saved beside the checkpoint (train --ema)'),
  dtype: choice(['F16', 'BF16'] as const, 'F16: IEEE half precision, as torch .half() rounds (refused for a value beyond 65504); BF16: bfloat16, float32\'s range with 8 bits of mantissa', { default: 'F16' }),
  out: outFileFlag('the generator file to write', 'generator-half.safetensors'),
  ...HELP_FLAG,
};

const HELP = `Usage: webgpu-dcgan export --checkpoint PATH [--out FILE] [--dtype F16|BF16]

Writes a generator checkpoint in half precision: half the bytes, for embedding in a page or a
package. Loading widens every weight back to float32 exactly, so sampling runs as before on
weights rounded once (to 11 significant bits with F16). sample, eval, the page and the embedding
API all load such a file; train --resume does not (a run resumes from its float32 checkpoint).

${flagHelp(EXPORT_FLAGS)}`;

export function main(args: string[]): Promise<void> {
  return runMain(async () => {
    const { values: v } = parseFlags(EXPORT_FLAGS, args);
    if (v.help) return console.log(HELP);
    const file = generatorFile(v.checkpoint, v.ema);
    const out = outputFile(v.out, '--out');
    const parsed = parseSafetensors(new Uint8Array(readFileSync(file)), file);
    const half = [...parsed.tensors.values()].find((t) => t.dtype === 'F16' || t.dtype === 'BF16');
    if (half) throw new Error(`${file}: already stored in half precision (${half.dtype}); export from the float32 checkpoint (rounding twice loses more than once)`);
    // A generator, whole: the same checks sample makes, before anything is written.
    checkedGenerator(parsed, file);
    const narrowed = halfCheckpoint(parsed, v.dtype, file);
    writeFileAtomic(out, serializeSafetensors(narrowed.tensors, narrowed.metadata));
    const mib = (bytes: number) => `${(bytes / 2 ** 20).toFixed(2)} MiB`;
    console.log(`export   ${file} (${mib(statSync(file).size)}) -> ${out} (${mib(statSync(out).size)}, ${v.dtype})`);
  });
}
