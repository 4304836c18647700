import type { LedgerAccountType } from '@upm/contracts';

/**
 * Posting rules of the settlement ledger: pure functions from a business fact to balanced postings.
 *
 * Accounts exist per merchant and currency (`<type>:<merchantId>:<currency>`):
 * - ALIPAY_RECEIVABLE (asset): what Alipay holds for the merchant and has not paid out yet, net of its fees;
 * - MERCHANT_PAYABLE (liability): the merchant's gross takings, payments less refunds and reversals;
 * - FEES (expense): Alipay's commission, charged per payment and refund, given back by a cancel;
 * - FX_DIFFERENCE (trading account): the currency a batch converts out of, and into, when Alipay settles in
 *   another currency; it keeps every currency balanced on its own;
 * - SETTLED_FUNDS (asset): what Alipay paid out to the merchant's bank.
 * After every batch of a day has settled, ALIPAY_RECEIVABLE is zero and SETTLED_FUNDS + FEES = MERCHANT_PAYABLE.
 * Amounts are minor units as bigint; a posting's amount is always positive.
 */
export type Direction = 'DEBIT' | 'CREDIT';

export interface Posting {
  accountType: LedgerAccountType;
  merchantId: string;
  currency: string;
  direction: Direction;
  amount: bigint;
}

export function accountCode(type: LedgerAccountType, merchantId: string, currency: string): string {
  return `${type}:${merchantId}:${currency}`;
}

/** Debit `debit`, credit `credit`, for a positive amount; nothing for zero. */
function pair(merchantId: string, currency: string, debit: LedgerAccountType, credit: LedgerAccountType, amount: bigint): Posting[] {
  if (amount < 0n) return pair(merchantId, currency, credit, debit, -amount);
  if (amount === 0n) return [];
  return [
    { accountType: debit, merchantId, currency, direction: 'DEBIT', amount },
    { accountType: credit, merchantId, currency, direction: 'CREDIT', amount },
  ];
}

export interface TransactionFact {
  merchantId: string;
  currency: string;
  /** gross amount, positive minor units */
  amount: bigint;
  /** Alipay's fee for this transaction, positive minor units (a cancel gives its payment's fee back) */
  fee: bigint;
}

/** A payment Alipay took: the merchant is owed the gross amount; Alipay keeps its fee from what it pays out. */
export function paymentPostings(f: TransactionFact): Posting[] {
  return [
    ...pair(f.merchantId, f.currency, 'ALIPAY_RECEIVABLE', 'MERCHANT_PAYABLE', f.amount),
    ...pair(f.merchantId, f.currency, 'FEES', 'ALIPAY_RECEIVABLE', f.fee),
  ];
}

/** A refund: the gross goes back to the shopper out of what Alipay holds, and the refund costs a fee too. */
export function refundPostings(f: TransactionFact): Posting[] {
  return [
    ...pair(f.merchantId, f.currency, 'MERCHANT_PAYABLE', 'ALIPAY_RECEIVABLE', f.amount),
    ...pair(f.merchantId, f.currency, 'FEES', 'ALIPAY_RECEIVABLE', f.fee),
  ];
}

/** A cancel of a paid payment reverses it in full, fee included. */
export function cancelPostings(f: TransactionFact): Posting[] {
  return [
    ...pair(f.merchantId, f.currency, 'MERCHANT_PAYABLE', 'ALIPAY_RECEIVABLE', f.amount),
    ...pair(f.merchantId, f.currency, 'ALIPAY_RECEIVABLE', 'FEES', f.fee),
  ];
}

/**
 * A correction of a transaction Alipay settled differently from what the ledger expected. `amount` and `fee`
 * are the signed differences (settled − expected). The posting rules are linear in both, so the rules of the
 * transaction's kind applied to the differences are exactly its settled postings less its expected ones (a
 * negative difference swaps debit and credit); the original transaction is never edited.
 */
export function adjustmentPostings(kind: 'PAYMENT' | 'REFUND' | 'CANCEL', difference: TransactionFact): Posting[] {
  return transactionPostings(kind, difference);
}

/** The postings of a payment, a refund or a cancel. */
export function transactionPostings(kind: 'PAYMENT' | 'REFUND' | 'CANCEL', fact: TransactionFact): Posting[] {
  const rules = { PAYMENT: paymentPostings, REFUND: refundPostings, CANCEL: cancelPostings };
  return rules[kind](fact);
}

export interface SettledAmount {
  /** what the merchant's receivable falls by, in the transaction currency (signed: negative for a batch that takes money back) */
  transactionCurrency: string;
  transactionNet: bigint;
  /** what reached the bank, in the settlement currency (signed) */
  settlementCurrency: string;
  settlementNet: bigint;
}

/**
 * Alipay paid out one merchant's share of a batch. In one currency: receivable → settled funds. Across
 * currencies: each currency balances through its FX_DIFFERENCE account, so the difference between the two
 * legs is visible there rather than hidden.
 */
export function settlementPostings(merchantId: string, amounts: readonly SettledAmount[]): Posting[] {
  const postings: Posting[] = [];
  for (const a of amounts) {
    if (a.transactionCurrency === a.settlementCurrency) {
      if (a.transactionNet !== a.settlementNet) throw new RangeError('same-currency settlement must settle what it clears');
      postings.push(...pair(merchantId, a.settlementCurrency, 'SETTLED_FUNDS', 'ALIPAY_RECEIVABLE', a.settlementNet));
    } else {
      postings.push(...pair(merchantId, a.transactionCurrency, 'FX_DIFFERENCE', 'ALIPAY_RECEIVABLE', a.transactionNet));
      postings.push(...pair(merchantId, a.settlementCurrency, 'SETTLED_FUNDS', 'FX_DIFFERENCE', a.settlementNet));
    }
  }
  return postings;
}

/**
 * A payout in another currency that cleared `amount` more of a transaction's receivable than it would have had the
 * transaction been in the ledger then (signed: negative for less), corrected where the conversion lands.
 */
export function overClearedPostings(merchantId: string, currency: string, amount: bigint): Posting[] {
  return pair(merchantId, currency, 'ALIPAY_RECEIVABLE', 'FX_DIFFERENCE', amount);
}

export class UnbalancedTransaction extends Error {
  constructor(readonly currency: string, readonly debits: bigint, readonly credits: bigint) {
    super(`${currency}: debits ${debits} ≠ credits ${credits}`);
    this.name = 'UnbalancedTransaction';
  }
}

/** Debits equal credits in every currency, and every amount is positive; throws otherwise. */
export function assertBalanced(postings: readonly Posting[]): void {
  if (postings.length < 2) throw new RangeError('a transaction has at least two postings');
  const sums = new Map<string, { debits: bigint; credits: bigint }>();
  for (const p of postings) {
    if (p.amount <= 0n) throw new RangeError(`posting amounts are positive, got ${p.amount}`);
    const s = sums.get(p.currency) ?? { debits: 0n, credits: 0n };
    if (p.direction === 'DEBIT') s.debits += p.amount;
    else s.credits += p.amount;
    sums.set(p.currency, s);
  }
  for (const [currency, s] of sums) if (s.debits !== s.credits) throw new UnbalancedTransaction(currency, s.debits, s.credits);
}

/** Debit-positive balance of each account the postings touch. */
export function balances(postings: readonly Posting[]): Map<string, bigint> {
  const out = new Map<string, bigint>();
  for (const p of postings) {
    const code = accountCode(p.accountType, p.merchantId, p.currency);
    out.set(code, (out.get(code) ?? 0n) + (p.direction === 'DEBIT' ? p.amount : -p.amount));
  }
  return out;
}
