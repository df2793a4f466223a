import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import accountActivity, {
  ACTIVITY,
  ACTIVITY_LOG,
} from '../fixtures/modules/example/account-activity.js';
import largeDebitHold, { HOLDS } from '../fixtures/modules/example/large-debit-hold.js';
import { createMemoryStore, eventStream } from '../helpers/memoryContext.js';
import { createMemoryWorld } from '../helpers/memoryReactionContext.js';

/**
 * docs/MODULES.md's complete example is these fixture files, word for word (with the package
 * import), and it does what the guide says it does.
 */
const read = (path: string) => readFileSync(new URL(`../../${path}`, import.meta.url), 'utf8');

describe('the module guide', () => {
  it('shows the example files as they are', () => {
    const guide = read('docs/MODULES.md');
    const blocks = [...guide.matchAll(/<!-- example: (\S+) -->\s*```ts\n([\s\S]*?)```/g)];
    expect(blocks.map((b) => b[1])).toEqual([
      'test/fixtures/modules/example/account-activity.ts',
      'test/fixtures/modules/example/large-debit-hold.ts',
    ]);
    for (const [, path = '', code] of blocks) {
      const file = read(path).replace("'../../../../src/index.js'", "'projectord'");
      expect(code, `${path} and its copy in docs/MODULES.md differ`).toBe(file);
    }
  });

  it('projection: guarded upsert and insertOnce apply each event once', async () => {
    const store = createMemoryStore();
    const next = eventStream('acct-1');
    const events = [
      next('AccountCreated', { accountHolder: 'Ada' }),
      next('FundsDebited', { amount: 100 }),
      next('FundsCredited', { amount: 40 }),
    ];
    await store.applyAll(accountActivity, events);
    await store.applyAll(accountActivity, events.slice(1)); // redelivery after a crash
    expect(store.get(ACTIVITY, 'acct-1')).toMatchObject({
      debited: 100,
      credited: 40,
      movements: 2,
      version: 3,
    });
    expect(store.all(ACTIVITY_LOG).map((r) => r._id)).toEqual(['acct-1-e2', 'acct-1-e3']);
  });

  it('projection: a bad amount throws an error naming the field', async () => {
    const store = createMemoryStore();
    const next = eventStream('acct-2');
    await store.apply(accountActivity, next('AccountCreated'));
    const bad = next('FundsDebited', { amount: '12' });
    await expect(store.apply(accountActivity, bad)).rejects.toMatchObject({
      field: 'eventData.amount',
    });
  });

  it('reaction: appends once, holds, and releases once when the deadline falls due', async () => {
    const world = createMemoryWorld();
    world.write('acct-3', 'AccountCreated', {});
    const small = world.write('acct-3', 'FundsDebited', { amount: 10 });
    const large = world.write('acct-3', 'FundsDebited', { amount: 60_000 });
    for (const e of [small, large, large]) await world.deliver(largeDebitHold, e);
    expect(world.ofType('LargeDebitHeld')).toHaveLength(1);
    expect(world.get(HOLDS, large.eventId)).toMatchObject({ state: 'held', amount: 60_000 });

    world.advance(24 * 60 * 60 * 1000 - 1);
    expect(await world.fireDue(largeDebitHold)).toBe(0);
    world.advance(1);
    expect(await world.fireDue(largeDebitHold)).toBe(1);
    expect(world.ofType('LargeDebitReleased')).toHaveLength(1);
    expect(world.get(HOLDS, large.eventId)).toMatchObject({ state: 'released' });
  });
});
