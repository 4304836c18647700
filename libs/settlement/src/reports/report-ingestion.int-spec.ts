import type { DataSource } from 'typeorm';
import { createEnvelope, discrepancyDetectedV1, Envelope, MESSAGE_EXAMPLES, PaymentViewV1, TOPICS } from '@upm/contracts';
import { Metrics } from '@upm/shared-observability';
import { eventually, freshDatabase, testLogger } from '@upm/shared-testing';
import { SETTLEMENT_DATABASE } from '../database';
import { summaryLineRequestId } from '../domain/report-files';
import { FinanceService } from '../http/finance.service';
import { LedgerStore } from '../ledger/ledger.store';
import { PaymentEventsHandler } from '../ledger/payment-events.handler';
import { ReportIngestion } from './report-ingestion';
import type { ReportSource, ReportSourceFile } from './report-sources';

/** Report files and payment events meeting in the ledger: late events, and the two writing at once. */
let dataSource: DataSource;
const ledger = new LedgerStore('settlement');
const handler = new PaymentEventsHandler(ledger, 10n);
const files: ReportSourceFile[] = [];
let ingestion: ReportIngestion;
let finance: FinanceService;
const examples = MESSAGE_EXAMPLES[TOPICS.paymentEvents.name] as Record<string, { payment: PaymentViewV1 }>;

beforeAll(async () => {
  ({ dataSource } = await freshDatabase('upm_test_report_ingestion', SETTLEMENT_DATABASE));
  ingestion = new ReportIngestion(dataSource, ledger, [{ name: 'memory', list: async () => files }], 10n, 'settlement', testLogger());
  finance = new FinanceService(dataSource, ledger, new Metrics('test'));
});

afterAll(async () => {
  await dataSource.destroy();
});

/** One event of a payment from the contract's example, under its own id (Alipay's request id is our payment id, its own `A-<paymentId>`). */
function event(paymentId: string, type: string, sequence: number): Envelope {
  const { payment } = examples[type];
  return createEnvelope({
    type, key: paymentId, producer: 'test',
    data: { payment: { ...payment, paymentId, sequence, alipay: { ...payment.alipay, paymentRequestId: paymentId, paymentId: `A-${paymentId}` } } },
  });
}

/** A payment's success as its event tells it, Alipay having charged it at `paymentTime`. */
function eventAt(paymentId: string, paymentTime: string): Envelope {
  const envelope = event(paymentId, 'PaymentSucceeded', 3);
  const { payment } = envelope.data as { payment: PaymentViewV1 };
  return { ...envelope, data: { payment: { ...payment, alipay: { ...payment.alipay, paymentTime } } } };
}

/**
 * A payment's success on the 26th, a day no transaction file comes for here, so a batch's word on it is all the reports
 * say: one of the 27th, whose files are in from the first test on, would be missing from them as its event came.
 */
const succeededUnfiled = (paymentId: string) => eventAt(paymentId, '2026-11-26T12:06:02+08:00');

const apply = (envelope: Envelope) => dataSource.transaction((manager) => handler.apply(manager, envelope));

const TX_HEADER = 'customerId,acquirer,acquirerReferenceNo,referenceMerchantId,referenceStoreId,transactionType,transactionId,originalTransactionId,transactionRequestId,originalTransactionRequestId,referenceTransactionId,orderDescription,paymentMethodType,pspName,paymentTime,productCode,transactionAmountValue,transactionCurrency';

/** The day's transaction file listing a payment for each id, of 12.50 HKD as the example's payment unless told. */
function transactionFile(seq: string, ...payments: Array<string | { id: string; amount: string }>): void {
  const rows = payments
    .map((p) => (typeof p === 'string' ? { id: p, amount: '12.50' } : p))
    .map(({ id, amount }) => `C1,Alipay_SG,,mer_7KQ2,sto_A001,PAYMENT,A-${id},,${id},,ORD-1,coffee,CONNECT_WALLET,ALIPAYHK,2026-11-27T12:06:02+08:00,IN_STORE_PAYMENT,${amount},HKD`);
  const name = `transactionItems_20261127_${seq}.csv`;
  files.push({ source: 'memory', path: `C1/20261127/${name}`, name, content: Buffer.from([TX_HEADER, ...rows, '<END>', ''].join('\n')) });
}

const ITEM_HEADER = 'settlementBatchId,customerId,acquirer,acquirerReferenceNo,referenceMerchantId,referenceStoreId,transactionType,transactionId,originalTransactionId,transactionRequestId,originalTransactionRequestId,referenceTransactionId,paymentMethodType,pspName,paymentTime,settlementTime,productCode,transactionAmountValue,transactionCurrency,settlementAmountValue,settlementCurrency,quoteCurrencyPair,quotePrice,feeAmountValue,feeCurrency,taxFeeAmountValue,taxFeeCurrency';
const SUMMARY_HEADER = 'settlementBatchId,customerId,acquirer,summaryType,settlementTime,count,settlementAmountValue,settlementCurrency,feeAmountValue,feeCurrency,taxFeeAmountValue,taxFeeCurrency';

/** A settlement batch paying out one payment of 12.50 HKD as the example's payment unless told, less Alipay's fee of 0.10 unless told. */
function settlementBatch(batchId: string, paymentId: string, amount = '12.50', fee = '0.10'): void {
  const net = (Number(amount) - Number(fee)).toFixed(2);
  const item = `${batchId},C1,Alipay_SG,,mer_7KQ2,sto_A001,PAYMENT,A-${paymentId},,${paymentId},,ORD-1,CONNECT_WALLET,ALIPAYHK,2026-11-27T12:06:02+08:00,2026-11-28T00:00:00+08:00,IN_STORE_PAYMENT,${amount},HKD,${net},HKD,,,-${fee},HKD,0.00,HKD`;
  const total = (type: string) => `${batchId},C1,Alipay_SG,${type},2026-11-28T00:00:00+08:00,1,${net},HKD,-${fee},HKD,0.00,HKD`;
  for (const [name, lines] of [[`settlementItems_HKD_${batchId}_000.csv`, [ITEM_HEADER, item]], [`settlementSummary_HKD_${batchId}_000.csv`, [SUMMARY_HEADER, total('PAYMENT'), total('TOTAL')]]] as const) {
    files.push({ source: 'memory', path: `C1/20261128/${name}`, name, content: Buffer.from([...lines, '<END>', ''].join('\n')) });
  }
}

/** A settlement batch taking back one refund of 5.00 HKD and its fee of 0.10 (Alipay's refund id `R-<refundId>`). */
function refundBatch(batchId: string, paymentId: string, refundId: string): void {
  const item = `${batchId},C1,Alipay_SG,,mer_7KQ2,sto_A001,REFUND,R-${refundId},A-${paymentId},${refundId},${paymentId},ORD-1,CONNECT_WALLET,ALIPAYHK,2026-11-27T13:00:00+08:00,2026-11-28T00:00:00+08:00,IN_STORE_PAYMENT,-5.00,HKD,-5.10,HKD,,,-0.10,HKD,0.00,HKD`;
  const total = (type: string) => `${batchId},C1,Alipay_SG,${type},2026-11-28T00:00:00+08:00,1,-5.10,HKD,-0.10,HKD,0.00,HKD`;
  for (const [name, lines] of [[`settlementItems_HKD_${batchId}_000.csv`, [ITEM_HEADER, item]], [`settlementSummary_HKD_${batchId}_000.csv`, [SUMMARY_HEADER, total('REFUND'), total('TOTAL')]]] as const) {
    files.push({ source: 'memory', path: `C1/20261128/${name}`, name, content: Buffer.from([...lines, '<END>', ''].join('\n')) });
  }
}

/** A USD settlement batch paying out one HKD payment of 12.50, converted at 0.128 (1.60 USD), less Alipay's fee of 0.01 USD. */
function fxBatch(batchId: string, paymentId: string): void {
  const item = `${batchId},C1,Alipay_SG,,mer_7KQ2,sto_A001,PAYMENT,A-${paymentId},,${paymentId},,ORD-1,CONNECT_WALLET,ALIPAYHK,2026-11-27T12:06:02+08:00,2026-11-28T00:00:00+08:00,IN_STORE_PAYMENT,12.50,HKD,1.59,USD,HKD/USD,0.128,-0.01,USD,0.00,USD`;
  const total = (type: string) => `${batchId},C1,Alipay_SG,${type},2026-11-28T00:00:00+08:00,1,1.59,USD,-0.01,USD,0.00,USD`;
  for (const [name, lines] of [[`settlementItems_USD_${batchId}_000.csv`, [ITEM_HEADER, item]], [`settlementSummary_USD_${batchId}_000.csv`, [SUMMARY_HEADER, total('PAYMENT'), total('TOTAL')]]] as const) {
    files.push({ source: 'memory', path: `C1/20261128/${name}`, name, content: Buffer.from([...lines, '<END>', ''].join('\n')) });
  }
}

/** A refund event of a payment from the contract's example, for refund `refundId` (Alipay's id `R-<refundId>`). */
function refundEvent(paymentId: string, refundId: string, type: 'RefundRequested' | 'RefundSucceeded', sequence: number): Envelope {
  const { payment, refund } = examples[type] as unknown as { payment: PaymentViewV1; refund: Record<string, unknown> };
  return createEnvelope({
    type, key: paymentId, producer: 'test',
    data: {
      payment: { ...payment, paymentId, sequence, alipay: { ...payment.alipay, paymentRequestId: paymentId, paymentId: `A-${paymentId}` } },
      refund: { ...refund, paymentId, refundId, ...(type === 'RefundSucceeded' ? { alipayRefundId: `R-${refundId}` } : {}) },
    },
  });
}

/** A settlement batch paying out `count` payments of 12.50 HKD less 0.10, of ids `<prefix>_<n>`. */
function largeBatch(batchId: string, prefix: string, count: number): void {
  const items = Array.from({ length: count }, (_, n) => `${batchId},C1,Alipay_SG,,mer_7KQ2,sto_A001,PAYMENT,A-${prefix}_${n},,${prefix}_${n},,ORD-1,CONNECT_WALLET,ALIPAYHK,2026-11-27T12:06:02+08:00,2026-11-28T00:00:00+08:00,IN_STORE_PAYMENT,12.50,HKD,12.40,HKD,,,-0.10,HKD,0.00,HKD`);
  const total = (type: string) => `${batchId},C1,Alipay_SG,${type},2026-11-28T00:00:00+08:00,${count},${(count * 12.4).toFixed(2)},HKD,-${(count * 0.1).toFixed(2)},HKD,0.00,HKD`;
  for (const [name, lines] of [[`settlementItems_HKD_${batchId}_000.csv`, [ITEM_HEADER, ...items]], [`settlementSummary_HKD_${batchId}_000.csv`, [SUMMARY_HEADER, total('PAYMENT'), total('TOTAL')]]] as const) {
    files.push({ source: 'memory', path: `C1/20261128/${name}`, name, content: Buffer.from([...lines, '<END>', ''].join('\n')) });
  }
}

const transactionOf = async (paymentId: string) =>
  (await dataSource.query("SELECT id, origin, status, reconciliation FROM ledger_transactions WHERE source_key = $1", [`PAYMENT:${paymentId}`]))[0];
const discrepanciesOf = (paymentId: string) =>
  dataSource.query('SELECT type, status, resolved_by, resolution_note, ledger_transaction_id FROM discrepancies WHERE payment_id = $1 ORDER BY type', [paymentId]);

/** A transaction file row of a payment or its cancel (Alipay's id `A-<paymentId>`). */
const reportRow = (paymentId: string, type: 'PAYMENT' | 'CANCEL', time: string, amount: string) =>
  `C1,Alipay_SG,,mer_7KQ2,sto_A001,${type},A-${paymentId},,${paymentId},${type === 'CANCEL' ? paymentId : ''},ORD-1,coffee,CONNECT_WALLET,ALIPAYHK,${time},IN_STORE_PAYMENT,${amount},HKD`;

/** A transaction file of `day` (yyyymmdd) with these rows. */
function dayFile(day: string, seq: string, ...lines: string[]): void {
  const name = `transactionItems_${day}_${seq}.csv`;
  files.push({ source: 'memory', path: `C1/${day}/${name}`, name, content: Buffer.from([TX_HEADER, ...lines, '<END>', ''].join('\n')) });
}

/** The TransactionReconciled events announced for a payment, oldest first. */
const reconciledOf = async (paymentId: string): Promise<unknown[]> =>
  (await dataSource.query("SELECT payload->'data' AS data FROM outbox WHERE type = 'TransactionReconciled' AND key = $1 ORDER BY seq", [paymentId])).map((r: { data: unknown }) => r.data);

/** What the ledger owes the merchant for a payment, debit-positive minor units. */
const payableOf = async (paymentId: string): Promise<string> =>
  (await dataSource.query(
    `SELECT COALESCE(SUM(CASE WHEN e.direction = 'DEBIT' THEN e.amount ELSE -e.amount END), 0)::text AS payable
     FROM ledger_entries e JOIN ledger_transactions t ON t.id = e.transaction_id WHERE t.payment_id = $1 AND e.account_type = 'MERCHANT_PAYABLE'`,
    [paymentId],
  ))[0].payable;

/**
 * The success of a payment a batch paid out before the ledger had it: written, posted in that batch and
 * matched, the discrepancy the batch raised resolved, and the batch reconciled.
 */
async function succeedsAfterItsBatch(paymentId: string, batchId: string, raised: string): Promise<void> {
  const succeeded = event(paymentId, 'PaymentSucceeded', 3);
  await apply(succeeded);
  const written = await transactionOf(paymentId);
  expect(written).toMatchObject({ origin: 'EVENT', status: 'POSTED', reconciliation: 'MATCHED' });
  expect(await discrepanciesOf(paymentId)).toEqual([{
    type: raised, status: 'RESOLVED', resolved_by: 'settlement', ledger_transaction_id: written.id,
    resolution_note: `written from PaymentSucceeded ${succeeded.id}; paid out in settlement batch ${batchId}`,
  }]);
  expect(await finance.batch(batchId)).toMatchObject({ status: 'RECONCILED', items: [{ ledgerTransactionId: written.id, result: 'MATCHED' }] });
  expect(await reconciledOf(paymentId)).toEqual([expect.objectContaining({ ledgerTransactionId: written.id, amount: { currency: 'HKD', value: '1250' }, fee: { currency: 'HKD', value: '-10' } })]);
}

describe('ReportIngestion and payment events', () => {
  it('writes a transaction from the report and its own payment event one after the other, never both at once', async () => {
    await apply(event('pay_race', 'PaymentNeedsReview', 2));
    transactionFile('000', 'pay_race');

    // the ingestion stops once it has read the ledger, before writing the payment from the report
    const blocker = dataSource.createQueryRunner();
    await blocker.connect();
    await blocker.startTransaction();
    await blocker.query('LOCK TABLE tracked_payments IN ACCESS EXCLUSIVE MODE');
    const waiting = async (n: number) => {
      const [{ count }] = await dataSource.query('SELECT count(*)::int AS count FROM pg_locks WHERE NOT granted AND database = (SELECT oid FROM pg_database WHERE datname = current_database())');
      return count >= n ? true : undefined;
    };
    const ingesting = ingestion.ingest();
    await eventually(() => waiting(1));
    // the payment's success arrives meanwhile
    const applying = apply(event('pay_race', 'PaymentSucceeded', 3));
    await eventually(() => waiting(2));
    await blocker.commitTransaction();
    await blocker.release();
    expect((await ingesting).map((r) => r.status)).toEqual(['INGESTED']);
    await applying;

    // the report came first: the payment is written from it, matched, and the event finds it there
    const written = await transactionOf('pay_race');
    expect(written).toMatchObject({ origin: 'REPORT', reconciliation: 'MATCHED' });
    const [{ ledger_transaction_id: matched }] = await dataSource.query("SELECT ledger_transaction_id FROM reconciliations WHERE transaction_request_id = 'pay_race'");
    expect(matched).toBe(written.id);
    expect(await discrepanciesOf('pay_race')).toEqual([]);
    expect(await dataSource.query("SELECT review_resolution, status FROM tracked_payments WHERE payment_id = 'pay_race'")).toEqual([{ review_resolution: 'CHARGED', status: 'SUCCEEDED' }]);
  });

  it('closes a MISSING_IN_LEDGER discrepancy once the lagging payment event writes what the report listed', async () => {
    transactionFile('001', 'pay_lagging', { id: 'pay_lagging_other', amount: '13.50' });
    expect((await ingestion.ingest()).filter((r) => r.status === 'INGESTED')).toHaveLength(1);
    expect(await discrepanciesOf('pay_lagging')).toMatchObject([{ type: 'MISSING_IN_LEDGER', status: 'OPEN' }]);

    const succeeded = event('pay_lagging', 'PaymentSucceeded', 3);
    await apply(succeeded);
    const written = await transactionOf('pay_lagging');
    expect(written).toMatchObject({ origin: 'EVENT', reconciliation: 'MATCHED' });
    expect(await discrepanciesOf('pay_lagging')).toEqual([
      { type: 'MISSING_IN_LEDGER', status: 'RESOLVED', resolved_by: 'settlement', resolution_note: `written from PaymentSucceeded ${succeeded.id}`, ledger_transaction_id: written.id },
    ]);
    // the report's row matched in the end: announced as when the event comes first, once, a redelivered event announcing nothing
    await apply({ ...succeeded, id: `${succeeded.id}-again` });
    expect(await reconciledOf('pay_lagging')).toEqual([{
      ledgerTransactionId: written.id, kind: 'PAYMENT', paymentId: 'pay_lagging', merchantId: 'mer_7KQ2', alipayTransactionId: 'A-pay_lagging',
      amount: { currency: 'HKD', value: '1250' }, reportFile: 'C1/20261127/transactionItems_20261127_001.csv',
    }]);

    // the event says 12.50 where the report said 13.50: that stays for finance to look at
    await apply(event('pay_lagging_other', 'PaymentSucceeded', 3));
    expect(await transactionOf('pay_lagging_other')).toMatchObject({ reconciliation: null });
    expect(await discrepanciesOf('pay_lagging_other')).toMatchObject([{ type: 'MISSING_IN_LEDGER', status: 'OPEN', ledger_transaction_id: null }]);
    expect(await reconciledOf('pay_lagging_other')).toEqual([]);
  });

  it('posts a transaction a batch paid out before its payment event came in that batch, as if it had been there', async () => {
    settlementBatch('20261127HKD001', 'pay_lagging_settled');
    expect((await ingestion.ingest()).filter((r) => r.status === 'INGESTED')).toHaveLength(1);
    expect(await finance.batch('20261127HKD001')).toMatchObject({ status: 'DISCREPANCIES', items: [{ ledgerTransactionId: null, result: 'MISSING_IN_LEDGER' }] });

    await succeedsAfterItsBatch('pay_lagging_settled', '20261127HKD001', 'MISSING_IN_LEDGER');
    // the batch holds the transaction and its payout, which clear the receivable between them, as when the two came in order
    const inBatch = (await finance.transactions({ batchId: '20261127HKD001' })).transactions as Array<{ kind: string; status: string; reconciliation: string; entries: Array<{ account: string; direction: string; amount: string }> }>;
    expect(inBatch.map((t) => [t.kind, t.status, t.reconciliation])).toEqual([['SETTLEMENT', 'POSTED', 'MATCHED'], ['PAYMENT', 'POSTED', 'MATCHED']]);
    const receivable = inBatch.flatMap((t) => t.entries).filter((e) => e.account === 'ALIPAY_RECEIVABLE:mer_7KQ2:HKD');
    expect(receivable.reduce((sum, e) => sum + (e.direction === 'DEBIT' ? 1n : -1n) * BigInt(e.amount), 0n)).toBe(0n);

    // a batch that charged another fee than the ledger expects: that stays for finance, the transaction unposted
    settlementBatch('20261127HKD003', 'pay_lagging_fee', '12.50', '0.20');
    expect((await ingestion.ingest()).filter((r) => r.status === 'INGESTED')).toHaveLength(1);
    await apply(succeededUnfiled('pay_lagging_fee'));
    expect(await transactionOf('pay_lagging_fee')).toMatchObject({ status: 'EXPECTED', reconciliation: null });
    expect(await discrepanciesOf('pay_lagging_fee')).toMatchObject([{ type: 'MISSING_IN_LEDGER', status: 'OPEN', ledger_transaction_id: null }]);
    expect(await finance.batch('20261127HKD003')).toMatchObject({ status: 'DISCREPANCIES', items: [{ ledgerTransactionId: null, result: 'MISSING_IN_LEDGER' }] });
  });

  it('posts a payment a batch paid out while its saga was still in doubt once its success comes, and closes the status discrepancy', async () => {
    await apply(event('pay_doubt_settled', 'PaymentProcessing', 1));
    settlementBatch('20261127HKD008', 'pay_doubt_settled');
    expect((await ingestion.ingest()).filter((r) => r.status === 'INGESTED')).toHaveLength(1);
    const [found] = (await finance.discrepancies({ paymentId: 'pay_doubt_settled' })).discrepancies;
    expect(found).toMatchObject({ type: 'MISMATCHED', fields: ['status'], status: 'OPEN', ledgerTransactionId: null, expected: { status: 'PROCESSING' } });
    expect(await finance.batch('20261127HKD008')).toMatchObject({ status: 'DISCREPANCIES', items: [{ ledgerTransactionId: null, result: 'MISMATCHED' }] });

    await succeedsAfterItsBatch('pay_doubt_settled', '20261127HKD008', 'MISMATCHED');
  });

  it('posts a refund a batch took back while it was still processing once its success comes, and closes the status discrepancy', async () => {
    await apply(event('pay_refund_doubt', 'PaymentSucceeded', 3));
    await apply(refundEvent('pay_refund_doubt', 'ref_doubt', 'RefundRequested', 4));
    refundBatch('20261127HKD010', 'pay_refund_doubt', 'ref_doubt');
    expect((await ingestion.ingest()).filter((r) => r.status === 'INGESTED')).toHaveLength(1);
    const refundDiscrepancies = () => dataSource.query("SELECT type, fields, status, ledger_transaction_id FROM discrepancies WHERE refund_id = 'ref_doubt'");
    expect(await refundDiscrepancies()).toEqual([{ type: 'MISMATCHED', fields: ['status'], status: 'OPEN', ledger_transaction_id: null }]);

    await apply(refundEvent('pay_refund_doubt', 'ref_doubt', 'RefundSucceeded', 5));
    const [refund] = await dataSource.query("SELECT id, status, reconciliation, settlement_batch_id FROM ledger_transactions WHERE source_key = 'REFUND:ref_doubt'");
    expect(refund).toMatchObject({ status: 'POSTED', reconciliation: 'MATCHED', settlement_batch_id: '20261127HKD010' });
    expect(await refundDiscrepancies()).toEqual([{ type: 'MISMATCHED', fields: ['status'], status: 'RESOLVED', ledger_transaction_id: refund.id }]);
    expect(await finance.batch('20261127HKD010')).toMatchObject({ status: 'RECONCILED', items: [{ ledgerTransactionId: refund.id, result: 'MATCHED' }] });
  });

  it('lets finance book a transaction the ledger never heard of as the batch that paid it out has it, once', async () => {
    transactionFile('003', 'pay_unheard', 'pay_unheard_unsettled');
    settlementBatch('20261127HKD004', 'pay_unheard');
    expect((await ingestion.ingest()).filter((r) => r.status === 'INGESTED')).toHaveLength(2);
    const open = async (paymentId: string) => (await finance.discrepancies({ paymentId, status: 'OPEN' })).discrepancies.map((d: { discrepancyId: string; type: string }) => ({ id: d.discrepancyId, type: d.type }));
    const [unheard] = await open('pay_unheard');
    const [unsettled] = await open('pay_unheard_unsettled');
    expect([unheard.type, unsettled.type]).toEqual(['MISSING_IN_LEDGER', 'MISSING_IN_LEDGER']);
    const resolution = { resolvedBy: 'finance@chain.example', note: 'Alipay charged it; book it as settled', adjust: true };

    // the transaction file alone moves no money: nothing to book until a batch pays it out
    await expect(finance.resolveDiscrepancy(unsettled.id, resolution)).rejects.toMatchObject({ status: 422, code: 'SETTLEMENT.NOT_SETTLED' });
    expect(await open('pay_unheard_unsettled')).toEqual([unsettled]);

    const resolved = await finance.resolveDiscrepancy(unheard.id, resolution);
    const written = await transactionOf('pay_unheard');
    expect(written).toMatchObject({ origin: 'RESOLUTION', status: 'POSTED', reconciliation: 'MATCHED' });
    expect(resolved).toMatchObject({ status: 'RESOLVED', resolvedBy: resolution.resolvedBy, adjustmentTransactionId: written.id, ledgerTransactionId: written.id });
    expect(await finance.batch('20261127HKD004')).toMatchObject({ status: 'RECONCILED', items: [{ ledgerTransactionId: written.id, result: 'MATCHED' }] });
    const inBatch = (await finance.transactions({ batchId: '20261127HKD004' })).transactions as Array<{ kind: string; amount: { value: string }; fee: { value: string }; entries: Array<{ account: string; direction: string; amount: string }> }>;
    expect(inBatch.map((t) => [t.kind, t.amount.value, t.fee.value])).toEqual([['SETTLEMENT', '1240', '0'], ['PAYMENT', '1250', '10']]);
    const receivable = inBatch.flatMap((t) => t.entries).filter((e) => e.account === 'ALIPAY_RECEIVABLE:mer_7KQ2:HKD');
    expect(receivable.reduce((sum, e) => sum + (e.direction === 'DEBIT' ? 1n : -1n) * BigInt(e.amount), 0n)).toBe(0n);

    // booked as the batch would have matched it had the transaction been there: announced so, once
    const announced = [expect.objectContaining({
      ledgerTransactionId: written.id, kind: 'PAYMENT', paymentId: 'pay_unheard', alipayTransactionId: 'A-pay_unheard', amount: { currency: 'HKD', value: '1250' }, fee: { currency: 'HKD', value: '-10' },
    })];
    expect(await reconciledOf('pay_unheard')).toEqual(announced);

    // the payment event that comes after all writes nothing more
    await apply(event('pay_unheard', 'PaymentSucceeded', 3));
    expect(await dataSource.query("SELECT id FROM ledger_transactions WHERE payment_id = 'pay_unheard'")).toEqual([{ id: written.id }]);
    expect(await reconciledOf('pay_unheard')).toEqual(announced);
  });

  it('books the fee a batch charged for a transaction whose payment event came after it expecting another, as if the event had come first', async () => {
    settlementBatch('20261127HKD005', 'pay_unheard_fee', '12.50', '0.20');
    expect((await ingestion.ingest()).filter((r) => r.status === 'INGESTED')).toHaveLength(1);
    await apply(succeededUnfiled('pay_unheard_fee'));
    const [found] = (await finance.discrepancies({ paymentId: 'pay_unheard_fee' })).discrepancies;
    expect(found).toMatchObject({ type: 'MISSING_IN_LEDGER', status: 'OPEN' });
    // the event disagrees with the payout: nothing is posted until finance says so
    expect(await transactionOf('pay_unheard_fee')).toMatchObject({ origin: 'EVENT', status: 'EXPECTED' });
    expect(await finance.batch('20261127HKD005')).toMatchObject({ status: 'DISCREPANCIES', items: [{ ledgerTransactionId: null, result: 'MISSING_IN_LEDGER' }] });

    // Alipay's payout prevails, as it does for a transaction the ledger had when the batch came: posted there, with an adjustment for the fee
    const resolved = await finance.resolveDiscrepancy(found.discrepancyId as string, { resolvedBy: 'finance@chain.example', note: 'Alipay charged 0.20', adjust: true });
    const written = await transactionOf('pay_unheard_fee');
    expect(written).toMatchObject({ origin: 'EVENT', status: 'POSTED', reconciliation: 'MATCHED' });
    expect(resolved).toMatchObject({ status: 'RESOLVED', ledgerTransactionId: written.id, adjustmentTransactionId: expect.stringMatching(/^ltx_/) });
    expect(resolved.adjustmentTransactionId).not.toBe(written.id);
    const inBatch = (await finance.transactions({ batchId: '20261127HKD005' })).transactions as Array<{ kind: string; amount: { value: string }; fee: { value: string }; entries: Array<{ account: string; direction: string; amount: string }> }>;
    expect(inBatch.map((t) => [t.kind, t.amount.value, t.fee.value])).toEqual([['SETTLEMENT', '1230', '0'], ['PAYMENT', '1250', '10'], ['ADJUSTMENT', '0', '10']]);
    const receivable = inBatch.flatMap((t) => t.entries).filter((e) => e.account === 'ALIPAY_RECEIVABLE:mer_7KQ2:HKD');
    expect(receivable.reduce((sum, e) => sum + (e.direction === 'DEBIT' ? 1n : -1n) * BigInt(e.amount), 0n)).toBe(0n);
    expect(await finance.batch('20261127HKD005')).toMatchObject({ status: 'RECONCILED', items: [{ ledgerTransactionId: written.id, result: 'MATCHED' }] });
    expect(await reconciledOf('pay_unheard_fee')).toEqual([expect.objectContaining({ ledgerTransactionId: written.id, fee: { currency: 'HKD', value: '-20' } })]);
  });

  it('opens a discrepancy resolved before its batch again without that resolution, which it keeps among the previous ones', async () => {
    await apply(succeededUnfiled('pay_reopened'));
    transactionFile('002', { id: 'pay_reopened', amount: '13.50' });
    expect((await ingestion.ingest()).filter((r) => r.status === 'INGESTED')).toHaveLength(1);
    const discrepancy = async () => (await finance.discrepancies({ paymentId: 'pay_reopened' })).discrepancies;
    const [found] = await discrepancy();
    expect(found).toMatchObject({ type: 'MISMATCHED', fields: ['amount'], status: 'OPEN', previousResolutions: [] });
    const note = { resolvedBy: 'finance@chain.example', note: 'Alipay confirms 13.50' };
    const resolved = await finance.resolveDiscrepancy(found.discrepancyId as string, { ...note, adjust: false });

    // the batch disagrees too: open again, with no resolution of its own yet, and the earlier one on record
    settlementBatch('20261127HKD002', 'pay_reopened', '13.50');
    expect((await ingestion.ingest()).filter((r) => r.status === 'INGESTED')).toHaveLength(1);
    const earlier = {
      resolvedBy: note.resolvedBy, resolutionNote: note.note, resolvedAt: resolved.resolvedAt, reopenedAt: expect.any(Date),
      reopenedBy: 'C1/20261128/settlementItems_HKD_20261127HKD002_000.csv',
    };
    expect(await discrepancy()).toEqual([
      expect.objectContaining({ discrepancyId: found.discrepancyId, status: 'OPEN', resolvedBy: null, resolutionNote: null, resolvedAt: null, previousResolutions: [earlier] }),
    ]);

    // resolved anew, with the adjustment the batch now allows; the earlier resolution stays on record
    const adjusted = await finance.resolveDiscrepancy(found.discrepancyId as string, { resolvedBy: 'lead@chain.example', note: 'adjusted to what Alipay settled', adjust: true });
    expect(adjusted).toMatchObject({
      status: 'RESOLVED', resolvedBy: 'lead@chain.example', resolutionNote: 'adjusted to what Alipay settled', adjustmentTransactionId: expect.any(String), previousResolutions: [earlier],
    });
    // the ledger now holds what Alipay settled: the item matches it, and the batch is reconciled, as after booking a late transaction
    const written = await transactionOf('pay_reopened');
    expect(await finance.batch('20261127HKD002')).toMatchObject({ status: 'RECONCILED', items: [{ ledgerTransactionId: written.id, result: 'MATCHED' }] });
    expect(await dataSource.query("SELECT reconciliation FROM ledger_transactions WHERE kind = 'SETTLEMENT' AND settlement_batch_id = '20261127HKD002'")).toEqual([{ reconciliation: 'MATCHED' }]);
  });

  it('reads the files after one that fails for an unforeseen reason, and tries that one again at the next look', async () => {
    // the database refuses anything about one payment, as a broken row or an outage of one table would
    await dataSource.query(`CREATE FUNCTION refuse_poison() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN IF NEW.transaction_request_id = 'pay_poison' THEN RAISE EXCEPTION 'poisoned row'; END IF; RETURN NEW; END $$`);
    await dataSource.query('CREATE TRIGGER refuse_poison BEFORE INSERT ON reconciliations FOR EACH ROW EXECUTE FUNCTION refuse_poison()');
    transactionFile('006', 'pay_poison');
    settlementBatch('20261127HKD007', 'pay_after_poison');
    const looked = (await ingestion.ingest()).filter((r) => r.status !== 'DUPLICATE');
    expect(looked.map((r) => [r.path.split('/').pop(), r.status, r.reason])).toEqual([
      ['transactionItems_20261127_006.csv', 'FAILED', 'poisoned row'],
      ['settlementItems_HKD_20261127HKD007_000.csv', 'INGESTED', undefined],
    ]);
    // nothing of the failed file was kept, so it is not taken for one seen before
    expect((await finance.files()).files.filter((f: { path: string }) => f.path.endsWith('_006.csv'))).toEqual([]);

    await dataSource.query('DROP TRIGGER refuse_poison ON reconciliations');
    await dataSource.query('DROP FUNCTION refuse_poison');
    expect((await ingestion.ingest()).filter((r) => r.status !== 'DUPLICATE').map((r) => [r.path.split('/').pop(), r.status])).toEqual([
      ['transactionItems_20261127_006.csv', 'INGESTED'],
    ]);
  });

  it('writes a cancel its day\'s file lists from the report when an earlier day\'s file charged the payment in review', async () => {
    // a pay in doubt just before midnight whose cancel never got an answer: Alipay charged it on the 27th, and
    // the cancel went through on the 28th, so each day's file lists one of the two
    await apply(event('pay_midnight', 'PaymentNeedsReview', 2));
    const row = (type: string, time: string, amount: string) =>
      `C1,Alipay_SG,,mer_7KQ2,sto_A001,${type},A-pay_midnight,,pay_midnight,${type === 'CANCEL' ? 'pay_midnight' : ''},ORD-1,coffee,CONNECT_WALLET,ALIPAYHK,${time},IN_STORE_PAYMENT,${amount},HKD`;
    for (const [day, line] of [['20261127', row('PAYMENT', '2026-11-27T23:59:50+08:00', '12.50')], ['20261128', row('CANCEL', '2026-11-28T00:00:40+08:00', '-12.50')]]) {
      const name = `transactionItems_${day}_007.csv`;
      files.push({ source: 'memory', path: `C1/${day}/${name}`, name, content: Buffer.from([TX_HEADER, line, '<END>', ''].join('\n')) });
    }
    expect((await ingestion.ingest()).filter((r) => r.status === 'INGESTED')).toHaveLength(2);

    // the ledger holds the charge and the cancel that reversed it, as Alipay does: nothing is owed to the merchant for it
    const written = await dataSource.query("SELECT kind, origin FROM ledger_transactions WHERE payment_id = 'pay_midnight' ORDER BY kind");
    expect(written).toEqual([{ kind: 'CANCEL', origin: 'REPORT' }, { kind: 'PAYMENT', origin: 'REPORT' }]);
    const [{ payable }] = await dataSource.query(
      `SELECT COALESCE(SUM(CASE WHEN e.direction = 'DEBIT' THEN e.amount ELSE -e.amount END), 0)::text AS payable
       FROM ledger_entries e JOIN ledger_transactions t ON t.id = e.transaction_id WHERE t.payment_id = 'pay_midnight' AND e.account_type = 'MERCHANT_PAYABLE'`,
    );
    expect(payable).toBe('0');
    expect(await discrepanciesOf('pay_midnight')).toEqual([]);
  });

  it('publishes a review resolved CHARGED again as REVERSED once the next day\'s file lists its cancel, in either order of the files', async () => {
    for (const [paymentId, order] of [['pay_revised', ['20261127', '20261128']], ['pay_revised_late', ['20261128', '20261127']]] as const) {
      await apply(event(paymentId, 'PaymentNeedsReview', 2));
      const lines: Record<string, string> = {
        '20261127': reportRow(paymentId, 'PAYMENT', '2026-11-27T23:59:50+08:00', '12.50'),
        '20261128': reportRow(paymentId, 'CANCEL', '2026-11-28T00:00:40+08:00', '-12.50'),
      };
      for (const day of order) {
        dayFile(day, '008', lines[day]);
        expect((await ingestion.ingest()).filter((r) => r.status === 'INGESTED')).toHaveLength(1);
      }
      expect(await dataSource.query('SELECT kind FROM ledger_transactions WHERE payment_id = $1 ORDER BY kind', [paymentId])).toEqual([{ kind: 'CANCEL' }, { kind: 'PAYMENT' }]);
      expect(await payableOf(paymentId)).toBe('0');
      expect(await dataSource.query('SELECT type, status FROM discrepancies WHERE payment_id = $1', [paymentId])).toEqual(
        order[0] === '20261127' ? [] : [{ type: 'MISMATCHED', status: 'RESOLVED' }],
      );
      expect((await finance.payment(paymentId)).reviewResolution).toBe('REVERSED');
      const published = await dataSource.query("SELECT payload->'data'->>'resolution' AS resolution FROM outbox WHERE key = $1 AND type = 'PaymentReviewResolved' ORDER BY seq", [paymentId]);
      expect(published.map((p: { resolution: string }) => p.resolution).pop()).toBe('REVERSED');
    }
  });

  it('gives back with a cancel a report lists the fee its payment was booked with, though the fee schedule changed in between', async () => {
    await apply(event('pay_cancel_old_fee', 'PaymentNeedsReview', 2));
    dayFile('20261127', '040', reportRow('pay_cancel_old_fee', 'PAYMENT', '2026-11-27T23:59:50+08:00', '12.50'));
    expect((await ingestion.ingest()).filter((r) => r.status === 'INGESTED')).toHaveLength(1);
    // the schedule changed before the next day's file came
    const repriced = new ReportIngestion(dataSource, ledger, [{ name: 'memory', list: async () => files }], 30n, 'settlement', testLogger());
    dayFile('20261128', '040', reportRow('pay_cancel_old_fee', 'CANCEL', '2026-11-28T00:00:40+08:00', '-12.50'));
    expect((await repriced.ingest()).filter((r) => r.status === 'INGESTED')).toHaveLength(1);

    expect(await dataSource.query("SELECT kind, fee::text AS fee FROM ledger_transactions WHERE payment_id = 'pay_cancel_old_fee' ORDER BY kind")).toEqual([
      { kind: 'CANCEL', fee: '10' }, { kind: 'PAYMENT', fee: '10' },
    ]);
    const [{ fees }] = await dataSource.query(
      `SELECT COALESCE(SUM(CASE WHEN e.direction = 'DEBIT' THEN e.amount ELSE -e.amount END), 0)::text AS fees
       FROM ledger_entries e JOIN ledger_transactions t ON t.id = e.transaction_id WHERE t.payment_id = 'pay_cancel_old_fee' AND e.account_type = 'FEES'`,
    );
    expect(fees).toBe('0');
    expect(await payableOf('pay_cancel_old_fee')).toBe('0');
  });

  it('writes a cancelled payment charged before midnight and cancelled after it from the two days\' files, closing the status discrepancy', async () => {
    // the pay timed out and the saga cancelled it: it never saw the charge, which Alipay filed under the 27th, the cancel under the 28th
    await apply(event('pay_split_cancel', 'PaymentCancelled', 3));
    dayFile('20261127', '009', reportRow('pay_split_cancel', 'PAYMENT', '2026-11-27T23:59:50+08:00', '12.50'));
    expect((await ingestion.ingest()).filter((r) => r.status === 'INGESTED')).toHaveLength(1);
    expect(await discrepanciesOf('pay_split_cancel')).toMatchObject([{ type: 'MISMATCHED', status: 'OPEN' }]);

    dayFile('20261128', '009', reportRow('pay_split_cancel', 'CANCEL', '2026-11-28T00:00:40+08:00', '-12.50'));
    expect((await ingestion.ingest()).filter((r) => r.status === 'INGESTED')).toHaveLength(1);
    const written = await dataSource.query(
      "SELECT kind, origin, to_char(business_day, 'YYYY-MM-DD') AS day, occurred_at FROM ledger_transactions WHERE payment_id = 'pay_split_cancel' ORDER BY kind",
    );
    expect(written).toEqual([
      { kind: 'CANCEL', origin: 'REPORT', day: '2026-11-28', occurred_at: new Date('2026-11-27T16:00:40Z') },
      { kind: 'PAYMENT', origin: 'REPORT', day: '2026-11-27', occurred_at: new Date('2026-11-27T15:59:50Z') },
    ]);
    expect(await payableOf('pay_split_cancel')).toBe('0');
    const payment = await transactionOf('pay_split_cancel');
    expect(await discrepanciesOf('pay_split_cancel')).toEqual([{
      type: 'MISMATCHED', status: 'RESOLVED', resolved_by: 'settlement', ledger_transaction_id: payment.id,
      resolution_note: 'written from C1/20261128/transactionItems_20261128_009.csv with the CANCEL it nets to nothing with',
    }]);
    expect(payment).toMatchObject({ reconciliation: 'MATCHED' });
  });

  it('posts such a charge in the batch that paid it out before its cancel was filed', async () => {
    await apply(event('pay_split_paid', 'PaymentCancelled', 3));
    dayFile('20261127', '013', reportRow('pay_split_paid', 'PAYMENT', '2026-11-27T23:59:50+08:00', '12.50'));
    settlementBatch('20261127HKD016', 'pay_split_paid');
    expect((await ingestion.ingest()).filter((r) => r.status === 'INGESTED')).toHaveLength(2);
    expect(await finance.batch('20261127HKD016')).toMatchObject({ status: 'DISCREPANCIES', items: [{ ledgerTransactionId: null, result: 'MISMATCHED' }] });

    dayFile('20261128', '013', reportRow('pay_split_paid', 'CANCEL', '2026-11-28T00:00:40+08:00', '-12.50'));
    expect((await ingestion.ingest()).filter((r) => r.status === 'INGESTED')).toHaveLength(1);
    const charge = await transactionOf('pay_split_paid');
    expect(charge).toMatchObject({ origin: 'REPORT', status: 'POSTED', reconciliation: 'MATCHED' });
    expect(await finance.batch('20261127HKD016')).toMatchObject({ status: 'RECONCILED', items: [{ ledgerTransactionId: charge.id, result: 'MATCHED' }] });
    expect(await discrepanciesOf('pay_split_paid')).toMatchObject([{ type: 'MISMATCHED', status: 'RESOLVED', resolved_by: 'settlement', ledger_transaction_id: charge.id }]);
  });

  it('writes a charge and its cancel the reports listed before the payment\'s cancel event came, whatever settlement knew of it then', async () => {
    // unknown to settlement when the file came (its events lagged), or known as still in doubt
    await apply(event('pay_cancel_lagged_doubt', 'PaymentProcessing', 1));
    const rows = (paymentId: string) => [
      reportRow(paymentId, 'PAYMENT', '2026-11-27T20:00:00+08:00', '12.50'), reportRow(paymentId, 'CANCEL', '2026-11-27T20:00:30+08:00', '-12.50'),
    ];
    dayFile('20261127', '014', ...rows('pay_cancel_lagged_unknown'), ...rows('pay_cancel_lagged_doubt'));
    expect((await ingestion.ingest()).filter((r) => r.status === 'INGESTED')).toHaveLength(1);
    expect((await discrepanciesOf('pay_cancel_lagged_unknown')).map((d: { type: string }) => d.type)).toEqual(['MISSING_IN_LEDGER', 'MISSING_IN_LEDGER']);
    expect((await discrepanciesOf('pay_cancel_lagged_doubt')).map((d: { type: string }) => d.type)).toEqual(['MISMATCHED', 'MISMATCHED']);

    for (const paymentId of ['pay_cancel_lagged_unknown', 'pay_cancel_lagged_doubt']) {
      await apply(event(paymentId, 'PaymentCancelled', 3));
      expect(await dataSource.query('SELECT kind, origin, reconciliation FROM ledger_transactions WHERE payment_id = $1 ORDER BY kind', [paymentId])).toEqual([
        { kind: 'CANCEL', origin: 'REPORT', reconciliation: 'MATCHED' }, { kind: 'PAYMENT', origin: 'REPORT', reconciliation: 'MATCHED' },
      ]);
      expect(await payableOf(paymentId)).toBe('0');
      expect((await discrepanciesOf(paymentId)).map((d: { status: string; resolved_by: string }) => [d.status, d.resolved_by])).toEqual([['RESOLVED', 'settlement'], ['RESOLVED', 'settlement']]);
      expect(await dataSource.query('SELECT payment_id FROM pending_cancels WHERE payment_id = $1', [paymentId])).toEqual([]);
    }
  });

  it('keeps a charge and a cancel of another amount apart: they do not net to nothing', async () => {
    await apply(event('pay_split_other', 'PaymentCancelled', 3));
    dayFile('20261127', '010', reportRow('pay_split_other', 'PAYMENT', '2026-11-27T23:59:50+08:00', '12.50'));
    dayFile('20261128', '010', reportRow('pay_split_other', 'CANCEL', '2026-11-28T00:00:40+08:00', '-11.50'));
    expect((await ingestion.ingest()).filter((r) => r.status === 'INGESTED')).toHaveLength(2);
    expect(await dataSource.query("SELECT kind FROM ledger_transactions WHERE payment_id = 'pay_split_other'")).toEqual([]);
    expect(await discrepanciesOf('pay_split_other')).toMatchObject([{ type: 'MISMATCHED', status: 'OPEN' }, { type: 'MISMATCHED', status: 'OPEN' }]);
  });

  it('lets finance write a transaction no report lists off as never made, once the next day\'s file is in too', async () => {
    // two payments of 3 December that its transaction file lacks; a batch pays the second out all the same, for
    // another amount (one paid out as the ledger expects it is missing no more)
    await apply(eventAt('pay_written_off', '2026-12-03T23:30:00+08:00'));
    await apply(eventAt('pay_unlisted_paid', '2026-12-03T10:00:00+08:00'));
    dayFile('20261203', '000');
    settlementBatch('20261203HKD001', 'pay_unlisted_paid', '13.50');
    expect((await ingestion.ingest()).filter((r) => r.status === 'INGESTED')).toHaveLength(2);
    const missing = async (paymentId: string) => (await finance.discrepancies({ paymentId, type: 'MISSING_IN_REPORT' })).discrepancies[0] as { discrepancyId: string; status: string };
    const writeOff = { resolvedBy: 'finance@chain.example', note: 'Alipay has no such payment', adjust: true };

    // Alipay may file a transaction of just before midnight under the next day
    await expect(finance.resolveDiscrepancy((await missing('pay_written_off')).discrepancyId, writeOff)).rejects.toMatchObject({ status: 422, code: 'SETTLEMENT.REPORTS_INCOMPLETE' });
    dayFile('20261204', '000');
    expect((await ingestion.ingest()).filter((r) => r.status === 'INGESTED')).toHaveLength(1);
    // a batch paid the other out: Alipay has it, whatever its transaction file says
    await expect(finance.resolveDiscrepancy((await missing('pay_unlisted_paid')).discrepancyId, writeOff)).rejects.toMatchObject({ status: 422, code: 'SETTLEMENT.CANNOT_ADJUST' });

    const resolved = await finance.resolveDiscrepancy((await missing('pay_written_off')).discrepancyId, writeOff);
    const original = await transactionOf('pay_written_off');
    const inLedger = (await finance.payment('pay_written_off')).transactions as Array<{ ledgerTransactionId: string; kind: string; status: string; amount: { value: string }; fee: { value: string }; origin: string }>;
    expect(inLedger.map((t) => [t.kind, t.status, t.amount.value, t.fee.value, t.origin])).toEqual([['PAYMENT', 'POSTED', '1250', '10', 'EVENT'], ['ADJUSTMENT', 'POSTED', '-1250', '-10', 'RESOLUTION']]);
    expect(resolved).toMatchObject({ status: 'RESOLVED', ledgerTransactionId: original.id, adjustmentTransactionId: inLedger[1].ledgerTransactionId });
    // nothing is owed for it, expected or posted
    for (const posted of [false, true]) {
      const balances = await dataSource.query(
        `SELECT e.account_type, SUM(CASE WHEN e.direction = 'DEBIT' THEN e.amount ELSE -e.amount END)::text AS balance FROM ledger_entries e JOIN ledger_transactions t ON t.id = e.transaction_id
         WHERE t.payment_id = 'pay_written_off' AND ($1 = false OR t.posted_at IS NOT NULL) GROUP BY e.account_type ORDER BY e.account_type`,
        [posted],
      );
      expect(balances).toEqual(['ALIPAY_RECEIVABLE', 'FEES', 'MERCHANT_PAYABLE'].map((account_type) => ({ account_type, balance: '0' })));
    }
    await expect(finance.resolveDiscrepancy(resolved.discrepancyId as string, writeOff)).rejects.toMatchObject({ status: 409 });

    // a late file that lists it after all contradicts the write-off: a status discrepancy for finance, not a match
    dayFile('20261203', '001', reportRow('pay_written_off', 'PAYMENT', '2026-12-03T23:30:00+08:00', '12.50'));
    expect((await ingestion.ingest()).filter((r) => r.status === 'INGESTED')).toHaveLength(1);
    const [contradicted] = (await finance.discrepancies({ paymentId: 'pay_written_off', type: 'MISMATCHED' })).discrepancies;
    expect(contradicted).toMatchObject({ status: 'OPEN', fields: ['status'], ledgerTransactionId: original.id });
  });

  it('lets finance reverse a write-off once a settlement batch pays the transaction out after all, once under two resolutions at once', async () => {
    // two payments of 12 December no transaction file of the day or the next lists, written off
    await apply(eventAt('pay_reinstated', '2026-12-12T10:00:00+08:00'));
    await apply(eventAt('pay_reinstated_fee', '2026-12-12T11:00:00+08:00'));
    dayFile('20261212', '000');
    dayFile('20261213', '000');
    expect((await ingestion.ingest()).filter((r) => r.status === 'INGESTED')).toHaveLength(2);
    const writeOff = { resolvedBy: 'finance@chain.example', note: 'Alipay has no such payment', adjust: true };
    const reinstate = { resolvedBy: 'finance@chain.example', note: 'Alipay paid it out after all', adjust: true };
    const discrepancy = async (paymentId: string, type: string) => (await finance.discrepancies({ paymentId, type })).discrepancies[0] as { discrepancyId: string };
    const writtenOff: Record<string, string> = {};
    for (const paymentId of ['pay_reinstated', 'pay_reinstated_fee']) {
      writtenOff[paymentId] = (await finance.resolveDiscrepancy((await discrepancy(paymentId, 'MISSING_IN_REPORT')).discrepancyId, writeOff)).adjustmentTransactionId as string;
    }
    const ledgerOf = async () => (await finance.payment('pay_reinstated')).transactions as Array<{
      ledgerTransactionId: string; kind: string; status: string; amount: { value: string }; fee: { value: string }; origin: string; settlementBatchId: string | null;
    }>;

    // a late file lists it: the transaction file moves no money, so there is nothing to reverse the write-off to yet
    dayFile('20261212', '001', reportRow('pay_reinstated', 'PAYMENT', '2026-12-12T10:00:00+08:00', '12.50'), reportRow('pay_reinstated_fee', 'PAYMENT', '2026-12-12T11:00:00+08:00', '12.50'));
    expect((await ingestion.ingest()).filter((r) => r.status === 'INGESTED')).toHaveLength(1);
    const contradicted = await discrepancy('pay_reinstated', 'MISMATCHED');
    await expect(finance.resolveDiscrepancy(contradicted.discrepancyId, reinstate)).rejects.toMatchObject({ status: 422, code: 'SETTLEMENT.NOT_SETTLED' });
    expect(await ledgerOf()).toHaveLength(2);

    // the batches pay both out, one with another fee: the payout leaves the receivable short, as for any transaction it disagrees on
    settlementBatch('20261212HKD001', 'pay_reinstated');
    settlementBatch('20261212HKD002', 'pay_reinstated_fee', '12.50', '0.20');
    expect((await ingestion.ingest()).filter((r) => r.status === 'INGESTED')).toHaveLength(2);
    expect(await finance.batch('20261212HKD001')).toMatchObject({ status: 'DISCREPANCIES', items: [{ result: 'MISMATCHED' }] });
    await expect(finance.resolveDiscrepancy((await discrepancy('pay_reinstated_fee', 'MISMATCHED')).discrepancyId, reinstate)).rejects.toMatchObject({ status: 422, code: 'SETTLEMENT.CANNOT_ADJUST' });

    // two resolutions at once: one reverses the write-off, the other is told it came too late
    const both = await Promise.allSettled([finance.resolveDiscrepancy(contradicted.discrepancyId, reinstate), finance.resolveDiscrepancy(contradicted.discrepancyId, reinstate)]);
    expect(both.map((r) => (r.status === 'fulfilled' ? 200 : (r.reason as { status: number }).status)).sort()).toEqual([200, 409]);
    const resolved = (both.find((r) => r.status === 'fulfilled') as PromiseFulfilledResult<Record<string, unknown>>).value;
    const original = await transactionOf('pay_reinstated');
    const inLedger = await ledgerOf();
    expect(inLedger.map((t) => [t.kind, t.status, t.amount.value, t.fee.value, t.origin, t.settlementBatchId])).toEqual([
      ['PAYMENT', 'POSTED', '1250', '10', 'EVENT', '20261212HKD001'],
      ['ADJUSTMENT', 'POSTED', '-1250', '-10', 'RESOLUTION', null],
      ['ADJUSTMENT', 'POSTED', '1250', '10', 'RESOLUTION', '20261212HKD001'],
    ]);
    expect(inLedger[1].ledgerTransactionId).toBe(writtenOff.pay_reinstated);
    expect(resolved).toMatchObject({ status: 'RESOLVED', ledgerTransactionId: original.id, adjustmentTransactionId: inLedger[2].ledgerTransactionId });
    expect(await dataSource.query("SELECT count(*)::int AS n FROM outbox WHERE type = 'LedgerEntriesPosted' AND payload->'data'->>'ledgerTransactionId' = $1", [inLedger[2].ledgerTransactionId])).toEqual([{ n: 1 }]);
    // the item matches the ledger now, and the payment with its payout nets to nothing in the receivable, expected or posted
    expect(await finance.batch('20261212HKD001')).toMatchObject({ status: 'RECONCILED', items: [{ ledgerTransactionId: original.id, result: 'MATCHED' }] });
    for (const posted of [false, true]) {
      const balances = await dataSource.query(
        `SELECT e.account_type, SUM(CASE WHEN e.direction = 'DEBIT' THEN e.amount ELSE -e.amount END)::text AS balance FROM ledger_entries e JOIN ledger_transactions t ON t.id = e.transaction_id
         WHERE (t.payment_id = 'pay_reinstated' OR (t.kind = 'SETTLEMENT' AND t.settlement_batch_id = '20261212HKD001')) AND ($1 = false OR t.posted_at IS NOT NULL)
         GROUP BY e.account_type ORDER BY e.account_type`,
        [posted],
      );
      expect(balances).toEqual([['ALIPAY_RECEIVABLE', '0'], ['FEES', '10'], ['MERCHANT_PAYABLE', '-1250'], ['SETTLED_FUNDS', '1240']].map(([account_type, balance]) => ({ account_type, balance })));
    }
    // written off no more: the transaction is the batch's, matched against later reports as any other
    expect(await ledger.find(dataSource.manager, original.id)).toMatchObject({ written_off: false, settlement_batch_id: '20261212HKD001' });
    expect(await ledger.find(dataSource.manager, (await transactionOf('pay_reinstated_fee')).id)).toMatchObject({ written_off: true });
    await expect(finance.resolveDiscrepancy(contradicted.discrepancyId, reinstate)).rejects.toMatchObject({ status: 409 });
  });

  it('lets finance post a late transaction a batch settled in another currency, correcting what the payout cleared', async () => {
    fxBatch('20261127USD001', 'pay_late_fx');
    expect((await ingestion.ingest()).filter((r) => r.status === 'INGESTED')).toHaveLength(1);
    await apply(succeededUnfiled('pay_late_fx'));
    const [found] = (await finance.discrepancies({ paymentId: 'pay_late_fx' })).discrepancies;
    expect(found).toMatchObject({ type: 'MISSING_IN_LEDGER', status: 'OPEN' });

    const resolved = await finance.resolveDiscrepancy(found.discrepancyId as string, { resolvedBy: 'finance@chain.example', note: 'converted by Alipay', adjust: true });
    const written = await transactionOf('pay_late_fx');
    expect(written).toMatchObject({ origin: 'EVENT', status: 'POSTED', reconciliation: 'MATCHED' });
    expect(resolved).toMatchObject({ status: 'RESOLVED', ledgerTransactionId: written.id, adjustmentTransactionId: expect.stringMatching(/^ltx_/) });
    expect(await finance.batch('20261127USD001')).toMatchObject({ status: 'RECONCILED', items: [{ ledgerTransactionId: written.id, result: 'MATCHED' }] });
    // the payout cleared the gross, no fee being expected then: the adjustment moves the fee back, so the receivable clears as in order
    const inBatch = (await finance.transactions({ batchId: '20261127USD001' })).transactions as Array<{ ledgerTransactionId: string; kind: string; entries: Array<{ account: string; direction: string; amount: string }> }>;
    expect(inBatch.map((t) => t.kind)).toEqual(['SETTLEMENT', 'PAYMENT', 'ADJUSTMENT']);
    expect(inBatch[2]).toMatchObject({
      ledgerTransactionId: resolved.adjustmentTransactionId,
      entries: [{ account: 'ALIPAY_RECEIVABLE:mer_7KQ2:HKD', direction: 'DEBIT', amount: '10' }, { account: 'FX_DIFFERENCE:mer_7KQ2:HKD', direction: 'CREDIT', amount: '10' }],
    });
    const receivable = inBatch.flatMap((t) => t.entries).filter((e) => e.account === 'ALIPAY_RECEIVABLE:mer_7KQ2:HKD');
    expect(receivable.reduce((sum, e) => sum + (e.direction === 'DEBIT' ? 1n : -1n) * BigInt(e.amount), 0n)).toBe(0n);
    expect(await reconciledOf('pay_late_fx')).toEqual([expect.objectContaining({ ledgerTransactionId: written.id, amount: { currency: 'HKD', value: '1250' }, fee: { currency: 'USD', value: '-1' } })]);
  });

  it('lets finance post a transaction two batches paid out in the first, leaving the second payout to recover', async () => {
    for (const [paymentId, batches] of [['pay_late_twice', ['20261127HKD011', '20261127HKD012']], ['pay_unheard_twice', ['20261127HKD013', '20261127HKD014']]] as const) {
      for (const batchId of batches) settlementBatch(batchId, paymentId);
      expect((await ingestion.ingest()).filter((r) => r.status === 'INGESTED')).toHaveLength(2);
      if (paymentId === 'pay_late_twice') await apply(succeededUnfiled(paymentId));
      const [found] = (await finance.discrepancies({ paymentId })).discrepancies;
      expect(found).toMatchObject({ type: 'MISSING_IN_LEDGER', status: 'OPEN' });

      const resolved = await finance.resolveDiscrepancy(found.discrepancyId as string, { resolvedBy: 'finance@chain.example', note: 'paid twice', adjust: true });
      const written = await transactionOf(paymentId);
      expect(written).toMatchObject({ status: 'POSTED', origin: paymentId === 'pay_late_twice' ? 'EVENT' : 'RESOLUTION' });
      expect(resolved).toMatchObject({ status: 'RESOLVED', ledgerTransactionId: written.id });
      expect(await finance.batch(batches[0])).toMatchObject({ status: 'RECONCILED', items: [{ ledgerTransactionId: written.id, result: 'MATCHED' }] });
      expect(await finance.batch(batches[1])).toMatchObject({ status: 'DISCREPANCIES', items: [{ ledgerTransactionId: written.id, result: 'MISMATCHED' }] });
      // as when the transaction was there before both batches: the second payout is a discrepancy of its own, to recover from Alipay
      const open = (await finance.discrepancies({ paymentId, status: 'OPEN' })).discrepancies;
      expect(open).toEqual([expect.objectContaining({
        type: 'MISMATCHED', fields: ['settlementBatchId'], ledgerTransactionId: written.id, expected: { settlementBatchId: batches[0] }, actual: { settlementBatchId: batches[1] },
      })]);
      const [announced] = await dataSource.query("SELECT payload->'data' AS data FROM outbox WHERE type = 'DiscrepancyDetected' AND payload->'data'->>'discrepancyId' = $1", [open[0].discrepancyId]);
      expect(announced.data).toMatchObject({ type: 'MISMATCHED', fields: ['settlementBatchId'], paymentId });
    }
  });

  it('books a transaction two batches paid out before the ledger had it in the first to come, whatever their settlement times', async () => {
    // the batch that came first settled later (and has the larger id) than the one that came second
    const first = '20261127HKD046';
    const again = '20261127HKD045';
    settlementBatch(first, 'pay_unheard_reordered');
    const [items, summary] = files.slice(-2);
    for (const file of [items, summary]) file.content = Buffer.from(file.content.toString().replaceAll('2026-11-28T00:00:00+08:00', '2026-11-29T00:00:00+08:00'));
    expect((await ingestion.ingest()).filter((r) => r.status === 'INGESTED')).toHaveLength(1);
    settlementBatch(again, 'pay_unheard_reordered');
    expect((await ingestion.ingest()).filter((r) => r.status === 'INGESTED')).toHaveLength(1);

    const [found] = (await finance.discrepancies({ paymentId: 'pay_unheard_reordered' })).discrepancies;
    await finance.resolveDiscrepancy(found.discrepancyId as string, { resolvedBy: 'finance@chain.example', note: 'ours, paid twice', adjust: true });
    const written = await dataSource.query("SELECT id, settlement_batch_id FROM ledger_transactions WHERE source_key = 'PAYMENT:pay_unheard_reordered'");
    expect(written).toEqual([{ id: expect.any(String), settlement_batch_id: first }]);
    expect(await finance.batch(first)).toMatchObject({ status: 'RECONCILED', items: [{ ledgerTransactionId: written[0].id, result: 'MATCHED' }] });
    expect(await finance.batch(again)).toMatchObject({ status: 'DISCREPANCIES', items: [{ ledgerTransactionId: written[0].id, result: 'MISMATCHED' }] });
    expect((await finance.discrepancies({ paymentId: 'pay_unheard_reordered', status: 'OPEN' })).discrepancies).toEqual([expect.objectContaining({
      type: 'MISMATCHED', fields: ['settlementBatchId'], expected: { settlementBatchId: first }, actual: { settlementBatchId: again }, repeatedIn: again,
    })]);
  });

  it('keeps a currency without decimals in whole units from the report to the ledger, its payout and the finance API, also settled in another currency', async () => {
    // 1000 JPY is 1000 minor units; the fee of 10 minor units is 10 JPY
    const jpy = (paymentId: string) => {
      const envelope = eventAt(paymentId, '2027-01-11T10:00:00+08:00');
      const { payment } = envelope.data as { payment: PaymentViewV1 };
      return { ...envelope, data: { payment: { ...payment, amount: { currency: 'JPY', value: '1000' } } } };
    };
    await apply(jpy('pay_yen'));
    await apply(jpy('pay_yen_to_usd'));
    const row = (paymentId: string) => reportRow(paymentId, 'PAYMENT', '2027-01-11T10:00:00+08:00', '1000').replace(/HKD$/, 'JPY');
    dayFile('20270111', '000', row('pay_yen'), row('pay_yen_to_usd'));
    const batch = (batchId: string, paymentId: string, settlement: string, fee: string, currency: string, quote: string) => {
      const item = `${batchId},C1,Alipay_SG,,mer_7KQ2,sto_A001,PAYMENT,A-${paymentId},,${paymentId},,ORD-1,CONNECT_WALLET,ALIPAYHK,2027-01-11T10:00:00+08:00,2027-01-12T00:00:00+08:00,IN_STORE_PAYMENT,1000,JPY,${settlement},${currency},${quote},${fee},${currency},0,${currency}`;
      const total = (type: string) => `${batchId},C1,Alipay_SG,${type},2027-01-12T00:00:00+08:00,1,${settlement},${currency},${fee},${currency},0,${currency}`;
      for (const [name, lines] of [[`settlementItems_${currency}_${batchId}_000.csv`, [ITEM_HEADER, item]], [`settlementSummary_${currency}_${batchId}_000.csv`, [SUMMARY_HEADER, total('PAYMENT'), total('TOTAL')]]] as const) {
        files.push({ source: 'memory', path: `C1/20270112/${name}`, name, content: Buffer.from([...lines, '<END>', ''].join('\n')) });
      }
    };
    batch('20270111JPY001', 'pay_yen', '990', '-10', 'JPY', ',');
    batch('20270111USD001', 'pay_yen_to_usd', '6.59', '-0.01', 'USD', 'JPY/USD,0.0066');
    expect((await ingestion.ingest()).filter((r) => r.status === 'INGESTED')).toHaveLength(3);
    for (const paymentId of ['pay_yen', 'pay_yen_to_usd']) {
      expect({ paymentId, discrepancies: await discrepanciesOf(paymentId) }).toEqual({ paymentId, discrepancies: [] });
      expect({ paymentId, transaction: await transactionOf(paymentId) }).toEqual({ paymentId, transaction: expect.objectContaining({ status: 'POSTED', reconciliation: 'MATCHED' }) });
    }
    expect(await finance.batch('20270111JPY001')).toMatchObject({
      status: 'RECONCILED', gross: { currency: 'JPY', value: '1000' }, fees: { currency: 'JPY', value: '-10' }, net: { currency: 'JPY', value: '990' },
      items: [{ amount: { currency: 'JPY', value: '1000' }, fee: { currency: 'JPY', value: '-10' }, settlementAmount: { currency: 'JPY', value: '990' } }],
    });
    expect(await finance.batch('20270111USD001')).toMatchObject({
      status: 'RECONCILED', net: { currency: 'USD', value: '659' }, fx: { quoteCurrencyPair: 'JPY/USD', quotePrice: '0.0066' },
      items: [{ amount: { currency: 'JPY', value: '1000' }, fee: { currency: 'USD', value: '-1' }, settlementAmount: { currency: 'USD', value: '659' } }],
    });
    // the receivable clears in yen; what reached the bank is 990 JPY and 6.59 USD, the yen converted out through FX_DIFFERENCE
    const { accounts, totals } = await finance.balances({ merchantId: 'mer_7KQ2', status: 'POSTED', currency: 'JPY' });
    const balance = (account: string) => accounts.find((a) => a.account === account);
    expect(balance('ALIPAY_RECEIVABLE:mer_7KQ2:JPY')).toMatchObject({ balance: '0', balanceMajor: '0' });
    expect(balance('SETTLED_FUNDS:mer_7KQ2:JPY')).toMatchObject({ balance: '990', balanceMajor: '990' });
    expect(balance('FX_DIFFERENCE:mer_7KQ2:JPY')).toMatchObject({ balance: '990', balanceMajor: '990' });
    expect(balance('MERCHANT_PAYABLE:mer_7KQ2:JPY')).toMatchObject({ balance: '-2000', balanceMajor: '-2000' });
    expect(totals).toEqual([expect.objectContaining({ currency: 'JPY', balanced: true })]);
    const [payout] = (await finance.transactions({ batchId: '20270111USD001' })).transactions.filter((t: { kind: string }) => t.kind === 'SETTLEMENT');
    expect(payout.entries).toEqual([
      { account: 'FX_DIFFERENCE:mer_7KQ2:JPY', direction: 'DEBIT', amount: '990' }, { account: 'ALIPAY_RECEIVABLE:mer_7KQ2:JPY', direction: 'CREDIT', amount: '990' },
      { account: 'SETTLED_FUNDS:mer_7KQ2:USD', direction: 'DEBIT', amount: '659' }, { account: 'FX_DIFFERENCE:mer_7KQ2:USD', direction: 'CREDIT', amount: '659' },
    ]);
    expect(await finance.exportCsv({ batchId: '20270111USD001' })).toContain(',SETTLED_FUNDS:mer_7KQ2:USD,SETTLED_FUNDS,USD,6.59,\n');
    const csv = await finance.exportCsv({ batchId: '20270111JPY001' });
    expect(csv.split('\n').filter((line) => line.includes(',JPY,')).map((line) => line.split(',').slice(-2).join(','))).toEqual(
      expect.arrayContaining(['1000,', ',1000', '10,', ',10', '990,', ',990']),
    );
  });

  it('flags a second payout of a transaction the first paid out, with another fee, before its payment event came', async () => {
    const first = '20261127HKD047';
    const again = '20261127HKD048';
    settlementBatch(first, 'pay_early_fee', '12.50', '0.20');
    expect((await ingestion.ingest()).filter((r) => r.status === 'INGESTED')).toHaveLength(1);
    // the event disagrees with the payout on the fee: both stay for finance, the transaction unposted
    await apply(succeededUnfiled('pay_early_fee'));
    expect(await transactionOf('pay_early_fee')).toMatchObject({ status: 'EXPECTED' });

    // a second batch pays it out, as the ledger expects it this time: money moved twice, as when the event comes first
    settlementBatch(again, 'pay_early_fee');
    expect((await ingestion.ingest()).filter((r) => r.status === 'INGESTED')).toHaveLength(1);
    const written = await transactionOf('pay_early_fee');
    expect(written).toMatchObject({ status: 'EXPECTED' });
    expect(await finance.batch(again)).toMatchObject({ status: 'DISCREPANCIES', items: [{ ledgerTransactionId: written.id, result: 'MISMATCHED' }] });
    expect((await finance.discrepancies({ paymentId: 'pay_early_fee', status: 'OPEN' })).discrepancies).toEqual([
      expect.objectContaining({ type: 'MISSING_IN_LEDGER' }),
      expect.objectContaining({ type: 'MISMATCHED', fields: ['settlementBatchId'], expected: { settlementBatchId: first }, actual: { settlementBatchId: again }, repeatedIn: again }),
    ]);
  });

  it('keeps a repeated payout finance resolved closed when booking the first payout, made before the payment event came', async () => {
    const first = '20261127HKD050';
    const again = '20261127HKD051';
    settlementBatch(first, 'pay_early_repaid', '12.50', '0.20');
    expect((await ingestion.ingest()).filter((r) => r.status === 'INGESTED')).toHaveLength(1);
    await apply(succeededUnfiled('pay_early_repaid'));
    settlementBatch(again, 'pay_early_repaid');
    expect((await ingestion.ingest()).filter((r) => r.status === 'INGESTED')).toHaveLength(1);
    const [missing, repeat] = (await finance.discrepancies({ paymentId: 'pay_early_repaid', status: 'OPEN' })).discrepancies;
    expect([missing.type, repeat.repeatedIn]).toEqual(['MISSING_IN_LEDGER', again]);
    await finance.resolveDiscrepancy(repeat.discrepancyId as string, { resolvedBy: 'finance@chain.example', note: 'claimed back from Alipay', adjust: false });

    // booking the first payout flags no batch again: the second one's repeat was raised when it came, and finance closed it
    await finance.resolveDiscrepancy(missing.discrepancyId as string, { resolvedBy: 'finance@chain.example', note: 'Alipay charged 0.20', adjust: true });
    expect((await finance.discrepancies({ paymentId: 'pay_early_repaid', status: 'OPEN' })).discrepancies).toEqual([]);
    expect(await finance.discrepancies({ paymentId: 'pay_early_repaid', type: 'MISMATCHED' })).toMatchObject({
      discrepancies: [{ discrepancyId: repeat.discrepancyId, status: 'RESOLVED', resolutionNote: 'claimed back from Alipay', repeatedIn: again }],
    });
    expect(await dataSource.query("SELECT count(*)::int AS n FROM outbox WHERE type = 'DiscrepancyDetected' AND payload->'data'->>'discrepancyId' = $1", [repeat.discrepancyId])).toEqual([{ n: 1 }]);
    expect(await finance.batch(again)).toMatchObject({ status: 'DISCREPANCIES', items: [{ ledgerTransactionId: (await transactionOf('pay_early_repaid')).id, result: 'MISMATCHED' }] });
  });

  it('writes off no transaction a batch paid out before its payment event came, though the event disagreed with it', async () => {
    settlementBatch('20261127HKD049', 'pay_early_unlisted', '12.50', '0.20');
    expect((await ingestion.ingest()).filter((r) => r.status === 'INGESTED')).toHaveLength(1);
    await apply(eventAt('pay_early_unlisted', '2027-01-14T10:00:00+08:00'));
    dayFile('20270114', '000');
    dayFile('20270115', '000');
    expect((await ingestion.ingest()).filter((r) => r.status === 'INGESTED')).toHaveLength(2);
    const [missing] = (await finance.discrepancies({ paymentId: 'pay_early_unlisted', type: 'MISSING_IN_REPORT' })).discrepancies;
    // Alipay paid it out, so it was made, whatever its transaction file says
    await expect(finance.resolveDiscrepancy(missing.discrepancyId as string, { resolvedBy: 'finance@chain.example', note: 'never made', adjust: true }))
      .rejects.toMatchObject({ status: 422, code: 'SETTLEMENT.CANNOT_ADJUST', message: expect.stringContaining('20261127HKD049') });
    expect(((await finance.payment('pay_early_unlisted')).transactions as Array<{ kind: string }>).map((t) => t.kind)).toEqual(['PAYMENT']);
  });

  it('tells finance of a transaction paid out again after its discrepancy was resolved with an adjustment, booking nothing twice', async () => {
    await apply(succeededUnfiled('pay_adjusted_twice'));
    const first = '20261127HKD041';
    const again = '20261127HKD042';
    settlementBatch(first, 'pay_adjusted_twice', '12.50', '0.20');
    expect((await ingestion.ingest()).filter((r) => r.status === 'INGESTED')).toHaveLength(1);
    const [fee] = (await finance.discrepancies({ paymentId: 'pay_adjusted_twice' })).discrepancies;
    const adjusted = await finance.resolveDiscrepancy(fee.discrepancyId as string, { resolvedBy: 'finance@chain.example', note: 'Alipay charged 0.20', adjust: true });
    expect(adjusted).toMatchObject({ status: 'RESOLVED', adjustmentTransactionId: expect.stringMatching(/^ltx_/) });
    const booked = async () => ((await finance.payment('pay_adjusted_twice')).transactions as Array<{ kind: string; amount: { value: string }; fee: { value: string }; settlementBatchId: string | null }>)
      .map((t) => [t.kind, t.amount.value, t.fee.value, t.settlementBatchId]);
    const before = await booked();
    expect(before).toEqual([['PAYMENT', '1250', '10', first], ['ADJUSTMENT', '0', '10', first]]);

    // another batch pays it out again, with Alipay's fee again: money moved twice, a discrepancy of its own, open and announced
    settlementBatch(again, 'pay_adjusted_twice', '12.50', '0.20');
    expect((await ingestion.ingest()).filter((r) => r.status === 'INGESTED')).toHaveLength(1);
    const written = await transactionOf('pay_adjusted_twice');
    expect(await finance.batch(again)).toMatchObject({ status: 'DISCREPANCIES', items: [{ ledgerTransactionId: written.id, result: 'MISMATCHED' }] });
    const open = (await finance.discrepancies({ paymentId: 'pay_adjusted_twice', status: 'OPEN' })).discrepancies;
    expect(open).toEqual([expect.objectContaining({
      type: 'MISMATCHED', fields: ['fee', 'settlementBatchId'], ledgerTransactionId: written.id,
      expected: { fee: '-0.10', settlementBatchId: first }, actual: { fee: '-0.20', settlementBatchId: again },
    })]);
    expect(open[0].discrepancyId).not.toBe(fee.discrepancyId);
    // finance sees which batch paid it out again, and that the adjusted discrepancy is no repeat
    expect(open[0].repeatedIn).toBe(again);
    expect(fee.repeatedIn).toBeNull();
    const announced = await dataSource.query("SELECT payload->'data' AS data FROM outbox WHERE type = 'DiscrepancyDetected' AND payload->'data'->>'discrepancyId' = $1", [open[0].discrepancyId]);
    expect(announced).toEqual([{ data: expect.objectContaining({ type: 'MISMATCHED', fields: ['fee', 'settlementBatchId'], paymentId: 'pay_adjusted_twice', repeatedIn: again }) }]);
    // the adjusted discrepancy keeps its resolution; nothing is posted or booked again, and no amount corrects a second payout
    expect(await finance.discrepancies({ paymentId: 'pay_adjusted_twice', status: 'RESOLVED' })).toMatchObject({
      discrepancies: [{ discrepancyId: fee.discrepancyId, fields: ['fee'], adjustmentTransactionId: adjusted.adjustmentTransactionId }],
    });
    await expect(finance.resolveDiscrepancy(open[0].discrepancyId as string, { resolvedBy: 'finance@chain.example', note: 'paid twice', adjust: true }))
      .rejects.toMatchObject({ status: 422, code: 'SETTLEMENT.CANNOT_ADJUST' });
    expect(await booked()).toEqual(before);
    // resolved as a note (claimed back from Alipay), it still says which batch repeated the payout
    expect(await finance.resolveDiscrepancy(open[0].discrepancyId as string, { resolvedBy: 'finance@chain.example', note: 'claimed back from Alipay', adjust: false }))
      .toMatchObject({ status: 'RESOLVED', repeatedIn: again });
  });

  it('adjusts a transaction two batches paid out before finance resolved it in the first to come, leaving the second payout open', async () => {
    await apply(succeededUnfiled('pay_adjusted_late'));
    // the batch that came first has the larger id: the first payout is the one the ledger was compared with first
    const first = '20261127HKD044';
    const again = '20261127HKD043';
    settlementBatch(first, 'pay_adjusted_late', '12.50', '0.20');
    expect((await ingestion.ingest()).filter((r) => r.status === 'INGESTED')).toHaveLength(1);
    settlementBatch(again, 'pay_adjusted_late', '12.50', '0.20');
    expect((await ingestion.ingest()).filter((r) => r.status === 'INGESTED')).toHaveLength(1);
    const [fee, repeated] = (await finance.discrepancies({ paymentId: 'pay_adjusted_late', status: 'OPEN' })).discrepancies;
    expect(fee).toMatchObject({ type: 'MISMATCHED', fields: ['fee'] });
    expect(repeated).toMatchObject({ type: 'MISMATCHED', fields: ['fee', 'settlementBatchId'], expected: { settlementBatchId: first }, actual: { settlementBatchId: again } });

    const adjusted = await finance.resolveDiscrepancy(fee.discrepancyId as string, { resolvedBy: 'finance@chain.example', note: 'Alipay charged 0.20', adjust: true });
    const written = await transactionOf('pay_adjusted_late');
    expect(((await finance.payment('pay_adjusted_late')).transactions as Array<{ ledgerTransactionId: string; kind: string; settlementBatchId: string | null }>).map((t) => [t.kind, t.settlementBatchId]))
      .toEqual([['PAYMENT', first], ['ADJUSTMENT', first]]);
    expect(adjusted).toMatchObject({ status: 'RESOLVED', ledgerTransactionId: written.id });
    expect(await finance.batch(first)).toMatchObject({ status: 'RECONCILED', items: [{ ledgerTransactionId: written.id, result: 'MATCHED' }] });
    expect(await finance.batch(again)).toMatchObject({ status: 'DISCREPANCIES', items: [{ ledgerTransactionId: written.id, result: 'MISMATCHED' }] });
    expect((await finance.discrepancies({ paymentId: 'pay_adjusted_late', status: 'OPEN' })).discrepancies).toEqual([expect.objectContaining({ discrepancyId: repeated.discrepancyId })]);
  });

  it('tells finance of a written-off transaction paid out again after the write-off was reversed', async () => {
    await apply(eventAt('pay_reversed_twice', '2026-12-17T10:00:00+08:00'));
    dayFile('20261217', '000');
    dayFile('20261218', '000');
    expect((await ingestion.ingest()).filter((r) => r.status === 'INGESTED')).toHaveLength(2);
    const [missing] = (await finance.discrepancies({ paymentId: 'pay_reversed_twice', type: 'MISSING_IN_REPORT' })).discrepancies;
    await finance.resolveDiscrepancy(missing.discrepancyId as string, { resolvedBy: 'finance@chain.example', note: 'Alipay has no such payment', adjust: true });
    settlementBatch('20261217HKD001', 'pay_reversed_twice');
    expect((await ingestion.ingest()).filter((r) => r.status === 'INGESTED')).toHaveLength(1);
    const [contradicted] = (await finance.discrepancies({ paymentId: 'pay_reversed_twice', type: 'MISMATCHED' })).discrepancies;
    await finance.resolveDiscrepancy(contradicted.discrepancyId as string, { resolvedBy: 'finance@chain.example', note: 'Alipay paid it out after all', adjust: true });
    const booked = async () => ((await finance.payment('pay_reversed_twice')).transactions as unknown[]).length;
    expect(await booked()).toBe(3);

    settlementBatch('20261217HKD002', 'pay_reversed_twice');
    expect((await ingestion.ingest()).filter((r) => r.status === 'INGESTED')).toHaveLength(1);
    const open = (await finance.discrepancies({ paymentId: 'pay_reversed_twice', status: 'OPEN' })).discrepancies;
    expect(open).toEqual([expect.objectContaining({
      type: 'MISMATCHED', fields: ['settlementBatchId'], expected: { settlementBatchId: '20261217HKD001' }, actual: { settlementBatchId: '20261217HKD002' },
    })]);
    expect(await dataSource.query("SELECT count(*)::int AS n FROM outbox WHERE type = 'DiscrepancyDetected' AND payload->'data'->>'discrepancyId' = $1", [open[0].discrepancyId])).toEqual([{ n: 1 }]);
    expect(await finance.batch('20261217HKD002')).toMatchObject({ status: 'DISCREPANCIES', items: [{ result: 'MISMATCHED' }] });
    expect(await booked()).toBe(3);
  });

  it('keeps the second of two batches that paid out a written-off transaction before its reversal open as a second payout', async () => {
    await apply(eventAt('pay_written_off_twice', '2026-12-17T11:00:00+08:00'));
    // the days' files are in already (the test before): the discrepancy is raised as the event books it
    const [missing] = (await finance.discrepancies({ paymentId: 'pay_written_off_twice', type: 'MISSING_IN_REPORT' })).discrepancies;
    await finance.resolveDiscrepancy(missing.discrepancyId as string, { resolvedBy: 'finance@chain.example', note: 'Alipay has no such payment', adjust: true });

    // two batches pay it out before finance reverses the write-off
    settlementBatch('20261217HKD011', 'pay_written_off_twice');
    settlementBatch('20261217HKD012', 'pay_written_off_twice');
    expect((await ingestion.ingest()).filter((r) => r.status === 'INGESTED')).toHaveLength(2);
    const open = async () => (await finance.discrepancies({ paymentId: 'pay_written_off_twice', status: 'OPEN' })).discrepancies;
    const [contradicted, repeated] = await open();
    expect(contradicted).toMatchObject({ type: 'MISMATCHED', fields: ['status'] });
    expect(repeated).toMatchObject({
      type: 'MISMATCHED', fields: ['status', 'settlementBatchId'], expected: { settlementBatchId: '20261217HKD011' }, actual: { settlementBatchId: '20261217HKD012' },
    });
    // the second payout does not reverse the write-off: the first batch's discrepancy does
    const reinstate = { resolvedBy: 'finance@chain.example', note: 'Alipay paid it out after all', adjust: true };
    await expect(finance.resolveDiscrepancy(repeated.discrepancyId as string, reinstate)).rejects.toMatchObject({ status: 422, code: 'SETTLEMENT.CANNOT_ADJUST' });
    await finance.resolveDiscrepancy(contradicted.discrepancyId as string, reinstate);
    const written = await transactionOf('pay_written_off_twice');
    expect(await finance.batch('20261217HKD011')).toMatchObject({ status: 'RECONCILED', items: [{ ledgerTransactionId: written.id, result: 'MATCHED' }] });
    expect(await finance.batch('20261217HKD012')).toMatchObject({ status: 'DISCREPANCIES', items: [{ ledgerTransactionId: written.id, result: 'MISMATCHED' }] });
    // what is left for finance is the second payout, to recover from Alipay; it books nothing
    expect(await open()).toEqual([expect.objectContaining({ discrepancyId: repeated.discrepancyId })]);
    await expect(finance.resolveDiscrepancy(repeated.discrepancyId as string, reinstate)).rejects.toMatchObject({ status: 422, code: 'SETTLEMENT.CANNOT_ADJUST' });
    expect(((await finance.payment('pay_written_off_twice')).transactions as Array<{ kind: string; settlementBatchId: string | null }>).map((t) => [t.kind, t.settlementBatchId])).toEqual([
      ['PAYMENT', '20261217HKD011'], ['ADJUSTMENT', null], ['ADJUSTMENT', '20261217HKD011'],
    ]);
  });

  it('reads the other sources when one cannot be listed, and says which one failed', async () => {
    const down: ReportSource = { name: 'sftp://alipay@isftp.example:22/v1/settlements', list: async () => Promise.reject(new Error('connect ECONNREFUSED')) };
    const both = new ReportIngestion(dataSource, ledger, [down, { name: 'memory', list: async () => files }], 10n, 'settlement', testLogger());
    dayFile('20261127', '011');
    const looked = (await both.ingest()).filter((r) => r.status !== 'DUPLICATE');
    expect(looked.map((r) => [r.source, r.kind, r.status, r.reason])).toEqual([
      [down.name, 'source', 'FAILED', 'connect ECONNREFUSED'],
      ['memory', 'transactionItems', 'INGESTED', undefined],
    ]);
  });

  it('closes a MISSING_IN_REPORT once a later file of the day lists the transaction, even with another amount', async () => {
    await apply(eventAt('pay_listed_late', '2026-12-05T10:00:00+08:00'));
    dayFile('20261205', '000');
    expect((await ingestion.ingest()).filter((r) => r.status === 'INGESTED')).toHaveLength(1);
    expect(await discrepanciesOf('pay_listed_late')).toMatchObject([{ type: 'MISSING_IN_REPORT', status: 'OPEN' }]);

    dayFile('20261205', '001', reportRow('pay_listed_late', 'PAYMENT', '2026-12-05T10:00:00+08:00', '13.50'));
    expect((await ingestion.ingest()).filter((r) => r.status === 'INGESTED')).toHaveLength(1);
    // it is missing no more; what is left is the amount Alipay and the ledger disagree on
    expect(await discrepanciesOf('pay_listed_late')).toMatchObject([
      { type: 'MISMATCHED', status: 'OPEN' },
      { type: 'MISSING_IN_REPORT', status: 'RESOLVED', resolved_by: 'settlement', resolution_note: 'listed by C1/20261205/transactionItems_20261205_001.csv' },
    ]);
  });

  it('closes a MISSING_IN_REPORT once a settlement batch pays the transaction out as the ledger expects it, and not for another amount', async () => {
    await apply(eventAt('pay_unlisted_settled', '2026-12-11T10:00:00+08:00'));
    await apply(eventAt('pay_unlisted_other', '2026-12-11T11:00:00+08:00'));
    dayFile('20261211', '000');
    expect((await ingestion.ingest()).filter((r) => r.status === 'INGESTED')).toHaveLength(1);
    for (const paymentId of ['pay_unlisted_settled', 'pay_unlisted_other']) expect(await discrepanciesOf(paymentId)).toMatchObject([{ type: 'MISSING_IN_REPORT', status: 'OPEN' }]);

    settlementBatch('20261211HKD001', 'pay_unlisted_settled');
    settlementBatch('20261211HKD002', 'pay_unlisted_other', '13.50');
    expect((await ingestion.ingest()).filter((r) => r.status === 'INGESTED')).toHaveLength(2);
    // the payout proves Alipay made it: settled, matched, and missing no more
    const settled = await transactionOf('pay_unlisted_settled');
    expect(settled).toMatchObject({ status: 'POSTED', reconciliation: 'MATCHED' });
    expect(await discrepanciesOf('pay_unlisted_settled')).toEqual([{
      type: 'MISSING_IN_REPORT', status: 'RESOLVED', resolved_by: 'settlement', resolution_note: 'paid out in settlement batch 20261211HKD001', ledger_transaction_id: settled.id,
    }]);
    expect(await finance.batch('20261211HKD001')).toMatchObject({ status: 'RECONCILED', items: [{ ledgerTransactionId: settled.id, result: 'MATCHED' }] });
    expect(await dataSource.query("SELECT count(*)::int AS n FROM outbox WHERE type = 'TransactionReconciled' AND key = 'pay_unlisted_settled'")).toEqual([{ n: 1 }]);
    // paid out for another amount: what the batch disagrees on is finance's, and Alipay's word on the day stays open beside it
    expect(await discrepanciesOf('pay_unlisted_other')).toMatchObject([{ type: 'MISMATCHED', status: 'OPEN' }, { type: 'MISSING_IN_REPORT', status: 'OPEN', resolved_by: null }]);
    expect(await transactionOf('pay_unlisted_other')).toMatchObject({ status: 'EXPECTED', reconciliation: 'MISMATCHED' });
  });

  it('raises no MISSING_IN_REPORT for a transaction a batch paid out before the day\'s transaction file came without it', async () => {
    await apply(eventAt('pay_paid_before_file', '2026-12-19T10:00:00+08:00'));
    await apply(eventAt('pay_unpaid_before_file', '2026-12-19T11:00:00+08:00'));
    settlementBatch('20261219HKD001', 'pay_paid_before_file');
    expect((await ingestion.ingest()).filter((r) => r.status === 'INGESTED')).toHaveLength(1);
    const paid = await transactionOf('pay_paid_before_file');
    expect(paid).toMatchObject({ status: 'POSTED', reconciliation: 'MATCHED' });

    // the day's file leaves both out: the one the batch paid out was made, the other is missing
    dayFile('20261219', '000');
    expect((await ingestion.ingest()).filter((r) => r.status === 'INGESTED')).toHaveLength(1);
    expect(await discrepanciesOf('pay_paid_before_file')).toEqual([]);
    expect(await transactionOf('pay_paid_before_file')).toEqual(paid);
    expect(await discrepanciesOf('pay_unpaid_before_file')).toEqual([expect.objectContaining({ type: 'MISSING_IN_REPORT', status: 'OPEN' })]);
  });

  it('raises no MISSING_IN_REPORT on the ledger\'s day for a transaction Alipay listed under the day before', async () => {
    // Alipay cancelled just before midnight, the saga heard of it just after: the ledger books the cancel on the 6th
    const cancelled = (paymentId: string, occurredAt: string) => ({ ...event(paymentId, 'PaymentCancelled', 4), occurredAt });
    await apply(eventAt('pay_cancel_at_midnight', '2027-01-05T23:59:30+08:00'));
    await apply(cancelled('pay_cancel_at_midnight', '2027-01-05T16:00:20Z'));
    dayFile('20270105', '000',
      reportRow('pay_cancel_at_midnight', 'PAYMENT', '2027-01-05T23:59:30+08:00', '12.50'), reportRow('pay_cancel_at_midnight', 'CANCEL', '2027-01-05T23:59:55+08:00', '-12.50'));
    dayFile('20270106', '000');
    expect((await ingestion.ingest()).filter((r) => r.status === 'INGESTED')).toHaveLength(2);
    expect(await dataSource.query("SELECT kind, to_char(business_day, 'YYYY-MM-DD') AS day, reconciliation FROM ledger_transactions WHERE payment_id = 'pay_cancel_at_midnight' ORDER BY kind")).toEqual([
      { kind: 'CANCEL', day: '2027-01-06', reconciliation: 'MATCHED' }, { kind: 'PAYMENT', day: '2027-01-05', reconciliation: 'MATCHED' },
    ]);
    expect(await discrepanciesOf('pay_cancel_at_midnight')).toEqual([]);

    // the same with the events behind the report: each MISSING_IN_LEDGER closes once, a redelivered event closes nothing again
    dayFile('20270107', '000',
      reportRow('pay_cancel_lagged_midnight', 'PAYMENT', '2027-01-07T23:59:30+08:00', '12.50'), reportRow('pay_cancel_lagged_midnight', 'CANCEL', '2027-01-07T23:59:55+08:00', '-12.50'));
    expect((await ingestion.ingest()).filter((r) => r.status === 'INGESTED')).toHaveLength(1);
    expect((await discrepanciesOf('pay_cancel_lagged_midnight')).map((d: { type: string; status: string }) => [d.type, d.status])).toEqual([
      ['MISSING_IN_LEDGER', 'OPEN'], ['MISSING_IN_LEDGER', 'OPEN'],
    ]);
    await apply(eventAt('pay_cancel_lagged_midnight', '2027-01-07T23:59:30+08:00'));
    const cancel = cancelled('pay_cancel_lagged_midnight', '2027-01-07T16:00:20Z');
    await apply(cancel);
    const closed = await dataSource.query(
      "SELECT kind, status, resolved_by, resolved_at, ledger_transaction_id FROM discrepancies WHERE payment_id = 'pay_cancel_lagged_midnight' ORDER BY kind",
    );
    expect(closed).toEqual([
      expect.objectContaining({ kind: 'CANCEL', status: 'RESOLVED', resolved_by: 'settlement', ledger_transaction_id: expect.stringMatching(/^ltx_/) }),
      expect.objectContaining({ kind: 'PAYMENT', status: 'RESOLVED', resolved_by: 'settlement', ledger_transaction_id: expect.stringMatching(/^ltx_/) }),
    ]);
    await apply({ ...cancel, id: `${cancel.id}-again` });
    dayFile('20270108', '000');
    expect((await ingestion.ingest()).filter((r) => r.status === 'INGESTED')).toHaveLength(1);
    expect(await dataSource.query(
      "SELECT kind, status, resolved_by, resolved_at, ledger_transaction_id FROM discrepancies WHERE payment_id = 'pay_cancel_lagged_midnight' ORDER BY kind",
    )).toEqual(closed);
    expect(await dataSource.query("SELECT kind, to_char(business_day, 'YYYY-MM-DD') AS day, reconciliation FROM ledger_transactions WHERE payment_id = 'pay_cancel_lagged_midnight' ORDER BY kind")).toEqual([
      { kind: 'CANCEL', day: '2027-01-08', reconciliation: 'MATCHED' }, { kind: 'PAYMENT', day: '2027-01-07', reconciliation: 'MATCHED' },
    ]);
    expect(await payableOf('pay_cancel_lagged_midnight')).toBe('0');
  });

  it('flags MISSING_IN_REPORT at once, once, for a charge, cancel or refund booked after its day\'s transaction file came without it', async () => {
    await apply(eventAt('pay_late_cancelled', '2027-02-01T09:00:00+08:00'));
    await apply(eventAt('pay_late_refunded', '2027-02-01T09:30:00+08:00'));
    dayFile('20270201', '000',
      reportRow('pay_late_cancelled', 'PAYMENT', '2027-02-01T09:00:00+08:00', '12.50'), reportRow('pay_late_refunded', 'PAYMENT', '2027-02-01T09:30:00+08:00', '12.50'));
    expect((await ingestion.ingest()).filter((r) => r.status === 'INGESTED')).toHaveLength(1);

    // the settlement consumer lagged (or the events came back from the retry topic): the day's file lists none of these
    const charged = eventAt('pay_late_charged', '2027-02-01T10:00:00+08:00');
    await apply(charged);
    await apply({ ...event('pay_late_cancelled', 'PaymentCancelled', 4), occurredAt: '2027-02-01T03:00:00Z' });
    const refunded = refundEvent('pay_late_refunded', 'ref_late_refunded', 'RefundSucceeded', 5);
    const { payment, refund } = refunded.data as { payment: PaymentViewV1; refund: Record<string, unknown> };
    await apply({ ...refunded, data: { payment, refund: { ...refund, refundTime: '2027-02-01T11:00:00+08:00' } } });
    const missing = () => dataSource.query(
      `SELECT d.kind, d.transaction_request_id AS id, d.status, d.report_file, to_char(d.business_day, 'YYYY-MM-DD') AS day, t.reconciliation
       FROM discrepancies d JOIN ledger_transactions t ON t.id = d.ledger_transaction_id
       WHERE d.type = 'MISSING_IN_REPORT' AND d.payment_id = ANY($1) ORDER BY d.kind`,
      [['pay_late_charged', 'pay_late_cancelled', 'pay_late_refunded']],
    );
    const flagged = [
      { kind: 'CANCEL', id: 'pay_late_cancelled' }, { kind: 'PAYMENT', id: 'pay_late_charged' }, { kind: 'REFUND', id: 'ref_late_refunded' },
    ].map((d) => ({ ...d, status: 'OPEN', report_file: 'C1/20270201/transactionItems_20270201_000.csv', day: '2027-02-01', reconciliation: 'MISSING_IN_REPORT' }));
    expect(await missing()).toEqual(flagged);

    // the event again, and the next day's file: nothing more
    await apply({ ...charged, id: `${charged.id}-again` });
    dayFile('20270202', '000');
    expect((await ingestion.ingest()).filter((r) => r.status === 'INGESTED')).toHaveLength(1);
    expect(await missing()).toEqual(flagged);
    expect(await dataSource.query(
      "SELECT key, count(*)::int AS n FROM outbox WHERE type = 'DiscrepancyDetected' AND key = ANY($1) GROUP BY key ORDER BY key",
      [['pay_late_charged', 'pay_late_cancelled', 'pay_late_refunded']],
    )).toEqual([{ key: 'pay_late_cancelled', n: 1 }, { key: 'pay_late_charged', n: 1 }, { key: 'pay_late_refunded', n: 1 }]);
  });

  it('closes the MISSING_IN_REPORT of a transaction booked after its day\'s first part once a later part lists it, and raises none for one listed before', async () => {
    dayFile('20270203', '000', reportRow('pay_listed_before_event', 'PAYMENT', '2027-02-03T09:00:00+08:00', '12.50'));
    expect((await ingestion.ingest()).filter((r) => r.status === 'INGESTED')).toHaveLength(1);
    await apply(eventAt('pay_listed_before_event', '2027-02-03T09:00:00+08:00'));
    expect(await discrepanciesOf('pay_listed_before_event')).toMatchObject([{ type: 'MISSING_IN_LEDGER', status: 'RESOLVED' }]);

    await apply(eventAt('pay_in_later_part', '2027-02-03T10:00:00+08:00'));
    expect(await discrepanciesOf('pay_in_later_part')).toMatchObject([{ type: 'MISSING_IN_REPORT', status: 'OPEN' }]);
    dayFile('20270203', '001', reportRow('pay_in_later_part', 'PAYMENT', '2027-02-03T10:00:00+08:00', '12.50'));
    expect((await ingestion.ingest()).filter((r) => r.status === 'INGESTED')).toHaveLength(1);
    expect(await discrepanciesOf('pay_in_later_part')).toMatchObject([
      { type: 'MISSING_IN_REPORT', status: 'RESOLVED', resolved_by: 'settlement', resolution_note: 'listed by C1/20270203/transactionItems_20270203_001.csv' },
    ]);
    expect(await transactionOf('pay_in_later_part')).toMatchObject({ reconciliation: 'MATCHED' });
  });

  it('reads the parts of a day present together as one report: nothing a later part lists is missing, nor announced so', async () => {
    await apply(eventAt('pay_parted_first', '2026-12-15T10:00:00+08:00'));
    await apply(eventAt('pay_parted_second', '2026-12-15T11:00:00+08:00'));
    // a payment in review on the 15th, whose charge the second part lists; the 16th's file is in already
    const review = event('pay_parted_review', 'PaymentNeedsReview', 2);
    const { payment } = review.data as { payment: PaymentViewV1 };
    await apply({ ...review, data: { payment: { ...payment, createdAt: '2026-12-15T04:00:00Z' } } });
    dayFile('20261216', '000');
    expect((await ingestion.ingest()).filter((r) => r.status === 'INGESTED')).toHaveLength(1);

    dayFile('20261215', '000', reportRow('pay_parted_first', 'PAYMENT', '2026-12-15T10:00:00+08:00', '12.50'));
    dayFile('20261215', '001', reportRow('pay_parted_second', 'PAYMENT', '2026-12-15T11:00:00+08:00', '12.50'), reportRow('pay_parted_review', 'PAYMENT', '2026-12-15T12:00:00+08:00', '12.50'));
    expect((await ingestion.ingest()).filter((r) => r.status !== 'DUPLICATE').map((r) => [r.path.split('/').pop(), r.status, r.rows])).toEqual([
      ['transactionItems_20261215_000.csv', 'INGESTED', 1],
      ['transactionItems_20261215_001.csv', 'INGESTED', 2],
    ]);
    for (const paymentId of ['pay_parted_first', 'pay_parted_second', 'pay_parted_review']) {
      expect({ paymentId, discrepancies: await discrepanciesOf(paymentId) }).toEqual({ paymentId, discrepancies: [] });
      expect({ paymentId, transaction: await transactionOf(paymentId) }).toEqual({ paymentId, transaction: expect.objectContaining({ reconciliation: 'MATCHED' }) });
    }
    expect(await dataSource.query("SELECT key FROM outbox WHERE type = 'DiscrepancyDetected' AND key = ANY($1)", [['pay_parted_first', 'pay_parted_second', 'pay_parted_review']])).toEqual([]);
    // the review is decided once, from the whole day: charged
    const resolved = await dataSource.query("SELECT payload->'data'->>'resolution' AS resolution FROM outbox WHERE key = 'pay_parted_review' AND type = 'PaymentReviewResolved'");
    expect(resolved).toEqual([{ resolution: 'CHARGED' }]);
  });

  it('posts a transaction a batch paid out in that batch when its event comes after finance resolved it as a note', async () => {
    settlementBatch('20261127HKD015', 'pay_noted');
    expect((await ingestion.ingest()).filter((r) => r.status === 'INGESTED')).toHaveLength(1);
    const [found] = (await finance.discrepancies({ paymentId: 'pay_noted' })).discrepancies;
    await finance.resolveDiscrepancy(found.discrepancyId as string, { resolvedBy: 'finance@chain.example', note: 'not ours, we think', adjust: false });

    // the payment event proves it is ours after all: the ledger ends as if it had come before the batch
    await apply(event('pay_noted', 'PaymentSucceeded', 3));
    const written = await transactionOf('pay_noted');
    expect(written).toMatchObject({ status: 'POSTED', reconciliation: 'MATCHED' });
    expect(await finance.batch('20261127HKD015')).toMatchObject({ status: 'RECONCILED', items: [{ ledgerTransactionId: written.id, result: 'MATCHED' }] });
    // finance's resolution stays as it was recorded, now naming the transaction
    expect(await discrepanciesOf('pay_noted')).toEqual([{
      type: 'MISSING_IN_LEDGER', status: 'RESOLVED', resolved_by: 'finance@chain.example', resolution_note: 'not ours, we think', ledger_transaction_id: written.id,
    }]);
  });

  it('does not call a payment in review NOT_CHARGED when a report lists its cancel, which only a charge has', async () => {
    await apply(event('pay_cancel_listed', 'PaymentNeedsReview', 2));
    // the 27th's and 28th's files are in: the 28th lists a cancel of the payment, and no report its charge yet
    dayFile('20261128', '012', reportRow('pay_cancel_listed', 'CANCEL', '2026-11-28T00:00:40+08:00', '-12.50'));
    expect((await ingestion.ingest()).filter((r) => r.status === 'INGESTED')).toHaveLength(1);
    expect((await finance.payment('pay_cancel_listed')).reviewResolution).toBeNull();
    expect(await dataSource.query("SELECT payload FROM outbox WHERE key = 'pay_cancel_listed' AND type = 'PaymentReviewResolved'")).toEqual([]);
    expect(await discrepanciesOf('pay_cancel_listed')).toMatchObject([{ type: 'MISMATCHED', status: 'OPEN' }]);
  });

  it('resolves a review whose event came after the files of its day and the next at the next transaction file', async () => {
    // the 27th's and 28th's files are in, neither lists the payment; its event lagged behind both
    await apply(event('pay_review_lagged', 'PaymentNeedsReview', 2));
    expect((await finance.payment('pay_review_lagged')).reviewResolution).toBeNull();
    dayFile('20261208', '000');
    expect((await ingestion.ingest()).filter((r) => r.status === 'INGESTED')).toHaveLength(1);
    expect((await finance.payment('pay_review_lagged')).reviewResolution).toBe('NOT_CHARGED');
  });

  it('resolves a review it called NOT_CHARGED again, once, when a later file lists the charge, after the payment was closed unpaid on that word', async () => {
    // the 27th's and 28th's files are in and list none of the payments: they are resolved NOT_CHARGED at the next
    // file, and the orchestrator closes them unpaid on that word. Alipay's reports do not say how many files a day
    // has: parts of the 27th come at a later look listing charges, and a late part of the 28th a charge and its cancel
    const cases = [
      { paymentId: 'pay_not_charged_then_charged', closed: 'PaymentFailed', resolution: 'CHARGED', kinds: ['PAYMENT'], payable: '-1250',
        file: () => dayFile('20261127', '030', reportRow('pay_not_charged_then_charged', 'PAYMENT', '2026-11-27T20:00:00+08:00', '12.50')) },
      // the POS had asked for a cancel: the orchestrator closed it CANCELLED rather than FAILED
      { paymentId: 'pay_not_charged_cancelled_then_charged', closed: 'PaymentCancelled', resolution: 'CHARGED', kinds: ['PAYMENT'], payable: '-1250',
        file: () => dayFile('20261127', '032', reportRow('pay_not_charged_cancelled_then_charged', 'PAYMENT', '2026-11-27T20:30:00+08:00', '12.50')) },
      { paymentId: 'pay_not_charged_then_reversed', closed: 'PaymentFailed', resolution: 'REVERSED', kinds: ['CANCEL', 'PAYMENT'], payable: '0',
        file: () => dayFile('20261128', '031', reportRow('pay_not_charged_then_reversed', 'PAYMENT', '2026-11-28T00:00:10+08:00', '12.50'),
          reportRow('pay_not_charged_then_reversed', 'CANCEL', '2026-11-28T00:00:40+08:00', '-12.50')) },
    ] as const;
    for (const { paymentId } of cases) await apply(event(paymentId, 'PaymentNeedsReview', 2));
    dayFile('20261209', '000');
    expect((await ingestion.ingest()).filter((r) => r.status === 'INGESTED')).toHaveLength(1);
    const published = async (paymentId: string) =>
      (await dataSource.query("SELECT payload->'data' AS data FROM outbox WHERE key = $1 AND type = 'PaymentReviewResolved' ORDER BY seq", [paymentId])).map(
        (p: { data: { resolution: string; reportFile: string; evidence: string } }) => p.data,
      );
    for (const { paymentId, closed } of cases) {
      expect((await published(paymentId)).map((d: { resolution: string }) => d.resolution)).toEqual(['NOT_CHARGED']);
      await apply(event(paymentId, closed, 3));
    }

    for (const { paymentId, resolution, kinds, payable, file } of cases) {
      file();
      expect((await ingestion.ingest()).filter((r) => r.status === 'INGESTED')).toHaveLength(1);
      // the charge is written from the report and the review resolved anew, naming the resolution it replaces
      expect((await finance.payment(paymentId)).reviewResolution).toBe(resolution);
      const [, again, ...more] = await published(paymentId);
      expect(more).toEqual([]);
      expect(again).toMatchObject({ resolution, reportFile: expect.stringMatching(/_03[0-2]\.csv$/), evidence: expect.stringContaining('(resolved NOT_CHARGED before)') });
      expect((await dataSource.query('SELECT kind, origin FROM ledger_transactions WHERE payment_id = $1 ORDER BY kind', [paymentId]))).toEqual(kinds.map((kind) => ({ kind, origin: 'REPORT' })));
      expect(await discrepanciesOf(paymentId)).toEqual([]);
      expect(await payableOf(paymentId)).toBe(payable);
    }

    // the orchestrator moves the charged one to SUCCEEDED on that word, and a batch pays it out: nothing is booked
    // twice, and the review is not announced a third time
    const charged = cases[0].paymentId;
    await apply(event(charged, 'PaymentSucceeded', 4));
    settlementBatch('20261209HKD030', charged);
    expect((await ingestion.ingest()).filter((r) => r.status === 'INGESTED').map((r) => r.batchId)).toEqual(['20261209HKD030']);
    expect(await dataSource.query('SELECT kind, status, settlement_batch_id FROM ledger_transactions WHERE payment_id = $1', [charged])).toEqual([
      { kind: 'PAYMENT', status: 'POSTED', settlement_batch_id: '20261209HKD030' },
    ]);
    expect(await payableOf(charged)).toBe('-1250');
    expect((await published(charged)).map((d: { resolution: string }) => d.resolution)).toEqual(['NOT_CHARGED', 'CHARGED']);
    expect(await discrepanciesOf(charged)).toEqual([]);
  });

  it('resolves a review from the charge (and cancel) the reports listed before the review\'s event came', async () => {
    await apply(event('pay_review_charged_early', 'PaymentProcessing', 1));
    const charge = (paymentId: string) => reportRow(paymentId, 'PAYMENT', '2026-11-27T20:00:00+08:00', '12.50');
    dayFile('20261127', '015', charge('pay_review_charged_early'), charge('pay_review_reversed_early'), reportRow('pay_review_reversed_early', 'CANCEL', '2026-11-27T20:00:30+08:00', '-12.50'));
    expect((await ingestion.ingest()).filter((r) => r.status === 'INGESTED')).toHaveLength(1);

    for (const [paymentId, resolution, kinds] of [['pay_review_charged_early', 'CHARGED', ['PAYMENT']], ['pay_review_reversed_early', 'REVERSED', ['CANCEL', 'PAYMENT']]] as const) {
      await apply(event(paymentId, 'PaymentNeedsReview', 2));
      expect((await finance.payment(paymentId)).reviewResolution).toBe(resolution);
      const [published] = await dataSource.query("SELECT payload->'data' AS data FROM outbox WHERE key = $1 AND type = 'PaymentReviewResolved'", [paymentId]);
      expect(published.data).toMatchObject({ resolution, reportFile: 'C1/20261127/transactionItems_20261127_015.csv' });
      expect((await dataSource.query('SELECT kind FROM ledger_transactions WHERE payment_id = $1 ORDER BY kind', [paymentId])).map((t: { kind: string }) => t.kind)).toEqual(kinds);
      expect((await discrepanciesOf(paymentId)).every((d: { status: string }) => d.status === 'RESOLVED')).toBe(true);
    }
  });

  it('tells finance when the charge that resolves a review is not the amount the payment asked for', async () => {
    await apply(event('pay_review_other_amount', 'PaymentNeedsReview', 2));
    dayFile('20261127', '016', reportRow('pay_review_other_amount', 'PAYMENT', '2026-11-27T20:00:00+08:00', '13.50'));
    expect((await ingestion.ingest()).filter((r) => r.status === 'INGESTED')).toHaveLength(1);
    // Alipay's report prevails: the charge is booked as Alipay took it, and the review resolved
    const written = (await finance.transactions({ paymentId: 'pay_review_other_amount' })).transactions as Array<{ ledgerTransactionId: string; amount: { value: string } }>;
    expect(written.map((t) => t.amount.value)).toEqual(['1350']);
    expect((await finance.payment('pay_review_other_amount')).reviewResolution).toBe('CHARGED');
    // but the shopper was charged 13.50 for a payment of 12.50
    expect((await finance.discrepancies({ paymentId: 'pay_review_other_amount' })).discrepancies).toEqual([expect.objectContaining({
      type: 'MISMATCHED', fields: ['amount'], status: 'OPEN', ledgerTransactionId: written[0].ledgerTransactionId, expected: { amount: '12.50' }, actual: { amount: '13.50' },
    })]);
  });

  it('announces a batch too large for one Kafka message in parts, each with the batch\'s totals and a share of its ids', async () => {
    largeBatch('20261127HKD009', 'pay_many', 2_001);
    expect((await ingestion.ingest()).filter((r) => r.status === 'INGESTED')).toHaveLength(1);
    const rows: Array<{ payload: { type: string; data: Record<string, unknown> & { transactionIds: string[]; paymentIds: string[] } } }> = await dataSource.query(
      "SELECT payload FROM outbox WHERE key = '20261127HKD009' AND type = 'SettlementBatchSettled' ORDER BY seq",
    );
    const announced = rows.map((r) => r.payload);
    expect(announced.map((e) => [e.type, e.data.part, e.data.parts, e.data.transactionIds.length, e.data.paymentIds.length])).toEqual([
      ['SettlementBatchSettled', 1, 2, 2_000, 2_000],
      ['SettlementBatchSettled', 2, 2, 1, 1],
    ]);
    for (const e of announced) {
      expect(e.data).toMatchObject({ settlementBatchId: '20261127HKD009', transactionCount: 2_001, net: { currency: 'HKD', value: String(2_001 * 1240) } });
      expect(Buffer.byteLength(JSON.stringify(e))).toBeLessThan(512 * 1024);
    }
    expect(new Set(announced.flatMap((e) => e.data.paymentIds)).size).toBe(2_001);
  });

  it('adds a later file\'s finding to a discrepancy that names no fields, as to any other', async () => {
    // a transaction the day's first file lacks, and one it lists that the ledger never heard of
    await apply(event('pay_unlisted', 'PaymentSucceeded', 3));
    transactionFile('004', 'pay_unknown_twice');
    expect((await ingestion.ingest()).filter((r) => r.status === 'INGESTED')).toHaveLength(1);
    // the day's next file lacks the first too, and a batch pays the second out
    transactionFile('005');
    settlementBatch('20261127HKD006', 'pay_unknown_twice');
    expect((await ingestion.ingest()).filter((r) => r.status === 'INGESTED').map((r) => r.kind)).toEqual(['transactionItems', 'settlementItems']);
    expect(await discrepanciesOf('pay_unlisted')).toMatchObject([{ type: 'MISSING_IN_REPORT', status: 'OPEN' }]);
    expect(await discrepanciesOf('pay_unknown_twice')).toMatchObject([{ type: 'MISSING_IN_LEDGER', status: 'OPEN' }]);
    expect(await dataSource.query("SELECT fields FROM discrepancies WHERE payment_id IN ('pay_unlisted', 'pay_unknown_twice')")).toEqual([{ fields: [] }, { fields: [] }]);
    expect(await finance.batch('20261127HKD006')).toMatchObject({ status: 'DISCREPANCIES', items: [{ ledgerTransactionId: null, result: 'MISSING_IN_LEDGER' }] });
  });

  it('rejects a part of a day that lists a transaction an earlier part read with it lists, as a file listing it twice', async () => {
    await apply(eventAt('pay_in_two_parts', '2026-12-20T10:00:00+08:00'));
    dayFile('20261220', '000', reportRow('pay_in_two_parts', 'PAYMENT', '2026-12-20T10:00:00+08:00', '12.50'));
    dayFile('20261220', '001', reportRow('pay_in_two_parts', 'PAYMENT', '2026-12-20T10:00:00+08:00', '12.50'));
    expect((await ingestion.ingest()).filter((r) => r.status !== 'DUPLICATE').map((r) => [r.path.split('/').pop(), r.status, r.reason])).toEqual([
      ['transactionItems_20261220_000.csv', 'INGESTED', undefined],
      ['transactionItems_20261220_001.csv', 'REJECTED', 'line 2: PAYMENT pay_in_two_parts appears twice: transactionItems_20261220_000.csv lists it too'],
    ]);
    expect(await transactionOf('pay_in_two_parts')).toMatchObject({ reconciliation: 'MATCHED' });
    expect(await dataSource.query("SELECT count(*)::int AS n FROM outbox WHERE type = 'TransactionReconciled' AND key = 'pay_in_two_parts'")).toEqual([{ n: 1 }]);
    expect(await dataSource.query("SELECT count(*)::int AS n FROM reconciliations WHERE transaction_request_id = 'pay_in_two_parts'")).toEqual([{ n: 1 }]);
  });

  it('rejects a part of a day that comes at a later look and lists a transaction an earlier part listed', async () => {
    await apply(eventAt('pay_in_late_part', '2026-12-24T10:00:00+08:00'));
    dayFile('20261224', '000', reportRow('pay_in_late_part', 'PAYMENT', '2026-12-24T10:00:00+08:00', '12.50'));
    expect((await ingestion.ingest()).filter((r) => r.status === 'INGESTED')).toHaveLength(1);
    dayFile('20261224', '001', reportRow('pay_in_late_part', 'PAYMENT', '2026-12-24T10:00:00+08:00', '12.50'));
    expect((await ingestion.ingest()).filter((r) => r.status !== 'DUPLICATE').map((r) => [r.path.split('/').pop(), r.status, r.reason])).toEqual([
      ['transactionItems_20261224_001.csv', 'REJECTED', 'line 2: PAYMENT pay_in_late_part appears twice: transactionItems_20261224_000.csv lists it too'],
    ]);
    expect(await dataSource.query("SELECT count(*)::int AS n FROM outbox WHERE type = 'TransactionReconciled' AND key = 'pay_in_late_part'")).toEqual([{ n: 1 }]);
  });

  it('takes the same transaction file delivered again at another path (a second source) for a duplicate: its rows are announced once', async () => {
    await apply(eventAt('pay_two_sources', '2027-01-20T10:00:00+08:00'));
    dayFile('20270120', '000', reportRow('pay_two_sources', 'PAYMENT', '2027-01-20T10:00:00+08:00', '12.50'));
    const of = (results: Awaited<ReturnType<ReportIngestion['ingest']>>) => results.filter((r) => r.path.endsWith('_20270120_000.csv')).map((r) => [r.source, r.path, r.status]);
    expect(of(await ingestion.ingest())).toEqual([['memory', 'C1/20270120/transactionItems_20270120_000.csv', 'INGESTED']]);
    const original = files[files.length - 1];
    files.push({ ...original, source: 'sftp', path: `v1/settlements/${original.path}` });
    expect(of(await ingestion.ingest())).toEqual([
      ['memory', 'C1/20270120/transactionItems_20270120_000.csv', 'DUPLICATE'], ['sftp', 'v1/settlements/C1/20270120/transactionItems_20270120_000.csv', 'DUPLICATE'],
    ]);
    expect(await reconciledOf('pay_two_sources')).toHaveLength(1);
    expect(await dataSource.query("SELECT count(*)::int AS n FROM reconciliations WHERE transaction_request_id = 'pay_two_sources'")).toEqual([{ n: 1 }]);
  });

  it('takes two copies of a transaction file found at one look for one file: its rows are announced once', async () => {
    await apply(eventAt('pay_two_copies', '2027-01-21T10:00:00+08:00'));
    dayFile('20270121', '000', reportRow('pay_two_copies', 'PAYMENT', '2027-01-21T10:00:00+08:00', '12.50'));
    const original = files[files.length - 1];
    files.push({ ...original, path: `inbox/${original.path}` });
    expect((await ingestion.ingest()).filter((r) => r.path.endsWith('_20270121_000.csv')).map((r) => [r.path, r.status])).toEqual([
      ['C1/20270121/transactionItems_20270121_000.csv', 'INGESTED'], ['inbox/C1/20270121/transactionItems_20270121_000.csv', 'DUPLICATE'],
    ]);
    expect(await reconciledOf('pay_two_copies')).toHaveLength(1);
  });

  it('reads the known rows of a file beside one of a type settlement does not book, which finance sees as an open discrepancy', async () => {
    await apply(eventAt('pay_beside_reversal', '2026-12-22T10:00:00+08:00'));
    const reversal = 'C1,Alipay_SG,,mer_7KQ2,sto_A001,REFUND_REVERSAL,RR-ref_reversed,R-ref_reversed,ref_reversed,pay_reversed,ORD-1,coffee,CONNECT_WALLET,ALIPAYHK,2026-12-22T11:00:00+08:00,IN_STORE_PAYMENT,5.00,HKD';
    dayFile('20261222', '000', reportRow('pay_beside_reversal', 'PAYMENT', '2026-12-22T10:00:00+08:00', '12.50'), reversal);
    expect((await ingestion.ingest()).filter((r) => r.status !== 'DUPLICATE').map((r) => [r.path.split('/').pop(), r.status, r.rows])).toEqual([
      ['transactionItems_20261222_000.csv', 'INGESTED', 2],
    ]);
    expect(await transactionOf('pay_beside_reversal')).toMatchObject({ reconciliation: 'MATCHED' });
    const [found] = (await finance.discrepancies({ type: 'UNSUPPORTED_ROW', paymentId: 'pay_reversed' })).discrepancies;
    expect(found).toMatchObject({
      type: 'UNSUPPORTED_ROW', kind: 'OTHER', status: 'OPEN', transactionRequestId: 'RR-ref_reversed', merchantId: 'mer_7KQ2', businessDay: '2026-12-22',
      actual: expect.objectContaining({ transactionType: 'REFUND_REVERSAL', transactionId: 'RR-ref_reversed', transactionRequestId: 'ref_reversed', transactionAmountValue: '5.00' }),
    });
    const announced = await dataSource.query("SELECT payload->'data' AS data FROM outbox WHERE type = 'DiscrepancyDetected' AND key = 'pay_reversed'");
    expect(announced).toEqual([{ data: expect.objectContaining({ type: 'UNSUPPORTED_ROW', kind: 'OTHER', transactionRequestId: 'RR-ref_reversed' }) }]);
    // the ledger has no rules for it: finance settles it by hand and resolves it as a note
    await expect(finance.resolveDiscrepancy(found.discrepancyId as string, { resolvedBy: 'finance@chain.example', note: 'book it', adjust: true })).rejects.toMatchObject({ status: 422, code: 'SETTLEMENT.CANNOT_ADJUST' });
    await expect(finance.resolveDiscrepancy(found.discrepancyId as string, { resolvedBy: 'finance@chain.example', note: 'reversed by hand', adjust: false })).resolves.toMatchObject({ status: 'RESOLVED' });
  });

  it('keeps a row of a type settlement does not book with over-long ids within bounds, one discrepancy at every file that lists it', async () => {
    // its transactionId named the discrepancy and its event as it was: longer than an event id may be, the event was
    // refused and the file failed at every look, the day's other rows with it
    await apply(eventAt('pay_beside_long_reversal', '2026-12-23T10:00:00+08:00'));
    const longId = `RR-${'9'.repeat(300)}`;
    const reversal = (tail: string) =>
      `C1,Alipay_SG,,${'m'.repeat(80)},sto_A001,REFUND_REVERSAL,${longId}${tail},R-ref_long,ref_long,${'p'.repeat(70)},ORD-1,coffee,CONNECT_WALLET,ALIPAYHK,2026-12-23T11:00:00+08:00,IN_STORE_PAYMENT,5.00,HKD`;
    dayFile('20261223', '000', reportRow('pay_beside_long_reversal', 'PAYMENT', '2026-12-23T10:00:00+08:00', '12.50'), reversal(''), reversal('1'));
    expect((await ingestion.ingest()).filter((r) => r.status !== 'DUPLICATE').map((r) => [r.path.split('/').pop(), r.status, r.rows])).toEqual([
      ['transactionItems_20261223_000.csv', 'INGESTED', 3],
    ]);
    expect(await transactionOf('pay_beside_long_reversal')).toMatchObject({ reconciliation: 'MATCHED' });
    const found = async () =>
      dataSource.query("SELECT transaction_request_id AS id, payment_id, merchant_id, actual FROM discrepancies WHERE type = 'UNSUPPORTED_ROW' AND business_day = '2026-12-23' ORDER BY id");
    const first = await found();
    // two ids alike for their first 300 characters are two discrepancies, each named within an event id
    expect(first).toHaveLength(2);
    for (const d of first) {
      expect(d.id).toMatch(/^RR-9+~[0-9a-f]{16}$/);
      expect(d.id).toHaveLength(64);
      // references too long to be one of ours name nothing; the row keeps them, each value bounded
      expect(d).toMatchObject({ payment_id: null, merchant_id: null });
      expect(Object.values(d.actual as Record<string, string>).every((value) => value.length <= 256)).toBe(true);
      expect(d.actual.transactionId).toMatch(/^RR-9+~[0-9a-f]{16}$/);
      expect(d.actual.originalTransactionRequestId).toBe('p'.repeat(70));
    }
    expect(first[0].id).not.toBe(first[1].id);
    const announced = await dataSource.query("SELECT payload->'data' AS data FROM outbox WHERE type = 'DiscrepancyDetected' AND key = ANY($1)", [first.map((d: { id: string }) => d.id)]);
    expect(announced.map((a: { data: { transactionRequestId: string } }) => a.data.transactionRequestId).sort()).toEqual(first.map((d: { id: string }) => d.id).sort());

    // a part of the day at a later look lists one of them again: the same name, the same discrepancy
    dayFile('20261223', '001', reversal(''));
    expect((await ingestion.ingest()).filter((r) => r.status !== 'DUPLICATE').map((r) => [r.path.split('/').pop(), r.status])).toEqual([['transactionItems_20261223_001.csv', 'INGESTED']]);
    expect((await found()).map((d: { id: string }) => d.id)).toEqual(first.map((d: { id: string }) => d.id));
  });

  it('settles a batch beside an item of a type settlement does not book, which finance sees as an open discrepancy', async () => {
    await apply(event('pay_beside_reversed_item', 'PaymentSucceeded', 3));
    const batchId = '20261127HKD021';
    const row = (type: string, id: string, request: string, original: string, amount: string, net: string, fee: string) =>
      `${batchId},C1,Alipay_SG,,mer_7KQ2,sto_A001,${type},${id},,${request},${original},ORD-1,CONNECT_WALLET,ALIPAYHK,2026-11-27T12:06:02+08:00,2026-11-28T00:00:00+08:00,IN_STORE_PAYMENT,${amount},HKD,${net},HKD,,,${fee},HKD,0.00,HKD`;
    const line = (type: string, count: number, net: string, fee: string) => `${batchId},C1,Alipay_SG,${type},2026-11-28T00:00:00+08:00,${count},${net},HKD,${fee},HKD,0.00,HKD`;
    for (const [name, lines] of [
      [`settlementItems_HKD_${batchId}_000.csv`, [ITEM_HEADER, row('PAYMENT', 'A-pay_beside_reversed_item', 'pay_beside_reversed_item', '', '12.50', '12.40', '-0.10'), row('PAYMENT_REVERSAL', 'PR-pay_reversed_item', 'pay_reversed_item', 'pay_reversed_item', '-3.00', '-3.00', '0.00')]],
      [`settlementSummary_HKD_${batchId}_000.csv`, [SUMMARY_HEADER, line('PAYMENT', 1, '12.40', '-0.10'), line('PAYMENT_REVERSAL', 1, '-3.00', '0.00'), line('TOTAL', 2, '9.40', '-0.10')]],
    ] as const) {
      files.push({ source: 'memory', path: `C1/20261128/${name}`, name, content: Buffer.from([...lines, '<END>', ''].join('\n')) });
    }
    expect((await ingestion.ingest()).filter((r) => r.batchId === batchId).map((r) => [r.status, r.reason])).toEqual([['INGESTED', undefined]]);
    expect(await transactionOf('pay_beside_reversed_item')).toMatchObject({ status: 'POSTED', reconciliation: 'MATCHED' });
    expect(await finance.batch(batchId)).toMatchObject({ status: 'DISCREPANCIES', net: { currency: 'HKD', value: '940' }, items: [{ result: 'MATCHED' }] });
    expect((await finance.discrepancies({ paymentId: 'pay_reversed_item' })).discrepancies).toEqual([expect.objectContaining({
      type: 'UNSUPPORTED_ROW', kind: 'OTHER', status: 'OPEN', transactionRequestId: 'PR-pay_reversed_item', reportFile: `C1/20261128/settlementItems_HKD_${batchId}_000.csv`,
      actual: expect.objectContaining({ transactionType: 'PAYMENT_REVERSAL', settlementBatchId: batchId, settlementAmountValue: '-3.00' }),
    })]);
  });

  it('settles a batch whose TOTAL counts a settlement fee line, checked with it, and shows finance the line the ledger does not book', async () => {
    await apply(event('pay_fee_line', 'PaymentSucceeded', 3));
    const batchId = '20261127HKD020';
    const item = `${batchId},C1,Alipay_SG,,mer_7KQ2,sto_A001,PAYMENT,A-pay_fee_line,,pay_fee_line,,ORD-1,CONNECT_WALLET,ALIPAYHK,2026-11-27T12:06:02+08:00,2026-11-28T00:00:00+08:00,IN_STORE_PAYMENT,12.50,HKD,12.40,HKD,,,-0.10,HKD,0.00,HKD`;
    const line = (type: string, count: number, net: string, fee: string) => `${batchId},C1,Alipay_SG,${type},2026-11-28T00:00:00+08:00,${count},${net},HKD,${fee},HKD,0.00,HKD`;
    for (const [name, lines] of [
      [`settlementItems_HKD_${batchId}_000.csv`, [ITEM_HEADER, item]],
      [`settlementSummary_HKD_${batchId}_000.csv`, [SUMMARY_HEADER, line('PAYMENT', 1, '12.40', '-0.10'), line('SETTLEMENT_FEE', 1, '-2.00', '-2.00'), line('TOTAL', 2, '10.40', '-2.10')]],
    ] as const) {
      files.push({ source: 'memory', path: `C1/20261128/${name}`, name, content: Buffer.from([...lines, '<END>', ''].join('\n')) });
    }
    expect((await ingestion.ingest()).filter((r) => r.batchId === batchId).map((r) => [r.status, r.reason])).toEqual([['INGESTED', undefined]]);
    // the payment is posted; the payout is Alipay's TOTAL, of which the ledger books the item
    expect(await transactionOf('pay_fee_line')).toMatchObject({ status: 'POSTED', reconciliation: 'MATCHED' });
    expect(await finance.batch(batchId)).toMatchObject({ status: 'DISCREPANCIES', items: [{ result: 'MATCHED' }] });
    const [found] = (await finance.discrepancies({ type: 'UNSUPPORTED_ROW' })).discrepancies.filter((d: { transactionRequestId: unknown }) => d.transactionRequestId === `${batchId}:SETTLEMENT_FEE`);
    expect(found).toMatchObject({
      kind: 'OTHER', status: 'OPEN', reportFile: `C1/20261128/settlementSummary_HKD_${batchId}_000.csv`,
      actual: { settlementBatchId: batchId, summaryType: 'SETTLEMENT_FEE', count: '1', settlementAmountValue: '-2.00', feeAmountValue: '-2.00', settlementCurrency: 'HKD' },
    });
  });

  // a batch id near 64 characters named the line past the 64 characters DiscrepancyDetected allows; and of two lines of one
  // type, the discrepancy kept the later line's values only
  it('names a summary line of a long batch within an event id, and sums two lines of one type', async () => {
    await apply(event('pay_fee_lines', 'PaymentSucceeded', 3));
    const batchId = `20261127HKD021${'X'.repeat(44)}`;
    const item = `${batchId},C1,Alipay_SG,,mer_7KQ2,sto_A001,PAYMENT,A-pay_fee_lines,,pay_fee_lines,,ORD-1,CONNECT_WALLET,ALIPAYHK,2026-11-27T12:06:02+08:00,2026-11-28T00:00:00+08:00,IN_STORE_PAYMENT,12.50,HKD,12.40,HKD,,,-0.10,HKD,0.00,HKD`;
    const line = (type: string, count: number, net: string, fee: string) => `${batchId},C1,Alipay_SG,${type},2026-11-28T00:00:00+08:00,${count},${net},HKD,${fee},HKD,0.00,HKD`;
    for (const [name, lines] of [
      [`settlementItems_HKD_${batchId}_000.csv`, [ITEM_HEADER, item]],
      [`settlementSummary_HKD_${batchId}_000.csv`, [
        SUMMARY_HEADER, line('PAYMENT', 1, '12.40', '-0.10'), line('SETTLEMENT_FEE', 1, '-2.00', '-2.00'), line('SETTLEMENT_FEE', 2, '-1.50', '-1.50'), line('TOTAL', 4, '8.90', '-3.60'),
      ]],
    ] as const) {
      files.push({ source: 'memory', path: `C1/20261128/${name}`, name, content: Buffer.from([...lines, '<END>', ''].join('\n')) });
    }
    expect((await ingestion.ingest()).filter((r) => r.batchId === batchId).map((r) => [r.status, r.reason])).toEqual([['INGESTED', undefined]]);
    const found = (await finance.discrepancies({ type: 'UNSUPPORTED_ROW' })).discrepancies.filter((d: { actual: Record<string, string> | null }) => d.actual?.settlementBatchId === batchId);
    expect(found).toEqual([expect.objectContaining({
      transactionRequestId: summaryLineRequestId(batchId, 'SETTLEMENT_FEE'),
      actual: expect.objectContaining({ summaryType: 'SETTLEMENT_FEE', count: '3', settlementAmountValue: '-3.50', feeAmountValue: '-3.50' }),
    })]);
    const [{ data }] = await dataSource.query("SELECT payload->'data' AS data FROM outbox WHERE type = 'DiscrepancyDetected' AND payload->'data'->>'discrepancyId' = $1", [found[0].discrepancyId]);
    expect(discrepancyDetectedV1.parse(data)).toMatchObject({ transactionRequestId: summaryLineRequestId(batchId, 'SETTLEMENT_FEE') });
  });

  it('closes the MISSING_IN_REPORT of a transaction finance posts in the batch that paid it out before its event came after its day\'s file, not one paid out with another fee', async () => {
    const first = { pay_filed_twice: '20261127HKD091', pay_filed_fx: '20261127USD091', pay_filed_fee: '20261127HKD093' };
    settlementBatch(first.pay_filed_twice, 'pay_filed_twice');
    settlementBatch('20261127HKD092', 'pay_filed_twice');
    fxBatch(first.pay_filed_fx, 'pay_filed_fx');
    settlementBatch(first.pay_filed_fee, 'pay_filed_fee', '12.50', '0.20');
    expect((await ingestion.ingest()).filter((r) => r.status === 'INGESTED')).toHaveLength(4);
    for (const paymentId of Object.keys(first)) {
      // of the 27th, whose transaction file is in without it: missing from it as it is booked, and not posted by itself
      await apply(event(paymentId, 'PaymentSucceeded', 3));
      expect((await finance.discrepancies({ paymentId, status: 'OPEN' })).discrepancies).toEqual([
        expect.objectContaining({ type: 'MISSING_IN_LEDGER' }), expect.objectContaining({ type: 'MISSING_IN_REPORT' }),
      ]);
      const [lagged] = (await finance.discrepancies({ paymentId, type: 'MISSING_IN_LEDGER' })).discrepancies;
      await finance.resolveDiscrepancy(lagged.discrepancyId as string, { resolvedBy: 'finance@chain.example', note: 'ours', adjust: true });
    }

    // paid out as the ledger expects it: missing no more, as when the batch comes after the event and the file
    for (const paymentId of ['pay_filed_twice', 'pay_filed_fx'] as const) {
      const written = await transactionOf(paymentId);
      expect(written).toMatchObject({ status: 'POSTED' });
      expect((await finance.discrepancies({ paymentId, type: 'MISSING_IN_REPORT' })).discrepancies).toEqual([expect.objectContaining({
        status: 'RESOLVED', resolvedBy: 'settlement', resolutionNote: `paid out in settlement batch ${first[paymentId]}`, ledgerTransactionId: written.id,
      })]);
    }
    expect(await transactionOf('pay_filed_fx')).toMatchObject({ reconciliation: 'MATCHED' });
    // what is left of the one paid out twice is the second payout, to recover from Alipay
    expect((await finance.discrepancies({ paymentId: 'pay_filed_twice', status: 'OPEN' })).discrepancies).toEqual([
      expect.objectContaining({ type: 'MISMATCHED', fields: ['settlementBatchId'], repeatedIn: '20261127HKD092' }),
    ]);
    // paid out with another fee: finance booked Alipay's, and Alipay's word on the day stays open, as when the event comes first
    expect(await transactionOf('pay_filed_fee')).toMatchObject({ status: 'POSTED' });
    expect((await finance.discrepancies({ paymentId: 'pay_filed_fee', status: 'OPEN' })).discrepancies).toEqual([expect.objectContaining({ type: 'MISSING_IN_REPORT' })]);
  });
});
