import { describe, expect, it } from 'vitest';
import { createAccountBook, type AccountBook } from '../../src/simulate/accountBook.js';
import { createRandom } from '../../src/simulate/random.js';
import { MAX_DRAWS, pickAccount, type PlanContext } from '../../src/simulate/selection.js';

/**
 * `simulate` keeps a steady rate (issue 17): choosing an account costs the same however large
 * the bank has grown, so a run's time is linear in its count. Checked by the work a choice
 * does, not by a clock (the rate itself: bench/simulate/rate.ts). A scan of every account per
 * command — what made a long run quadratic once its accounts ran dry — fails these.
 */
function bank(accounts: number): AccountBook {
  const book = createAccountBook();
  for (let i = 0; i < accounts; i++) {
    book.add(`acct-${i}`, ['10.0.0.1']);
    book.fold(`acct-${i}`, { version: 1, eventType: 'AccountCreated', eventData: {} });
  }
  return book;
}

const context = (book: AccountBook): PlanContext => ({
  rng: createRandom(1),
  book,
  nowMs: 0,
  budget: Infinity,
  legacyShare: 0,
  unknownAccountId: () => 'missing',
});

describe('simulate: choosing accounts', () => {
  it('looks at a bounded number of accounts when none fits, however many there are', () => {
    for (const size of [10, 100_000]) {
      let looked = 0;
      const none = pickAccount(context(bank(size)), () => (looked++, false));
      expect(none).toBeUndefined();
      expect(looked).toBe(MAX_DRAWS);
    }
  });

  it('still finds a fitting account among few', () => {
    const book = bank(3);
    const found = pickAccount(context(book), (a) => a.id === 'acct-2');
    expect(found?.id).toBe('acct-2');
  });

  it('keeps the frozen accounts as they freeze, without scanning the bank', () => {
    const book = bank(5);
    book.fold('acct-3', { version: 2, eventType: 'AccountFrozen', eventData: {} });
    book.fold('acct-1', { version: 2, eventType: 'AccountFrozen', eventData: {} });
    expect(book.frozen().map((a) => a.id)).toEqual(['acct-3', 'acct-1']);
  });
});
