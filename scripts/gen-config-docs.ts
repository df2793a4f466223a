import { writeFileSync } from 'node:fs';
import { GENERATED_DOCS } from '../src/docs/generated.js';

/**
 * Regenerates the reference docs from the code: `npx tsx scripts/gen-config-docs.ts`.
 * test/unit/generatedDocs.unit.test.ts fails while a generated file is stale.
 */
for (const doc of GENERATED_DOCS) {
  writeFileSync(new URL(`../${doc.path}`, import.meta.url), doc.render());
  process.stdout.write(`wrote ${doc.path}\n`);
}
