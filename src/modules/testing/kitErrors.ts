import type { RecordedDeadLetter } from './memoryServices.js';

/**
 * A run of the test kit that the daemon would have dead-lettered. The error is the one the
 * daemon stores (`error.message`, and `error.field` for bad input), so a test can assert on
 * exactly what an operator would read in `projectord dlq list`.
 */
export type TestDeadLetter = RecordedDeadLetter;

function describe(d: TestDeadLetter): string {
  const what = `${String(d.eventType)} v${String(d.version)} of ${String(d.aggregateId)}`;
  const why = d.error
    ? `${d.error.message}${d.error.field ? ` (field ${d.error.field})` : ''}`
    : 'waiting behind a parked event of its key';
  return `${d.module} dead-lettered event ${d.eventId} (${what}) as ${d.status}: ${why}`;
}

export class DeadLetterError extends Error {
  /** The first dead letter's error: what the daemon stores with it. */
  readonly error: { message: string; field?: string; code?: string | number } | undefined;
  readonly field: string | undefined;
  readonly deadLetters: readonly TestDeadLetter[];

  constructor(deadLetters: readonly TestDeadLetter[]) {
    const [first] = deadLetters;
    super(
      `${first ? describe(first) : 'dead-lettered'}` +
        (deadLetters.length > 1 ? ` (and ${deadLetters.length - 1} more)` : '') +
        '. Pass deadLetters: "return" to the test kit to assert on dead letters instead.',
    );
    this.name = 'DeadLetterError';
    this.error = first?.error;
    this.field = first?.error?.field;
    this.deadLetters = deadLetters;
  }
}
