import { fromMajorUnits, toMajorUnits } from '@upm/contracts';
import type { PaymentStatus } from '@upm/contracts';
import type { SettlementItemRow, TransactionRow, TransactionType } from './report-files';

/**
 * Matching of Alipay's report rows against the ledger (spec §13.3). A row and a ledger transaction belong
 * together when they have the same type and request id: for PAYMENT and CANCEL our paymentId (Alipay's
 * paymentRequestId), for REFUND our refundId (Alipay's refundRequestId). Then every fact must agree.
 */
export interface LedgerExpectation {
  ledgerTransactionId: string;
  kind: TransactionType;
  merchantId: string;
  currency: string;
  /** gross, positive minor units */
  amount: bigint;
  /** fee charged (PAYMENT, REFUND) or given back (CANCEL), positive minor units */
  fee: bigint;
  alipayTransactionId?: string | null;
  /** the settlement batch that already paid the transaction out, if one did */
  settlementBatchId?: string | null;
  /** finance wrote it off as never made (its MISSING_IN_REPORT discrepancy resolved with an adjustment) */
  writtenOff?: boolean;
}

export type RowVerdict =
  | { result: 'MATCHED' }
  | { result: 'MISMATCHED'; fields: string[]; expected: Record<string, string>; actual: Record<string, string> };

/** Report sign convention: money to the merchant is positive. */
export function signedAmount(kind: TransactionType, amount: bigint): bigint {
  return kind === 'PAYMENT' ? amount : -amount;
}

/** A fee is charged (negative) on payments and refunds, and given back (positive) by a cancel. */
export function signedFee(kind: TransactionType, fee: bigint): bigint {
  return kind === 'CANCEL' ? fee : -fee;
}

/** Our payment id of a report row: the request id of a payment or cancel, the original request id of a refund. */
export function paymentIdOfRow(row: TransactionRow): string {
  return row.type === 'REFUND' ? row.originalTransactionRequestId : row.transactionRequestId;
}

export function rowKey(kind: TransactionType, requestId: string): string {
  return `${kind}:${requestId}`;
}

function isSettlementItem(row: TransactionRow): row is SettlementItemRow {
  return 'fee' in row;
}

const money = (minor: bigint, currency: string) => {
  try {
    return toMajorUnits(minor, currency);
  } catch {
    return minor.toString();
  }
};

/**
 * Compares one row with its ledger transaction: amount, currency, Alipay's id, merchant and, for settlement
 * items, the fee and the batch (a transaction another batch already paid out is being paid out twice).
 */
export function compareRow(row: TransactionRow, ledger: LedgerExpectation): RowVerdict {
  const fields: string[] = [];
  const expected: Record<string, string> = {};
  const actual: Record<string, string> = {};
  const differ = (field: string, want: string, got: string) => {
    fields.push(field);
    expected[field] = want;
    actual[field] = got;
  };
  if (ledger.writtenOff) differ('status', 'written off as never made', `${row.type} ${row.transactionId} in Alipay's report`);
  if (row.currency !== ledger.currency) differ('currency', ledger.currency, row.currency);
  const wantAmount = signedAmount(ledger.kind, ledger.amount);
  if (row.amount !== wantAmount) differ('amount', money(wantAmount, ledger.currency), money(row.amount, row.currency));
  if (ledger.alipayTransactionId && ledger.alipayTransactionId !== row.transactionId) differ('alipayTransactionId', ledger.alipayTransactionId, row.transactionId);
  if (row.referenceMerchantId && row.referenceMerchantId !== ledger.merchantId) differ('merchant', ledger.merchantId, row.referenceMerchantId);
  if (isSettlementItem(row) && row.feeCurrency === ledger.currency) {
    const wantFee = signedFee(ledger.kind, ledger.fee);
    if (row.fee !== wantFee) differ('fee', money(wantFee, ledger.currency), money(row.fee, row.feeCurrency));
  }
  if (isSettlementItem(row) && ledger.settlementBatchId && ledger.settlementBatchId !== row.settlementBatchId) {
    differ('settlementBatchId', ledger.settlementBatchId, row.settlementBatchId);
  }
  return fields.length ? { result: 'MISMATCHED', fields, expected, actual } : { result: 'MATCHED' };
}

export type RefundStatus = 'PROCESSING' | 'SUCCEEDED' | 'FAILED';

/** A settlement item that paid out a transaction before the ledger had it, as its batch recorded it. */
export interface EarlyPayout {
  settlementBatchId: string;
  /** whose receivable the payout cleared: the row's merchant (the customer's own account when the row named none) */
  merchantId: string;
  /** the batch's currency, which the fee is in too */
  settlementCurrency: string;
  /** signed minor units: negative when charged, positive when given back */
  fee: bigint;
}

/** An early payout with the rest of what its batch item says: where the item is, and the transaction as Alipay settled it. */
export interface PaidOutItem extends EarlyPayout {
  /** the batch's items file (`_000` is 0) and line */
  part: number;
  line: number;
  /** Alipay's id of the transaction */
  transactionId: string;
  /** the transaction's currency, and its gross in the report's sign */
  currency: string;
  amount: bigint;
  /** the ledger transaction the item names: set once it was matched, or flagged as paying it out again when it came */
  ledgerTransactionId: string | null;
}

/** A row a MISSING_IN_LEDGER discrepancy recorded: its transaction, and what the report said of it (`actual`). */
export interface ReportedTransaction {
  kind: TransactionType;
  transactionRequestId: string;
  /** the row's merchant, when it named one */
  merchantId: string | null;
  actual: { amount: string; currency: string; transactionId: string };
  /** the settlement items that paid it out before the ledger had it, the first batch to come first */
  paidOut: readonly EarlyPayout[];
}

/**
 * A transaction the report listed before the ledger had it (its payment event lagged), now written: compared
 * with what the report said of it as the row itself would be. MATCHED closes the MISSING_IN_LEDGER discrepancy.
 * One a batch paid out already is compared as that batch's item (its fee and merchant too), so it can be posted
 * in the batch as if it had been there; a second batch paying it out differs on `settlementBatchId`, as it
 * would have then. A payout in another currency cleared the item's gross, no fee being expected for it then:
 * it differs on `fee` (the payout cleared none), since posting the transaction would leave its fee in the
 * receivable.
 */
export function compareReported(reported: ReportedTransaction, ledger: LedgerExpectation): RowVerdict {
  const { amount, currency, transactionId } = reported.actual;
  const row: TransactionRow = {
    line: 0, customerId: '', type: reported.kind, transactionId, originalTransactionId: '', transactionRequestId: reported.transactionRequestId,
    originalTransactionRequestId: '', referenceMerchantId: reported.merchantId ?? '', referenceTransactionId: '', paymentTime: '', currency,
    amount: fromMajorUnits(amount, currency),
  };
  const [payout] = reported.paidOut;
  if (!payout) return compareRow(row, ledger);
  if (payout.settlementCurrency !== ledger.currency) {
    return { result: 'MISMATCHED', fields: ['fee'], expected: { fee: money(signedFee(ledger.kind, ledger.fee), ledger.currency) }, actual: { fee: money(0n, ledger.currency) } };
  }
  // the ledger as the first batch would have left it, and the last batch's item: a second payout differs on its batch
  const last = reported.paidOut[reported.paidOut.length - 1];
  const item: SettlementItemRow = {
    ...row, referenceMerchantId: payout.merchantId, settlementBatchId: last.settlementBatchId, settlementTime: '', settlementCurrency: payout.settlementCurrency,
    settlementAmount: 0n, feeCurrency: payout.settlementCurrency, fee: payout.fee, quoteCurrencyPair: '', quotePrice: '',
  };
  return compareRow(item, { ...ledger, settlementBatchId: payout.settlementBatchId });
}

/** What the settlement service knows of a payment from payments.v1.events. */
export interface PaymentFacts {
  paymentId: string;
  merchantId: string;
  status: PaymentStatus;
  currency: string;
  amount: bigint;
  /** refundId → the refund's last status */
  refunds: Record<string, RefundStatus>;
  /** what settlement last resolved the payment's review as, if it was in review */
  reviewResolution?: ReviewResolution | null;
}

/**
 * Whether a report row may still decide the payment's review: one in NEEDS_REVIEW, or one settlement resolved
 * NOT_CHARGED and the orchestrator closed unpaid on that word (FAILED, or CANCELLED when a cancel had been asked
 * for), which a later file listing its charge proves wrong (a day can come in parts at different looks, and the
 * reports do not say how many).
 */
function decidedByReport(payment: PaymentFacts): boolean {
  return payment.status === 'NEEDS_REVIEW' || (payment.reviewResolution === 'NOT_CHARGED' && (payment.status === 'FAILED' || payment.status === 'CANCELLED'));
}

/** A refund's outcome: once known, no later event changes it. */
export const FINAL_REFUND_STATUSES: readonly RefundStatus[] = ['SUCCEEDED', 'FAILED'];

/**
 * A refund's status after an event about it: the event's, unless the refund already ended (a RefundRequested
 * redelivered after the refund's success or failure says nothing new).
 */
export function refundStatusAfter(known: RefundStatus | undefined, next: RefundStatus): RefundStatus {
  return known !== undefined && FINAL_REFUND_STATUSES.includes(known) ? known : next;
}

export type ReviewResolution = 'CHARGED' | 'REVERSED' | 'NOT_CHARGED';

export type UnledgeredVerdict =
  /** the report proves a transaction our events could not: write it to the ledger from the report */
  | { result: 'FROM_REPORT'; resolution?: ReviewResolution; evidence: string }
  | { result: 'MISMATCHED'; fields: ['status']; expected: Record<string, string>; actual: Record<string, string> }
  | { result: 'MISSING_IN_LEDGER' };

/**
 * A charge that resolves a review CHARGED, compared with the payment it charged: Alipay's report prevails, so the
 * charge is booked as Alipay took it, but another currency or amount than the payment asked for is for finance
 * to see.
 */
export function compareWithPayment(row: TransactionRow, payment: PaymentFacts): RowVerdict {
  const fields: string[] = [];
  const expected: Record<string, string> = {};
  const actual: Record<string, string> = {};
  if (row.currency !== payment.currency) {
    fields.push('currency');
    expected.currency = payment.currency;
    actual.currency = row.currency;
  }
  if (signedAmount(row.type, row.amount) !== payment.amount) {
    fields.push('amount');
    expected.amount = money(payment.amount, payment.currency);
    actual.amount = money(signedAmount(row.type, row.amount), row.currency);
  }
  return fields.length ? { result: 'MISMATCHED', fields, expected, actual } : { result: 'MATCHED' };
}

const RESOLUTION_RANK: Record<ReviewResolution, number> = { NOT_CHARGED: 0, CHARGED: 1, REVERSED: 2 };

/**
 * Whether a report's proof changes a review's resolution: a first one always does, and a later file may prove
 * more than an earlier one did, never less. A charge a late file lists overrides NOT_CHARGED, and a cancel the
 * next day's file lists turns CHARGED into REVERSED; REVERSED is what happened in the end.
 */
export function revisesReview(known: ReviewResolution | null, next: ReviewResolution): boolean {
  return known === null || RESOLUTION_RANK[next] > RESOLUTION_RANK[known];
}

/** A charge or cancel a report listed while the ledger had no transaction for it, as the discrepancy it raised recorded it. */
export interface ListedEarlier {
  kind: TransactionType;
  transactionId: string;
  currency: string;
  /** signed minor units, in the report's sign */
  amount: bigint;
}

/** A row a report listed, as the discrepancy it raised recorded it: with its time and business day. */
export interface ReportedRow extends ListedEarlier {
  /** the row's paymentTime (the start of its day for one recorded before the time was kept) */
  time: string;
  businessDay: string;
  /** the report file that listed it */
  reportFile: string;
}

/** A transaction as a report row proves it, to be written to the ledger: its request id, and its fee as the ledger keeps it. */
export interface ReportedFact extends ReportedRow {
  requestId: string;
  fee: bigint;
}

/** A charge and a cancel that net to nothing: the same currency, opposite amounts (in the report's sign). */
export function netToNothing(a: { currency: string; amount: bigint }, b: { currency: string; amount: bigint }): boolean {
  return a.currency === b.currency && a.amount + b.amount === 0n;
}

/**
 * The partner of a PAYMENT or CANCEL row that an earlier report listed on its own: a pay charged just before
 * midnight and cancelled just after is filed as a PAYMENT one day and its CANCEL the next. Only one that nets to
 * nothing with the row (same currency, opposite amount) counts: anything else is for finance to look at.
 */
export function partnerListedEarlier<T extends ListedEarlier>(row: TransactionRow, earlier: T | undefined): T | undefined {
  if (!earlier || row.type === 'REFUND' || earlier.kind === row.type || earlier.kind === 'REFUND') return undefined;
  return netToNothing(earlier, row) ? earlier : undefined;
}

/**
 * A report row with no ledger transaction. When we know the payment, its state may explain the row:
 * - a payment in NEEDS_REVIEW, or one closed unpaid on a NOT_CHARGED resolution: the row proves Alipay took the
 *   money (and a CANCEL row that it gave it back);
 * - a CANCELLED payment whose charge our saga never saw confirmed (a pay that timed out, then was cancelled):
 *   Alipay shows a PAYMENT and its CANCEL, which net to nothing.
 * Otherwise our state and Alipay's disagree (status), or we never heard of the transaction (missing in ledger).
 */
export function explainUnledgeredRow(
  row: TransactionRow,
  payment: PaymentFacts | undefined,
  report: { hasPayment: boolean; hasCancel: boolean },
): UnledgeredVerdict {
  if (!payment) return { result: 'MISSING_IN_LEDGER' };
  const status = (actual: string): UnledgeredVerdict => ({ result: 'MISMATCHED', fields: ['status'], expected: { status: payment.status }, actual: { status: actual } });
  switch (row.type) {
    case 'PAYMENT':
      if (decidedByReport(payment)) {
        return report.hasCancel
          ? { result: 'FROM_REPORT', resolution: 'REVERSED', evidence: 'Alipay reports the payment and its cancel' }
          : { result: 'FROM_REPORT', resolution: 'CHARGED', evidence: 'Alipay reports the payment and no cancel' };
      }
      if (payment.status === 'CANCELLED' && report.hasCancel) return { result: 'FROM_REPORT', evidence: 'charged, then reversed by the cancel' };
      return status(`PAYMENT ${row.transactionId} in Alipay's report`);
    case 'CANCEL':
      if (decidedByReport(payment) && report.hasPayment) {
        return { result: 'FROM_REPORT', resolution: 'REVERSED', evidence: 'Alipay reports the payment and its cancel' };
      }
      if (payment.status === 'CANCELLED' && report.hasPayment) return { result: 'FROM_REPORT', evidence: 'the cancel reversed a payment Alipay reports' };
      return status(`CANCEL in Alipay's report`);
    case 'REFUND': {
      const refund = payment.refunds[row.transactionRequestId];
      if (refund === undefined) return { result: 'MISSING_IN_LEDGER' };
      return { result: 'MISMATCHED', fields: ['status'], expected: { status: `refund ${refund}` }, actual: { status: `REFUND ${row.transactionId} in Alipay's report` } };
    }
  }
}

/**
 * The fee of a transaction written to the ledger from a report row, positive as the ledger keeps it: a
 * settlement item's own fee when it is in the transaction's currency; otherwise (a transaction file row, or an
 * item Alipay converted, whose fee is in the settlement currency) the fee the ledger expects for it (`expectedFee`:
 * the schedule's, or for a cancel the fee its payment was booked with).
 */
export function feeFromReport(row: TransactionRow, expectedFee: bigint): bigint {
  if (!isSettlementItem(row) || row.feeCurrency !== row.currency) return expectedFee;
  return row.type === 'CANCEL' ? row.fee : -row.fee;
}

/**
 * Ledger transactions of a report day that no transaction file lists (`listed`: the `rowKey`s of every row of the
 * files so far; Alipay may split a day over `_000`, `_001`…, and file a transaction under the day before the
 * ledger's when its clock and the saga's straddle midnight).
 */
export function missingInReport<T>(ledger: readonly T[], listed: ReadonlySet<string>, keyOf: (t: T) => { kind: string; requestId: string | null }): T[] {
  return ledger.filter((t) => {
    const { kind, requestId } = keyOf(t);
    return requestId !== null && !listed.has(rowKey(kind as TransactionType, requestId));
  });
}

/**
 * Payments in review of a day that Alipay's reports prove were never charged: no report lists a PAYMENT for
 * them, nor a CANCEL, which only a charge has (`listed`: the payments some report lists one of the two for).
 * Only to be asked once the transaction files of the day and of the next are both in: a pay sent just before
 * midnight may be charged, and filed, just after.
 */
export function notChargedReviews<T extends { paymentId: string }>(inReview: readonly T[], listed: ReadonlySet<string>): T[] {
  return inReview.filter((p) => !listed.has(p.paymentId));
}

export type AdjustmentPlan =
  | { ok: true; amount: bigint; fee: bigint }
  | { ok: false; code: 'SETTLEMENT.CANNOT_ADJUST' | 'SETTLEMENT.NOT_SETTLED' | 'SETTLEMENT.NOTHING_TO_ADJUST'; message: string };

/**
 * What an adjustment would book for a discrepancy: the signed differences between what Alipay settled (the
 * settlement batch item, in the report's sign convention) and what the ledger expected, for the facts the
 * discrepancy names. Only money one number can correct qualifies: an amount or a fee, in the transaction's
 * currency, of a transaction both sides hold and Alipay has settled. The transaction file alone does not
 * move money, so its figures are never booked: the batch that pays the transaction out is the evidence.
 */
export function planAdjustment(
  discrepancy: { type: string; fields: readonly string[] },
  ledger: { kind: TransactionType; amount: bigint; fee: bigint } | undefined,
  settled: { amount: bigint; fee: bigint } | undefined,
): AdjustmentPlan {
  if (discrepancy.type !== 'MISMATCHED' || !ledger) {
    // a MISSING_IN_REPORT one is written off instead (planWriteOff)
    return { ok: false, code: 'SETTLEMENT.CANNOT_ADJUST', message: `a ${discrepancy.type} discrepancy has no settled transaction to book the ledger's to` };
  }
  const unfixable = discrepancy.fields.filter((f) => f === 'currency' || f === 'status' || f === 'settlementBatchId');
  if (unfixable.length) {
    return { ok: false, code: 'SETTLEMENT.CANNOT_ADJUST', message: `the ${unfixable.join(' and ')} differs; no amount corrects that` };
  }
  if (!settled) {
    return { ok: false, code: 'SETTLEMENT.NOT_SETTLED', message: 'Alipay has not settled the transaction yet; adjust once its settlement batch is in' };
  }
  const amount = discrepancy.fields.includes('amount') ? signedAmount(ledger.kind, settled.amount) - ledger.amount : 0n;
  const fee = discrepancy.fields.includes('fee') ? signedFee(ledger.kind, settled.fee) - ledger.fee : 0n;
  if (amount === 0n && fee === 0n) {
    return { ok: false, code: 'SETTLEMENT.NOTHING_TO_ADJUST', message: 'Alipay settled the transaction as the ledger expects it' };
  }
  return { ok: true, amount, fee };
}

export type WriteOffPlan =
  | { ok: true; amount: bigint; fee: bigint }
  | { ok: false; code: 'SETTLEMENT.CANNOT_ADJUST' | 'SETTLEMENT.REPORTS_INCOMPLETE'; message: string };

/**
 * What resolving a MISSING_IN_REPORT discrepancy with `adjust` books: the transaction written off as never made,
 * an adjustment of `amount` and `fee` (settled − expected, Alipay having settled nothing) that reverses its
 * postings. Only once the transaction files of its day and of the next are both in (Alipay files a transaction
 * of just before midnight under the day it made it), and only for one no settlement batch paid out: a payout
 * proves Alipay has it, whatever its transaction file says.
 */
export function planWriteOff(
  ledger: { amount: bigint; fee: bigint; status: 'EXPECTED' | 'POSTED' },
  paidOutBy: readonly string[],
  nextDayIn: boolean,
): WriteOffPlan {
  if (ledger.status === 'POSTED' || paidOutBy.length) {
    const by = paidOutBy.length ? ` (settlement batch ${paidOutBy.join(', ')})` : '';
    return { ok: false, code: 'SETTLEMENT.CANNOT_ADJUST', message: `Alipay paid the transaction out${by}, so it was made; resolve without adjust` };
  }
  if (!nextDayIn) {
    return { ok: false, code: 'SETTLEMENT.REPORTS_INCOMPLETE', message: 'the next day\'s transaction file is not in yet, and Alipay may have filed the transaction there' };
  }
  return { ok: true, amount: -ledger.amount, fee: -ledger.fee };
}

export type WriteOffReversalPlan =
  | { ok: true; amount: bigint; fee: bigint }
  | { ok: false; code: 'SETTLEMENT.CANNOT_ADJUST' | 'SETTLEMENT.NOT_SETTLED'; message: string };

/**
 * What resolving with `adjust` the status discrepancy of a transaction finance wrote off books once Alipay's
 * reports list it after all: an adjustment of `amount` and `fee` that reverses the write-off's, so the
 * transaction is owed again as it was before. Only once a settlement batch paid it out (`paidOutIn`): the
 * transaction file moves no money, the payout proves Alipay made the transaction. And only when the reports
 * agree with the transaction otherwise: a write-off reversed, it must match them as any other transaction.
 */
export function planWriteOffReversal(
  discrepancy: { fields: readonly string[] },
  writeOff: { amount: bigint; fee: bigint },
  paidOutIn: string | undefined,
): WriteOffReversalPlan {
  const other = discrepancy.fields.filter((f) => f !== 'status');
  if (other.length) {
    return { ok: false, code: 'SETTLEMENT.CANNOT_ADJUST', message: `Alipay's reports list the written-off transaction with another ${other.join(' and ')}; reversing the write-off would not make the two agree` };
  }
  if (!paidOutIn) {
    return { ok: false, code: 'SETTLEMENT.NOT_SETTLED', message: 'no settlement batch has paid the written-off transaction out yet; reverse the write-off once one does' };
  }
  return { ok: true, amount: -writeOff.amount, fee: -writeOff.fee };
}

export type BookingPlan =
  | {
      ok: true;
      /** the batch item the transaction is posted in: the first that paid it out */
      payout: PaidOutItem;
      /** the transaction to write as that item has it (gross and fee in the ledger's sign), when the ledger lacks it */
      write?: { amount: bigint; fee: bigint };
      /** what a payout in another currency cleared from the receivable beyond what it would have with the transaction there (signed) */
      overCleared: bigint;
      /** what the payout settled otherwise than the ledger expects, in its own currency (settled − expected, see planAdjustment) */
      difference?: { amount: bigint; fee: bigint };
      /** the batches that paid it out again and were not flagged for it when they came: money to recover from Alipay */
      repaid: PaidOutItem[];
    }
  | { ok: false; code: 'SETTLEMENT.CANNOT_ADJUST' | 'SETTLEMENT.NOT_SETTLED'; message: string };

/**
 * What resolving a MISSING_IN_LEDGER discrepancy with `adjust` books, for a transaction a settlement batch paid
 * out before the ledger had it: the ledger ends as if the transaction had been there when the batch came. It is
 * posted in the first batch that paid it out; one the ledger never heard of is written first as that batch's
 * item has it. A later batch that paid it out again is flagged as it would have been then (money to recover
 * from Alipay). A payout in another currency cleared the gross, no fee being expected then: for a transaction
 * the ledger holds (its payment event came after the batch), the fee it expects is cleared too, through
 * FX_DIFFERENCE; one the ledger never heard of has no fee in its own currency to book, and is refused. One the
 * ledger holds whose amount or fee the payout, in the transaction's currency, settled otherwise is corrected by the
 * difference, as a MISMATCHED transaction the ledger had when the batch came is (planAdjustment): Alipay's payout
 * prevails. Any other disagreement (Alipay's id, the merchant, an amount the report lists otherwise than a payout in
 * another currency could settle) is refused, and so is anything the transaction file alone lists: it moves no money.
 */
export function planBooking(reported: Omit<ReportedTransaction, 'paidOut'>, held: LedgerExpectation | undefined, paidOut: readonly PaidOutItem[]): BookingPlan {
  if (!paidOut.length) {
    return { ok: false, code: 'SETTLEMENT.NOT_SETTLED', message: 'Alipay has not paid the transaction out yet; book it once its settlement batch is in' };
  }
  const [payout, ...later] = paidOut;
  // a later item naming the transaction was flagged when its batch came (the ledger had it then): flagged again, it
  // would reopen a repeat finance may have closed since
  const repaid = later.filter((item) => item.ledgerTransactionId === null);
  const kind = reported.kind;
  if (!held) {
    if (payout.settlementCurrency !== payout.currency) {
      return { ok: false, code: 'SETTLEMENT.CANNOT_ADJUST', message: `settled in ${payout.settlementCurrency}, so no fee in ${payout.currency} is known to book` };
    }
    return { ok: true, payout, write: { amount: signedAmount(kind, payout.amount), fee: signedFee(kind, payout.fee) }, overCleared: 0n, repaid };
  }
  const converted = payout.settlementCurrency !== held.currency;
  const verdict = compareReported({ ...reported, paidOut: converted ? [] : [payout] }, held);
  if (verdict.result === 'MISMATCHED') {
    const adjustment = converted || !verdict.fields.every((f) => f === 'amount' || f === 'fee')
      ? undefined
      : planAdjustment({ type: 'MISMATCHED', fields: verdict.fields }, held, payout);
    if (!adjustment?.ok) {
      return { ok: false, code: 'SETTLEMENT.CANNOT_ADJUST', message: `the ledger has the transaction from its payment event now, and its ${verdict.fields.join(' and ')} differs from Alipay's; resolve without adjust` };
    }
    return { ok: true, payout, overCleared: 0n, difference: { amount: adjustment.amount, fee: adjustment.fee }, repaid };
  }
  if (converted && payout.merchantId !== held.merchantId) {
    return { ok: false, code: 'SETTLEMENT.CANNOT_ADJUST', message: `settlement batch ${payout.settlementBatchId} paid it out to ${payout.merchantId}, the ledger has it for ${held.merchantId}; resolve without adjust` };
  }
  return { ok: true, payout, overCleared: converted ? -signedFee(kind, held.fee) : 0n, repaid };
}
