import { describe, expect, it } from 'vitest';
import compliance from '../../projections/compliance.js';
import fraudSaga, { FRAUD_SAGA_STATE } from '../../projections/fraud-saga.js';
import { isEventValidationError } from '../../projections/lib/validate.js';
import type { EventData } from '../../src/events/types.js';
import { reactionEventId } from '../../src/reactions/append.js';
import { createMemoryWorld, type MemoryWorld } from '../helpers/memoryReactionContext.js';

const DAY = 86_400_000;

const detect = (w: MemoryWorld, riskScore: number, account = 'acc-1') =>
  w.write(account, 'SuspiciousActivityDetected', { reasons: ['structuring'], riskScore });
const state = (w: MemoryWorld) => w.get(FRAUD_SAGA_STATE, 'acc-1');
const run = (w: MemoryWorld) => w.pump([fraudSaga]);

describe('fraud saga', () => {
  it('monitors an account whose risk score stays under 80', async () => {
    const w = createMemoryWorld();
    detect(w, 79.99);
    await run(w);
    expect(state(w)).toMatchObject({
      state: 'monitoring',
      caseNumber: 1,
      detections: 1,
      riskScore: 79.99,
      monitoringUntil: new Date(w.now().getTime() + 30 * DAY),
    });
    expect(w.ofType('AccountFrozen')).toEqual([]);
    expect(w.deadline('fraud-saga', 'acc-1:case-1:monitoring')?.status).toBe('pending');
  });

  it('freezes the account at a risk score of 80, with the compliance reference', async () => {
    const w = createMemoryWorld();
    const d = detect(w, 80);
    await run(w);
    const frozen = w.ofType('AccountFrozen');
    expect(frozen).toHaveLength(1);
    expect(frozen[0]).toMatchObject({
      eventId: reactionEventId('fraud-saga', `acc-1:freeze:${d.eventId}`),
      aggregateId: 'acc-1',
      eventData: {
        frozenBy: 'projectord:fraud-saga',
        complianceReference: `fraud-${d.eventId}`,
        reason: 'suspicious activity (structuring), risk score 80',
      },
      eventMetadata: { causationId: d.eventId },
    });
    expect(state(w)).toMatchObject({
      state: 'frozen',
      complianceReference: `fraud-${d.eventId}`,
      freezeEventId: frozen[0]?.eventId,
    });
  });

  it('freezes a monitored account when a later detection reaches the threshold', async () => {
    const w = createMemoryWorld();
    detect(w, 30);
    await run(w);
    detect(w, 95);
    await run(w);
    expect(state(w)).toMatchObject({ state: 'frozen', detections: 2, maxRiskScore: 95 });
    expect(w.deadline('fraud-saga', 'acc-1:case-1:monitoring')?.status).toBe('cancelled');
  });

  it('freezes once: later detections on a frozen account are only recorded', async () => {
    const w = createMemoryWorld();
    detect(w, 90);
    detect(w, 99);
    await run(w);
    expect(w.ofType('AccountFrozen')).toHaveLength(1);
    expect(state(w)).toMatchObject({ state: 'frozen', detections: 2, riskScore: 99 });
  });

  it('freezes once when the detection is redelivered after a crash', async () => {
    const w = createMemoryWorld();
    const d = detect(w, 90);
    await w.deliver(fraudSaga, d, { crashBeforeCommit: true });
    await w.deliver(fraudSaga, d);
    await w.deliver(fraudSaga, d);
    expect(w.ofType('AccountFrozen')).toHaveLength(1);
  });

  it('clears a quiet account after the monitoring period; a new detection opens case 2', async () => {
    const w = createMemoryWorld();
    detect(w, 30);
    await run(w);
    w.advance(10 * DAY);
    detect(w, 40);
    await run(w);
    w.advance(30 * DAY - 1);
    expect(await w.fireDue(fraudSaga)).toBe(0);
    w.advance(1);
    await w.fireDue(fraudSaga);
    expect(state(w)).toMatchObject({ state: 'cleared', clearedAt: w.now() });
    detect(w, 20);
    await run(w);
    expect(state(w)).toMatchObject({ state: 'monitoring', caseNumber: 2, detections: 1 });
  });

  it('follows a configured freeze threshold', async () => {
    const w = createMemoryWorld({
      settings: { bank: { sagas: { fraud: { freezeRiskScore: 50 } } } },
    });
    detect(w, 50);
    await run(w);
    expect(state(w)?.state).toBe('frozen');
  });

  const bad: [string, EventData, string][] = [
    ['reasons that are no array', { reasons: 'structuring', riskScore: 90 }, 'eventData.reasons'],
    ['reasons that are no strings', { reasons: [1], riskScore: 90 }, 'eventData.reasons'],
    ['a string risk score', { reasons: [], riskScore: '90' }, 'eventData.riskScore'],
    ['a negative risk score', { reasons: [], riskScore: -1 }, 'eventData.riskScore'],
  ];
  it.each(bad)('rejects a detection with %s, naming the field', async (_what, data, field) => {
    const w = createMemoryWorld();
    const e = w.write('acc-1', 'SuspiciousActivityDetected', data);
    const err: unknown = await w.deliver(fraudSaga, e).then(
      () => undefined,
      (x: unknown) => x,
    );
    expect(isEventValidationError(err) && err.field).toBe(field);
    expect(state(w)).toBeUndefined();
    expect(w.ofType('AccountFrozen')).toEqual([]);
  });
});

describe('compliance and fraud together', () => {
  it('structuring in foreign currency after large payments freezes the account', async () => {
    const w = createMemoryWorld();
    const pay = (amount: number) =>
      w.write('acc-1', 'FundsDebited', {
        transferId: `t${w.events.length}`,
        amount,
        currency: 'EUR',
        toAccountId: 'dst',
      });
    pay(12_000);
    pay(15_000);
    for (const amount of [9_100, 9_200, 9_300]) pay(amount);
    await w.pump([compliance, fraudSaga]);
    const detections = w.ofType('SuspiciousActivityDetected');
    expect(detections).toHaveLength(1);
    expect(detections[0]?.eventData.riskScore).toBe(100);
    expect(w.ofType('AccountFrozen')).toHaveLength(1);
    expect(state(w)?.state).toBe('frozen');
  });

  it('structuring alone at a low risk score only starts monitoring', async () => {
    const w = createMemoryWorld();
    for (const amount of [9_100, 9_200, 9_300]) {
      w.write('acc-1', 'FundsDebited', {
        transferId: `t${amount}`,
        amount,
        currency: 'USD',
        toAccountId: 'd',
      });
    }
    await w.pump([compliance, fraudSaga]);
    expect(w.ofType('SuspiciousActivityDetected')).toHaveLength(1);
    expect(state(w)).toMatchObject({ state: 'monitoring', riskScore: 0 });
  });
});
