import { runEngine } from '../lib/engineHarness.js';
import { createMemoryEventLog } from '../lib/memoryEventLog.js';
import { createMemoryDb, createStoreSink } from '../../src/modules/testing/memoryDb.js';
import { createCountingSink } from '../lib/memorySink.js';
import { createMemoryStore } from '../../src/modules/testing/memoryStore.js';
import { toStream } from '../lib/streamEvents.js';
import { BANK_MODULES, BANK_UPCASTERS } from '../modules/bank.js';
import singleUpsert from '../modules/singleUpsert.js';
import { buildBankEvents } from '../workloads/bankEvents.js';
import { buildTestEvents } from '../workloads/testEvents.js';

/**
 * What scenario 1c profiles (run under `node --cpu-prof` by profile.ts): `single` is two runs of
 * 1a's single-upsert module, `bank` is one full 1b run, both with the default configuration. Workloads are built first; their share
 * of the profile shows up as "benchmark harness".
 */
const which = process.argv[2];
if (which === 'single') {
  const stream = toStream(buildTestEvents(200_000, 10_000));
  for (let i = 0; i < 2; i++) {
    await runEngine(stream, {
      modules: [singleUpsert],
      sink: createCountingSink(),
      db: createMemoryDb(createMemoryStore()),
    });
  }
} else if (which === 'bank') {
  const stream = toStream(buildBankEvents({ events: 30_000, accounts: 1_000, seed: 7 }).events);
  const store = createMemoryStore();
  await runEngine(stream, {
    modules: BANK_MODULES,
    upcasters: BANK_UPCASTERS,
    sink: createStoreSink(store),
    db: createMemoryDb(store),
    log: createMemoryEventLog(stream, BANK_UPCASTERS),
  });
} else {
  throw new Error('usage: profileTarget.js single|bank');
}
