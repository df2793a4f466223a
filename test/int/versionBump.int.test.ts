import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { CHECKPOINTS } from '../../src/checkpoint/store.js';
import { loadConfig } from '../../src/config/load.js';
import { eventStore } from '../../src/events/eventStore.js';
import { createDaemon, type Daemon } from '../../src/lifecycle/daemon.js';
import { defineProjection } from '../../src/modules/types.js';
import { silentLogger } from '../../src/observability/logger.js';
import { useTestDb, waitFor } from '../helpers/mongo.js';
import { testEvent } from '../helpers/workload.js';

/** Bumping a projection's `version` rebuilds its read model on the next start (issue "Modules"). */
const labelled = (version: number) =>
  defineProjection({
    name: 'labels',
    version,
    handles: ['TestEvent'],
    collections: ['labels_view'],
    apply(event, ctx) {
      ctx.upsert('labels_view', event.aggregateId, {
        set: { label: `v${version}` },
        inc: { n: 1 },
      });
    },
  });

describe('module version bump', () => {
  let ctx: Awaited<ReturnType<typeof useTestDb>>;
  let daemon: Daemon | undefined;
  beforeAll(async () => {
    ctx = await useTestDb('bump');
  });
  afterEach(async () => {
    await daemon?.stop();
  });
  const config = loadConfig({ env: {}, flags: { checkpoint: { everyEvents: 5, everyMs: 50 } } });
  const view = () => ctx.db.collection('labels_view');

  it('rebuilds the read model with the new code and carries on live', async () => {
    await eventStore(ctx.db).insertMany(
      ['a', 'b', 'a', 'c'].map((id, i) => testEvent(id, id === 'a' && i === 2 ? 2 : 1, new Date())),
    );
    daemon = createDaemon({ db: ctx.db, config, modules: [labelled(1)], logger: silentLogger() });
    await daemon.start();
    await waitFor(async () => (await view().countDocuments({ label: 'v1' })) === 3);
    await daemon.stop();

    daemon = createDaemon({ db: ctx.db, config, modules: [labelled(2)], logger: silentLogger() });
    await daemon.start();
    await waitFor(async () => (await view().countDocuments({ label: 'v2' })) === 3, {
      what: 'every document rebuilt by version 2',
    });
    expect(await view().findOne({ _id: 'a' as never })).toMatchObject({ n: 2, version: 2 });
    await waitFor(
      async () =>
        (await ctx.db.collection(CHECKPOINTS).findOne({ _id: 'labels' as never }))
          ?.moduleVersion === 2,
    );
    await eventStore(ctx.db).insertOne(testEvent('d', 1, new Date()));
    await waitFor(async () => (await view().findOne({ _id: 'd' as never }))?.label === 'v2');
  });

  it('rebuilds too when the old version stopped in the middle of its catch-up', async () => {
    // Version 1 applied part of the store and was stopped before its first position (its saved
    // catch-up progress says so); the guards would keep its documents under version 2.
    await ctx.db.dropDatabase();
    await eventStore(ctx.db).insertMany(['e', 'f'].map((id) => testEvent(id, 1, new Date())));
    await view().insertOne({ _id: 'e' as never, label: 'v1', n: 1, version: 1 });
    await ctx.db.collection(CHECKPOINTS).insertOne({
      _id: 'labels' as never,
      module: 'labels',
      moduleVersion: 1,
      mode: 'catching-up',
      updatedAt: new Date(),
    });
    daemon = createDaemon({ db: ctx.db, config, modules: [labelled(2)], logger: silentLogger() });
    await daemon.start();
    await waitFor(async () => (await view().countDocuments({ label: 'v2' })) === 2, {
      what: 'both documents written by version 2',
    });
  });
});
