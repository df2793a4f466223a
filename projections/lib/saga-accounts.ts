import type { ProjectorEvent } from '../../src/events/types.js';
import { dataId } from './saga-ids.js';

/**
 * What a saga needs to know about an account, read from its own stream in event_store (the
 * source of truth, never a read model that may lag): does it exist, is it frozen, and has a
 * given transfer already been credited to it. A freeze holds until a later `AccountUnfrozen`,
 * should the command side ever write one.
 */
export interface AccountFacts {
  exists: boolean;
  frozen: boolean;
}

/** The events accountFacts looks at: a stream filtered to these gives the same facts. */
export const ACCOUNT_STATE_EVENTS = ['AccountCreated', 'AccountFrozen', 'AccountUnfrozen'] as const;

export function accountFacts(stream: readonly ProjectorEvent[]): AccountFacts {
  let exists = false;
  let frozen = false;
  for (const e of stream) {
    if (e.eventType === 'AccountCreated') exists = true;
    else if (e.eventType === 'AccountFrozen') frozen = true;
    else if (e.eventType === 'AccountUnfrozen') frozen = false;
  }
  return { exists, frozen };
}

/** The FundsCredited of `transferId` in the stream, if there is one. */
export function creditOf(
  stream: readonly ProjectorEvent[],
  transferId: string,
): ProjectorEvent | undefined {
  return stream.find(
    (e) => e.eventType === 'FundsCredited' && dataId(e, 'transferId') === transferId,
  );
}
