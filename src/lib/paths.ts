import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The folder holding projectord's package.json, found by walking up from this file, so paths
 * work the same from src/ (tests) and from dist/src/ (the built CLI).
 */
export function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(join(dir, 'package.json')) && existsSync(join(dir, 'tools'))) return dir;
    const parent = dirname(dir);
    if (parent === dir) throw new Error('projectord: cannot find the package root (package.json)');
    dir = parent;
  }
}
