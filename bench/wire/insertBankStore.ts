import { MongoClient } from 'mongodb';
import { ensureEventStoreIndexes, eventStore } from '../../src/events/eventStore.js';
import { buildBankEvents } from '../workloads/bankEvents.js';

/**
 * Writes a store of bank events (the `simulate` workload built in memory, bench/workloads/
 * bankEvents.ts) into a database, in its own process, so the process that times the rebuild
 * never held the workload. Prints one JSON line on stdout: `{ events, accounts, byType }`.
 * Usage: insertBankStore.js <uri> <db> <events> <initial accounts>
 */
const BATCH = 1000;
const [uri, dbName, eventsArg, accountsArg] = process.argv.slice(2);
if (!uri || !dbName) {
  throw new Error('usage: insertBankStore.js <uri> <db> <events> <initial accounts>');
}
const workload = buildBankEvents({
  events: Number(eventsArg),
  accounts: Number(accountsArg),
  seed: 7,
});
const client = new MongoClient(uri);
await client.connect();
try {
  const db = client.db(dbName);
  await ensureEventStoreIndexes(db);
  for (let i = 0; i < workload.events.length; i += BATCH) {
    await eventStore(db).insertMany(workload.events.slice(i, i + BATCH), { ordered: true });
  }
} finally {
  await client.close();
}
process.stdout.write(
  `${JSON.stringify({
    events: workload.events.length,
    accounts: workload.accounts,
    byType: workload.byType,
  })}\n`,
);
