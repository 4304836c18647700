import { DataSource, QueryFailedError } from 'typeorm';
import { createDataSource, ensureDatabase } from './data-source';
import { prepared } from './prepared';

const url = `${(process.env.POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432').replace(/\/$/, '')}/upm_test_prepared`;
const MARKED = prepared('INSERT INTO prepared_probe (id, note) VALUES ($1, $2) RETURNING id, note');
const UNMARKED = 'SELECT id, note FROM prepared_probe WHERE id = $1';

let preparing: DataSource;
let plain: DataSource;

beforeAll(async () => {
  await ensureDatabase(url);
  preparing = createDataSource({ name: 'upm_test_prepared', entities: [], migrations: [] }, { url, poolSize: 1 });
  plain = createDataSource({ name: 'upm_test_prepared', entities: [], migrations: [] }, { url, poolSize: 1, preparedStatements: false });
  await preparing.initialize();
  await plain.initialize();
  await preparing.query('DROP TABLE IF EXISTS prepared_probe');
  await preparing.query('CREATE TABLE prepared_probe (id int PRIMARY KEY, note text NOT NULL)');
});

afterAll(async () => {
  await preparing.destroy();
  await plain.destroy();
});

/** What the pool's one connection holds prepared, after running `work` on it. */
async function preparedAfter(dataSource: DataSource, work: (query: DataSource['query']) => Promise<void>): Promise<string[]> {
  return dataSource.transaction(async (manager) => {
    await work((sql, parameters) => manager.query(sql, parameters));
    const rows: Array<{ statement: string }> = await manager.query('SELECT statement FROM pg_prepared_statements ORDER BY prepare_time');
    return rows.map((row) => row.statement);
  });
}

describe('prepared statements', () => {
  it('sends a marked statement as a named one, prepared once per connection, with the same results', async () => {
    const results: unknown[] = [];
    const statements = await preparedAfter(preparing, async (query) => {
      results.push(await query(MARKED, [1, 'one']), await query(MARKED, [2, 'two']), await query(UNMARKED, [1]));
    });
    expect(statements).toEqual([MARKED]);
    expect(results).toEqual([[{ id: 1, note: 'one' }], [{ id: 2, note: 'two' }], [{ id: 1, note: 'one' }]]);
  });

  it('fails a marked statement the way an unnamed one fails', async () => {
    const failure = await preparing.query(MARKED, [1, 'again']).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(QueryFailedError);
    expect((failure as QueryFailedError & { driverError: { code: string } }).driverError.code).toBe('23505');
  });

  it('prepares nothing when turned off', async () => {
    const statements = await preparedAfter(plain, async (query) => {
      await query(MARKED, [3, 'three']);
    });
    expect(statements).toEqual([]);
    expect(await plain.query(UNMARKED, [3])).toEqual([{ id: 3, note: 'three' }]);
  });
});
