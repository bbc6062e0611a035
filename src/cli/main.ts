/**
 * The `webgpu-dcgan` command: picks the subcommand and hands it the rest of the flags. The
 * package's bin (bin/webgpu-dcgan.js) runs this file in a child process whose stderr it filters;
 * running it directly works too, Dawn's native warnings then show unfiltered.
 */
import { readFileSync } from 'node:fs';

const COMMANDS: Record<string, { about: string; load: () => Promise<{ main(args: string[]): Promise<void> }> }> = {
  train: { about: 'train the reference DCGAN on MNIST (or Fashion-MNIST, or your IDX files)', load: () => import('./train.js') },
  sample: { about: 'draw digits from a generator checkpoint into a PNG grid', load: () => import('./sample.js') },
  export: { about: 'write a generator checkpoint in half precision (F16 or BF16) for embedding', load: () => import('./export.js') },
  eval: { about: 'score a generator: FD, confidence and class balance with the MNIST classifier', load: () => import('./eval.js') },
  'train-classifier': { about: "train the evaluator's MNIST classifier (models/mnist-classifier.safetensors)", load: () => import('./train-classifier.js') },
  bench: { about: 'time a training step on each adapter, beside PyTorch on the CPU', load: () => import('./bench.js') },
  'check-data': { about: 'open the GPU, upload the data set and report a gathered batch', load: () => import('./check-data.js') },
};

/** This package's package.json: src/cli/ and dist/cli/ both sit two levels below it. */
export function packageVersion(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

const HELP = `Usage: webgpu-dcgan <command> [flags]      (in a clone: npm run <command> -- [flags])

Commands:
${Object.entries(COMMANDS).map(([name, c]) => `  ${name.padEnd(11)} ${c.about}`).join('\n')}

Each command takes --help. Global flags:
  --verbose      show the GPU driver's own messages (Dawn's warnings are hidden otherwise)
  --version      print the version
  -h, --help     this text`;

// Run by the bin: its IPC channel closes when the bin dies, even by kill -9; end with it rather
// than train on unseen. (Checkpoints are written so that stopping at any moment is safe.)
if (process.channel) {
  process.channel.unref();
  process.on('disconnect', () => process.exit(137));
}

const [command, ...rest] = process.argv.slice(2).filter((a) => a !== '--verbose');
if (command === '--version' || command === '-v') {
  console.log(packageVersion());
} else if (command === undefined || command === '-h' || command === '--help' || command === 'help') {
  console.log(HELP);
} else if (!(command in COMMANDS)) {
  console.error(`error: unknown command "${command}"; commands: ${Object.keys(COMMANDS).join(', ')} (webgpu-dcgan --help)`);
  process.exitCode = 2;
} else {
  await (await COMMANDS[command]!.load()).main(rest);
}
