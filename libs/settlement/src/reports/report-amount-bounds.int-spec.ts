import type { DataSource } from 'typeorm';
import { createEnvelope, MESSAGE_EXAMPLES, PaymentViewV1, TOPICS } from '@upm/contracts';
import { freshDatabase, testLogger } from '@upm/shared-testing';
import { SETTLEMENT_DATABASE } from '../database';
import { LedgerStore } from '../ledger/ledger.store';
import { PaymentEventsHandler } from '../ledger/payment-events.handler';
import { ReportIngestion } from './report-ingestion';
import type { ReportSourceFile } from './report-sources';

/**
 * An amount no ledger column can hold (more than String(16) minor units, more than a PostgreSQL bigint) is the
 * file's content: the file is rejected once with the reason, not failed at every look.
 */
let dataSource: DataSource;
const ledger = new LedgerStore('settlement');
const files: ReportSourceFile[] = [];
let ingestion: ReportIngestion;

beforeAll(async () => {
  ({ dataSource } = await freshDatabase('upm_test_report_amount_bounds', SETTLEMENT_DATABASE));
  ingestion = new ReportIngestion(dataSource, ledger, [{ name: 'memory', list: async () => files }], 10n, 'settlement', testLogger());
});

afterAll(async () => {
  await dataSource.destroy();
});

const HUGE = '100000000000000000.00'; // 10^19 minor units

const TX_HEADER = 'customerId,acquirer,acquirerReferenceNo,referenceMerchantId,referenceStoreId,transactionType,transactionId,originalTransactionId,transactionRequestId,originalTransactionRequestId,referenceTransactionId,orderDescription,paymentMethodType,pspName,paymentTime,productCode,transactionAmountValue,transactionCurrency';
const ITEM_HEADER = 'settlementBatchId,customerId,acquirer,acquirerReferenceNo,referenceMerchantId,referenceStoreId,transactionType,transactionId,originalTransactionId,transactionRequestId,originalTransactionRequestId,referenceTransactionId,paymentMethodType,pspName,paymentTime,settlementTime,productCode,transactionAmountValue,transactionCurrency,settlementAmountValue,settlementCurrency,quoteCurrencyPair,quotePrice,feeAmountValue,feeCurrency,taxFeeAmountValue,taxFeeCurrency';
const SUMMARY_HEADER = 'settlementBatchId,customerId,acquirer,summaryType,settlementTime,count,settlementAmountValue,settlementCurrency,feeAmountValue,feeCurrency,taxFeeAmountValue,taxFeeCurrency';

function put(day: string, name: string, lines: readonly string[]): void {
  files.push({ source: 'memory', path: `C1/${day}/${name}`, name, content: Buffer.from([...lines, '<END>', ''].join('\n')) });
}

describe('an amount beyond what the ledger holds', () => {
  it('rejects the settlement batch once, with the reason, instead of failing it at every look', async () => {
    const batchId = '2026112899';
    const item = `${batchId},C1,Alipay_SG,,mer_7KQ2,sto_A001,PAYMENT,A-pay_huge,,pay_huge,,ORD-1,CONNECT_WALLET,ALIPAYHK,2026-11-27T12:06:02+08:00,2026-11-28T00:00:00+08:00,IN_STORE_PAYMENT,${HUGE},HKD,${HUGE},HKD,,,0.00,HKD,0.00,HKD`;
    const total = (type: string) => `${batchId},C1,Alipay_SG,${type},2026-11-28T00:00:00+08:00,1,${HUGE},HKD,0.00,HKD,0.00,HKD`;
    put('20261128', `settlementItems_HKD_${batchId}_000.csv`, [ITEM_HEADER, item]);
    put('20261128', `settlementSummary_HKD_${batchId}_000.csv`, [SUMMARY_HEADER, total('PAYMENT'), total('TOTAL')]);
    const first = (await ingestion.ingest()).find((r) => r.batchId === batchId);
    const second = (await ingestion.ingest()).find((r) => r.batchId === batchId);
    expect(first).toMatchObject({ status: 'REJECTED', reason: expect.stringMatching(/transactionAmountValue "100000000000000000.00" HKD is more than 16 digits in minor units/) });
    expect(second?.status).toBe('DUPLICATE');
    expect(await dataSource.query('SELECT 1 FROM settlement_batches WHERE batch_id = $1', [batchId])).toEqual([]);
  });

  it('rejects that transaction file alone: the day\'s other parts go in', async () => {
    // a payment in doubt is written to the ledger from the report's row, amount and all
    const { payment } = (MESSAGE_EXAMPLES[TOPICS.paymentEvents.name] as Record<string, { payment: PaymentViewV1 }>).PaymentNeedsReview;
    const inDoubt = createEnvelope({
      type: 'PaymentNeedsReview', key: 'pay_huge_tx', producer: 'test',
      data: { payment: { ...payment, paymentId: 'pay_huge_tx', sequence: 2, alipay: { ...payment.alipay, paymentRequestId: 'pay_huge_tx', paymentId: 'A-pay_huge_tx' } } },
    });
    await dataSource.transaction((manager) => new PaymentEventsHandler(ledger, 10n).apply(manager, inDoubt));
    const row = (id: string, amount: string) => `C1,Alipay_SG,,mer_7KQ2,sto_A001,PAYMENT,A-${id},,${id},,ORD-1,coffee,CONNECT_WALLET,ALIPAYHK,2026-11-26T12:06:02+08:00,IN_STORE_PAYMENT,${amount},HKD`;
    put('20261126', 'transactionItems_20261126_000.csv', [TX_HEADER, row('pay_fine', '12.50')]);
    put('20261126', 'transactionItems_20261126_001.csv', [TX_HEADER, row('pay_huge_tx', HUGE)]);
    const results = await ingestion.ingest();
    const of = (name: string) => results.find((r) => r.path.endsWith(name));
    expect(of('transactionItems_20261126_000.csv')?.status).toBe('INGESTED');
    expect(of('transactionItems_20261126_001.csv')).toMatchObject({ status: 'REJECTED', reason: expect.stringMatching(/line 2: transactionAmountValue .* more than 16 digits/) });
    expect((await ingestion.ingest()).filter((r) => r.path.includes('20261126')).map((r) => r.status)).toEqual(['DUPLICATE', 'DUPLICATE']);
  });
});
