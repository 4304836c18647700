import type { DataSource } from 'typeorm';
import { freshDatabase } from '@upm/shared-testing';
import { SETTLEMENT_DATABASE } from '../database';
import { paymentPostings } from '../domain/ledger';
import { LedgerStore, LedgerTransactionDraft } from './ledger.store';

let dataSource: DataSource;
const ledger = new LedgerStore('settlement');

beforeAll(async () => {
  ({ dataSource } = await freshDatabase('upm_test_ledger_store', SETTLEMENT_DATABASE));
});

afterAll(async () => {
  await dataSource.destroy();
});

const draft = (paymentId: string, merchantId: string): LedgerTransactionDraft => ({
  sourceKey: `PAYMENT:${paymentId}`, kind: 'PAYMENT', status: 'EXPECTED', merchantId, currency: 'HKD', paymentId, requestId: paymentId,
  amount: 1250n, fee: 25n, businessDay: '2026-11-27', origin: 'EVENT', occurredAt: new Date('2026-11-27T04:00:00Z'),
  postings: paymentPostings({ merchantId, currency: 'HKD', amount: 1250n, fee: 25n }),
});

const entriesOf = (transactionId: string) =>
  dataSource.query('SELECT account_code, direction, amount::text AS amount FROM ledger_entries WHERE transaction_id = $1 ORDER BY id', [transactionId]);

describe('LedgerStore.write', () => {
  it('writes a transaction with its accounts and its entries in the order of its postings, once per source fact', async () => {
    const first = await dataSource.transaction((manager) => ledger.write(manager, draft('pay_ls_1', 'mer_ls')));
    expect(first.created).toBe(true);
    const expected = draft('pay_ls_1', 'mer_ls').postings.map((p) => ({ account_code: `${p.accountType}:mer_ls:HKD`, direction: p.direction, amount: p.amount.toString() }));
    expect(await entriesOf(first.id)).toEqual(expected);
    const accounts = await dataSource.query("SELECT code FROM ledger_accounts WHERE merchant_id = 'mer_ls' ORDER BY code");
    expect(accounts.map((a: { code: string }) => a.code)).toEqual([...new Set(expected.map((e) => e.account_code))].sort());

    // the same fact again (an event replayed under a new envelope id) answers the first transaction and writes nothing
    const again = await dataSource.transaction((manager) => ledger.write(manager, draft('pay_ls_1', 'mer_ls')));
    expect(again).toEqual({ id: first.id, created: false });
    const [{ n }] = await dataSource.query("SELECT count(*)::int AS n FROM ledger_entries WHERE transaction_id IN (SELECT id FROM ledger_transactions WHERE source_key = 'PAYMENT:pay_ls_1')");
    expect(n).toBe(expected.length);
    const announced = await dataSource.query("SELECT payload->'data'->>'ledgerTransactionId' AS id FROM outbox WHERE type = 'LedgerEntriesPosted' AND key = 'pay_ls_1'");
    expect(announced).toEqual([{ id: first.id }]);
  });

  it('refuses an unbalanced transaction and writes none of it', async () => {
    const unbalanced = draft('pay_ls_2', 'mer_ls');
    unbalanced.postings = [unbalanced.postings[0], { ...unbalanced.postings[1], amount: 1n }];
    await expect(dataSource.transaction((manager) => ledger.write(manager, unbalanced))).rejects.toThrow(/HKD/);
    expect(await dataSource.query("SELECT id FROM ledger_transactions WHERE source_key = 'PAYMENT:pay_ls_2'")).toEqual([]);
  });
});
