import { describe, expect, it } from 'vitest';
import { createLeaseKeeper } from '../../src/leases/leaseKeeper.js';
import type { Lease, LeaseManager } from '../../src/leases/leaseManager.js';
import { silentLogger } from '../../src/observability/logger.js';

/**
 * The keeper's decisions when the database misbehaves, with a scripted LeaseManager (our own
 * interface; the MongoDB side is covered by test/int/leases.int.test.ts).
 */
function scripted() {
  let valid = true;
  let renewError: Error | undefined;
  const calls: string[] = [];
  const manager: LeaseManager = {
    acquire: (module) => {
      calls.push(`acquire ${module}`);
      return Promise.resolve({
        module,
        owner: 'me',
        fence: 1,
        expiresAt: new Date(1e13),
        heartbeatAt: new Date(0),
      } satisfies Lease);
    },
    renew: (lease) => {
      calls.push(`renew ${lease.module}`);
      return renewError ? Promise.reject(renewError) : Promise.resolve(true);
    },
    release: (lease) => {
      calls.push(`release ${lease.module}`);
      return Promise.resolve();
    },
    isValid: () => valid,
  };
  return {
    manager,
    calls,
    failRenew: (e: Error | undefined) => (renewError = e),
    setValid: (v: boolean) => (valid = v),
  };
}

describe('lease keeper', () => {
  it('keeps a lease through failed heartbeats while it is valid, then reports it lost', async () => {
    const s = scripted();
    const events: string[] = [];
    const k = createLeaseKeeper({
      manager: s.manager,
      modules: ['m'],
      heartbeatMs: 1000,
      onAcquired: (m) => void events.push(`+${m}`),
      onLost: (m) => void events.push(`-${m}`),
      logger: silentLogger(),
    });
    await k.tick();
    s.failRenew(new Error('connection reset'));
    await k.tick();
    expect(events).toEqual(['+m']);
    expect(k.owned().has('m')).toBe(true);

    s.setValid(false);
    s.calls.length = 0;
    await k.tick();
    // Lost, then (the scripted database says the module is free) acquired again in the same round.
    expect(events).toEqual(['+m', '-m', '+m']);
    expect(s.calls).toEqual(['renew m', 'acquire m']);
    await k.stop();
  });

  it('releases a lease whose onAcquired failed, so another instance can run the module', async () => {
    const s = scripted();
    const k = createLeaseKeeper({
      manager: s.manager,
      modules: ['m'],
      heartbeatMs: 1000,
      onAcquired: () => Promise.reject(new Error('module failed to start')),
      onLost: () => undefined,
      logger: silentLogger(),
    });
    await k.tick();
    expect(s.calls).toEqual(['acquire m', 'release m']);
    expect(k.owned().size).toBe(0);
    await k.stop();
  });

  it('does not overlap ticks and acquires nothing after stop', async () => {
    const s = scripted();
    const k = createLeaseKeeper({
      manager: s.manager,
      modules: ['a', 'b'],
      heartbeatMs: 1000,
      onAcquired: () => undefined,
      onLost: () => undefined,
      logger: silentLogger(),
    });
    const [t1, t2] = [k.tick(), k.tick()];
    expect(t1).toBe(t2);
    await t1;
    await k.stop();
    expect(s.calls).toEqual(['acquire a', 'acquire b', 'release a', 'release b']);
    await k.tick();
    expect(s.calls).toHaveLength(4);
  });

  it('while draining renews what it owns and acquires nothing more', async () => {
    const s = scripted();
    const acquired: string[] = [];
    const k = createLeaseKeeper({
      manager: s.manager,
      modules: ['a', 'b'],
      heartbeatMs: 1000,
      onAcquired: (module) => void acquired.push(module),
      onLost: () => undefined,
      logger: silentLogger(),
    });
    // Only `a` is free at first: `b`'s acquire finds it held by another instance.
    const acquire = s.manager.acquire;
    s.manager.acquire = (module) => (module === 'b' ? Promise.resolve(null) : acquire(module));
    await k.tick();
    s.manager.acquire = acquire; // `b` is released by its owner…
    k.drain(); // …while this instance is stopping
    await k.tick();
    expect(acquired).toEqual(['a']);
    expect(s.calls).toEqual(['acquire a', 'renew a']);
    await k.stop();
    expect(s.calls.at(-1)).toBe('release a');
  });

  it('keeps a lease acquired elsewhere: renews it on its ticks and releases it on stop', async () => {
    const s = scripted();
    const k = createLeaseKeeper({
      manager: s.manager,
      modules: ['a'],
      heartbeatMs: 1000,
      onAcquired: () => undefined,
      onLost: () => undefined,
      logger: silentLogger(),
    });
    const lease = {
      module: 'a',
      owner: 'me',
      fence: 7,
      expiresAt: new Date(1e13),
      heartbeatAt: new Date(0),
    };
    k.hold(lease);
    k.drain();
    await k.tick();
    expect(k.owned().get('a')).toBe(lease);
    await k.stop();
    expect(s.calls).toEqual(['renew a', 'release a']);
  });
});
