#!/usr/bin/env node
// The package's command: `webgpu-dcgan train|sample|bench|check-data [flags]`. Runs the
// TypeScript entry points in scripts/ through tsx (no build step).
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const COMMANDS = ['train', 'sample', 'bench', 'check-data'];
const [command, ...args] = process.argv.slice(2);
if (!command || command === '-h' || command === '--help' || !COMMANDS.includes(command)) {
  const known = `commands: ${COMMANDS.join(', ')} (each takes --help)`;
  if (command && !['-h', '--help'].includes(command)) {
    console.error(`error: unknown command "${command}"; ${known}`);
    process.exit(2);
  }
  console.log(`Usage: webgpu-dcgan <command> [flags]\n${known}`);
  process.exit(0);
}
const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const tsx = import.meta.resolve('tsx');
const r = spawnSync(process.execPath, ['--import', tsx, join(root, 'scripts', `${command}.ts`), ...args], { stdio: 'inherit' });
process.exit(r.status ?? 1);
