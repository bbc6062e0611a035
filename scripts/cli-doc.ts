/**
 * Rewrites the "Flags of every command" section of docs/cli.md from the built CLI's --help
 * (test/docs.test.ts checks they agree). `npm run docs:cli`.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';

const DOC = 'docs/cli.md';
const HEADING = '## Flags of every command';
const COMMANDS = ['train', 'sample', 'eval', 'check-data', 'bench', 'train-classifier'];

const doc = readFileSync(DOC, 'utf8');
const at = doc.indexOf(HEADING);
if (at < 0) throw new Error(`${DOC}: no "${HEADING}" section`);
const blocks = COMMANDS.map((c) => {
  const r = spawnSync(process.execPath, ['dist/cli/main.js', c, '--help'], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${c} --help failed: ${r.stderr}`);
  return `### \`${c}\`\n\n\`\`\`\n${r.stdout.trimEnd()}\n\`\`\``;
});
writeFileSync(DOC, `${doc.slice(0, at)}${HEADING}\n\nThese blocks are each command's \`--help\` (a test keeps them equal; \`npm run docs:cli\` rewrites them).\n\n${blocks.join('\n\n')}\n`);
console.log(`wrote ${DOC}`);
