import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.js';
import { ProjectordError } from '../../src/lib/errors.js';
import { defineProjection, defineReaction } from '../../src/modules/types.js';
import { createPartitioning } from '../../src/partitions/counts.js';
import { fnv1a32, partitionOf } from '../../src/partitions/hash.js';
import {
  createPartitionRouter,
  parseSlotName,
  slotName,
  slotsOf,
} from '../../src/partitions/slots.js';
import type { ProjectorEvent } from '../../src/events/types.js';

const testEvent = (o: Partial<ProjectorEvent>): ProjectorEvent => ({
  eventId: 'e1',
  aggregateId: 'a',
  aggregateType: 'T',
  eventType: 'TestEvent',
  eventVersion: '1.0',
  version: 1,
  eventTimestamp: new Date(0),
  eventData: {},
  eventMetadata: {},
  ...o,
});

/** The definition of FNV-1a 32 over bytes, for comparison with the inline UTF-8 encoder. */
function reference(key: string): number {
  let h = 0x811c9dc5;
  for (const b of Buffer.from(key, 'utf8')) h = Math.imul(h ^ b, 0x01000193) >>> 0;
  return h >>> 0;
}

describe('partition hash (FNV-1a 32 over UTF-8)', () => {
  it('gives the published FNV-1a test vectors: a change would move keys of running stores', () => {
    expect(fnv1a32('')).toBe(0x811c9dc5);
    expect(fnv1a32('a')).toBe(0xe40c292c);
    expect(fnv1a32('foobar')).toBe(0xbf9cf968);
    // Pinned: the partitions of two ids as the bank simulator makes them.
    expect(partitionOf('acc-000001', 8)).toBe(fnv1a32('acc-000001') % 8);
    expect(fnv1a32('acc-000001')).toBe(reference('acc-000001'));
  });

  it('hashes the UTF-8 bytes: accents, emoji, and unpaired surrogates as U+FFFD', () => {
    const keys = ['Zürich', '日本語', 'a😀b', 'x\ud800y', '\udc00', 'tail\ud83d', '€'.repeat(40)];
    for (const k of keys) expect(fnv1a32(k), k).toBe(reference(k));
    let seed = 7;
    const rnd = () => ((seed = Math.imul(seed, 48271) % 0x7fffffff) & 0xffff) % 0xffff;
    for (let i = 0; i < 500; i++) {
      const k = String.fromCharCode(...Array.from({ length: 1 + (i % 9) }, rnd));
      expect(fnv1a32(k)).toBe(reference(k));
    }
  });

  it('spreads sequential ids evenly (within 10 % of the mean over 8 partitions)', () => {
    const counts = new Array<number>(8).fill(0);
    for (let i = 0; i < 40_000; i++) {
      const p = partitionOf(`acc-${String(i).padStart(6, '0')}`, 8);
      counts[p] = (counts[p] ?? 0) + 1;
    }
    for (const c of counts) expect(Math.abs(c - 5000)).toBeLessThan(500);
  });

  it('puts everything in partition 0 when the module has one', () => {
    expect(partitionOf('anything', 1)).toBe(0);
  });
});

describe('slots', () => {
  it('keeps the plain module name for one partition, <module>#<p> for more', () => {
    expect(slotName('event-counter', 0, 1)).toBe('event-counter');
    expect(slotsOf('m', 3).map((s) => s.name)).toEqual(['m#0', 'm#1', 'm#2']);
    expect(parseSlotName('m#12')).toEqual({ module: 'm', partition: 12 });
    expect(parseSlotName('event-counter')).toEqual({
      module: 'event-counter',
      partition: undefined,
    });
    expect(parseSlotName('a#b')).toEqual({ module: 'a#b', partition: undefined });
  });

  it("routes by the module's ordering key: the aggregate, or its own orderingKey", () => {
    const byAggregate = defineProjection({
      name: 'p',
      version: 1,
      handles: ['TestEvent'],
      collections: [],
      apply: () => undefined,
    });
    const custom = defineReaction({
      name: 'r',
      version: 1,
      handles: ['TestEvent'],
      collections: [],
      orderingKey: (e) => String(e.eventData.sagaId),
      react: () => undefined,
    });
    const e = testEvent({ aggregateId: 'acc-1', eventData: { sagaId: 'saga-9' } });
    expect(createPartitionRouter(byAggregate, 8).ofEvent(e)).toBe(partitionOf('acc-1', 8));
    const r = createPartitionRouter(custom, 8);
    expect(r.ofEvent(e)).toBe(partitionOf('saga-9', 8));
    expect(r.ofKey('saga-9')).toBe(r.ofEvent(e));
  });
});

describe('modules.partitions', () => {
  const dir = mkdtempSync(join(tmpdir(), 'projectord-partitions-'));
  const load = (yaml: string) => {
    const file = join(dir, `c${Math.random()}.yaml`);
    writeFileSync(file, yaml);
    return loadConfig({ file, env: {} });
  };
  const failure = (fn: () => unknown): ProjectordError => {
    try {
      fn();
    } catch (e) {
      expect(e).toBeInstanceOf(ProjectordError);
      return e as ProjectordError;
    }
    throw new Error('expected a ProjectordError');
  };

  it('defaults to one partition per module', () => {
    const p = createPartitioning(load('db: x\n').modules.partitions, ['a']);
    expect(p.count('a')).toBe(1);
    expect(p.slots([{ name: 'a' } as never]).map((s) => s.name)).toEqual(['a']);
  });

  it.each([
    ['0', 'event-counter: 0'],
    ['negative', 'event-counter: -2'],
    ['not whole', 'event-counter: 2.5'],
    ['a string', 'event-counter: "4"'],
    ['too many', 'event-counter: 5000'],
  ])('rejects %s with exit 2, naming the key', (_what, entry) => {
    const err = failure(() => load(`modules:\n  partitions:\n    ${entry}\n`));
    expect(err.exitCode).toBe(2);
    expect(err.message).toContain('"modules.partitions.event-counter"');
    expect(err.message).toContain('whole number of partitions from 1 to 1024');
  });

  it('rejects a module name no module has, with exit 2 naming the key', () => {
    const config = load('modules:\n  partitions:\n    event-countr: 4\n');
    const err = failure(() =>
      createPartitioning(config.modules.partitions, ['event-counter', 'account-summary']),
    );
    expect(err.exitCode).toBe(2);
    expect(err.code).toBe('PARTITIONS_UNKNOWN_MODULE');
    expect(err.message).toContain('modules.partitions.event-countr');
    expect(err.message).toContain('event-counter, account-summary');
  });

  it('rejects a module whose name reads as a partition', () => {
    const err = failure(() => createPartitioning({}, ['counter#2']));
    expect(err.exitCode).toBe(2);
    expect(err.message).toContain('"counter#2"');
  });
});
