import { createAccountBook } from '../../src/simulate/accountBook.js';
import { bankEventStream } from '../workloads/bankEvents.js';

/**
 * `simulate`'s own rate, in process: the simulator's planner, account model and event builders
 * (bench/workloads/bankEvents.ts: the command writer's rules without a store) generating
 * `--events` events (default 1,000,000), with the rate of each tenth of the run. A steady rate
 * from the first tenth to the last is what "time linear in the count" means; the money model
 * once drained accounts and made every command scan them all, so late tenths ran far slower.
 *
 *   npx tsx bench/simulate/rate.ts [--events 1000000]
 */
const arg = process.argv.indexOf('--events');
const events = arg > 0 ? Number(process.argv[arg + 1]) : 1_000_000;
const book = createAccountBook();
const tenth = Math.max(1, Math.floor(events / 10));
let n = 0;
let windowStarted = performance.now();
const started = windowStarted;
const rates: number[] = [];
for (const _event of bankEventStream({ events, accounts: 1000, seed: 7 }, book)) {
  if (++n % tenth === 0) {
    const now = performance.now();
    rates.push(Math.round((tenth / (now - windowStarted)) * 1000));
    windowStarted = now;
  }
}
const seconds = (performance.now() - started) / 1000;
console.log(
  JSON.stringify({
    events: n,
    seconds: Math.round(seconds * 10) / 10,
    eventsPerSecond: Math.round(n / seconds),
    perTenth: rates,
    accounts: book.all().length,
    frozen: book.frozen().length,
  }),
);
