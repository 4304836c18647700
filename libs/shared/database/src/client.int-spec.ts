import type { Socket } from 'node:net';
import type { Pool } from 'pg';
import { DataSource, QueryFailedError } from 'typeorm';
import { createDataSource, ensureDatabase } from './data-source';
import { prepared } from './prepared';

const url = `${(process.env.POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432').replace(/\/$/, '')}/upm_test_prepared`;
const MARKED = prepared('INSERT INTO prepared_probe (id, note) VALUES ($1, $2) RETURNING id, note');
const UNMARKED = 'SELECT id, note FROM prepared_probe WHERE id = $1';
const EXISTS = 'SELECT count(*)::int AS n FROM prepared_probe WHERE id = $1';

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

/** How many writes the pool's one connection makes on its socket while `work` runs. */
async function writesDuring(dataSource: DataSource, work: () => Promise<unknown>): Promise<number> {
  const pool = (dataSource.driver as unknown as { master: Pool }).master;
  const client = await pool.connect();
  const socket = (client as unknown as { connection: { stream: Socket } }).connection.stream as Socket & { _write: (...a: unknown[]) => void; _writev: (...a: unknown[]) => void };
  client.release();
  const { _write: write, _writev: writev } = socket;
  let writes = 0;
  socket._write = (...args: unknown[]) => {
    writes++;
    write.apply(socket, args);
  };
  socket._writev = (...args: unknown[]) => {
    writes++;
    writev.apply(socket, args);
  };
  try {
    await work();
  } finally {
    socket._write = write;
    socket._writev = writev;
  }
  return writes;
}

/** Whether another connection sees the row: only once it is committed. */
async function committed(id: number): Promise<boolean> {
  const [row] = await plain.query(EXISTS, [id]);
  return row.n === 1;
}

describe('transactions', () => {
  it('send START TRANSACTION with their first statement: one write for both, one for COMMIT', async () => {
    const writes = await writesDuring(preparing, () => preparing.transaction((manager) => manager.query(MARKED, [10, 'ten'])));
    expect(writes).toBe(2);
    expect(await committed(10)).toBe(true);
  });

  it('keep their statements together: what the first wrote is visible to the second, and undone when the work fails', async () => {
    const failure = await preparing
      .transaction(async (manager) => {
        await manager.query(MARKED, [11, 'eleven']);
        expect(await manager.query(UNMARKED, [11])).toEqual([{ id: 11, note: 'eleven' }]);
        throw new Error('the work failed');
      })
      .catch((error: unknown) => error);
    expect((failure as Error).message).toBe('the work failed');
    expect(await committed(11)).toBe(false);
  });

  it('fail with their first statement, and leave the connection out of any transaction', async () => {
    const failure = await preparing.transaction((manager) => manager.query(MARKED, [10, 'again'])).catch((error: unknown) => error);
    expect((failure as QueryFailedError & { driverError: { code: string } }).driverError.code).toBe('23505');
    // a statement on its own after that commits at once
    await preparing.query(MARKED, [12, 'twelve']);
    expect(await committed(12)).toBe(true);
  });

  it('send nothing when no statement ran, and leave the next statement on its own', async () => {
    expect(await writesDuring(preparing, () => preparing.transaction(async () => undefined))).toBe(0);
    await preparing.query(MARKED, [13, 'thirteen']);
    expect(await committed(13)).toBe(true);
  });
});

describe('a query in another form inside a transaction', () => {
  it('runs after the held START TRANSACTION, inside the transaction', async () => {
    const failure = await preparing
      .transaction(async (manager) => {
        const client = (manager.queryRunner as unknown as { databaseConnection: { query(text: string, values: unknown[], callback: (error: Error | null) => void): void } }).databaseConnection;
        await new Promise<void>((resolve, reject) => client.query('INSERT INTO prepared_probe (id, note) VALUES ($1, $2)', [14, 'fourteen'], (error) => (error ? reject(error) : resolve())));
        throw new Error('the work failed');
      })
      .catch((error: unknown) => error);
    expect((failure as Error).message).toBe('the work failed');
    // rolled back with the transaction: it did not run on its own before START TRANSACTION
    expect(await committed(14)).toBe(false);
  });
});
