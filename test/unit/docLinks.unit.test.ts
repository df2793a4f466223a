import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { packageRoot } from '../../src/lib/paths.js';

/**
 * The docs stand on their own (issue 17): every relative link in README.md and docs/*.md
 * points at a file of the repository, and none points outside it (a reader of the package, or
 * of a clone, has nothing beside the repository). Links to web pages are not checked here.
 */
const root = packageRoot();
const pages = [
  'README.md',
  ...readdirSync(join(root, 'docs'))
    .filter((f) => f.endsWith('.md'))
    .map((f) => `docs/${f}`),
];

/** Markdown link targets and code spans that name a file (`../x.md`, `docs/y.md`). */
function targets(text: string): string[] {
  const links = [...text.matchAll(/\]\(([^)\s]+)\)/g)].map((m) => m[1] ?? '');
  const spans = [...text.matchAll(/`(\.\.\/[^`\s]+|docs\/[^`\s]+\.md)`/g)].map((m) => m[1] ?? '');
  return [...links, ...spans]
    .filter((t) => !/^[a-z]+:/i.test(t) && !t.startsWith('#'))
    .map((t) => t.split('#')[0] ?? t);
}

describe('docs links', () => {
  it.each(pages)('%s links only to files of the repository', (page) => {
    const text = readFileSync(join(root, page), 'utf8');
    for (const target of targets(text)) {
      const path = resolve(dirname(join(root, page)), target);
      expect(path.startsWith(root + '/'), `${page} → ${target} leaves the repository`).toBe(true);
      expect(existsSync(path), `${page} → ${target} does not exist`).toBe(true);
    }
  });

  it('finds the links it checks', () => {
    expect(targets('[a](docs/DOMAIN.md) `../shared/DOMAIN.md` [w](https://x.y)')).toEqual([
      'docs/DOMAIN.md',
      '../shared/DOMAIN.md',
    ]);
  });
});
