/**
 * Type tests of the public module API, checked by `npm run typecheck` (never run): each
 * `@ts-expect-error` marks a mistake a module author must get as a compile error. If the API
 * loosened (an `any` leaking in), the line would compile, the directive would be unused, and
 * typecheck — so CI — fails.
 */
import {
  defineProjection,
  defineReaction,
  defineUpcaster,
  type DocumentData,
  type ProjectorEvent,
} from '../../src/index.js';

interface Summary {
  _id: string;
  balance: number;
}

export const typedReads = defineProjection({
  name: 'types-reads',
  version: 1,
  handles: ['Opened'],
  collections: ['types_view'],
  async apply(event, ctx) {
    const untyped = await ctx.findOne('types_view', event.aggregateId);
    // @ts-expect-error a read field is unknown until narrowed, never any
    const n: number = untyped!.balance;
    const typed = await ctx.findOne<Summary>('types_view', event.aggregateId);
    const balance: number = typed?.balance ?? 0;
    // @ts-expect-error the event type is narrowed to what the module handles
    const other: 'Closed' = event.eventType;
    ctx.upsert('types_view', event.aggregateId, { set: { balance: balance + n, other } });
  },
});

export const wrongHandler = defineProjection({
  name: 'types-handler',
  version: 1,
  handles: ['Opened'],
  collections: ['types_view'],
  // @ts-expect-error apply takes an event, not a string
  apply(event: string) {
    void event;
  },
});

export const noCollections = defineProjection(
  // @ts-expect-error collections is required
  {
    name: 'types-collections',
    version: 1,
    handles: ['Opened'],
    apply() {},
  },
);

export const reactionWithApply = defineReaction({
  name: 'types-reaction',
  version: 1,
  handles: ['Opened'],
  collections: [],
  async react(event, ctx) {
    await ctx.append({
      aggregateId: event.aggregateId,
      aggregateType: 'Thing',
      eventType: 'Noticed',
      eventData: {},
      idempotencyKey: `${event.eventId}:noticed`,
    });
    await ctx.readStream(event.aggregateId, { types: ['Opened'], data: { n: 1 } });
    // @ts-expect-error a stream filter's data values are plain values, never an operator object
    await ctx.readStream(event.aggregateId, { data: { n: { $gt: 0 } } });
    // @ts-expect-error an append needs its idempotency key (deterministic ids)
    await ctx.append({ aggregateId: 'a', aggregateType: 'T', eventType: 'E', eventData: {} });
  },
  // @ts-expect-error a reaction has react, not apply
  apply() {},
});

export const upcaster = defineUpcaster('Opened', '1.0', '2.0', (data: DocumentData) => ({
  ...data,
  fee: 0,
}));

export function eventDataIsTyped(e: ProjectorEvent<{ amount: number }>): number {
  // @ts-expect-error eventData fields are the declared ones
  const missing: unknown = e.eventData.missing;
  return e.eventData.amount + Number(missing);
}
