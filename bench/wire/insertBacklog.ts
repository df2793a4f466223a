import { MongoClient } from 'mongodb';
import { ensureEventStoreIndexes, eventStore } from '../../src/events/eventStore.js';
import { createRng, testEvent } from '../../test/helpers/workload.js';

/**
 * Writes a backlog of `TestEvent`s into a database, in its own process, so that the process
 * whose memory is measured never held the backlog itself.
 * Usage: insertBacklog.js <uri> <db> <events> <aggregates>
 */
const [uri, dbName, eventsArg, aggregatesArg] = process.argv.slice(2);
if (!uri || !dbName) throw new Error('usage: insertBacklog.js <uri> <db> <events> <aggregates>');
const events = Number(eventsArg);
const aggregates = Number(aggregatesArg);
const client = new MongoClient(uri);
await client.connect();
try {
  const db = client.db(dbName);
  await ensureEventStoreIndexes(db);
  const rng = createRng(7);
  const versions = new Map<string, number>();
  const at = new Date();
  for (let written = 0; written < events;) {
    const batch = [];
    for (let i = 0; i < 1000 && written < events; i++, written++) {
      const aggregateId = `agg-${Math.floor(rng() * aggregates)}`;
      const version = (versions.get(aggregateId) ?? 0) + 1;
      versions.set(aggregateId, version);
      batch.push(testEvent(aggregateId, version, at));
    }
    await eventStore(db).insertMany(batch, { ordered: true });
  }
} finally {
  await client.close();
}
