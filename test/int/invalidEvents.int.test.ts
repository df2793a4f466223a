import { Writable } from 'node:stream';
import { ObjectId } from 'mongodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ACCOUNT_SUMMARY_VIEW } from '../../projections/account-summary.js';
import { eventStore } from '../../src/events/eventStore.js';
import { DEAD_LETTERS } from '../../src/lanes/deadLetters.js';
import { runDaemon, type RunningDaemon } from '../../src/lifecycle/runDaemon.js';
import { createLogger } from '../../src/observability/logger.js';
import { bankConfig } from '../helpers/bankDaemon.js';
import { operatorArgs, runCli } from '../helpers/cli.js';
import { useTestDb, waitFor } from '../helpers/mongo.js';

/**
 * An event that reaches no handler is visible (DESIGN.md "Invalid events"): a malformed event
 * (no eventTimestamp nor storedAt, a version that is not a number) gives a warn line naming the
 * eventId, the module and the reason; `status --json` counts it with the dead letters and shows
 * the module `parked`; `projectord_dead_letters{status="invalid"}` counts it; `dlq skip` clears
 * all three; `dlq retry` reads it again — still invalid, it stays invalid; corrected, it is
 * applied.
 */
const MODULES = ['account-summary', 'transaction-history'];

interface StatusJson {
  modules: {
    module: string;
    mode: string;
    deadLetters: number;
    invalid: number;
    health: { ok: boolean };
  }[];
}

describe('an invalid event is visible', () => {
  let ctx: Awaited<ReturnType<typeof useTestDb>>;
  let running: RunningDaemon;
  const lines: Record<string, unknown>[] = [];
  beforeAll(async () => {
    ctx = await useTestDb('invalid_events');
    const destination = new Writable({
      write(chunk: Buffer, _enc, done) {
        for (const line of chunk.toString().split('\n')) {
          if (line.trim() !== '') lines.push(JSON.parse(line) as Record<string, unknown>);
        }
        done();
      },
    });
    const config = bankConfig(ctx.dbName, { modules: { enabled: MODULES } });
    running = await runDaemon({ config, logger: createLogger({ level: 'warn', destination }) });
    await waitFor(
      () =>
        running.daemon.status().length === MODULES.length &&
        running.daemon.status().every((s) => s.mode === 'live'),
      { what: 'the modules to be live' },
    );
  });
  afterAll(async () => {
    await running.stop();
  });

  const cli = (...args: string[]) => runCli([...operatorArgs(ctx.dbName), ...args]);
  const status = async () => JSON.parse((await cli('status', '--json')).out) as StatusJson;
  const metric = async (module: string, s: string) => {
    const text = await (await fetch(`http://127.0.0.1:${running.metricsPort}/metrics`)).text();
    const line = text
      .split('\n')
      .find((l) => l.startsWith(`projectord_dead_letters{module="${module}",status="${s}"}`));
    return line === undefined ? undefined : Number(line.split(' ').pop());
  };
  /** A malformed AccountCreated: no times, and a version that is not a number. */
  async function malformed(accountId: string): Promise<ObjectId> {
    const eventId = new ObjectId();
    await eventStore(ctx.db).insertOne({
      eventId,
      aggregateId: accountId,
      aggregateType: 'BankAccount',
      eventType: 'AccountCreated',
      eventVersion: '1.0',
      version: 'one',
      eventData: {
        accountNumber: `NO-${accountId}`,
        accountHolder: 'Holder',
        accountType: 'checking',
        initialBalance: 100,
      },
      eventMetadata: {},
    });
    return eventId;
  }

  it('logs it at warn, counts it in status and in the metric, and dlq skip clears it', async () => {
    const eventId = (await malformed('acc-bad')).toHexString();
    const warned = await waitFor(
      () => {
        const found = lines.filter((l) => l.eventId === eventId && l.level === 40);
        return found.length === MODULES.length ? found : undefined;
      },
      { what: 'a warn line per module naming the event' },
    );
    expect(warned.map((l) => l.module).sort()).toEqual(MODULES);
    for (const l of warned) {
      expect(l.reason).toBe('version must be a positive integer (got a string)');
      expect(l.msg).toMatch(/invalid event dead-lettered/);
    }

    const before = await status();
    for (const m of before.modules) {
      expect(m).toMatchObject({ deadLetters: 1, invalid: 1, mode: 'parked', health: { ok: true } });
    }
    const table = (await cli('status')).out;
    expect(table).toMatch(/account-summary .* 1 \(1 invalid\)/);
    await waitFor(async () => (await metric('account-summary', 'invalid')) === 1, {
      timeoutMs: 15_000,
      what: 'projectord_dead_letters{status="invalid"} to count it',
    });
    expect(await metric('account-summary', 'parked')).toBe(0);

    const id = `account-summary:${eventId}`;
    const skipped = await cli('dlq', 'skip', id, '--by', 'tester');
    expect(skipped.code).toBe(0);
    const after = await status();
    expect(after.modules.find((m) => m.module === 'account-summary')).toMatchObject({
      deadLetters: 0,
      invalid: 0,
      mode: 'live',
    });
    await waitFor(async () => (await metric('account-summary', 'invalid')) === 0, {
      timeoutMs: 15_000,
      what: 'the metric to drop the skipped event',
    });
    const listed = await cli('dlq', 'list', '--module', 'account-summary');
    expect(listed.out).not.toContain(id);
  });

  it('dlq retry reads it again: still invalid it stays invalid, corrected it is applied', async () => {
    const oid = await malformed('acc-fixed');
    const id = `account-summary:${oid.toHexString()}`;
    const letters = ctx.db.collection<{ _id: string; status: string }>(DEAD_LETTERS);
    await waitFor(() => letters.findOne({ _id: id, status: 'invalid' }), {
      what: 'the invalid entry',
    });
    const again = await cli('dlq', 'retry', id, '--wait', '--timeout-ms', '20000');
    expect(again.code).toBe(1);
    expect(again.err).toContain('failed again and is invalid (version');
    expect(await letters.findOne({ _id: id })).toMatchObject({ status: 'invalid' });

    // The store's owner corrects the event; the retry now applies it.
    const at = new Date();
    await eventStore(ctx.db).updateOne(
      { eventId: oid },
      { $set: { version: 1, eventTimestamp: at, storedAt: at } },
    );
    const fixed = await cli('dlq', 'retry', id, '--wait', '--timeout-ms', '20000');
    expect(fixed.err).toBe('');
    expect(fixed.code).toBe(0);
    expect(await letters.findOne({ _id: id })).toMatchObject({ status: 'resolved' });
    expect(
      await ctx.db.collection(ACCOUNT_SUMMARY_VIEW).findOne({ _id: 'acc-fixed' as never }),
    ).toMatchObject({ currentBalance: 100, version: 1 });
  });
});
