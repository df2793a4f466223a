import type { Db } from 'mongodb';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { main } from '../../src/cli/main.js';
import {
  collectStatus,
  judgeHealth,
  type StatusReport,
} from '../../src/cli/status/collectStatus.js';
import { formatSeconds, renderStatusTable } from '../../src/cli/status/renderStatus.js';
import { mongoUri, useTestDb } from '../helpers/mongo.js';

/** `projectord status` over collections seeded in the shapes the engine writes. */
const NOW = new Date('2025-03-01T12:00:00Z');
const ago = (s: number) => new Date(NOW.getTime() - s * 1000);
const THRESHOLDS = { now: NOW, maxLagMs: 30_000, stuckAfterMs: 60_000 };

type Seeded = { _id: string; [field: string]: unknown };

/** Seeds times relative to `now` (the CLI reads the real clock, collectStatus takes NOW). */
async function seed(db: Db, now: Date) {
  const ago = (s: number) => new Date(now.getTime() - s * 1000);
  const checkpoint = (
    module: string,
    mode: string,
    lastEventAgo: number,
    updatedAgo: number,
    n: number,
  ) => ({
    _id: module,
    module,
    moduleVersion: 1,
    mode,
    token: { _data: 'x' },
    clusterTime: null,
    lastEventAt: ago(lastEventAgo),
    eventsApplied: n,
    updatedAt: ago(updatedAgo),
    instanceId: 'host-a-1',
  });
  await db
    .collection<Seeded>('projector_checkpoints')
    .insertMany([
      checkpoint('account-summary', 'live', 2, 1, 1200),
      checkpoint('transaction-history', 'catching-up', 300, 5, 40),
      checkpoint('compliance', 'live', 600, 120, 900),
    ]);
  await db.collection<Seeded>('projector_leases').insertMany([
    {
      _id: 'account-summary',
      owner: 'host-a-1',
      fence: 3,
      expiresAt: ago(-10),
      heartbeatAt: ago(5),
    },
    {
      _id: 'transaction-history',
      owner: 'host-b-7',
      fence: 1,
      expiresAt: ago(-10),
      heartbeatAt: ago(5),
    },
    { _id: 'compliance', owner: 'host-a-1', fence: 2, expiresAt: ago(30), heartbeatAt: ago(45) },
  ]);
  const dl = (id: string, module: string, status: string) => ({
    _id: id,
    module,
    eventId: `e-${id}`,
    aggregateId: 'acc-1',
    eventType: 'FundsDebited',
    version: 4,
    error: { message: 'amount must be a number', field: 'eventData.amount' },
    attempts: 5,
    status,
    createdAt: ago(100),
    updatedAt: ago(100),
  });
  await db
    .collection<Seeded>('projector_dead_letters')
    .insertMany([
      dl('d1', 'account-summary', 'parked'),
      dl('d2', 'account-summary', 'retry-requested'),
      dl('d3', 'account-summary', 'resolved'),
      dl('d4', 'account-summary', 'skipped'),
      dl('d5', 'fraud-saga', 'skip-requested'),
    ]);
  await db.collection('event_store').insertMany([
    {
      eventId: 'e1',
      aggregateId: 'acc-1',
      version: 1,
      eventType: 'AccountCreated',
      storedAt: ago(900),
    },
    {
      eventId: 'e2',
      aggregateId: 'acc-1',
      version: 2,
      eventType: 'FundsCredited',
      storedAt: ago(1),
    },
  ]);
}

describe('projectord status', () => {
  let db: Db;
  let dbName: string;
  let cliNow: Date;
  beforeAll(async () => {
    ({ db } = await useTestDb('status'));
    await seed(db, NOW);
    let cliDb: Db;
    ({ db: cliDb, dbName } = await useTestDb('status'));
    cliNow = new Date();
    await seed(cliDb, cliNow);
  });
  afterEach(() => {
    vi.restoreAllMocks();
    vi.unstubAllEnvs();
  });

  async function run(args: string[]) {
    let out = '';
    let err = '';
    vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
      out += String(chunk);
      return true;
    });
    vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
      err += String(chunk);
      return true;
    });
    const code = await main(['node', 'projectord', ...args]);
    vi.restoreAllMocks();
    return { code, out, err };
  }

  it('collects one row per module from checkpoints, leases and dead letters', async () => {
    const report = await collectStatus(db, THRESHOLDS);
    const byName = Object.fromEntries(report.modules.map((m) => [m.module, m]));
    expect(report.modules.map((m) => m.module)).toEqual([
      'account-summary',
      'compliance',
      'fraud-saga',
      'transaction-history',
    ]);
    expect(report.newestEventAt).toEqual(ago(1));
    expect(byName['account-summary']).toMatchObject({
      owner: 'host-a-1',
      fence: 3,
      // Live with two open dead letters: shown parked, and still healthy (others go on).
      mode: 'parked',
      eventsApplied: 1200,
      deadLetters: 2,
      lagSeconds: 1,
      checkpointAgeSeconds: 1,
      health: { ok: true, reason: null },
    });
    // Expired lease: nobody owns it; events waiting and no checkpoint for 2 minutes: stuck.
    expect(byName.compliance).toMatchObject({
      owner: null,
      lagSeconds: 599,
      health: { ok: false, reason: 'stuck: events waiting and no checkpoint for 2m 00s' },
    });
    expect(byName['transaction-history']).toMatchObject({
      owner: 'host-b-7',
      mode: 'catching-up',
      health: { ok: false, reason: 'catching-up' },
    });
    expect(byName['fraud-saga']).toMatchObject({
      mode: null,
      owner: null,
      deadLetters: 1,
      eventsApplied: 0,
      health: { ok: false, reason: 'no checkpoint yet' },
    });
  });

  it('a quiet module whose last event is old is healthy; lag over the bound is not', async () => {
    const report = await collectStatus(db, THRESHOLDS);
    const quiet = { ...report.modules[0]!, lagSeconds: 0, checkpointAgeSeconds: 86_400 };
    expect(judgeHealth(quiet, THRESHOLDS)).toEqual({ ok: true, reason: null });
    const lagging = { ...report.modules[0]!, lagSeconds: 45, checkpointAgeSeconds: 1 };
    expect(judgeHealth(lagging, THRESHOLDS)).toEqual({
      ok: false,
      reason: 'lagging: 45s behind (limit 30s)',
    });
  });

  it('prints an aligned table', async () => {
    const { code, out } = await run(['status', '--mongo-uri', mongoUri(), '--db', dbName]);
    expect(code).toBe(0);
    const lines = out.split('\n');
    expect(lines[0]).toMatch(
      /^MODULE +OWNER +MODE +LAST EVENT +LAG +APPLIED +DEAD LETTERS +CHECKPOINT AGE +HEALTH$/,
    );
    const row = lines.find((l) => l.startsWith('account-summary'));
    const lastEvent = new Date(cliNow.getTime() - 2000)
      .toISOString()
      .replace('T', ' ')
      .slice(0, 19);
    expect(row).toMatch(
      new RegExp(`^account-summary +host-a-1 +parked +${lastEvent}Z +1\\.0s +1200 +2 +\\S+ +ok$`),
    );
    // Columns line up: every row's OWNER cell starts where the header's does.
    const ownerAt = lines[0]!.indexOf('OWNER');
    for (const l of lines.slice(1, 5)) expect(l.slice(ownerAt - 2, ownerAt)).toBe('  ');
    expect(out).toContain(`database ${dbName}`);
  });

  it('prints JSON with --json', async () => {
    const { code, out } = await run([
      'status',
      '--json',
      '--mongo-uri',
      mongoUri(),
      '--db',
      dbName,
    ]);
    expect(code).toBe(0);
    const report = JSON.parse(out) as StatusReport & { modules: { lastEventAt: string }[] };
    expect(report.db).toBe(dbName);
    expect(report.modules).toHaveLength(4);
    expect(report.modules[0]).toMatchObject({
      module: 'account-summary',
      owner: 'host-a-1',
      mode: 'parked',
      lastEventAt: new Date(cliNow.getTime() - 2000).toISOString(),
      eventsApplied: 1200,
      deadLetters: 2,
    });
  });

  it('says so when no module has run against the database', async () => {
    const { code, out } = await run([
      'status',
      '--mongo-uri',
      mongoUri(),
      '--db',
      `${dbName}_empty`,
    ]);
    expect(code).toBe(0);
    expect(out).toMatch(/^No module has run against database "status_\w+_empty" yet/);
  });

  it('exits 2 naming the flag when no MongoDB URI is given', async () => {
    vi.stubEnv('PROJECTORD_MONGO_URI', undefined);
    vi.stubEnv('PROJECTORD_CONFIG', undefined);
    const { code, out, err } = await run(['status']);
    expect(code).toBe(2);
    expect(out).toBe('');
    expect(err).toContain('--mongo-uri');
    expect(err).toContain('PROJECTORD_MONGO_URI');
  });

  it('exits 2 on a malformed URI', async () => {
    const { code, err } = await run(['status', '--mongo-uri', 'localhost:27017']);
    expect(code).toBe(2);
    expect(err).toContain('mongoUri');
  });

  it('reads fields of the wrong type as unknown instead of crashing', async () => {
    const { db: odd } = await useTestDb('status_odd');
    await odd.collection<Seeded>('projector_checkpoints').insertOne({
      _id: 'weird',
      mode: 42,
      lastEventAt: 'yesterday',
      eventsApplied: '7',
      updatedAt: null,
    });
    const report = await collectStatus(odd, THRESHOLDS);
    expect(report.modules).toEqual([
      expect.objectContaining({
        module: 'weird',
        mode: 'unknown',
        lastEventAt: null,
        eventsApplied: 0,
        lagSeconds: null,
        checkpointAgeSeconds: null,
      }),
    ]);
    expect(renderStatusTable(report)).toContain('weird');
  });
});

describe('formatSeconds', () => {
  it.each([
    [0.42, '0.4s'],
    [42.4, '42s'],
    [303, '5m 03s'],
    [7500, '2h 05m'],
    [273_600, '3d 04h'],
  ])('%s → %s', (s, text) => expect(formatSeconds(s)).toBe(text));
});
