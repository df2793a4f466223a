import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { isDeepStrictEqual } from 'node:util';
import type { Document } from 'mongodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventStore } from '../../src/events/eventStore.js';
import { packageRoot } from '../../src/lib/paths.js';
import { readCheckpoint, useDaemons } from '../helpers/daemon.js';
import { mongoUri, useTestDb, waitFor } from '../helpers/mongo.js';
import { testEvent } from '../helpers/workload.js';

/**
 * Issue: "a new module dropped into projections/ is picked up on restart and catches up from
 * the start of the store." `projectord run` (the built CLI, a child process) scans a modules
 * folder (`modules.dir`) holding one module; after a graceful stop a second module file is
 * dropped into the folder and more events are written; on restart the new module must cover
 * every event from version 1 of every aggregate, and the first one must go on from where it
 * stopped: its handler never runs again for an event it applied before the stop.
 *
 * Each module counts events per aggregate and logs every handler call to a file, so a
 * re-application shows in the log even though the guarded write would hide it in the count.
 */
interface Counter {
  name: string;
  view: string;
  log: string;
}

/** A module file as a user would write it: plain ESM against the package's built API. */
function moduleSource(c: Counter): string {
  const api = pathToFileURL(join(packageRoot(), 'dist', 'src', 'index.js')).href;
  return `import { appendFileSync } from 'node:fs';
import { defineProjection } from ${JSON.stringify(api)};

export default defineProjection({
  name: ${JSON.stringify(c.name)},
  version: 1,
  handles: ['TestEvent'],
  collections: [${JSON.stringify(c.view)}],
  apply(event, ctx) {
    appendFileSync(${JSON.stringify(c.log)}, event.aggregateId + ' ' + event.version + '\\n');
    ctx.upsert(${JSON.stringify(c.view)}, event.aggregateId, { inc: { count: 1 } });
  },
});
`;
}

/** Versions `from`..`to` of each aggregate. */
function events(aggregates: readonly string[], from: number, to: number): Document[] {
  const docs: Document[] = [];
  for (const id of aggregates) {
    for (let v = from; v <= to; v++) docs.push(testEvent(id, v, new Date()));
  }
  return docs;
}

describe('a module dropped into the modules folder', () => {
  let ctx: Awaited<ReturnType<typeof useTestDb>>;
  const daemons = useDaemons();
  const dir = mkdtempSync(join(tmpdir(), 'projectord-dropin-'));
  const modulesDir = join(dir, 'modules');
  const first: Counter = {
    name: 'first-counter',
    view: 'first_counter_view',
    log: join(dir, 'first.log'),
  };
  const second: Counter = {
    name: 'second-counter',
    view: 'second_counter_view',
    log: join(dir, 'second.log'),
  };
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  beforeAll(async () => {
    ctx = await useTestDb('dropin');
  });

  /** Per aggregate, the number of events in event_store (versions are 1..n without gaps). */
  async function storeCounts(): Promise<Map<string, number>> {
    const docs = await eventStore(ctx.db)
      .find({}, { projection: { aggregateId: 1 } })
      .toArray();
    const counts = new Map<string, number>();
    for (const d of docs)
      counts.set(String(d.aggregateId), (counts.get(String(d.aggregateId)) ?? 0) + 1);
    return counts;
  }
  /** The view as { aggregateId: [count, version] }, to compare with the store. */
  async function viewOf(c: Counter): Promise<Record<string, [unknown, unknown]>> {
    const docs = await ctx.db
      .collection<{ _id: string; count?: number; version?: number }>(c.view)
      .find({})
      .toArray();
    return Object.fromEntries(docs.map((d) => [d._id, [d.count, d.version]]));
  }
  async function expectedView(): Promise<Record<string, [number, number]>> {
    return Object.fromEntries([...(await storeCounts())].map(([id, n]) => [id, [n, n]]));
  }
  /** Handler calls per "aggregateId version" line of a module's log. */
  function calls(c: Counter): Map<string, number> {
    const out = new Map<string, number>();
    if (!existsSync(c.log)) return out;
    for (const line of readFileSync(c.log, 'utf8').split('\n').filter(Boolean)) {
      out.set(line, (out.get(line) ?? 0) + 1);
    }
    return out;
  }
  const converged = (c: Counter, check: () => void) =>
    waitFor(
      async () => {
        check();
        return isDeepStrictEqual(await viewOf(c), await expectedView());
      },
      { timeoutMs: 45_000, intervalMs: 200, what: `${c.name} to count every stored event` },
    );

  it('catches up from version 1 on restart; the first module does not re-apply', async () => {
    mkdirSync(modulesDir);
    writeFileSync(join(modulesDir, 'first-counter.mjs'), moduleSource(first));
    const aggregates = ['agg-0', 'agg-1', 'agg-2', 'agg-3'];
    await eventStore(ctx.db).insertMany(events(aggregates, 1, 3));

    const daemon = daemons.create({
      mongoUri: mongoUri(),
      dbName: ctx.dbName,
      config: { modules: { dir: modulesDir } },
    });
    await daemon.start();
    // Some events arrive live, after the catch-up.
    await waitFor(async () => (await readCheckpoint(ctx.db, first.name))?.mode === 'live', {
      timeoutMs: 30_000,
      what: 'the first module to go live',
    });
    await eventStore(ctx.db).insertMany(events(aggregates, 4, 6));
    await converged(first, () => daemon.assertRunning());
    const appliedBeforeStop = new Set(calls(first).keys());
    expect(appliedBeforeStop.size).toBe(24);
    expect(await readCheckpoint(ctx.db, second.name)).toBeNull();

    daemon.kill('SIGTERM');
    expect(await daemon.waitForExit(30_000)).toEqual({ code: 0, signal: null });

    // Dropped in while the daemon is down; more events too, for old and new aggregates.
    writeFileSync(join(modulesDir, 'second-counter.mjs'), moduleSource(second));
    await eventStore(ctx.db).insertMany([
      ...events(aggregates, 7, 8),
      ...events(['agg-new'], 1, 2),
    ]);

    await daemon.start();
    await converged(second, () => daemon.assertRunning());
    await converged(first, () => daemon.assertRunning());
    // Both count every event: 8 per old aggregate, 2 for the new one.
    const want = {
      'agg-0': [8, 8],
      'agg-1': [8, 8],
      'agg-2': [8, 8],
      'agg-3': [8, 8],
      'agg-new': [2, 2],
    };
    expect(await viewOf(second)).toEqual(want);
    expect(await viewOf(first)).toEqual(want);

    // The new module saw every event from version 1, including those applied before it existed.
    const secondCalls = calls(second);
    for (const id of aggregates) {
      for (let v = 1; v <= 8; v++) expect(secondCalls.has(`${id} ${v}`), `${id} ${v}`).toBe(true);
    }
    // The first module went on from its checkpoint: each event's handler ran once, ever.
    const firstCalls = calls(first);
    const repeated = [...firstCalls].filter(([, n]) => n > 1).map(([k]) => k);
    expect(repeated).toEqual([]);
    expect(firstCalls.size).toBe(34);
    expect(await readCheckpoint(ctx.db, second.name)).toMatchObject({ mode: 'live' });
  });
});
