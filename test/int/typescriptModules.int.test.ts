import { resolve } from 'node:path';
import type { Document } from 'mongodb';
import { beforeAll, describe, expect, it } from 'vitest';
import { eventStore } from '../../src/events/eventStore.js';
import { useDaemons } from '../helpers/daemon.js';
import { mongoUri, useTestDb, waitFor } from '../helpers/mongo.js';

/**
 * TypeScript modules in the BUILT CLI (`projectord run`, a child process; DESIGN.md "TypeScript
 * modules"). Here the loader is the product's own: tsx on Node 20, Node's type stripping on 24
 * (.ci/run runs this file under both). A folder with a `.ts` module (importing its helper by the
 * `.js` name, as tsc NodeNext wants), an `.mts` reaction with an enum (not erasable) and a
 * `.mjs` module must all load and apply events; a broken `.ts` or `.mjs` file must stop start-up
 * with exit 2, naming the file and the line.
 */
const FIXTURES = resolve(import.meta.dirname, '../fixtures/modules');

function event(aggregateId: string, version: number, eventType: string, eventData: Document) {
  return {
    eventId: `${aggregateId}-${version}`,
    aggregateId,
    aggregateType: 'Order',
    eventType,
    eventVersion: '1.0',
    version,
    eventTimestamp: new Date(),
    storedAt: new Date(),
    eventData,
    eventMetadata: {},
  };
}

describe('TypeScript modules in the built CLI', () => {
  let ctx: Awaited<ReturnType<typeof useTestDb>>;
  const daemons = useDaemons();
  beforeAll(async () => {
    ctx = await useTestDb('tsmodules');
  });

  it('loads .ts, .mts and .mjs modules from modules.dir and applies events', async () => {
    await eventStore(ctx.db).insertMany([
      event('o-1', 1, 'OrderPlaced', { customer: 'ada', lines: [{ price: 3 }, { price: 4 }] }),
      event('o-2', 1, 'OrderPlaced', { customer: 'ada', lines: [{ price: 10 }] }),
      event('o-2', 2, 'OrderCancelled', {}),
    ]);
    const daemon = daemons.create({
      mongoUri: mongoUri(),
      dbName: ctx.dbName,
      config: { modules: { dir: resolve(FIXTURES, 'typescript') } },
    });
    await daemon.start();
    const all = (c: string) => ctx.db.collection(c).find({}).sort({ _id: 1 }).toArray();
    await waitFor(
      async () => {
        daemon.assertRunning();
        return (await all('refunds_view')).length === 1 && (await all('orders_view')).length === 2;
      },
      { timeoutMs: 45_000, intervalMs: 100, what: 'the TypeScript modules to apply the events' },
    );
    expect(await all('orders_view')).toEqual([
      { _id: 'o-1', customer: 'ada', total: 7, version: 1 },
      { _id: 'o-2', customer: 'ada', total: 10, version: 1 },
    ]);
    expect(await all('refunds_view')).toEqual([{ _id: 'o-2', outcome: 'refunded', version: 2 }]);
    await waitFor(async () => (await all('customers_view'))[0]?.orders === 2, {
      timeoutMs: 10_000,
      what: 'the JavaScript module beside them',
    });
    daemon.kill('SIGTERM');
    expect(await daemon.waitForExit(30_000)).toEqual({ code: 0, signal: null });
  });

  it.each([
    ['syntax-error.ts', 'has a syntax error at line 5'],
    ['syntax-error.mjs', 'has a syntax error at line 4'],
    ['throws.ts', 'failed to import: kaboom in a TypeScript module (thrown at line 3'],
    ['no-default.ts', 'has no default export'],
  ])('exits 2 on a bad module file, naming it: %s', async (name, problem) => {
    const file = resolve(FIXTURES, 'bad', name);
    const daemon = daemons.create({
      mongoUri: mongoUri(),
      dbName: ctx.dbName,
      config: { modules: { paths: [file] } },
    });
    await daemon.start();
    expect(await daemon.waitForExit(30_000), daemon.output()).toEqual({ code: 2, signal: null });
    expect(daemon.output()).toContain(`Module ${file} ${problem}`);
  });
});
