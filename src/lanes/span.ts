import type { BulkOp, Writes } from '../writer/intents.js';
import { documentKey, mergeOperations } from '../writer/merge.js';
import type { EventItem } from './types.js';

/**
 * The events of one key handled and not yet written, and their writes: one operation per
 * document, the updates of later events folded into the first's (writer/merge.ts). A span holds
 * consecutive events of one aggregate; it is sent as one unit and finishes as one.
 *
 * An event joins only when every one of its operations folds or touches a new document;
 * otherwise (`add` returns false, nothing changed) the span is sent first and the event starts
 * the next one. An event that writes one document twice keeps a span of its own: the writer
 * sends its operations unordered, as it always has.
 */
export class Span implements Writes {
  collections: string[] = [];
  ops: BulkOp[] = [];
  readonly items: EventItem[] = [];
  /** When each event's handler started (performance.now()), for the outcome's duration. */
  readonly started: number[] = [];
  /** Operation index per document; built when a second event joins. */
  private docs: Map<string, number> | undefined;
  private sealed = false;

  get size(): number {
    return this.items.length;
  }

  /** The version of the newest event in the span (-1: empty). */
  get lastVersion(): number {
    return this.items.length === 0 ? -1 : this.items[this.items.length - 1]!.event.version;
  }

  add(item: EventItem, started: number, writes: Writes): boolean {
    if (this.items.length === 0) {
      // The first event's writes are taken as they are (no copy on the hot path).
      this.collections = writes.collections;
      this.ops = writes.ops;
      this.docs = undefined;
      this.sealed = false;
    } else if (!this.join(writes)) return false;
    this.items.push(item);
    this.started.push(started);
    return true;
  }

  reset(): void {
    this.items.length = 0;
    this.started.length = 0;
    this.collections = [];
    this.ops = [];
    this.docs = undefined;
    this.sealed = false;
  }

  private index(): Map<string, number> | undefined {
    if (this.docs || this.sealed) return this.docs;
    const docs = new Map<string, number>();
    for (let i = 0; i < this.ops.length; i++) {
      const key = documentKey(this.collections[i]!, this.ops[i]!);
      if (key === undefined || docs.has(key)) {
        this.sealed = true;
        return undefined;
      }
      docs.set(key, i);
    }
    this.ops = [...this.ops];
    this.collections = [...this.collections];
    return (this.docs = docs);
  }

  private join(writes: Writes): boolean {
    const docs = this.index();
    if (!docs) return false;
    const merged: [number, BulkOp][] = [];
    const added: [string, number][] = [];
    const seen = new Set<string>();
    for (let i = 0; i < writes.ops.length; i++) {
      const op = writes.ops[i]!;
      const key = documentKey(writes.collections[i]!, op);
      if (key === undefined || seen.has(key)) return false;
      seen.add(key);
      const at = docs.get(key);
      if (at === undefined) {
        added.push([key, i]);
        continue;
      }
      const m = mergeOperations(this.ops[at]!, op);
      if (!m) return false;
      merged.push([at, m]);
    }
    for (const [at, m] of merged) this.ops[at] = m;
    for (const [key, i] of added) {
      docs.set(key, this.ops.length);
      this.ops.push(writes.ops[i]!);
      this.collections.push(writes.collections[i]!);
    }
    return true;
  }
}
