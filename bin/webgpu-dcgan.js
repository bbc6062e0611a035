#!/usr/bin/env node
// The package's command: `webgpu-dcgan train|sample|bench|check-data [flags]` (see --help).
//
// Runs the built CLI (dist/cli/main.js) in a child Node process, for one reason: Dawn, the
// native WebGPU library, writes warnings straight to the process's stderr from C++ (e.g.
// "maxDynamicUniformBuffersPerPipelineLayout artificially reduced" on every GLES adapter),
// out of reach of JavaScript. A new user would read them as failures, so the child's stderr
// passes through a filter that drops Dawn's lines; `--verbose` shows them, prefixed "dawn: ".
// Ctrl-C, SIGTERM and SIGHUP reach the child (forwarded: it runs in its own process group); the exit
// code is the child's (128 + the signal's number after a stopped, saved training run: 130 for
// Ctrl-C, 143 for SIGTERM, 129 for SIGHUP).
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { constants } from 'node:os';
import { fileURLToPath } from 'node:url';

const main = fileURLToPath(new URL('../dist/cli/main.js', import.meta.url));
if (!existsSync(main)) {
  console.error(`error: ${main} is missing: the package is not built. In a clone, run \`npm run build\` (npm ci builds too).`);
  process.exit(1);
}
const args = process.argv.slice(2);
const verbose = args.includes('--verbose') || process.env.WEBGPU_DCGAN_VERBOSE === '1';

// Lines Dawn and the Vulkan loader print, and the source-location line Dawn appends to some.
const DAWN_LINE = /^(Warning|Error|Info): |^\s+at \S+ \(.*third_party\/dawn\/.*\)$|^$/;
const env = { ...process.env };
// The child's stderr is a pipe; tell it whether ours is a terminal so progress bars still draw.
if (process.stderr.isTTY) env.WEBGPU_DCGAN_STDERR_TTY = '1';

// Its own process group (detached), so a terminal's Ctrl-C reaches it once, through us, not twice.
// The IPC channel is only a lifeline: if we are killed (kill -9, OOM), the child sees it close and
// exits too, instead of training on as an orphan (its checkpoints are safe at any moment).
const child = spawn(process.execPath, [main, ...args], { stdio: ['inherit', 'inherit', 'pipe', 'ipc'], env, detached: true });
let pending = '';
let dropBlank = false; // Dawn follows a multi-line warning with an empty line
child.stderr.setEncoding('utf8');
child.stderr.on('data', (chunk) => {
  pending += chunk;
  const lines = pending.split('\n');
  pending = lines.pop();
  for (const line of lines) {
    const dawn = DAWN_LINE.test(line) && (line !== '' || dropBlank);
    if (dawn) {
      dropBlank = line !== '';
      if (verbose && line !== '') process.stderr.write(`dawn: ${line}\n`);
    } else {
      dropBlank = false;
      process.stderr.write(`${line}\n`);
    }
  }
  // A partial line that cannot be the start of a Dawn line (a progress bar redrawn with \r) goes out now.
  if (pending !== '' && !/^(W|Wa|War|Warn|Warni|Warnin|Warning|E|Er|Err|Erro|Error|I|In|Inf|Info)(: .*)?$/.test(pending) && !/^\s/.test(pending)) {
    process.stderr.write(pending);
    pending = '';
  }
});
child.stderr.on('end', () => {
  if (pending) process.stderr.write(pending);
});
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(signal, () => {
    if (child.exitCode === null) child.kill(signal);
  });
}
child.on('exit', (code, signal) => {
  // Killed by a signal it did not handle: the shell's 128 + the signal's number.
  process.exitCode = code ?? 128 + (constants.signals[signal] ?? 0);
});
