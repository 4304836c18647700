import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, watch, writeFileSync } from 'node:fs';
import fsPromises from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { LedgerEntry } from './payment-book';
import { quote } from './fx';
import { testLogger } from '@upm/shared-testing';
import { buildDayReports, readWrittenReports, recoverReportFolders, REPORT_STAGING_DIR, ReportFile, SETTLEMENT_ITEM_COLUMNS, transactionRecords, TRANSACTION_COLUMNS, writeReports } from './reports';

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
    const breakdown = ['taxFeeAmountValue', 'taxFeeCurrency', 'processingFeeAmountValue', 'processingFeeCurrency', 'nonGuaranteeCouponValue', 'nonGuaranteeCouponCurrency'];
    expect(items.map((line) => breakdown.map((name) => get(line, name)).join(' '))).toEqual(['0.00 HKD -0.10 HKD 0.00 HKD', '0.00 HKD -0.10 HKD 0.00 HKD', '0.00 HKD 0.10 HKD 0.00 HKD']);
  });

  it('summarises each type and the TOTAL of the batch', () => {
    const summary = file('C1', 'settlementSummary_HKD_20261127HKD001_000.csv').content.split('\n');
    expect(summary[0]).toBe(
      'settlementBatchId,customerId,acquirer,summaryType,settlementTime,count,settlementAmountValue,settlementCurrency,feeAmountValue,feeCurrency,taxFeeAmountValue,taxFeeCurrency,' +
        'processingFeeAmountValue,processingFeeCurrency,nonGuaranteeCouponValue,nonGuaranteeCouponCurrency',
    );
    expect(summary.slice(1, -2).map((line) => line.split(',').slice(3, 10).filter((_, i) => i !== 1).join(' '))).toEqual([
      'PAYMENT 1 12.40 HKD -0.10 HKD',
      'REFUND 1 -2.60 HKD -0.10 HKD',
      'CANCEL 1 -12.40 HKD 0.10 HKD',
      'TOTAL 3 -2.60 HKD -0.10 HKD',
    ]);
    const jpy = file('C1', 'settlementSummary_JPY_20261127JPY001_000.csv').content;
    expect(jpy).toContain(',TOTAL,2026-11-28T00:00:00+08:00,1,-3,JPY,-10,JPY,0,JPY,-10,JPY,0,JPY\n');
  });

  it('gives a quiet customer a transaction file with nothing but the header and <END>', () => {
    expect(file('C3', 'transactionItems_20261127_000.csv')).toMatchObject({ rows: 0, content: `${TRANSACTION_COLUMNS.join(',')}\n<END>\n` });
  });
});

describe('buildDayReports with a fee schedule of a rate and a fixed part per currency', () => {
  const ledger = [
    entry('PAYMENT', '2026-11-27T01:00:00Z', 'HKD', '1250'),
    entry('REFUND', '2026-11-27T02:00:00Z', 'HKD', '500'),
    entry('PAYMENT', '2026-11-27T03:00:00Z', 'HKD', '2000', { transactionId: 'T-PAYMENT-2000' }),
    entry('CANCEL', '2026-11-27T04:00:00Z', 'HKD', '2000'),
    entry('PAYMENT', '2026-11-27T05:00:00Z', 'JPY', '1250'),
  ];
  const files = buildDayReports(ledger, '2026-11-27', ['C1'], { fees: { feeRateBps: 220, feeMinor: 0n, feeMinorByCurrency: { HKD: 100n, JPY: 1n } } });
  const content = (name: string) => files.find((f) => f.name === name)!.content;

  it('charges each payment and refund 2.2 % of its gross (half up) plus the fixed part, and a cancel gives its payment’s back', () => {
    const get = (line: string, name: string) => column(SETTLEMENT_ITEM_COLUMNS, line, name);
    const shown = (name: string) => rowsOf(content(name)).map((line) => ['transactionType', 'transactionAmountValue', 'feeAmountValue', 'processingFeeAmountValue', 'settlementAmountValue'].map((c) => get(line, c)).join(' '));
    // 27.5 → 28 cents + 1.00; 11 cents + 1.00; 44 cents + 1.00, given back in full by the cancel; 27.5 → 28 yen + 1
    expect(shown('settlementItems_HKD_20261127HKD001_000.csv')).toEqual([
      'PAYMENT 12.50 -1.28 -1.28 11.22',
      'REFUND -5.00 -1.11 -1.11 -6.11',
      'PAYMENT 20.00 -1.44 -1.44 18.56',
      'CANCEL -20.00 1.44 1.44 -18.56',
    ]);
    expect(shown('settlementItems_JPY_20261127JPY001_000.csv')).toEqual(['PAYMENT 1250 -29 -29 1221']);
  });

  it('sums the scheduled fees in the summary', () => {
    expect(content('settlementSummary_HKD_20261127HKD001_000.csv')).toContain(',TOTAL,2026-11-28T00:00:00+08:00,4,5.11,HKD,-2.39,HKD,0.00,HKD,-2.39,HKD,0.00,HKD\n');
  });
});

describe('buildDayReports of a day too large for one file', () => {
  const ledger = [
    entry('PAYMENT', '2026-11-27T01:00:00Z', 'HKD', '100'),
    entry('PAYMENT', '2026-11-27T02:00:00Z', 'HKD', '200'),
    entry('REFUND', '2026-11-27T03:00:00Z', 'HKD', '50'),
    entry('PAYMENT', '2026-11-27T04:00:00Z', 'HKD', '300'),
    entry('PAYMENT', '2026-11-27T05:00:00Z', 'HKD', '400'),
    entry('PAYMENT', '2026-11-27T06:00:00Z', 'JPY', '7'),
  ];
  const files = buildDayReports(ledger, '2026-11-27', ['C1', 'C3'], { maxRowsPerFile: 2 });
  const named = (prefix: string) => files.filter((f) => f.customerId === 'C1' && f.name.startsWith(prefix));

  it('splits the transaction file and each batch items file into _000, _001… of at most that many rows; the summary stays one file', () => {
    expect(named('transactionItems').map((f) => [f.name, f.seq, f.rows])).toEqual([
      ['transactionItems_20261127_000.csv', '000', 2],
      ['transactionItems_20261127_001.csv', '001', 2],
      ['transactionItems_20261127_002.csv', '002', 2],
    ]);
    expect(named('settlementItems_HKD').map((f) => [f.name, f.rows])).toEqual([
      ['settlementItems_HKD_20261127HKD001_000.csv', 2],
      ['settlementItems_HKD_20261127HKD001_001.csv', 2],
      ['settlementItems_HKD_20261127HKD001_002.csv', 1],
    ]);
    expect(named('settlementItems_JPY').map((f) => f.name)).toEqual(['settlementItems_JPY_20261127JPY001_000.csv']);
    expect(named('settlementSummary_HKD').map((f) => f.name)).toEqual(['settlementSummary_HKD_20261127HKD001_000.csv']);
    expect(files.filter((f) => f.customerId === 'C3').map((f) => [f.name, f.rows])).toEqual([['transactionItems_20261127_000.csv', 0]]);
  });

  it('makes every part a whole file, header to <END>, that together hold every row once in order; the summary counts them all', () => {
    for (const part of [...named('transactionItems'), ...named('settlementItems')]) {
      const lines = part.content.split('\n');
      expect(lines[0]).toBe((part.kind === 'transactionItems' ? TRANSACTION_COLUMNS : SETTLEMENT_ITEM_COLUMNS).join(','));
      expect(lines.slice(-2)).toEqual(['<END>', '']);
    }
    const ids = named('settlementItems_HKD').flatMap((f) => rowsOf(f.content).map((line) => column(SETTLEMENT_ITEM_COLUMNS, line, 'transactionRequestId')));
    expect(ids).toEqual(['R-PAYMENT-100', 'R-PAYMENT-200', 'R-REFUND-50', 'R-PAYMENT-300', 'R-PAYMENT-400']);
    expect(named('settlementSummary_HKD')[0].content).toContain(',TOTAL,2026-11-28T00:00:00+08:00,5,9.00,HKD,-0.50,HKD,');
  });

  it('refuses a report that would need more than the 1000 files seq can number', () => {
    const many = Array.from({ length: 1001 }, (_, i) => entry('PAYMENT', '2026-11-27T01:00:00Z', 'HKD', String(i + 1)));
    expect(() => buildDayReports(many, '2026-11-27', ['C1'], { maxRowsPerFile: 1 })).toThrow(/1001 files/);
    expect(buildDayReports(many.slice(0, 1000), '2026-11-27', ['C1'], { maxRowsPerFile: 1 }).filter((f) => f.kind === 'transactionItems').at(-1)?.name).toBe('transactionItems_20261127_999.csv');
  });
});

describe('buildDayReports in a contracted settlement currency', () => {
  const usd = { settlementCurrency: 'USD' };
  const ledger = [
    entry('PAYMENT', '2026-11-27T01:00:00Z', 'HKD', '1250', usd),
    entry('REFUND', '2026-11-27T02:00:00Z', 'HKD', '250', usd),
    entry('PAYMENT', '2026-11-27T03:00:00Z', 'JPY', '2000', usd),
    entry('PAYMENT', '2026-11-27T04:00:00Z', 'USD', '500', usd),
    entry('PAYMENT', '2026-11-27T05:00:00Z', 'VND', '100000', usd),
  ];
  const files = buildDayReports(ledger, '2026-11-27', ['C1']);
  const get = (line: string, name: string) => column(SETTLEMENT_ITEM_COLUMNS, line, name);

  it('puts every currency it can convert into one batch of the settlement currency, and keeps the others apart', () => {
    expect(files.map((f) => f.name)).toEqual([
      'transactionItems_20261127_000.csv',
      'settlementItems_USD_20261127USD001_000.csv',
      'settlementSummary_USD_20261127USD001_000.csv',
      'settlementItems_VND_20261127VND001_000.csv',
      'settlementSummary_VND_20261127VND001_000.csv',
    ]);
  });

  it('converts amount and fee at the quote, each rounded, and names the quote', () => {
    const items = rowsOf(files[1].content);
    const view = (line: string) =>
      ['transactionType', 'transactionAmountValue', 'transactionCurrency', 'settlementAmountValue', 'settlementCurrency', 'feeAmountValue', 'feeCurrency', 'quoteCurrencyPair', 'quotePrice'].map((name) => get(line, name));
    expect(items.map(view)).toEqual([
      // 12.50 HKD × 0.1282 = 1.6025 → 1.60, less the fee: 0.10 HKD → 0.01282 → 0.01
      ['PAYMENT', '12.50', 'HKD', '1.59', 'USD', '-0.01', 'USD', 'HKD/USD', '0.12820000'],
      ['REFUND', '-2.50', 'HKD', '-0.33', 'USD', '-0.01', 'USD', 'HKD/USD', '0.12820000'],
      // 2000 JPY × 0.0067 = 13.40, less the fee: 10 JPY → 0.067 → 0.07
      ['PAYMENT', '2000', 'JPY', '13.33', 'USD', '-0.07', 'USD', 'JPY/USD', '0.00670000'],
      ['PAYMENT', '5.00', 'USD', '4.90', 'USD', '-0.10', 'USD', '', ''],
    ]);
  });

  it('sums the converted rows into the summary', () => {
    const summary = files[2].content;
    expect(summary).toContain(',TOTAL,2026-11-28T00:00:00+08:00,4,19.49,USD,-0.19,USD,0.00,USD,-0.19,USD,0.00,USD\n');
  });

  it('settles each transaction in the currency its payment chose: two contract currencies make two batches', () => {
    const mixed = buildDayReports(
      [entry('PAYMENT', '2026-11-27T01:00:00Z', 'JPY', '2000', usd), entry('PAYMENT', '2026-11-27T02:00:00Z', 'JPY', '3000', { settlementCurrency: 'HKD' }), entry('PAYMENT', '2026-11-27T03:00:00Z', 'JPY', '4000')],
      '2026-11-27',
      ['C1'],
    );
    expect(mixed.filter((f) => f.kind === 'settlementItems').map((f) => [f.currency, rowsOf(f.content).map((line) => get(line, 'quoteCurrencyPair') || get(line, 'transactionAmountValue'))])).toEqual([
      ['HKD', ['JPY/HKD']],
      ['JPY', ['4000']],
      ['USD', ['JPY/USD']],
    ]);
  });

  it('quotes with 8 decimals and rounds half away from zero', () => {
    const hkd = quote('HKD', 'USD')!;
    expect([hkd.pair, hkd.price]).toEqual(['HKD/USD', '0.12820000']);
    expect([hkd.convert(1250n), hkd.convert(-1250n), hkd.convert(39n), hkd.convert(-39n)]).toEqual([160n, -160n, 5n, -5n]);
    expect(quote('USD', 'JPY')!.convert(100n)).toBe(149n); // 1.00 USD / 0.0067 = 149.25 JPY
    expect(quote('HKD', 'XYZ')).toBeUndefined();
    // into IDR, whole rupiah, banker's-rounded: 1.00 USD = 15873.0159 IDR; 75,000,000.00 USD = …476.5 IDR, 25,000,000.00 USD = …825.5 IDR
    const idr = quote('USD', 'IDR')!;
    expect([idr.convert(100n), idr.convert(-100n), idr.convert(7_500_000_000n), idr.convert(2_500_000_000n), idr.convert(-7_500_000_000n)]).toEqual([
      1_587_300n,
      -1_587_300n,
      119_047_619_047_600n,
      39_682_539_682_600n,
      -119_047_619_047_600n,
    ]);
    expect(quote('VND', 'USD')).toBeUndefined();
  });
});


describe('writeReports', () => {
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(path.join(tmpdir(), 'sandbox-write-reports-'))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('puts each file in place whole: a reader of the folder never sees a .csv being written', async () => {
    const ledger = [entry('PAYMENT', '2026-11-27T03:00:00Z', 'HKD', '100'), entry('REFUND', '2026-11-27T04:00:00Z', 'HKD', '40')];
    const files = buildDayReports(ledger, '2026-11-27', ['C1']);
    const folder = path.join(dir, 'C1', '20261127');
    mkdirSync(folder, { recursive: true });
    const writesSeen: string[] = [];
    const watcher = watch(folder, (event, name) => {
      if (event === 'change' && String(name).endsWith('.csv')) writesSeen.push(String(name));
    });
    try {
      const paths = await writeReports(dir, files);
      await new Promise((resolve) => setTimeout(resolve, 200));
      expect(writesSeen).toEqual([]);
      expect(readdirSync(folder).sort()).toEqual(files.map((f) => f.name).sort());
      expect(paths.map((p) => readFileSync(p, 'utf8'))).toEqual(files.map((f) => f.content));
    } finally {
      watcher.close();
    }
  });

  it('leaves the day folder as it was when a write fails half way: a transaction file on disk means the whole set', async () => {
    const ledger = [
      entry('PAYMENT', '2026-11-27T03:00:00Z', 'HKD', '100'),
      entry('PAYMENT', '2026-11-27T03:30:00Z', 'HKD', '300'),
      entry('PAYMENT', '2026-11-27T04:00:00Z', 'JPY', '500'),
    ];
    const files = buildDayReports(ledger, '2026-11-27', ['C1'], { maxRowsPerFile: 1 });
    // a file that cannot be written (its name names a folder that is not there), as a crash half way would stop the write
    const failing = [...files.slice(0, 3), { ...files[3], name: 'missing/settlementItems.csv' }, ...files.slice(3)];
    const folder = path.join(dir, 'C1', '20261127');

    await expect(writeReports(dir, failing)).rejects.toThrow();
    expect(existsSync(folder)).toBe(false);

    const previous = buildDayReports(ledger.slice(0, 1), '2026-11-27', ['C1']);
    await writeReports(dir, previous);
    await expect(writeReports(dir, failing)).rejects.toThrow();
    expect(readdirSync(folder).sort()).toEqual(previous.map((f) => f.name).sort());
    expect(readdirSync(path.join(dir, '.sandbox-staging'))).toEqual([]);
  });

  it('rewrites a day with fewer parts than before: no part of the previous write stays', async () => {
    const ledger = [entry('PAYMENT', '2026-11-27T03:00:00Z', 'HKD', '100'), entry('PAYMENT', '2026-11-27T03:30:00Z', 'HKD', '300'), entry('PAYMENT', '2026-11-27T04:00:00Z', 'JPY', '500')];
    await writeReports(dir, buildDayReports(ledger, '2026-11-27', ['C1'], { maxRowsPerFile: 1 }));
    const whole = buildDayReports(ledger.slice(0, 1), '2026-11-27', ['C1']);

    const paths = await writeReports(dir, whole);

    expect(readdirSync(path.join(dir, 'C1', '20261127')).sort()).toEqual(whole.map((f) => f.name).sort());
    expect(paths.map((p) => readFileSync(p, 'utf8'))).toEqual(whole.map((f) => f.content));
  });

  it('replaces a day folder at once: each listing of it names the previous files or the new ones, never a mix', async () => {
    const ledger = Array.from({ length: 40 }, (_, i) => entry('PAYMENT', `2026-11-27T03:${String(i).padStart(2, '0')}:00Z`, i % 2 ? 'HKD' : 'JPY', String(100 + i)));
    const split = buildDayReports(ledger, '2026-11-27', ['C1'], { maxRowsPerFile: 2 });
    const whole = buildDayReports(ledger.slice(0, 30), '2026-11-27', ['C1']);
    await writeReports(dir, split);
    const folder = path.join(dir, 'C1', '20261127');
    const listing = (names: string[]) => names.filter((name) => name.endsWith('.csv')).sort().join(' ');
    const allowed = new Set([listing(split.map((f) => f.name)), listing(whole.map((f) => f.name)), '']);
    const seen = new Set<string>();
    let polling = true;
    const poll = (): void => {
      try {
        seen.add(listing(readdirSync(folder)));
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
        seen.add('');
      }
      if (polling) setImmediate(poll);
    };
    poll();

    for (const files of [whole, split, whole]) await writeReports(dir, files);
    polling = false;

    expect([...seen].filter((names) => !allowed.has(names))).toEqual([]);
    expect(listing(readdirSync(folder))).toBe(listing(whole.map((f) => f.name)));
  });

  it('keeps the staging folder when the folder moved out cannot be put back: it holds the only copy of the day', async () => {
    const previous = buildDayReports([entry('PAYMENT', '2026-11-27T03:00:00Z', 'HKD', '100')], '2026-11-27', ['C1']);
    await writeReports(dir, previous);
    const folder = path.join(dir, 'C1', '20261127');
    // the new folder's rename and the one back both fail, as when something takes the folder's place in between
    const realRename = fsPromises.rename;
    const rename = jest.spyOn(fsPromises, 'rename').mockImplementation(async (from, to) => {
      if (String(to) === folder) throw Object.assign(new Error(`EXDEV: cannot rename ${String(from)}`), { code: 'EXDEV' });
      return realRename(from, to);
    });
    try {
      await expect(writeReports(dir, buildDayReports([], '2026-11-27', ['C1']))).rejects.toMatchObject({ code: 'SANDBOX.REPORT_FOLDER_NOT_RESTORED' });
    } finally {
      rename.mockRestore();
    }

    expect(existsSync(folder)).toBe(false);
    const [write] = readdirSync(path.join(dir, REPORT_STAGING_DIR));
    const kept = path.join(dir, REPORT_STAGING_DIR, write, 'previous', 'C1', '20261127');
    expect(readdirSync(kept).sort()).toEqual(previous.map((f) => f.name).sort());

    // the recovery the sandbox runs before its next write puts it back
    await recoverReportFolders(dir, testLogger());
    expect(readdirSync(folder).sort()).toEqual(previous.map((f) => f.name).sort());
    expect(readdirSync(path.join(dir, REPORT_STAGING_DIR))).toEqual([]);
  });

  it('answers the paths in the order of the files given', async () => {
    const ledger = [entry('PAYMENT', '2026-11-27T03:00:00Z', 'HKD', '100'), entry('PAYMENT', '2026-11-27T03:00:00Z', 'HKD', '200', { customerId: 'C2' })];
    const files = buildDayReports(ledger, '2026-11-27', ['C1', 'C2']);
    const paths = await writeReports(dir, files);
    expect(paths).toEqual(files.map((f) => path.join(dir, f.customerId, f.day, f.name)));
    expect(paths.map((p) => readFileSync(p, 'utf8'))).toEqual(files.map((f) => f.content));
  });
});

describe('recoverReportFolders', () => {
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(path.join(tmpdir(), 'sandbox-recover-reports-'))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const day = (value: string) => buildDayReports([entry('PAYMENT', '2026-11-27T03:00:00Z', 'HKD', value)], '2026-11-27', ['C1']);
  const lay = (folder: string, files: readonly ReportFile[]) => {
    mkdirSync(folder, { recursive: true });
    for (const file of files) writeFileSync(path.join(folder, file.name), file.content);
  };
  const contents = (folder: string) => Object.fromEntries(readdirSync(folder).sort().map((name) => [name, readFileSync(path.join(folder, name), 'utf8')]));
  const asWritten = (files: readonly ReportFile[]) => Object.fromEntries(files.map((f) => [f.name, f.content]));
  const staging = (write: string) => path.join(dir, REPORT_STAGING_DIR, write);
  const folder = path.join('C1', '20261127');

  it('puts back a day folder moved out by a write stopped before the new one went in', async () => {
    lay(path.join(staging('write-a'), 'previous', folder), day('100'));
    lay(path.join(staging('write-a'), 'new', '20261127'), day('200'));

    const recovery = await recoverReportFolders(dir, testLogger());

    expect(contents(path.join(dir, folder))).toEqual(asWritten(day('100')));
    expect(recovery).toEqual({ restored: [path.join(dir, folder)], removed: [staging('write-a')], kept: [] });
    expect(readdirSync(path.join(dir, REPORT_STAGING_DIR))).toEqual([]);
  });

  it('removes a finished write (its new folder in place) and one stopped before its swap, leaving the day folder as it is', async () => {
    lay(path.join(dir, folder), day('200'));
    lay(path.join(staging('write-finished'), 'previous', folder), day('100'));
    lay(path.join(staging('write-stopped'), 'new', '20261127'), day('300'));

    const recovery = await recoverReportFolders(dir, testLogger());

    expect(contents(path.join(dir, folder))).toEqual(asWritten(day('200')));
    expect(recovery).toEqual({ restored: [], removed: [staging('write-finished'), staging('write-stopped')], kept: [] });
  });

  it('keeps, and does not put back, a previous folder whose day folder is in place while its new one was not renamed in', async () => {
    lay(path.join(dir, folder), day('200'));
    lay(path.join(staging('write-a'), 'previous', folder), day('100'));
    lay(path.join(staging('write-a'), 'new', '20261127'), day('300'));
    lay(path.join(staging('write-b'), 'previous', '20261127'), day('100')); // no customer folder: not a layout it knows

    const recovery = await recoverReportFolders(dir, testLogger());

    expect(contents(path.join(dir, folder))).toEqual(asWritten(day('200')));
    expect(recovery).toEqual({ restored: [], removed: [], kept: [staging('write-a'), staging('write-b')] });
    expect(contents(path.join(staging('write-a'), 'previous', folder))).toEqual(asWritten(day('100')));
  });

  it('does nothing when no write was ever staged', async () => {
    await expect(recoverReportFolders(path.join(dir, 'absent'), testLogger())).resolves.toEqual({ restored: [], removed: [], kept: [] });
  });
});

describe('readWrittenReports', () => {
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(path.join(tmpdir(), 'sandbox-read-reports-'))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('describes the files a day folder holds as they were built, a line break inside a quoted field included', async () => {
    const ledger = [
      entry('PAYMENT', '2026-11-27T03:00:00Z', 'HKD', '100', { orderDescription: 'Latte, "large"\nto go' }),
      entry('PAYMENT', '2026-11-27T03:30:00Z', 'HKD', '300'),
      entry('REFUND', '2026-11-27T04:00:00Z', 'HKD', '40'),
    ];
    const files = buildDayReports(ledger, '2026-11-27', ['C1'], { maxRowsPerFile: 2 });
    const paths = await writeReports(dir, files);
    writeFileSync(path.join(dir, 'C1', '20261127', 'notes.txt'), 'not a report\n');

    const written = await readWrittenReports(dir, 'C1', '20261127');
    const described = (list: Array<{ kind: string; seq: string; rows: number; currency?: string; batchId?: string }>) =>
      list.map(({ kind, seq, rows, currency, batchId }) => ({ kind, seq, rows, currency, batchId })).sort((a, b) => `${a.kind}${a.seq}`.localeCompare(`${b.kind}${b.seq}`));
    expect(described(written)).toEqual(described(files));
    expect(written.map((w) => w.path).sort()).toEqual([...paths].sort());
    expect(transactionRecords(written)).toBe(3);
  });

  it('answers nothing for a day never written', async () => {
    expect(await readWrittenReports(dir, 'C1', '20261127')).toEqual([]);
  });
});
