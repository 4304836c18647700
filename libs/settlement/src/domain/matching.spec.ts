import {
  compareReported, compareRow, compareWithPayment, EarlyPayout, explainUnledgeredRow, feeFromReport, LedgerExpectation, missingInReport, notChargedReviews, PaidOutItem, partnerListedEarlier, paymentIdOfRow, PaymentFacts, planAdjustment, planBooking, planWriteOff, planWriteOffReversal, refundStatusAfter, revisesReview, rowKey,
} from './matching';
import type { SettlementItemRow, TransactionRow } from './report-files';

const row = (over: Partial<TransactionRow> = {}): TransactionRow => ({
  line: 2, customerId: 'C1', type: 'PAYMENT', transactionId: 'A-1', originalTransactionId: '', transactionRequestId: 'pay_1', originalTransactionRequestId: '',
  referenceMerchantId: 'mer_1', referenceTransactionId: 'ORD-1', paymentTime: '2026-11-27T12:06:02+08:00', currency: 'HKD', amount: 1250n, ...over,
});
const item = (over: Partial<SettlementItemRow> = {}): SettlementItemRow => ({
  ...row(), settlementBatchId: 'B1', settlementTime: '2026-11-28T00:00:00+08:00', settlementCurrency: 'HKD', settlementAmount: 1240n, feeCurrency: 'HKD', fee: -10n,
  quoteCurrencyPair: '', quotePrice: '', ...over,
});
const ledger = (over: Partial<LedgerExpectation> = {}): LedgerExpectation => ({
  ledgerTransactionId: 'ltx_1', kind: 'PAYMENT', merchantId: 'mer_1', currency: 'HKD', amount: 1250n, fee: 10n, alipayTransactionId: 'A-1', ...over,
});
const payment = (over: Partial<PaymentFacts> = {}): PaymentFacts => ({ paymentId: 'pay_1', merchantId: 'mer_1', status: 'SUCCEEDED', currency: 'HKD', amount: 1250n, refunds: {}, ...over });

describe('compareRow', () => {
  it('matches a payment, a refund and a cancel in the report sign convention', () => {
    expect(compareRow(row(), ledger())).toEqual({ result: 'MATCHED' });
    expect(compareRow(row({ type: 'REFUND', amount: -500n, transactionId: 'R-1' }), ledger({ kind: 'REFUND', amount: 500n, alipayTransactionId: 'R-1' }))).toEqual({ result: 'MATCHED' });
    expect(compareRow(item({ type: 'CANCEL', amount: -1250n, fee: 10n, settlementAmount: -1240n }), ledger({ kind: 'CANCEL' }))).toEqual({ result: 'MATCHED' });
    expect(compareRow(item(), ledger())).toEqual({ result: 'MATCHED' });
  });

  it('names each fact that differs, in major units', () => {
    expect(compareRow(row({ amount: 1350n }), ledger())).toEqual({ result: 'MISMATCHED', fields: ['amount'], expected: { amount: '12.50' }, actual: { amount: '13.50' } });
    expect(compareRow(item({ fee: -20n, settlementAmount: 1230n }), ledger())).toEqual({ result: 'MISMATCHED', fields: ['fee'], expected: { fee: '-0.10' }, actual: { fee: '-0.20' } });
    expect(compareRow(row({ currency: 'USD' }), ledger()).result === 'MISMATCHED' && compareRow(row({ currency: 'USD' }), ledger())).toMatchObject({ fields: ['currency'] });
    expect(compareRow(row({ transactionId: 'A-2' }), ledger())).toMatchObject({ fields: ['alipayTransactionId'] });
    expect(compareRow(row({ referenceMerchantId: 'mer_2' }), ledger())).toMatchObject({ fields: ['merchant'] });
  });

  it('flags a settlement item of a transaction another batch already paid out', () => {
    expect(compareRow(item(), ledger({ settlementBatchId: 'B1' }))).toEqual({ result: 'MATCHED' });
    expect(compareRow(item({ settlementBatchId: 'B2' }), ledger({ settlementBatchId: 'B1' }))).toEqual({
      result: 'MISMATCHED', fields: ['settlementBatchId'], expected: { settlementBatchId: 'B1' }, actual: { settlementBatchId: 'B2' },
    });
    // the transaction file moves no money: a transaction settled already is simply listed
    expect(compareRow(row(), ledger({ settlementBatchId: 'B1' }))).toEqual({ result: 'MATCHED' });
  });

  it('flags any row of a transaction finance wrote off as never made', () => {
    expect(compareRow(row(), ledger({ writtenOff: true }))).toEqual({
      result: 'MISMATCHED', fields: ['status'], expected: { status: 'written off as never made' }, actual: { status: "PAYMENT A-1 in Alipay's report" },
    });
  });

  it('takes Alipay’s id from the report when the ledger did not know it yet', () => {
    expect(compareRow(row({ transactionId: 'A-9' }), ledger({ alipayTransactionId: null }))).toEqual({ result: 'MATCHED' });
  });

  it('reads a JPY amount without decimals', () => {
    expect(compareRow(row({ currency: 'JPY', amount: 1001n }), ledger({ currency: 'JPY', amount: 1000n }))).toMatchObject({ expected: { amount: '1000' }, actual: { amount: '1001' } });
  });
});

describe('compareReported', () => {
  const reported = (actual: Partial<{ amount: string; currency: string; transactionId: string }> = {}, merchantId: string | null = 'mer_1') => ({
    kind: 'PAYMENT' as const, transactionRequestId: 'pay_1', merchantId, actual: { amount: '12.50', currency: 'HKD', transactionId: 'A-1', ...actual }, paidOut: [],
  });
  const payout = (over: Partial<EarlyPayout> = {}): EarlyPayout => ({ settlementBatchId: 'B1', merchantId: 'mer_1', settlementCurrency: 'HKD', fee: -10n, ...over });

  it('matches a transaction written late to what the report said of it, in the report sign convention', () => {
    expect(compareReported(reported(), ledger())).toEqual({ result: 'MATCHED' });
    expect(compareReported({ ...reported({ amount: '-5.00', transactionId: 'R-1' }), kind: 'REFUND' }, ledger({ kind: 'REFUND', amount: 500n, alipayTransactionId: 'R-1' }))).toEqual({ result: 'MATCHED' });
    expect(compareReported(reported({}, null), ledger({ alipayTransactionId: null }))).toEqual({ result: 'MATCHED' });
  });

  it('names what differs', () => {
    expect(compareReported(reported({ amount: '13.50' }), ledger())).toMatchObject({ result: 'MISMATCHED', fields: ['amount'] });
    expect(compareReported(reported({ transactionId: 'A-2' }), ledger())).toMatchObject({ fields: ['alipayTransactionId'] });
    expect(compareReported(reported({}, 'mer_2'), ledger())).toMatchObject({ fields: ['merchant'] });
  });

  it('compares one a batch paid out already as the batch\'s item: its fee and the merchant whose receivable it cleared too', () => {
    expect(compareReported({ ...reported(), paidOut: [payout()] }, ledger())).toEqual({ result: 'MATCHED' });
    expect(compareReported({ ...reported({}, null), paidOut: [payout()] }, ledger())).toEqual({ result: 'MATCHED' });
    expect(compareReported({ ...reported(), paidOut: [payout({ fee: -20n })] }, ledger())).toEqual({ result: 'MISMATCHED', fields: ['fee'], expected: { fee: '-0.10' }, actual: { fee: '-0.20' } });
    expect(compareReported({ ...reported({}, null), paidOut: [payout({ merchantId: 'customer-C1' })] }, ledger())).toMatchObject({ fields: ['merchant'] });
    expect(compareReported({ ...reported({ amount: '13.50' }), paidOut: [payout()] }, ledger())).toMatchObject({ fields: ['amount'] });
  });

  it('flags one two batches paid out, and one paid out in another currency, whose payout cleared no fee', () => {
    expect(compareReported({ ...reported(), paidOut: [payout(), payout({ settlementBatchId: 'B2' })] }, ledger())).toEqual({
      result: 'MISMATCHED', fields: ['settlementBatchId'], expected: { settlementBatchId: 'B1' }, actual: { settlementBatchId: 'B2' },
    });
    expect(compareReported({ ...reported(), paidOut: [payout({ settlementCurrency: 'USD', fee: -1n })] }, ledger())).toEqual({
      result: 'MISMATCHED', fields: ['fee'], expected: { fee: '-0.10' }, actual: { fee: '0.00' },
    });
  });
});

describe('explainUnledgeredRow', () => {
  const none = { hasPayment: false, hasCancel: false };
  it('calls a row of a payment we never heard of missing in the ledger', () => {
    expect(explainUnledgeredRow(row(), undefined, none)).toEqual({ result: 'MISSING_IN_LEDGER' });
    expect(explainUnledgeredRow(row({ type: 'REFUND', transactionRequestId: 'ref_x', originalTransactionRequestId: 'pay_1' }), payment(), none)).toEqual({ result: 'MISSING_IN_LEDGER' });
  });

  it('resolves a payment in review from what the report proves', () => {
    expect(explainUnledgeredRow(row(), payment({ status: 'NEEDS_REVIEW' }), none)).toMatchObject({ result: 'FROM_REPORT', resolution: 'CHARGED' });
    expect(explainUnledgeredRow(row(), payment({ status: 'NEEDS_REVIEW' }), { hasPayment: true, hasCancel: true })).toMatchObject({ result: 'FROM_REPORT', resolution: 'REVERSED' });
  });

  it('resolves a payment in review as REVERSED from its cancel, whichever of the two rows comes last', () => {
    expect(explainUnledgeredRow(row({ type: 'CANCEL', amount: -1250n }), payment({ status: 'NEEDS_REVIEW' }), { hasPayment: true, hasCancel: true })).toMatchObject({
      result: 'FROM_REPORT', resolution: 'REVERSED',
    });
  });

  it.each(['FAILED', 'CANCELLED'] as const)('resolves again a payment %s on its NOT_CHARGED resolution when a later file lists its charge, not one closed otherwise', (status) => {
    const closedOnTheReport = payment({ status, reviewResolution: 'NOT_CHARGED' });
    expect(explainUnledgeredRow(row(), closedOnTheReport, none)).toMatchObject({ result: 'FROM_REPORT', resolution: 'CHARGED' });
    expect(explainUnledgeredRow(row(), closedOnTheReport, { hasPayment: true, hasCancel: true })).toMatchObject({ result: 'FROM_REPORT', resolution: 'REVERSED' });
    expect(explainUnledgeredRow(row({ type: 'CANCEL', amount: -1250n }), closedOnTheReport, { hasPayment: true, hasCancel: true })).toMatchObject({ result: 'FROM_REPORT', resolution: 'REVERSED' });
    expect(explainUnledgeredRow(row(), payment({ status, reviewResolution: null }), none)).toMatchObject({ result: 'MISMATCHED', fields: ['status'] });
  });

  it('accepts a charge and its cancel for a payment we saw cancelled', () => {
    const facts = { hasPayment: true, hasCancel: true };
    expect(explainUnledgeredRow(row(), payment({ status: 'CANCELLED' }), facts)).toMatchObject({ result: 'FROM_REPORT' });
    expect(explainUnledgeredRow(row({ type: 'CANCEL', amount: -1250n }), payment({ status: 'CANCELLED' }), facts)).toMatchObject({ result: 'FROM_REPORT' });
  });

  it('flags a status mismatch when our state cannot explain the row', () => {
    expect(explainUnledgeredRow(row(), payment({ status: 'FAILED' }), none)).toMatchObject({ result: 'MISMATCHED', fields: ['status'], expected: { status: 'FAILED' } });
    expect(explainUnledgeredRow(row(), payment({ status: 'CANCELLED' }), none)).toMatchObject({ result: 'MISMATCHED' });
    expect(explainUnledgeredRow(row({ type: 'CANCEL', amount: -1250n }), payment({ status: 'SUCCEEDED' }), { hasPayment: true, hasCancel: true })).toMatchObject({ result: 'MISMATCHED' });
    expect(explainUnledgeredRow(row({ type: 'REFUND', transactionRequestId: 'ref_1', originalTransactionRequestId: 'pay_1', amount: -5n }), payment({ refunds: { ref_1: 'FAILED' } }), none)).toMatchObject({ result: 'MISMATCHED', expected: { status: 'refund FAILED' } });
  });
});

describe('planWriteOff', () => {
  const expected = { amount: 1250n, fee: 10n, status: 'EXPECTED' as const };
  it('reverses the transaction in full once the next day\'s file is in', () => {
    expect(planWriteOff(expected, [], true)).toEqual({ ok: true, amount: -1250n, fee: -10n });
  });

  it('refuses one a batch paid out, and waits for the next day\'s file', () => {
    expect(planWriteOff(expected, ['B1'], true)).toMatchObject({ ok: false, code: 'SETTLEMENT.CANNOT_ADJUST', message: expect.stringMatching(/B1/) });
    expect(planWriteOff({ ...expected, status: 'POSTED' }, [], true)).toMatchObject({ ok: false, code: 'SETTLEMENT.CANNOT_ADJUST' });
    expect(planWriteOff(expected, [], false)).toMatchObject({ ok: false, code: 'SETTLEMENT.REPORTS_INCOMPLETE' });
  });
});

describe('planWriteOffReversal', () => {
  const writeOff = { amount: -1250n, fee: -10n };
  it('books the write-off back once a settlement batch paid the transaction out', () => {
    expect(planWriteOffReversal({ fields: ['status'] }, writeOff, 'B1')).toEqual({ ok: true, amount: 1250n, fee: 10n });
  });

  it('waits for a batch while only a transaction file lists it, and refuses a report that disagrees otherwise too', () => {
    expect(planWriteOffReversal({ fields: ['status'] }, writeOff, undefined)).toMatchObject({ ok: false, code: 'SETTLEMENT.NOT_SETTLED' });
    expect(planWriteOffReversal({ fields: ['status', 'fee'] }, writeOff, 'B1')).toMatchObject({ ok: false, code: 'SETTLEMENT.CANNOT_ADJUST', message: expect.stringMatching(/fee/) });
  });
});

describe('compareWithPayment', () => {
  it('matches a charge of the amount and currency the payment asked for', () => {
    expect(compareWithPayment(row(), payment())).toEqual({ result: 'MATCHED' });
  });

  it('names another amount or currency, in major units', () => {
    expect(compareWithPayment(row({ amount: 1350n }), payment())).toEqual({ result: 'MISMATCHED', fields: ['amount'], expected: { amount: '12.50' }, actual: { amount: '13.50' } });
    expect(compareWithPayment(row({ currency: 'JPY', amount: 1250n }), payment())).toMatchObject({ fields: ['currency'], expected: { currency: 'HKD' }, actual: { currency: 'JPY' } });
  });
});

describe('revisesReview', () => {
  it('takes a first resolution, and a later one only when it proves more', () => {
    expect(revisesReview(null, 'NOT_CHARGED')).toBe(true);
    expect(revisesReview('CHARGED', 'REVERSED')).toBe(true);
    expect(revisesReview('NOT_CHARGED', 'CHARGED')).toBe(true);
    expect(revisesReview('NOT_CHARGED', 'REVERSED')).toBe(true);
    expect(revisesReview('CHARGED', 'CHARGED')).toBe(false);
    expect(revisesReview('REVERSED', 'CHARGED')).toBe(false);
    expect(revisesReview('CHARGED', 'NOT_CHARGED')).toBe(false);
  });
});

describe('partnerListedEarlier', () => {
  const charge = { kind: 'PAYMENT' as const, transactionId: 'A-1', currency: 'HKD', amount: 1250n };
  const cancel = row({ type: 'CANCEL', amount: -1250n, originalTransactionRequestId: 'pay_1' });
  it('pairs a charge and its cancel that net to nothing, in either order', () => {
    expect(partnerListedEarlier(cancel, charge)).toBe(charge);
    expect(partnerListedEarlier(row(), { ...charge, kind: 'CANCEL', amount: -1250n })).toMatchObject({ kind: 'CANCEL' });
  });

  it('pairs nothing else', () => {
    expect(partnerListedEarlier(cancel, undefined)).toBeUndefined();
    expect(partnerListedEarlier(cancel, { ...charge, amount: 1150n })).toBeUndefined();
    expect(partnerListedEarlier(cancel, { ...charge, currency: 'USD' })).toBeUndefined();
    expect(partnerListedEarlier(row(), charge)).toBeUndefined();
    expect(partnerListedEarlier(row({ type: 'REFUND', amount: -1250n }), charge)).toBeUndefined();
  });
});

describe('day-level checks', () => {
  const rows = [row(), row({ type: 'REFUND', transactionRequestId: 'ref_1', originalTransactionRequestId: 'pay_1', amount: -500n })];
  it('finds ledger transactions the day’s report does not list', () => {
    const day = [{ kind: 'PAYMENT', requestId: 'pay_1' }, { kind: 'REFUND', requestId: 'ref_1' }, { kind: 'PAYMENT', requestId: 'pay_2' }, { kind: 'CANCEL', requestId: 'pay_1' }];
    const listed = new Set(rows.map((r) => rowKey(r.type, r.transactionRequestId)));
    expect(missingInReport(day, listed, (t) => t)).toEqual([{ kind: 'PAYMENT', requestId: 'pay_2' }, { kind: 'CANCEL', requestId: 'pay_1' }]);
  });

  it('proves a payment in review was never charged when no report lists a PAYMENT for it', () => {
    expect(notChargedReviews([{ paymentId: 'pay_1' }, { paymentId: 'pay_3' }], new Set(['pay_1', 'pay_2']))).toEqual([{ paymentId: 'pay_3' }]);
  });

  it('finds our payment id on every kind of row', () => {
    expect(rows.map(paymentIdOfRow)).toEqual(['pay_1', 'pay_1']);
  });
});

describe('feeFromReport', () => {
  it('takes a settlement item\'s fee in the transaction\'s currency, positive, given back by a cancel', () => {
    expect(feeFromReport(item({ fee: -12n }), 10n)).toBe(12n);
    expect(feeFromReport(item({ type: 'CANCEL', amount: -1250n, fee: 12n, settlementAmount: -1238n }), 10n)).toBe(12n);
  });

  it('keeps the expected fee for a transaction file row and for an item whose fee Alipay converted', () => {
    expect(feeFromReport(row(), 10n)).toBe(10n);
    expect(feeFromReport(item({ currency: 'JPY', amount: 2000n, settlementCurrency: 'USD', settlementAmount: 1333n, feeCurrency: 'USD', fee: -7n }), 10n)).toBe(10n);
  });
});

describe('planAdjustment', () => {
  const expected = { kind: 'PAYMENT' as const, amount: 1250n, fee: 10n };
  const mismatched = (...fields: string[]) => ({ type: 'MISMATCHED', fields });

  it('books the difference between the settled and the expected fee, in the ledger sign', () => {
    expect(planAdjustment(mismatched('fee'), expected, { amount: 1250n, fee: -20n })).toEqual({ ok: true, amount: 0n, fee: 10n });
    expect(planAdjustment(mismatched('fee'), { kind: 'CANCEL', amount: 1250n, fee: 10n }, { amount: -1250n, fee: 4n })).toEqual({ ok: true, amount: 0n, fee: -6n });
  });

  it('books an amount difference, and a refund settled larger as more money going back', () => {
    expect(planAdjustment(mismatched('amount', 'alipayTransactionId'), expected, { amount: 1200n, fee: -10n })).toEqual({ ok: true, amount: -50n, fee: 0n });
    expect(planAdjustment(mismatched('amount'), { kind: 'REFUND', amount: 500n, fee: 10n }, { amount: -600n, fee: -10n })).toEqual({ ok: true, amount: 100n, fee: 0n });
  });

  it('books only the facts the discrepancy names', () => {
    expect(planAdjustment(mismatched('fee'), expected, { amount: 999n, fee: -20n })).toEqual({ ok: true, amount: 0n, fee: 10n });
  });

  it('refuses what no amount can correct', () => {
    for (const type of ['MISSING_IN_REPORT', 'MISSING_IN_LEDGER']) {
      expect(planAdjustment({ type, fields: [] }, type === 'MISSING_IN_LEDGER' ? undefined : expected, { amount: 1250n, fee: -10n })).toMatchObject({ ok: false, code: 'SETTLEMENT.CANNOT_ADJUST' });
    }
    expect(planAdjustment(mismatched('currency', 'amount'), expected, { amount: 1250n, fee: -10n })).toMatchObject({ ok: false, code: 'SETTLEMENT.CANNOT_ADJUST', message: expect.stringMatching(/currency differs/) });
    expect(planAdjustment(mismatched('status'), expected, { amount: 1250n, fee: -10n })).toMatchObject({ ok: false, code: 'SETTLEMENT.CANNOT_ADJUST' });
    expect(planAdjustment(mismatched('settlementBatchId', 'amount'), expected, { amount: 1200n, fee: -10n })).toMatchObject({ ok: false, code: 'SETTLEMENT.CANNOT_ADJUST' });
  });

  it('waits for the settlement batch, and books nothing when Alipay settled what the ledger expects', () => {
    expect(planAdjustment(mismatched('amount'), expected, undefined)).toMatchObject({ ok: false, code: 'SETTLEMENT.NOT_SETTLED' });
    expect(planAdjustment(mismatched('amount'), expected, { amount: 1250n, fee: -10n })).toMatchObject({ ok: false, code: 'SETTLEMENT.NOTHING_TO_ADJUST' });
  });
});

describe('planBooking', () => {
  const paidOut = (over: Partial<PaidOutItem> = {}): PaidOutItem => ({
    settlementBatchId: 'B1', part: 0, line: 2, merchantId: 'mer_1', transactionId: 'A-1', currency: 'HKD', amount: 1250n, settlementCurrency: 'HKD', fee: -10n, ledgerTransactionId: null, ...over,
  });
  const reported = (kind: 'PAYMENT' | 'REFUND' | 'CANCEL' = 'PAYMENT', amount = '12.50') => ({
    kind, transactionRequestId: 'pay_1', merchantId: 'mer_1', actual: { amount, currency: 'HKD', transactionId: 'A-1' },
  });

  it('books a transaction the ledger never heard of as its batch paid it out, gross and fee in the ledger sign', () => {
    const payout = paidOut();
    expect(planBooking(reported(), undefined, [payout])).toEqual({ ok: true, payout, write: { amount: 1250n, fee: 10n }, overCleared: 0n, repaid: [] });
    expect(planBooking(reported('REFUND', '-5.00'), undefined, [paidOut({ amount: -500n })])).toMatchObject({ ok: true, write: { amount: 500n, fee: 10n } });
    expect(planBooking(reported('CANCEL', '-12.50'), undefined, [paidOut({ amount: -1250n, fee: 10n })])).toMatchObject({ ok: true, write: { amount: 1250n, fee: 10n } });
  });

  it('waits for a batch to pay the transaction out', () => {
    expect(planBooking(reported(), undefined, [])).toMatchObject({ ok: false, code: 'SETTLEMENT.NOT_SETTLED' });
    expect(planBooking(reported(), ledger(), [])).toMatchObject({ ok: false, code: 'SETTLEMENT.NOT_SETTLED' });
  });

  it('posts in the first batch a transaction two batches paid out, the second to recover', () => {
    const [first, second] = [paidOut(), paidOut({ settlementBatchId: 'B2' })];
    expect(planBooking(reported(), undefined, [first, second])).toMatchObject({ ok: true, payout: first, write: { amount: 1250n }, repaid: [second] });
    expect(planBooking(reported(), ledger(), [first, second])).toEqual({ ok: true, payout: first, overCleared: 0n, repaid: [second] });
  });

  it('flags no second payout again that was flagged when its batch came, the ledger having the transaction then', () => {
    const [first, flagged] = [paidOut(), paidOut({ settlementBatchId: 'B2', ledgerTransactionId: 'ltx_1' })];
    expect(planBooking(reported(), ledger(), [first, flagged])).toEqual({ ok: true, payout: first, overCleared: 0n, repaid: [] });
  });

  it('clears the fee a payout in another currency did not for a transaction its late payment event wrote', () => {
    const converted = paidOut({ settlementCurrency: 'USD', fee: -1n });
    expect(planBooking(reported(), ledger(), [converted])).toEqual({ ok: true, payout: converted, overCleared: 10n, repaid: [] });
    expect(planBooking(reported('CANCEL', '-12.50'), ledger({ kind: 'CANCEL' }), [paidOut({ settlementCurrency: 'USD', amount: -1250n, fee: 1n })])).toMatchObject({ ok: true, overCleared: -10n });
  });

  it('corrects what the batch settled otherwise than the late payment event expects, in the batch\'s currency, as for a transaction the ledger had', () => {
    const payout = paidOut({ fee: -20n });
    expect(planBooking(reported(), ledger(), [payout])).toEqual({ ok: true, payout, overCleared: 0n, difference: { amount: 0n, fee: 10n }, repaid: [] });
    expect(planBooking(reported('PAYMENT', '13.50'), ledger(), [paidOut({ amount: 1350n, fee: -20n })])).toMatchObject({ ok: true, difference: { amount: 100n, fee: 10n } });
    expect(planBooking(reported(), ledger(), [paidOut()])).toEqual({ ok: true, payout: paidOut(), overCleared: 0n, repaid: [] });
  });

  it('refuses one in another currency the ledger never heard of, and one the ledger has that disagrees', () => {
    expect(planBooking(reported(), undefined, [paidOut({ settlementCurrency: 'USD', fee: -1n })])).toMatchObject({ ok: false, code: 'SETTLEMENT.CANNOT_ADJUST', message: expect.stringMatching(/settled in USD/) });
    // paid out to another merchant than the ledger's: no amount corrects that
    expect(planBooking(reported(), ledger(), [paidOut({ fee: -20n, merchantId: 'customer-C1' })])).toMatchObject({ ok: false, code: 'SETTLEMENT.CANNOT_ADJUST', message: expect.stringMatching(/merchant and fee differs/) });
    expect(planBooking(reported('PAYMENT', '13.50'), ledger(), [paidOut({ settlementCurrency: 'USD' })])).toMatchObject({ ok: false, code: 'SETTLEMENT.CANNOT_ADJUST', message: expect.stringMatching(/amount differs/) });
    expect(planBooking(reported(), ledger(), [paidOut({ settlementCurrency: 'USD', merchantId: 'customer-C1' })])).toMatchObject({ ok: false, code: 'SETTLEMENT.CANNOT_ADJUST', message: expect.stringMatching(/customer-C1/) });
  });
});

describe('refundStatusAfter', () => {
  it.each([
    [undefined, 'PROCESSING', 'PROCESSING'],
    ['PROCESSING', 'SUCCEEDED', 'SUCCEEDED'],
    ['PROCESSING', 'FAILED', 'FAILED'],
    ['SUCCEEDED', 'PROCESSING', 'SUCCEEDED'],
    ['FAILED', 'PROCESSING', 'FAILED'],
    ['SUCCEEDED', 'FAILED', 'SUCCEEDED'],
  ] as const)('known %s, then %s: %s', (known, next, after) => {
    expect(refundStatusAfter(known, next)).toBe(after);
  });
});
