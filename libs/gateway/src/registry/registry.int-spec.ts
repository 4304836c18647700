import type { DataSource, QueryRunner } from 'typeorm';
import { freshDatabase, sleep } from '@upm/shared-testing';
import { GATEWAY_DATABASE } from '../database';
import { ImportRow, RegistryService } from './registry.service';

let dataSource: DataSource;
let registry: RegistryService;
beforeAll(async () => {
  ({ dataSource } = await freshDatabase('upm_test_gateway_registry', GATEWAY_DATABASE));
  registry = new RegistryService(dataSource);
  await registry.createMerchant({ id: 'mer_one', name: 'One', mcc: '5411' });
  await registry.createMerchant({ id: 'mer_two', name: 'Two', mcc: '5812' });
});
afterAll(async () => dataSource.destroy());

const outcomeOf = <T>(work: Promise<T>) => work.then((result) => ({ result }), (error: unknown) => ({ error }));
const row = (merchantId: string, storeId: string, terminalId: string): ImportRow => ({
  merchantId, merchantName: merchantId === 'mer_one' ? 'One' : 'Two', merchantMcc: merchantId === 'mer_one' ? '5411' : '5812',
  storeId, storeName: `Store ${storeId}`, storeMcc: '5411', terminalId,
});

/** Another onboarding request that has written these statements and not committed yet. */
async function uncommitted(...statements: string[]): Promise<QueryRunner> {
  const other = dataSource.createQueryRunner();
  await other.connect();
  await other.startTransaction();
  for (const statement of statements) await other.query(statement);
  return other;
}

/** Runs `work` while `other` holds its rows, then commits them: `work` has started and waits on them by then. */
async function racing<T>(other: QueryRunner, work: () => Promise<T>) {
  const outcome = outcomeOf(work());
  await sleep(500);
  await other.commitTransaction();
  await other.release();
  return outcome;
}

describe('an import racing another onboarding of the same store or terminal', () => {
  it('never creates a terminal of one merchant inside a store another onboarding is creating for another merchant', async () => {
    const other = await uncommitted(`INSERT INTO stores (id, merchant_id, name, mcc) VALUES ('sto_shared', 'mer_one', 'One Central', '5411')`);
    const outcome = await racing(other, () => registry.importRows([row('mer_two', 'sto_shared', 'ter_two_1')]));

    expect(outcome).toEqual({ error: expect.objectContaining({ status: 409, code: 'STORE_BELONGS_TO_ANOTHER_MERCHANT', details: [{ storeId: 'sto_shared' }] }) });
    expect(await dataSource.query(`SELECT merchant_id FROM stores WHERE id = 'sto_shared'`)).toEqual([{ merchant_id: 'mer_one' }]);
    expect(await dataSource.query(`SELECT id FROM terminals WHERE store_id = 'sto_shared'`)).toEqual([]);
  });

  it('keeps a terminal another import of the same rows created meanwhile, and answers no second key for it', async () => {
    await registry.importRows(Array.from({ length: 60 }, (_, i) => row('mer_one', `sto_retry_${i}`, `ter_retry_first_${i}`)));
    // more terminals for the stores that exist
    const rows = Array.from({ length: 600 }, (_, i) => row('mer_one', `sto_retry_${i % 60}`, `ter_retry_${i}`));
    // the same file twice at once, the second with its rows the other way round (a retry, or two operators)
    const [first, second] = await Promise.all([outcomeOf(registry.importRows(rows)), outcomeOf(registry.importRows([...rows].reverse()))]);

    const created = [first, second].map((outcome) => ('result' in outcome ? outcome.result.terminals.length : outcome.error));
    expect(created.sort()).toEqual([0, 600]);
    const keys = [first, second].flatMap((outcome) => ('result' in outcome ? outcome.result.terminals : []));
    const authenticated = await Promise.all(keys.slice(0, 5).map(async ({ key }) => (await registry.authenticate(key))?.merchantId));
    expect(authenticated).toEqual(Array(5).fill('mer_one'));
  });

  it('refuses a terminal another onboarding is creating in another store', async () => {
    const other = await uncommitted(
      `INSERT INTO stores (id, merchant_id, name, mcc) VALUES ('sto_first', 'mer_one', 'First', '5411')`,
      `INSERT INTO terminals (id, store_id, merchant_id, key_id, key_hash) VALUES ('ter_contested', 'sto_first', 'mer_one', 'contestedkey', 'x')`,
    );
    const outcome = await racing(other, () => registry.importRows([row('mer_one', 'sto_second', 'ter_contested'), row('mer_one', 'sto_second', 'ter_second_1')]));

    expect(outcome).toEqual({ error: expect.objectContaining({ status: 409, code: 'TERMINAL_BELONGS_TO_ANOTHER_STORE', details: [{ terminalId: 'ter_contested' }] }) });
    expect(await dataSource.query(`SELECT id FROM terminals WHERE id = 'ter_second_1' UNION SELECT id FROM stores WHERE id = 'sto_second'`)).toEqual([]);
  });
});

describe('a single creation racing an import of the same store or terminal', () => {
  it('answers 409 STORE_EXISTS for a store an import is creating under another merchant', async () => {
    const other = await uncommitted(`INSERT INTO stores (id, merchant_id, name, mcc) VALUES ('sto_single', 'mer_two', 'Two Central', '5812')`);
    const outcome = await racing(other, () => registry.createStore('mer_one', { id: 'sto_single', name: 'One Central', mcc: '5411' }));

    expect(outcome).toEqual({ error: expect.objectContaining({ status: 409, code: 'STORE_EXISTS' }) });
    expect(await dataSource.query(`SELECT merchant_id FROM stores WHERE id = 'sto_single'`)).toEqual([{ merchant_id: 'mer_two' }]);
  });

  it('answers 409 TERMINAL_EXISTS for a terminal an import is creating', async () => {
    await registry.createStore('mer_one', { id: 'sto_single_2', name: 'One North', mcc: '5411' });
    const other = await uncommitted(`INSERT INTO terminals (id, store_id, merchant_id, key_id, key_hash) VALUES ('ter_single', 'sto_single_2', 'mer_one', 'singlekey123', 'x')`);
    const outcome = await racing(other, () => registry.createTerminal('sto_single_2', { id: 'ter_single' }));

    expect(outcome).toEqual({ error: expect.objectContaining({ status: 409, code: 'TERMINAL_EXISTS' }) });
  });
});

it('holds every terminal to its store\'s merchant in the database itself', async () => {
  await registry.createStore('mer_one', { id: 'sto_constraint', name: 'One South', mcc: '5411' });
  const insert = dataSource.query(`INSERT INTO terminals (id, store_id, merchant_id, key_id, key_hash) VALUES ('ter_constraint', 'sto_constraint', 'mer_two', 'constraintk1', 'x')`);
  await expect(insert).rejects.toMatchObject({ code: '23503' });
});

it('stops the migration that brings in that rule while a terminal breaks it, naming the terminal', async () => {
  await dataSource.undoLastMigration({ transaction: 'each' });
  await dataSource.query(`INSERT INTO terminals (id, store_id, merchant_id, key_id, key_hash) VALUES ('ter_stray', 'sto_constraint', 'mer_two', 'straykey1234', 'x')`);
  await expect(dataSource.runMigrations({ transaction: 'each' })).rejects.toThrow(/ter_stray/);

  await dataSource.query(`UPDATE terminals t SET status = 'REVOKED', merchant_id = s.merchant_id FROM stores s WHERE s.id = t.store_id AND s.merchant_id <> t.merchant_id`);
  expect(await dataSource.runMigrations({ transaction: 'each' })).toHaveLength(1);
});
