import { z } from 'zod';
import { currencyExponent } from '../money';
import { idSchema, isoTime } from './common';

/**
 * settlement.v1.events: settlement → finance consumers and notification. Transaction-level events are keyed
 * by our paymentId; batch events by the settlement batch id. Amounts are minor units; unlike the payment
 * streams they carry a sign where money can flow either way (a batch whose refunds exceed its payments
 * settles negative, a fee given back by a cancel is positive).
 */
const currency = z
  .string()
  .regex(/^[A-Z]{3}$/)
  .refine((c) => currencyExponent(c) !== undefined, 'unsupported currency');
export const signedMoneySchema = z.object({
  currency,
  value: z.string().regex(/^(0|-?[1-9][0-9]{0,17})$/, 'minor units as an integer string, optionally negative'),
});

export const ledgerAccountTypeSchema = z.enum(['ALIPAY_RECEIVABLE', 'MERCHANT_PAYABLE', 'FEES', 'FX_DIFFERENCE', 'SETTLED_FUNDS']);
/** ADJUSTMENT: finance corrected a transaction Alipay settled differently, when resolving its discrepancy */
export const ledgerTransactionKindSchema = z.enum(['PAYMENT', 'REFUND', 'CANCEL', 'SETTLEMENT', 'ADJUSTMENT']);
export const ledgerTransactionStatusSchema = z.enum(['EXPECTED', 'POSTED']);
export const reconciliationResultSchema = z.enum(['MATCHED', 'MISMATCHED', 'MISSING_IN_REPORT', 'MISSING_IN_LEDGER']);

const ledgerEntry = z.object({
  /** `<type>:<merchantId>:<currency>` */
  account: z.string().min(1).max(200),
  accountType: ledgerAccountTypeSchema,
  direction: z.enum(['DEBIT', 'CREDIT']),
  /** minor units, positive */
  amount: z.string().regex(/^[1-9][0-9]{0,17}$/),
});

/**
 * A balanced ledger transaction was written (EXPECTED, from a payment event) or confirmed by Alipay's settlement
 * (POSTED); an ADJUSTMENT is written POSTED, in the batch that settled the transaction it corrects.
 */
export const ledgerEntriesPostedV1 = z.object({
  ledgerTransactionId: idSchema,
  kind: ledgerTransactionKindSchema,
  status: ledgerTransactionStatusSchema,
  merchantId: idSchema,
  currency,
  paymentId: idSchema.optional(),
  refundId: idSchema.optional(),
  settlementBatchId: idSchema.optional(),
  entries: z.array(ledgerEntry).min(2),
  occurredAt: isoTime,
});

/** One report row agreed with the ledger. */
export const transactionReconciledV1 = z.object({
  ledgerTransactionId: idSchema,
  kind: z.enum(['PAYMENT', 'REFUND', 'CANCEL']),
  paymentId: idSchema,
  refundId: idSchema.optional(),
  merchantId: idSchema,
  alipayTransactionId: idSchema,
  amount: signedMoneySchema,
  fee: signedMoneySchema.optional(),
  reportFile: z.string().min(1).max(256),
  /** the transaction existed only in the report and a known payment state explains it (e.g. charged, then cancelled) */
  fromReport: z.boolean().optional(),
});

/** The report and the ledger disagree; open until someone resolves it through the finance API (and again when a settlement disagrees after that). */
export const discrepancyDetectedV1 = z.object({
  discrepancyId: idSchema,
  /** UNSUPPORTED_ROW: a report row or summary line of a type settlement does not book (REFUND_REVERSAL, SETTLEMENT_FEE…), its fields in `actual` */
  type: z.enum(['MISMATCHED', 'MISSING_IN_REPORT', 'MISSING_IN_LEDGER', 'UNSUPPORTED_ROW']),
  /** OTHER: the row is of a type settlement does not book; `actual` names it (transactionType or summaryType) */
  kind: z.enum(['PAYMENT', 'REFUND', 'CANCEL', 'OTHER']),
  /** which facts differ: amount, currency, status, fee, alipayTransactionId */
  fields: z.array(z.string().max(64)),
  paymentId: idSchema.optional(),
  refundId: idSchema.optional(),
  transactionRequestId: idSchema,
  merchantId: idSchema.optional(),
  expected: z.record(z.string(), z.string()).optional(),
  actual: z.record(z.string(), z.string()).optional(),
  reportFile: z.string().max(256).optional(),
  businessDay: z.iso.date(),
  /** it had been resolved without an adjustment, and the settlement batch that came since disagrees too */
  reopened: z.boolean().optional(),
  /** a transaction paid out a second time: the settlement batch that paid it out again (one discrepancy per such batch) */
  repeatedIn: idSchema.optional(),
});

/** A settlement batch was paid out: its items summed to the summary's TOTAL and were posted. */
export const settlementBatchSettledV1 = z.object({
  settlementBatchId: idSchema,
  customerId: idSchema,
  currency,
  gross: signedMoneySchema,
  fees: signedMoneySchema,
  net: signedMoneySchema,
  settlementTime: isoTime,
  /** null when the settlement currency is the transaction currency */
  fx: z.object({ quoteCurrencyPair: z.string().max(16), quotePrice: z.string().max(32) }).nullable(),
  transactionCount: z.number().int().nonnegative(),
  /** Alipay's transaction ids of the batch (paymentId / refundId); of this part's share of it when the batch comes in parts */
  transactionIds: z.array(idSchema),
  /** our payment and refund ids of the batch (of this part's share), where known */
  paymentIds: z.array(idSchema),
  refundIds: z.array(idSchema),
  /**
   * A batch is announced in parts of at most 2,000 transactions, so that a large chain's batch still fits in a
   * Kafka message: every part repeats the batch's totals and carries its share of the ids. `part` counts from 1
   * to `parts`; act on the totals once per settlementBatchId.
   */
  part: z.number().int().positive().optional(),
  parts: z.number().int().positive().optional(),
});

/** A payment that needed review is settled by what Alipay's report proves. */
export const paymentReviewResolvedV1 = z.object({
  paymentId: idSchema,
  merchantId: idSchema,
  /** CHARGED: Alipay took the money and kept it; REVERSED: taken, then cancelled; NOT_CHARGED: no PAYMENT row in the reports of its day and the next */
  resolution: z.enum(['CHARGED', 'REVERSED', 'NOT_CHARGED']),
  amount: signedMoneySchema,
  evidence: z.string().max(512),
  reportFile: z.string().max(256),
});

export const settlementEventsV1 = {
  LedgerEntriesPosted: ledgerEntriesPostedV1,
  TransactionReconciled: transactionReconciledV1,
  DiscrepancyDetected: discrepancyDetectedV1,
  SettlementBatchSettled: settlementBatchSettledV1,
  PaymentReviewResolved: paymentReviewResolvedV1,
} as const;

export type SignedMoney = z.infer<typeof signedMoneySchema>;
export type LedgerAccountType = z.infer<typeof ledgerAccountTypeSchema>;
export type LedgerEntriesPostedV1 = z.infer<typeof ledgerEntriesPostedV1>;
export type TransactionReconciledV1 = z.infer<typeof transactionReconciledV1>;
export type DiscrepancyDetectedV1 = z.infer<typeof discrepancyDetectedV1>;
export type SettlementBatchSettledV1 = z.infer<typeof settlementBatchSettledV1>;
export type PaymentReviewResolvedV1 = z.infer<typeof paymentReviewResolvedV1>;
export type SettlementEventType = keyof typeof settlementEventsV1;

/** One example of each, for the catalog test and the AsyncAPI document. */
export const SETTLEMENT_EVENT_EXAMPLES: Record<SettlementEventType, unknown> = {
  LedgerEntriesPosted: {
    ledgerTransactionId: 'ltx_01JDZ8X3Q5', kind: 'PAYMENT', status: 'EXPECTED', merchantId: 'mer_7KQ2', currency: 'HKD', paymentId: 'pay_01JDZ8X3',
    entries: [
      { account: 'ALIPAY_RECEIVABLE:mer_7KQ2:HKD', accountType: 'ALIPAY_RECEIVABLE', direction: 'DEBIT', amount: '1250' },
      { account: 'MERCHANT_PAYABLE:mer_7KQ2:HKD', accountType: 'MERCHANT_PAYABLE', direction: 'CREDIT', amount: '1250' },
      { account: 'FEES:mer_7KQ2:HKD', accountType: 'FEES', direction: 'DEBIT', amount: '10' },
      { account: 'ALIPAY_RECEIVABLE:mer_7KQ2:HKD', accountType: 'ALIPAY_RECEIVABLE', direction: 'CREDIT', amount: '10' },
    ],
    occurredAt: '2026-11-27T04:06:02.000Z',
  },
  TransactionReconciled: {
    ledgerTransactionId: 'ltx_01JDZ8X3Q5', kind: 'PAYMENT', paymentId: 'pay_01JDZ8X3', merchantId: 'mer_7KQ2',
    alipayTransactionId: '202611271940108001001881I0204295953', amount: { currency: 'HKD', value: '1250' }, fee: { currency: 'HKD', value: '-10' },
    reportFile: '1022188000000000001/20261127/settlementItems_HKD_20261127HKD001_000.csv',
  },
  DiscrepancyDetected: {
    discrepancyId: 'dis_01JDZB2K', type: 'MISMATCHED', kind: 'PAYMENT', fields: ['amount'], paymentId: 'pay_01JDZ8X3', transactionRequestId: 'pay_01JDZ8X3',
    merchantId: 'mer_7KQ2', expected: { amount: '1250' }, actual: { amount: '1350' },
    reportFile: '1022188000000000001/20261127/transactionItems_20261127_000.csv', businessDay: '2026-11-27',
  },
  SettlementBatchSettled: {
    settlementBatchId: '20261127HKD001', customerId: '1022188000000000001', currency: 'HKD',
    gross: { currency: 'HKD', value: '750' }, fees: { currency: 'HKD', value: '-20' }, net: { currency: 'HKD', value: '730' },
    settlementTime: '2026-11-28T00:00:00+08:00', fx: null, transactionCount: 2,
    transactionIds: ['202611271940108001001881I0204295953', '202611271940108013001912I0200788498'], paymentIds: ['pay_01JDZ8X3'], refundIds: ['ref_01JDZ9'],
    part: 1, parts: 1,
  },
  PaymentReviewResolved: {
    paymentId: 'pay_01JDZ8X3', merchantId: 'mer_7KQ2', resolution: 'NOT_CHARGED', amount: { currency: 'HKD', value: '0' },
    evidence: 'no PAYMENT row for the payment in the transaction report of its day', reportFile: '1022188000000000001/20261127/transactionItems_20261127_000.csv',
  },
};
