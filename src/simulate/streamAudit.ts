import type { Document } from 'mongodb';
import { centsOf } from './accountBook.js';

/**
 * Checks the command-side invariants of a set of account streams, as read back from
 * event_store: versions 1..n without gaps or repeats, one AccountCreated and it comes first,
 * no FundsDebited after an AccountFrozen, and a balance that never goes below zero. Used by
 * the tests and by anyone who wants to see that a workload (or a command side) behaved.
 * Each finding names the aggregate and the version.
 */
export interface StreamAudit {
  aggregates: number;
  events: number;
  gaps: string[];
  creations: string[];
  debitsWhileFrozen: string[];
  overdrafts: string[];
}

export function isClean(audit: StreamAudit): boolean {
  return (
    audit.gaps.length +
      audit.creations.length +
      audit.debitsWhileFrozen.length +
      audit.overdrafts.length ===
    0
  );
}

export function auditStreams(docs: Iterable<Document>): StreamAudit {
  const streams = new Map<string, Document[]>();
  let events = 0;
  for (const doc of docs) {
    const id = String(doc.aggregateId);
    const stream = streams.get(id) ?? [];
    stream.push(doc);
    streams.set(id, stream);
    events += 1;
  }
  const audit: StreamAudit = {
    aggregates: streams.size,
    events,
    gaps: [],
    creations: [],
    debitsWhileFrozen: [],
    overdrafts: [],
  };
  for (const [id, stream] of streams) {
    stream.sort((a, b) => Number(a.version) - Number(b.version));
    const versions = stream.map((d) => Number(d.version));
    if (versions.some((v, i) => v !== i + 1)) {
      audit.gaps.push(`${id}: versions ${versions.join(',')}`);
    }
    const created = stream.filter((d) => d.eventType === 'AccountCreated');
    if (created.length !== 1 || stream[0]?.eventType !== 'AccountCreated') {
      audit.creations.push(
        `${id}: ${created.length} AccountCreated, first is ${stream[0]?.eventType}`,
      );
    }
    let frozen = false;
    let balance = 0;
    for (const doc of stream) {
      const data = (doc.eventData ?? {}) as Document;
      switch (doc.eventType) {
        case 'AccountCreated':
          balance += centsOf(data.initialBalance);
          break;
        case 'AccountFrozen':
          frozen = true;
          break;
        case 'FundsCredited':
          balance += centsOf(data.amount);
          break;
        case 'DebitReversed':
          balance += centsOf(data.amount) + centsOf(data.feeAmount);
          break;
        case 'FundsDebited':
          if (frozen) audit.debitsWhileFrozen.push(`${id}@${doc.version}`);
          balance -= centsOf(data.amount) + centsOf(data.feeAmount);
          if (balance < 0) audit.overdrafts.push(`${id}@${doc.version}: ${balance / 100}`);
          break;
        default:
          break;
      }
    }
  }
  return audit;
}
