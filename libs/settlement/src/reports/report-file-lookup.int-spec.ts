import type { DataSource } from 'typeorm';
import { freshDatabase } from '@upm/shared-testing';
import { SETTLEMENT_DATABASE } from '../database';
import { DAY_FILE_QUERY } from '../ledger/ledger.store';
import { SEEN_FILE_QUERY } from './report-ingestion';

/**
 * Every poll looks each listed file up by its bytes (`ReportIngestion.seen`): with years of report files recorded,
 * that lookup must go by an index on the sha256, not read the whole table.
 */
let dataSource: DataSource;

beforeAll(async () => {
  ({ dataSource } = await freshDatabase('upm_test_report_file_lookup', SETTLEMENT_DATABASE));
  // two years of a customer's files, a dozen a day, each path and content its own
  await dataSource.query(
    `INSERT INTO report_files (id, sha256, path, kind, status, rows, business_day)
     SELECT 'rpf_' || n, encode(sha256(n::text::bytea), 'hex'), 'cust/' || to_char(date '2025-01-01' + n / 12, 'YYYYMMDD') || '/transactionItems_' || n || '_000.csv',
            'transactionItems', CASE WHEN n % 50 = 0 THEN 'REJECTED' ELSE 'INGESTED' END, 10, date '2025-01-01' + n / 12
     FROM generate_series(1, 9000) AS n`,
  );
  await dataSource.query('ANALYZE report_files');
});

afterAll(async () => {
  await dataSource.destroy();
});

/** The plan nodes of a query's EXPLAIN, flattened. */
function nodes(plan: Record<string, unknown>): Array<Record<string, unknown>> {
  return [plan, ...((plan.Plans as Array<Record<string, unknown>> | undefined) ?? []).flatMap(nodes)];
}

describe('a report file is looked up by its bytes', () => {
  const sha = (n: number) => dataSource.query(`SELECT encode(sha256($1::text::bytea), 'hex') AS sha`, [String(n)]).then((r: Array<{ sha: string }>) => r[0].sha);

  it('through the sha256 index, whether asked at its path or at another folder', async () => {
    const known = await sha(4321);
    const path = (await dataSource.query('SELECT path FROM report_files WHERE id = $1', ['rpf_4321']))[0].path as string;
    for (const params of [[known, path, `/${path.split('/').at(-1)}`], [known, `other/${path}`, `/${path.split('/').at(-1)}`]]) {
      const [{ 'QUERY PLAN': [explained] }] = await dataSource.query(`EXPLAIN (FORMAT JSON) ${SEEN_FILE_QUERY}`, params);
      const scans = nodes((explained as { Plan: Record<string, unknown> }).Plan).filter((n) => /Scan/.test(String(n['Node Type'])));
      expect(scans.map((n) => `${String(n['Node Type'])} ${String(n['Index Name'] ?? '')}`.trim())).toEqual([expect.stringMatching(/^(Index|Bitmap Index) Scan IDX_report_files_sha256$/)]);
    }
  });

  it('and still answers what was recorded: at its path first, a copy at another path by its name, nothing for other bytes', async () => {
    const path = (await dataSource.query('SELECT path FROM report_files WHERE id = $1', ['rpf_100']))[0].path as string;
    const name = `/${path.split('/').at(-1)}`;
    expect(await dataSource.query(SEEN_FILE_QUERY, [await sha(100), path, name])).toEqual([{ status: 'REJECTED' }]);
    expect(await dataSource.query(SEEN_FILE_QUERY, [await sha(100), `sftp/${path}`, name])).toEqual([{ status: 'REJECTED' }]);
    expect(await dataSource.query(SEEN_FILE_QUERY, [await sha(100), 'cust/20250101/transactionItems_other.csv', '/transactionItems_other.csv'])).toEqual([]);
    expect(await dataSource.query(SEEN_FILE_QUERY, [await sha(99999), path, name])).toEqual([]);
  });
});

describe('the transaction file of a business day, asked for every transaction a payment event books', () => {
  it('is found through the day index, and is the one read last', async () => {
    const [{ 'QUERY PLAN': [explained] }] = await dataSource.query(`EXPLAIN (FORMAT JSON) ${DAY_FILE_QUERY}`, ['2025-06-01']);
    const scans = nodes((explained as { Plan: Record<string, unknown> }).Plan).filter((n) => /Scan/.test(String(n['Node Type'])));
    expect(scans.map((n) => `${String(n['Node Type'])} ${String(n['Index Name'] ?? '')}`.trim())).toEqual([expect.stringMatching(/^(Index|Bitmap Index) Scan IDX_report_files_day$/)]);
    // a day's parts: the one read last wins, whatever its name; a rejected one is none
    await dataSource.query(
      `INSERT INTO report_files (id, sha256, path, kind, status, rows, business_day, created_at) VALUES
         ('rpf_day_a', 'a', 'cust/20290101/transactionItems_20290101_001.csv', 'transactionItems', 'INGESTED', 1, '2029-01-01', now() - interval '1 hour'),
         ('rpf_day_b', 'b', 'cust/20290101/transactionItems_20290101_000.csv', 'transactionItems', 'INGESTED', 1, '2029-01-01', now() - interval '1 minute'),
         ('rpf_day_c', 'c', 'cust/20290101/transactionItems_20290101_002.csv', 'transactionItems', 'REJECTED', 1, '2029-01-01', now()),
         ('rpf_day_d', 'd', 'cust/20290101/settlementItems_HKD_20290101_000.csv', 'settlementItems', 'INGESTED', 1, '2029-01-01', now())`,
    );
    expect(await dataSource.query(DAY_FILE_QUERY, ['2029-01-01'])).toEqual([{ path: 'cust/20290101/transactionItems_20290101_000.csv' }]);
    expect(await dataSource.query(DAY_FILE_QUERY, ['2030-01-01'])).toEqual([]);
  });
});
