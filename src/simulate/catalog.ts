import type { AccountView } from './accountBook.js';
import type { AccountType, Channel, FreezeCommand, OpenAccountCommand } from './commands.js';
import type { Random } from './random.js';

/**
 * The made-up world the simulated bank lives in: customers, their devices and addresses, what
 * payments are for, why accounts get frozen. Pure functions of the generator, so a seed fixes
 * every name and amount.
 */
const FIRST_NAMES = ['Ada', 'Bo', 'Chen', 'Dara', 'Eli', 'Femi', 'Greta', 'Hugo', 'Ines', 'Jon'];
const LAST_NAMES = ['Alvarez', 'Brown', 'Cohen', 'Dube', 'Evans', 'Fischer', 'Garcia', 'Haddad'];
const USER_AGENTS = [
  'BankApp/5.2 (iOS 17.4)',
  'BankApp/5.1 (Android 14)',
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) Firefox/126.0',
  'Mozilla/5.0 (Macintosh; Intel Mac OS X 14_4) Safari/605.1.15',
];
const DESCRIPTIONS = ['Rent', 'Invoice payment', 'Groceries', 'Payroll', 'Utilities', 'Gift'];
const FREEZE_REASONS = [
  'Suspected account takeover',
  'Court order',
  'Customer request: card lost',
  'KYC documents expired',
];
const DURATIONS = ['24h', '7d', '30d', 'until review'];

/** Initial balances by account type, in cents: businesses can afford large payments. */
const OPENING_CENTS: Record<AccountType, [number, number]> = {
  checking: [50_000, 2_000_000],
  savings: [500_000, 6_000_000],
  business: [5_000_000, 25_000_000],
};

export const BRANCH_IPS = ['10.20.0.11', '10.20.0.12', '10.20.1.40'];

function ip(rng: Random): string {
  return `${rng.int(11, 223)}.${rng.int(0, 255)}.${rng.int(0, 255)}.${rng.int(1, 254)}`;
}

/** An address from which a burst is sent: usually not one of the customer's own. */
export function strangerChannel(rng: Random): Channel {
  return { sourceIp: ip(rng), userAgent: rng.pick(USER_AGENTS) };
}

export function customerChannel(rng: Random, acc: AccountView): Channel {
  const sourceIp = acc.customerIps.length > 0 ? rng.pick(acc.customerIps) : ip(rng);
  return { sourceIp, userAgent: rng.pick(USER_AGENTS) };
}

export function reference(rng: Random): string {
  return `INV-${rng.int(100_000, 999_999)}`;
}

export function description(rng: Random): string {
  return rng.pick(DESCRIPTIONS);
}

/** Everyday amounts: 1.00 to 3,000.00, most of them small (log-uniform), never near 9,000. */
export function everydayCents(rng: Random): number {
  return Math.round(Math.exp(Math.log(100) + rng.next() * (Math.log(300_000) - Math.log(100))));
}

export function openAccount(rng: Random, accountId: string): OpenAccountCommand {
  const accountType = rng.weighted<AccountType>({ checking: 6, savings: 2, business: 2 });
  const [min, max] = OPENING_CENTS[accountType];
  const ips = Array.from({ length: rng.int(1, 3) }, () => ip(rng));
  return {
    kind: 'open-account',
    scenario: 'open-account',
    accountId,
    accountNumber: String(rng.int(1_000_000_000, 9_999_999_999)),
    accountHolder: `${rng.pick(FIRST_NAMES)} ${rng.pick(LAST_NAMES)}`,
    accountType,
    initialBalanceCents: rng.int(min, max),
    createdBy: `teller-${rng.int(1, 40)}`,
    channel: { sourceIp: rng.pick(BRANCH_IPS), userAgent: 'BranchDesk/3.0' },
    customerIps: ips,
  };
}

export function freezeAccount(rng: Random, acc: AccountView): FreezeCommand {
  return {
    kind: 'freeze',
    scenario: 'freeze',
    accountId: acc.id,
    reason: rng.pick(FREEZE_REASONS),
    frozenBy: `compliance-officer-${rng.int(1, 9)}`,
    expectedDuration: rng.pick(DURATIONS),
    complianceReference: `CR-${rng.int(100_000, 999_999)}`,
    channel: { sourceIp: rng.pick(BRANCH_IPS), userAgent: 'ComplianceDesk/2.1' },
  };
}
