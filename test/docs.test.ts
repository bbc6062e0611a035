/**
 * The documentation stays true: every relative link in README.md, CONTRIBUTING.md and docs/
 * resolves to a file (and a #fragment to a heading of it), and docs/cli.md holds each command's
 * --help exactly as the built CLI prints it.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';

const PAGES = ['README.md', 'CONTRIBUTING.md', ...readdirSync('docs').filter((f) => f.endsWith('.md')).map((f) => join('docs', f))];

/** GitHub's anchor for a heading: lower case, punctuation dropped, spaces to dashes. */
const anchor = (heading: string) =>
  heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N} _-]/gu, '')
    .replace(/ /g, '-');

function headings(file: string): Set<string> {
  const text = readFileSync(file, 'utf8').replace(/```[\s\S]*?```/g, '');
  return new Set([...text.matchAll(/^#+ (.*)$/gm)].map((m) => anchor(m[1]!)));
}

describe('docs', () => {
  it('README.md is at most 250 lines', () => {
    expect(readFileSync('README.md', 'utf8').trimEnd().split('\n').length).toBeLessThanOrEqual(250);
  });

  for (const page of PAGES) {
    it(`every relative link in ${page} resolves`, () => {
      const text = readFileSync(page, 'utf8').replace(/```[\s\S]*?```/g, '');
      const links = [...text.matchAll(/\]\(([^)\s]+)\)/g)].map((m) => m[1]!).filter((l) => !/^[a-z]+:/i.test(l));
      expect(links.length).toBeGreaterThan(0);
      for (const link of links) {
        const [path, fragment] = link.split('#') as [string, string | undefined];
        const target = path === '' ? page : join(dirname(page), path);
        expect(existsSync(target), `${page}: ${link} -> ${target} does not exist`).toBe(true);
        if (fragment) expect(headings(target).has(fragment), `${page}: ${link}: no heading #${fragment} in ${target}`).toBe(true);
      }
    });
  }

  it("docs/cli.md holds every command's --help as the CLI prints it", () => {
    const doc = readFileSync('docs/cli.md', 'utf8');
    for (const command of ['train', 'sample', 'eval', 'check-data', 'bench', 'train-classifier']) {
      const r = spawnSync(process.execPath, ['dist/cli/main.js', command, '--help'], { encoding: 'utf8' });
      expect(r.status, r.stderr).toBe(0);
      expect(doc.includes(`\`\`\`\n${r.stdout.trimEnd()}\n\`\`\``), `docs/cli.md: the --help of ${command} differs from the CLI's (regenerate that block)`).toBe(true);
    }
  });
});
