import type { DataSource } from 'typeorm';
import { parseCsv } from '@upm/contracts';
import { Metrics } from '@upm/shared-observability';
import { freshDatabase, testLogger } from '@upm/shared-testing';
import { SETTLEMENT_DATABASE } from '../database';
import { LedgerStore } from '../ledger/ledger.store';
import { ReportIngestion } from '../reports/report-ingestion';
import type { ReportSourceFile } from '../reports/report-sources';
import { FinanceService } from './finance.service';

/** The finance export as finance opens it, in a spreadsheet, with what Alipay's report files put in the ledger. */
let dataSource: DataSource;
const ledger = new LedgerStore('settlement');
const files: ReportSourceFile[] = [];
let ingestion: ReportIngestion;

beforeAll(async () => {
  ({ dataSource } = await freshDatabase('upm_test_finance_export', SETTLEMENT_DATABASE));
  ingestion = new ReportIngestion(dataSource, ledger, [{ name: 'memory', list: async () => files }], 10n, 'settlement', testLogger());
});

afterAll(async () => {
  await dataSource.destroy();
});

const ITEM_HEADER = 'settlementBatchId,customerId,acquirer,acquirerReferenceNo,referenceMerchantId,referenceStoreId,transactionType,transactionId,originalTransactionId,transactionRequestId,originalTransactionRequestId,referenceTransactionId,paymentMethodType,pspName,paymentTime,settlementTime,productCode,transactionAmountValue,transactionCurrency,settlementAmountValue,settlementCurrency,quoteCurrencyPair,quotePrice,feeAmountValue,feeCurrency,taxFeeAmountValue,taxFeeCurrency';
const SUMMARY_HEADER = 'settlementBatchId,customerId,acquirer,summaryType,settlementTime,count,settlementAmountValue,settlementCurrency,feeAmountValue,feeCurrency,taxFeeAmountValue,taxFeeCurrency';

describe('finance export', () => {
  it('writes a report-sourced merchant id that a spreadsheet would run as a formula as text', async () => {
    const batchId = '2026112877';
    const merchantId = '=HYPERLINK("http://x.example")';
    // a payout of a payment the ledger never heard of is booked to the row's referenceMerchantId, as the file has it
    const item = `${batchId},C1,Alipay_SG,,"${merchantId.replace(/"/g, '""')}",sto_A001,PAYMENT,A-pay_unknown,,pay_unknown,,ORD-1,CONNECT_WALLET,ALIPAYHK,2026-11-27T12:06:02+08:00,2026-11-28T00:00:00+08:00,IN_STORE_PAYMENT,12.50,HKD,12.40,HKD,,,-0.10,HKD,0.00,HKD`;
    const total = (type: string) => `${batchId},C1,Alipay_SG,${type},2026-11-28T00:00:00+08:00,1,12.40,HKD,-0.10,HKD,0.00,HKD`;
    for (const [name, lines] of [[`settlementItems_HKD_${batchId}_000.csv`, [ITEM_HEADER, item]], [`settlementSummary_HKD_${batchId}_000.csv`, [SUMMARY_HEADER, total('PAYMENT'), total('TOTAL')]]] as const) {
      files.push({ source: 'memory', path: `C1/20261128/${name}`, name, content: Buffer.from([...lines, '<END>', ''].join('\n')) });
    }
    expect((await ingestion.ingest()).find((r) => r.batchId === batchId)?.status).toBe('INGESTED');

    const csv = await new FinanceService(dataSource, ledger, new Metrics('finance-export')).exportCsv({ batchId });
    const [header, ...rows] = parseCsv(csv);
    const column = (name: string) => rows.map((row) => row[header.indexOf(name)]);
    expect(new Set(column('merchantId'))).toEqual(new Set([`'${merchantId}`]));
    // OWASP CSV injection: no cell starts with = + - @, a tab or a CR
    expect(rows.flat().filter((cell) => /^[=+\-@\t\r]/.test(cell))).toEqual([]);
    // the amounts stay numbers
    expect([...column('debit'), ...column('credit')].filter((cell) => cell).every((cell) => /^\d+\.\d{2}$/.test(cell))).toBe(true);
  });
});
