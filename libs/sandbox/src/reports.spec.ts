import type { LedgerEntry } from './payment-book';
import { buildDayReports, SETTLEMENT_ITEM_COLUMNS, TRANSACTION_COLUMNS } from './reports';

const entry = (type: LedgerEntry['type'], at: string, currency: string, value: string, overrides: Partial<LedgerEntry> = {}): LedgerEntry => ({
  type,
  customerId: 'C1',
  at: new Date(at),
  amount: { currency, value },
  transactionId: `T-${type}-${value}`,
  originalTransactionId: type === 'PAYMENT' ? '' : 'P-1',
  transactionRequestId: `R-${type}-${value}`,
  originalTransactionRequestId: type === 'PAYMENT' ? '' : 'PR-1',
  referenceTransactionId: 'ORD-1',
  referenceMerchantId: 'M-1',
  referenceStoreId: 'S-1',
  orderDescription: 'coffee',
  ...overrides,
});

const rowsOf = (content: string) => content.split('\n').slice(1, -2);
const column = (columns: readonly string[], line: string, name: string) => line.split(',')[columns.indexOf(name)];

describe('buildDayReports', () => {
  const ledger = [
    entry('PAYMENT', '2026-11-26T15:59:59Z', 'HKD', '100'), // 23:59:59 UTC+8 on the 26th: not in the 27th
    entry('PAYMENT', '2026-11-26T16:00:00Z', 'HKD', '1250', { orderDescription: 'Latte, "large"\nto go' }),
    entry('REFUND', '2026-11-27T01:00:00Z', 'HKD', '250'),
    entry('CANCEL', '2026-11-27T02:00:00Z', 'HKD', '1250'),
    entry('PAYMENT', '2026-11-27T03:00:00Z', 'KRW', '50000'),
    entry('PAYMENT', '2026-11-27T15:59:59Z', 'JPY', '7'),
    entry('PAYMENT', '2026-11-27T04:00:00Z', 'HKD', '1', { customerId: 'C2' }),
  ];
  const files = buildDayReports(ledger, '2026-11-27', ['C1', 'C3']);
  const file = (customerId: string, name: string) => files.find((f) => f.customerId === customerId && f.name === name)!;

  it('names the files per spec §13.1, per customer, one batch per currency', () => {
    expect(files.map((f) => `${f.customerId}/${f.day}/${f.name}`)).toEqual([
      'C1/20261127/transactionItems_20261127_000.csv',
      'C1/20261127/settlementItems_HKD_20261127HKD001_000.csv',
      'C1/20261127/settlementSummary_HKD_20261127HKD001_000.csv',
      'C1/20261127/settlementItems_JPY_20261127JPY001_000.csv',
      'C1/20261127/settlementSummary_JPY_20261127JPY001_000.csv',
      'C1/20261127/settlementItems_KRW_20261127KRW001_000.csv',
      'C1/20261127/settlementSummary_KRW_20261127KRW001_000.csv',
      'C3/20261127/transactionItems_20261127_000.csv',
      'C2/20261127/transactionItems_20261127_000.csv',
      'C2/20261127/settlementItems_HKD_20261127HKD001_000.csv',
      'C2/20261127/settlementSummary_HKD_20261127HKD001_000.csv',
    ]);
  });

  it('writes a header, the UTC+8 day’s rows with signed major-unit amounts, and <END>', () => {
    const { content, rows } = file('C1', 'transactionItems_20261127_000.csv');
    const lines = content.split('\n');
    expect(lines[0]).toBe(TRANSACTION_COLUMNS.join(','));
    expect(lines.at(-2)).toBe('<END>');
    expect(lines.at(-1)).toBe('');
    expect(rows).toBe(5);
    expect(content).toContain('"Latte, ""large""\nto go"');
    expect(content).not.toContain(',1.00,');
    const amounts = ['12.50,HKD', '-2.50,HKD', '-12.50,HKD', '50000,KRW', '7,JPY'];
    for (const amount of amounts) expect(content).toContain(`,${amount}\n`);
    expect(content).toContain('2026-11-27T00:00:00+08:00');
  });

  it('charges 10 minor units per payment and refund, returns it on cancel, and settles transaction + fee', () => {
    const items = rowsOf(file('C1', 'settlementItems_HKD_20261127HKD001_000.csv').content);
    const get = (line: string, name: string) => column(SETTLEMENT_ITEM_COLUMNS, line, name);
    expect(items.map((line) => [get(line, 'transactionType'), get(line, 'transactionAmountValue'), get(line, 'feeAmountValue'), get(line, 'settlementAmountValue')])).toEqual([
      ['PAYMENT', '12.50', '-0.10', '12.40'],
      ['REFUND', '-2.50', '-0.10', '-2.60'],
      ['CANCEL', '-12.50', '0.10', '-12.40'],
    ]);
    expect(items.every((line) => get(line, 'settlementTime') === '2026-11-28T00:00:00+08:00')).toBe(true);
  });

  it('summarises each type and the TOTAL of the batch', () => {
    const summary = file('C1', 'settlementSummary_HKD_20261127HKD001_000.csv').content.split('\n');
    expect(summary[0]).toBe('settlementBatchId,customerId,acquirer,summaryType,settlementTime,count,settlementAmountValue,settlementCurrency,feeAmountValue,feeCurrency,taxFeeAmountValue,taxFeeCurrency');
    expect(summary.slice(1, -2).map((line) => line.split(',').slice(3, 10).filter((_, i) => i !== 1).join(' '))).toEqual([
      'PAYMENT 1 12.40 HKD -0.10 HKD',
      'REFUND 1 -2.60 HKD -0.10 HKD',
      'CANCEL 1 -12.40 HKD 0.10 HKD',
      'TOTAL 3 -2.60 HKD -0.10 HKD',
    ]);
    const jpy = file('C1', 'settlementSummary_JPY_20261127JPY001_000.csv').content;
    expect(jpy).toContain(',TOTAL,2026-11-28T00:00:00+08:00,1,-3,JPY,-10,JPY,0,JPY\n');
  });

  it('gives a quiet customer a transaction file with nothing but the header and <END>', () => {
    expect(file('C3', 'transactionItems_20261127_000.csv')).toMatchObject({ rows: 0, content: `${TRANSACTION_COLUMNS.join(',')}\n<END>\n` });
  });
});
