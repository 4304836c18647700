import type { DataSource } from 'typeorm';
import { Metrics } from '@upm/shared-observability';
import { ApiError } from '@upm/shared-runtime';
import { freshDatabase } from '@upm/shared-testing';
import { SETTLEMENT_DATABASE } from '../database';
import { LedgerStore } from '../ledger/ledger.store';
import type { ReportIngestion } from '../reports/report-ingestion';
import { FinanceController } from './finance.controller';
import { FinanceService, PageQuery } from './finance.service';

/** The finance listings read a page at a time: every row once, however many there are. */
let dataSource: DataSource;
let finance: FinanceService;

beforeAll(async () => {
  ({ dataSource } = await freshDatabase('upm_test_finance_listings', SETTLEMENT_DATABASE));
  finance = new FinanceService(dataSource, new LedgerStore('settlement'), new Metrics('test'));
});

afterAll(async () => {
  await dataSource.destroy();
});

/** Reads a listing to its end, following `next`; answers each page's ids. */
async function readAll(list: (page: PageQuery) => Promise<{ next: string | null } & Record<string, unknown>>, key: string, id: string, limit?: number): Promise<string[][]> {
  const pages: string[][] = [];
  let before: string | undefined;
  do {
    const answer = await list({ limit, before });
    pages.push((answer[key] as Array<Record<string, string>>).map((row) => row[id]));
    before = answer.next ?? undefined;
    if (pages.length > 100) throw new Error('the listing does not end');
  } while (before !== undefined);
  return pages;
}

// ids in another order than the rows were made, and seven rows to each instant: the order must not rest on either alone
const SHUFFLED_ID = "md5(n::text)";
const SAME_INSTANT = "timestamptz '2026-11-28T00:00:00Z' + (n / 7) * interval '1 second'";

describe('the discrepancies listing', () => {
  // it answered the first 1,000 rows and no way to read the rest
  it('reads more discrepancies than a page holds completely, a page at a time, none twice', async () => {
    await dataSource.query(
      `INSERT INTO discrepancies (id, type, kind, transaction_request_id, fields, business_day, status, created_at)
       SELECT 'dis_' || ${SHUFFLED_ID}, 'MISSING_IN_LEDGER', 'PAYMENT', 'pay_' || n, '[]', '2026-11-27', CASE WHEN n % 2 = 0 THEN 'OPEN' ELSE 'RESOLVED' END, ${SAME_INSTANT}
       FROM generate_series(1, 2345) AS n`,
    );
    const all: Array<{ id: string }> = await dataSource.query('SELECT id FROM discrepancies');
    const pages = await readAll((page) => finance.discrepancies(page), 'discrepancies', 'discrepancyId');
    expect(pages.map((p) => p.length)).toEqual([1000, 1000, 345]);
    const read = pages.flat();
    expect(new Set(read).size).toBe(read.length);
    expect([...read].sort()).toEqual(all.map((d) => d.id).sort());
  });

  it('goes on after the last row of the page before even when that row has since left the filter', async () => {
    const open: Array<{ id: string }> = await dataSource.query("SELECT id FROM discrepancies WHERE status = 'OPEN'");
    const first = await finance.discrepancies({ status: 'OPEN', limit: 400 });
    expect(first.discrepancies).toHaveLength(400);
    // finance resolves the last one it read before turning the page
    await dataSource.query("UPDATE discrepancies SET status = 'RESOLVED' WHERE id = $1", [first.next]);
    const rest = await readAll((page) => finance.discrepancies({ status: 'OPEN', ...page, before: page.before ?? first.next! }), 'discrepancies', 'discrepancyId', 400);
    const read: string[] = [...first.discrepancies.map((d: { discrepancyId: string }) => d.discrepancyId), ...rest.flat()];
    expect(new Set(read).size).toBe(read.length);
    expect(read.sort()).toEqual(open.map((d) => d.id).sort());
  });

  it('refuses to go on after a discrepancy that does not exist', async () => {
    await expect(finance.discrepancies({ before: 'dis_none' })).rejects.toMatchObject({ status: 404, code: 'SETTLEMENT.DISCREPANCY_NOT_FOUND' });
    await expect(finance.discrepancies({ before: 'dis_none' })).rejects.toBeInstanceOf(ApiError);
  });
});

describe('the other finance listings', () => {
  beforeAll(async () => {
    await dataSource.query(
      `INSERT INTO ledger_transactions (id, source_key, kind, status, merchant_id, currency, payment_id, amount, fee, business_day, origin, occurred_at, created_at)
       SELECT 'ltx_' || ${SHUFFLED_ID}, 'PAYMENT:pay_' || n, 'PAYMENT', 'EXPECTED', 'mer_1', 'HKD', 'pay_' || n, 1250, 10, '2026-11-27', 'EVENT', now(), ${SAME_INSTANT}
       FROM generate_series(1, 17) AS n`,
    );
    await dataSource.query(
      `INSERT INTO report_files (id, sha256, path, kind, status, rows, created_at)
       SELECT 'rpf_' || ${SHUFFLED_ID}, ${SHUFFLED_ID}, 'C1/20261127/transactionItems_20261127_' || lpad((n % 3)::text, 3, '0') || '.csv', 'transactionItems', 'INGESTED', 1, ${SAME_INSTANT}
       FROM generate_series(1, 17) AS n`,
    );
    await dataSource.query(
      `INSERT INTO settlement_batches (batch_id, customer_id, currency, gross, fees, net, settlement_time, transaction_count, status, items_file_id, summary_file_id)
       SELECT 'B' || ${SHUFFLED_ID}, 'C1', 'HKD', 1250, -10, 1240, ${SAME_INSTANT}, 1, 'RECONCILED', 'rpf_items', 'rpf_summary'
       FROM generate_series(1, 17) AS n`,
    );
  });

  it.each([
    ['transactions', 'ledger_transactions', 'id', 'ledgerTransactionId', (page: PageQuery) => finance.transactions(page)],
    ['files', 'report_files', 'id', 'id', (page: PageQuery) => finance.files(page)],
    ['batches', 'settlement_batches', 'batch_id', 'settlementBatchId', (page: PageQuery) => finance.batches(page)],
  ] as const)('reads every one of the %s a page at a time, in the listing\'s order, none twice', async (key, table, column, id, list) => {
    const pages = await readAll(list, key, id, 5);
    expect(pages.map((p) => p.length)).toEqual([5, 5, 5, 2]);
    const unpaged = (await list({})) as Record<string, unknown>;
    expect(pages.flat()).toEqual((unpaged[key] as Array<Record<string, string>>).map((row) => row[id]));
    const all: Array<{ id: string }> = await dataSource.query(`SELECT ${column} AS id FROM ${table}`);
    expect([...pages.flat()].sort()).toEqual(all.map((r) => r.id).sort());
  });

  it('reads every one of the batches in the order they were written (order=asc) a page at a time, none twice', async () => {
    const written: Array<{ id: string }> = await dataSource.query('SELECT batch_id AS id FROM settlement_batches ORDER BY written_by, created_at, batch_id');
    const pages = await readAll((page) => finance.batches({ ...page, order: 'asc' }), 'batches', 'settlementBatchId', 5);
    expect(pages.map((p) => p.length)).toEqual([5, 5, 5, 2]);
    expect(pages.flat()).toEqual(written.map((b) => b.id));
    // the default stays newest settlementTime first
    const newest: Array<{ id: string }> = await dataSource.query('SELECT batch_id AS id FROM settlement_batches ORDER BY settlement_time DESC, batch_id');
    expect((await finance.batches({})).batches.map((b: { settlementBatchId: string }) => b.settlementBatchId)).toEqual(newest.map((b) => b.id));
  });

  it('refuses an order the batches listing does not know', async () => {
    const controller = new FinanceController(finance, {} as ReportIngestion, { feeMinor: 10n });
    expect(() => controller.batches({ order: 'oldest' })).toThrow(expect.objectContaining({ status: 400, code: 'VALIDATION_FAILED', details: [expect.objectContaining({ field: 'order' })] }));
  });

  it('answers no next page when the listing ends with the page', async () => {
    expect((await finance.transactions({ limit: 17 })).next).toBeNull();
    expect((await finance.batches({ limit: 16 })).next).not.toBeNull();
  });

  it.each([
    ['transactions', () => finance.transactions({ before: 'ltx_none' }), 'SETTLEMENT.TRANSACTION_NOT_FOUND'],
    ['files', () => finance.files({ before: 'rpf_none' }), 'SETTLEMENT.FILE_NOT_FOUND'],
    ['batches', () => finance.batches({ before: 'none' }), 'SETTLEMENT.BATCH_NOT_FOUND'],
  ])('refuses to go on with the %s after one that does not exist', async (_what, list, code) => {
    await expect(list()).rejects.toMatchObject({ status: 404, code });
  });
});

describe('a listing read while a writer is still under way', () => {
  // the row of a transaction that began before a page was read but committed after it sorted behind that page's
  // last row (created_at is when its transaction began), so a client reading on from there never saw it
  it.each([
    ['transactions', 'ledgerTransactionId', 'ltx', (page: PageQuery) => finance.transactions(page),
      (n: string) => `INSERT INTO ledger_transactions (id, source_key, kind, status, merchant_id, currency, payment_id, amount, fee, business_day, origin, occurred_at)
                      VALUES ('ltx_${n}', 'PAYMENT:pay_${n}', 'PAYMENT', 'EXPECTED', 'mer_1', 'HKD', 'pay_${n}', 1250, 10, '2026-11-28', 'EVENT', now())`],
    ['files', 'id', 'rpf', (page: PageQuery) => finance.files(page),
      (n: string) => `INSERT INTO report_files (id, sha256, path, kind, status, rows) VALUES ('rpf_${n}', '${n}', 'C1/20261128/transactionItems_20261128_${n}.csv', 'transactionItems', 'INGESTED', 1)`],
    ['discrepancies', 'discrepancyId', 'dis', (page: PageQuery) => finance.discrepancies(page),
      (n: string) => `INSERT INTO discrepancies (id, type, kind, transaction_request_id, fields, business_day, status) VALUES ('dis_${n}', 'MISSING_IN_LEDGER', 'PAYMENT', 'pay_${n}', '[]', '2026-11-28', 'OPEN')`],
    // in the order they were written (order=asc): newest settlementTime first, a later batch may sort before the pages read
    ['batches', 'settlementBatchId', 'B', (page: PageQuery) => finance.batches({ ...page, order: 'asc' }),
      (n: string) => `INSERT INTO settlement_batches (batch_id, customer_id, currency, gross, fees, net, settlement_time, transaction_count, status, items_file_id, summary_file_id)
                      VALUES ('B_${n}', 'C1', 'HKD', 1250, -10, 1240, now(), 1, 'RECONCILED', 'rpf_items', 'rpf_summary')`],
  ] as const)('lists the %s a transaction still under way writes once it commits, after the pages already read', async (key, id, prefix, list, insert) => {
    /** Reads on from `before` to the end of the listing, as a finance export polling for new rows does. */
    const readOn = async (before: string | undefined) => {
      const read: string[] = [];
      let last = before;
      for (let pages = 0; ; pages += 1) {
        const answer = (await list({ limit: 1000, before: last })) as Record<string, unknown> & { next: string | null };
        const ids = (answer[key] as Array<Record<string, string>>).map((row) => row[id]);
        read.push(...ids);
        last = ids.at(-1) ?? last;
        if (answer.next === null) return { read, last };
        if (pages > 100) throw new Error('the listing does not end');
      }
    };
    const before = await readOn(undefined);
    const writer = dataSource.createQueryRunner();
    await writer.connect();
    try {
      // an ingestion begins and writes its row, then the ledger consumer writes one and commits first
      await writer.startTransaction();
      await writer.query(insert(`${key}_slow`));
      await dataSource.query(insert(`${key}_fast`));
      const during = await readOn(before.last);
      await writer.commitTransaction();
      const after = await readOn(during.last);
      const read = [...before.read, ...during.read, ...after.read];
      expect(read.filter((r) => r.endsWith('_slow') || r.endsWith('_fast'))).toEqual([`${prefix}_${key}_slow`, `${prefix}_${key}_fast`]);
      expect(new Set(read).size).toBe(read.length);
    } finally {
      if (writer.isTransactionActive) await writer.rollbackTransaction();
      await writer.release();
    }
  });
});

describe('a finance query with a parameter the listing does not know', () => {
  // a misspelt filter or page size was dropped: finance got every row, or a page of the default size, for the
  // answer it asked for
  it.each([
    ['files', (c: FinanceController, query: Record<string, string>) => c.files(query), { limit: '2' }, { limt: '2' }],
    ['batches', (c: FinanceController, query: Record<string, string>) => c.batches(query), { currency: 'HKD' }, { currncy: 'HKD' }],
    ['discrepancies', (c: FinanceController, query: Record<string, string>) => c.discrepancies(query), { status: 'OPEN' }, { stauts: 'OPEN' }],
    ['transactions', (c: FinanceController, query: Record<string, string>) => c.transactions(query), { paymentId: 'pay_1' }, { payment_id: 'pay_1' }],
    ['balances', (c: FinanceController, query: Record<string, string>) => c.balances(query), { merchantId: 'mer_1' }, { merchant: 'mer_1' }],
    ['export', (c: FinanceController, query: Record<string, string>) => c.export(query), { day: '2026-11-27' }, { day: '2026-11-27', currency: 'HKD' }],
  ] as const)('is refused for the %s, naming the parameter, where the right name is answered', async (_what, call, known, misspelt) => {
    const controller = new FinanceController(finance, {} as ReportIngestion, { feeMinor: 10n });
    await expect(call(controller, known)).resolves.toBeDefined();
    const [unknown] = Object.keys(misspelt).filter((name) => !Object.hasOwn(known, name));
    const refusal = await (async () => {
      try {
        await call(controller, misspelt);
      } catch (error) {
        return error;
      }
      return undefined;
    })();
    expect(refusal).toBeInstanceOf(ApiError);
    expect(refusal).toMatchObject({ status: 400, code: 'VALIDATION_FAILED', details: [{ field: '(body)', code: 'UNKNOWN_FIELD', message: expect.stringContaining(`"${unknown}"`) }] });
  });
});
