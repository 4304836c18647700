import type { DataSource } from 'typeorm';
import { createEnvelope, Envelope, FeeSchedule, MESSAGE_EXAMPLES, PaymentViewV1, TOPICS } from '@upm/contracts';
import { freshDatabase, testLogger } from '@upm/shared-testing';
import { LedgerStore, PaymentEventsHandler, ReportIngestion, ReportSourceFile, SETTLEMENT_DATABASE } from '@upm/settlement';

/**
 * A fee schedule of a rate plus a fixed part, as acquiring contracts price: 2.2 % of the gross plus 1.00 HKD. A
 * batch charging exactly that matches with no discrepancy; a fee a cent off is flagged.
 */
const schedule: FeeSchedule = { feeMinor: 10n, feeRateBps: 220, feeMinorByCurrency: { HKD: 100n, JPY: 1n } };
let dataSource: DataSource;
const ledger = new LedgerStore('settlement');
const handler = new PaymentEventsHandler(ledger, schedule);
const files: ReportSourceFile[] = [];
let ingestion: ReportIngestion;
const examples = MESSAGE_EXAMPLES[TOPICS.paymentEvents.name] as Record<string, { payment: PaymentViewV1; refund?: Record<string, unknown> }>;

beforeAll(async () => {
  ({ dataSource } = await freshDatabase('upm_test_settlement_fee_schedule', SETTLEMENT_DATABASE));
  ingestion = new ReportIngestion(dataSource, ledger, [{ name: 'memory', list: async () => files }], schedule, 'settlement', testLogger());
});

afterAll(async () => {
  await dataSource.destroy();
});

const paymentOf = (paymentId: string, payment: PaymentViewV1, sequence: number): PaymentViewV1 =>
  ({ ...payment, paymentId, sequence, alipay: { ...payment.alipay, paymentRequestId: paymentId, paymentId: `A-${paymentId}` } });

/** The example's payment of 12.50 HKD succeeded, Alipay's id `A-<paymentId>`. */
const paid = (paymentId: string): Envelope =>
  createEnvelope({ type: 'PaymentSucceeded', key: paymentId, producer: 'test', data: { payment: paymentOf(paymentId, examples.PaymentSucceeded.payment, 3) } });

/** The example's refund of 5.00 HKD of the payment succeeded, Alipay's id `R-<refundId>`. */
const refunded = (paymentId: string, refundId: string): Envelope => {
  const { payment, refund } = examples.RefundSucceeded;
  return createEnvelope({
    type: 'RefundSucceeded', key: paymentId, producer: 'test',
    data: { payment: paymentOf(paymentId, payment, 4), refund: { ...refund, paymentId, refundId, alipayRefundId: `R-${refundId}` } },
  });
};

const apply = (envelope: Envelope) => dataSource.transaction((manager) => handler.apply(manager, envelope));

const ITEM_HEADER = 'settlementBatchId,customerId,acquirer,acquirerReferenceNo,referenceMerchantId,referenceStoreId,transactionType,transactionId,originalTransactionId,transactionRequestId,originalTransactionRequestId,referenceTransactionId,paymentMethodType,pspName,paymentTime,settlementTime,productCode,transactionAmountValue,transactionCurrency,settlementAmountValue,settlementCurrency,quoteCurrencyPair,quotePrice,feeAmountValue,feeCurrency,taxFeeAmountValue,taxFeeCurrency';
const SUMMARY_HEADER = 'settlementBatchId,customerId,acquirer,summaryType,settlementTime,count,settlementAmountValue,settlementCurrency,feeAmountValue,feeCurrency,taxFeeAmountValue,taxFeeCurrency';

interface Item {
  type: 'PAYMENT' | 'REFUND';
  paymentId: string;
  refundId?: string;
  /** in the report's sign, HKD cents */
  amount: number;
  fee: number;
}

const hkd = (cents: number) => (cents / 100).toFixed(2);

/** An HKD settlement batch paying out these items, each less the fee it charged, with the summary they sum to. */
function batch(batchId: string, items: readonly Item[]): void {
  const lines = items.map((i) => {
    const [id, original, request, originalRequest] = i.type === 'REFUND'
      ? [`R-${i.refundId}`, `A-${i.paymentId}`, i.refundId, i.paymentId]
      : [`A-${i.paymentId}`, '', i.paymentId, ''];
    return `${batchId},C1,Alipay_SG,,mer_7KQ2,sto_A001,${i.type},${id},${original},${request},${originalRequest},ORD-1,CONNECT_WALLET,ALIPAYHK,2026-11-27T12:06:02+08:00,2026-11-28T00:00:00+08:00,IN_STORE_PAYMENT,${hkd(i.amount)},HKD,${hkd(i.amount - i.fee)},HKD,,,${hkd(-i.fee)},HKD,0.00,HKD`;
  });
  const total = (type: string, of: readonly Item[]) =>
    `${batchId},C1,Alipay_SG,${type},2026-11-28T00:00:00+08:00,${of.length},${hkd(of.reduce((s, i) => s + i.amount - i.fee, 0))},HKD,${hkd(-of.reduce((s, i) => s + i.fee, 0))},HKD,0.00,HKD`;
  const summary = [...new Set(items.map((i) => i.type))].map((type) => total(type, items.filter((i) => i.type === type)));
  for (const [name, content] of [[`settlementItems_HKD_${batchId}_000.csv`, [ITEM_HEADER, ...lines]], [`settlementSummary_HKD_${batchId}_000.csv`, [SUMMARY_HEADER, ...summary, total('TOTAL', items)]]] as const) {
    files.push({ source: 'memory', path: `C1/20261128/${name}`, name, content: Buffer.from([...content, '<END>', ''].join('\n')) });
  }
}

const batchStatus = async (batchId: string): Promise<string> => (await dataSource.query('SELECT status FROM settlement_batches WHERE batch_id = $1', [batchId]))[0]?.status;
const transactionsOf = (paymentId: string): Promise<Array<{ kind: string; fee: string; status: string; reconciliation: string }>> =>
  dataSource.query('SELECT kind, fee::text AS fee, status, reconciliation FROM ledger_transactions WHERE payment_id = $1 ORDER BY kind', [paymentId]);
const discrepanciesOf = (paymentId: string) => dataSource.query('SELECT type, fields, expected, actual FROM discrepancies WHERE payment_id = $1', [paymentId]);

describe('a fee schedule of a rate plus a fixed part', () => {
  it('matches a batch that charges it, on a payment and on a refund, with no discrepancy', async () => {
    await apply(paid('pay_fee_ok'));
    await apply(refunded('pay_fee_ok', 'ref_fee_ok'));
    // 12.50 HKD: 2.2 % is 27.5 cents, rounded half up to 28, plus 1.00; 5.00 HKD: 11 cents plus 1.00
    expect(await transactionsOf('pay_fee_ok')).toEqual([
      expect.objectContaining({ kind: 'PAYMENT', fee: '128', status: 'EXPECTED' }),
      expect.objectContaining({ kind: 'REFUND', fee: '111', status: 'EXPECTED' }),
    ]);

    batch('20261127HKDFEE1', [
      { type: 'PAYMENT', paymentId: 'pay_fee_ok', amount: 1_250, fee: 128 },
      { type: 'REFUND', paymentId: 'pay_fee_ok', refundId: 'ref_fee_ok', amount: -500, fee: 111 },
    ]);
    const results = await ingestion.ingest();

    expect(results).toEqual([expect.objectContaining({ batchId: '20261127HKDFEE1', status: 'INGESTED' })]);
    expect(await batchStatus('20261127HKDFEE1')).toBe('RECONCILED');
    expect(await transactionsOf('pay_fee_ok')).toEqual([
      expect.objectContaining({ kind: 'PAYMENT', status: 'POSTED', reconciliation: 'MATCHED' }),
      expect.objectContaining({ kind: 'REFUND', status: 'POSTED', reconciliation: 'MATCHED' }),
    ]);
    expect(await discrepanciesOf('pay_fee_ok')).toEqual([]);
  });

  it('flags a fee a cent off the schedule\'s', async () => {
    await apply(paid('pay_fee_off'));

    batch('20261127HKDFEE2', [{ type: 'PAYMENT', paymentId: 'pay_fee_off', amount: 1_250, fee: 127 }]);
    await ingestion.ingest();

    expect(await batchStatus('20261127HKDFEE2')).toBe('DISCREPANCIES');
    expect(await discrepanciesOf('pay_fee_off')).toEqual([
      { type: 'MISMATCHED', fields: ['fee'], expected: { fee: '-1.28' }, actual: expect.objectContaining({ fee: '-1.27' }) },
    ]);
    expect(await transactionsOf('pay_fee_off')).toEqual([expect.objectContaining({ kind: 'PAYMENT', status: 'EXPECTED', reconciliation: 'MISMATCHED' })]);
  });
});
