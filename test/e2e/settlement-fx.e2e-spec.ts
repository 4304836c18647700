import { copyFile, mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { csvRecords } from '@upm/contracts';
import { businessDayOf } from '@upm/settlement';
import { eventually, RunningService } from '@upm/shared-testing';
import { ADMIN_TOKEN, Platform, startPlatform } from './support/platform';
import { PaymentResource, PosClient } from './support/pos-client';

/**
 * A merchant whose Alipay contract settles in US dollars while its shoppers pay in Hong Kong dollars and yen:
 * the sandbox settles the day in one USD batch at its fixed quotes (HKD/USD 0.1282, JPY/USD 0.0067), and the
 * ledger must clear each transaction currency's receivable through its FX_DIFFERENCE account.
 */
jest.setTimeout(180_000);

interface Balances {
  accounts: Array<{ account: string; balance: string }>;
  totals: Array<{ currency: string; balanced: boolean }>;
}

let platform: Platform;
let settlement: RunningService;
let sandboxDir: string;
let inbox: string;

async function api<T>(method: string, route: string): Promise<{ status: number; body: T; text: string }> {
  const response = await fetch(`${settlement.url}${route}`, { method, headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
  const text = await response.text();
  return { status: response.status, body: (text.startsWith('{') ? JSON.parse(text) : text) as T, text };
}

beforeAll(async () => {
  sandboxDir = await mkdtemp(path.join(tmpdir(), 'settle-fx-sandbox-'));
  inbox = await mkdtemp(path.join(tmpdir(), 'settle-fx-inbox-'));
  platform = await startPlatform('settle_fx', 3550, {
    'alipay-sandbox': { SANDBOX_REPORT_DIR: sandboxDir, SANDBOX_SETTLEMENT_CURRENCY: 'USD' },
    settlement: { SETTLEMENT_REPORT_DIR: inbox, SETTLEMENT_POLL_INTERVAL_MS: '0', ADMIN_TOKEN },
  });
  settlement = await platform.start('settlement');
});

afterAll(async () => {
  await platform?.stop();
  await rm(sandboxDir, { recursive: true, force: true });
  await rm(inbox, { recursive: true, force: true });
});

it('posts a day settled in another currency: receivables cleared, each currency balanced through FX_DIFFERENCE', async () => {
  const pos = await platform.onboard('FX Tea');
  const paid: PaymentResource[] = [];
  for (const [tag, currency, value] of [['hkd1', 'HKD', '1250'], ['hkd2', 'HKD', '2000'], ['yen', 'JPY', '2000']] as const) {
    const { body } = await pos.pay({ merchantOrderId: PosClient.orderId(tag), amount: { currency, value }, paymentCode: PosClient.code('00'), waitSeconds: 20 });
    expect(body.status).toBe('SUCCEEDED');
    paid.push(body);
  }
  const refund = await pos.refund(paid[1].paymentId, { refundRequestId: PosClient.orderId('rhkd2'), amount: { currency: 'HKD', value: '500' }, waitSeconds: 20 });
  expect(refund.body.status).toBe('SUCCEEDED');
  await eventually(async () => {
    for (const p of paid) {
      const known = await api<{ sequence: number }>('GET', `/v1/settlement/payments/${p.paymentId}`);
      if (known.status !== 200 || known.body.sequence !== (await pos.get(p.paymentId)).body.sequence) return undefined;
    }
    return true;
  }, 30_000, 300);

  const day = businessDayOf(paid[0].alipay!.paymentTime!);
  const response = await fetch(`${platform.urls.sandbox}/sandbox/reports`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ date: day }) });
  const files = ((await response.json()) as { files: Array<{ path: string; kind: string; currency?: string }> }).files;
  expect(files.map((f) => `${f.kind} ${f.currency ?? ''}`)).toEqual(['transactionItems ', 'settlementItems USD', 'settlementSummary USD']);
  for (const file of files) {
    const target = path.join(inbox, path.relative(sandboxDir, file.path));
    await mkdir(path.dirname(target), { recursive: true });
    await copyFile(file.path, target);
  }
  const ingested = (await api<{ files: Array<{ kind: string; status: string }> }>('POST', '/v1/settlement/ingest')).body.files;
  expect(ingested.map((f) => `${f.kind} ${f.status}`).sort()).toEqual(['settlementItems INGESTED', 'transactionItems INGESTED']);

  // HKD 12.50 → 1.60 − 0.01 fee; HKD 20.00 → 2.56 − 0.01; refund HKD −5.00 → −0.64 − 0.01; JPY 2000 → 13.40 − 0.07
  const batches = (await api<{ batches: Array<{ settlementBatchId: string; currency: string; status: string; net: { value: string }; fees: { value: string }; fx: unknown }> }>('GET', '/v1/settlement/batches')).body.batches;
  expect(batches).toEqual([expect.objectContaining({ currency: 'USD', status: 'RECONCILED', net: { currency: 'USD', value: '1682' }, fees: { currency: 'USD', value: '-10' } })]);
  expect(batches[0].fx).toMatchObject({ quoteCurrencyPair: expect.stringMatching(/^(HKD|JPY)\/USD$/) });
  const moves = (await api<{ transactions: Array<{ kind: string; status: string; reconciliation: string | null }> }>('GET', '/v1/settlement/transactions')).body.transactions.filter((t) => t.kind !== 'SETTLEMENT');
  expect(moves.map((t) => `${t.kind} ${t.status} ${t.reconciliation}`).sort()).toEqual(['PAYMENT POSTED MATCHED', 'PAYMENT POSTED MATCHED', 'PAYMENT POSTED MATCHED', 'REFUND POSTED MATCHED']);
  expect((await api<{ discrepancies: unknown[] }>('GET', '/v1/settlement/discrepancies')).body.discrepancies).toEqual([]);

  const m = pos.ids.merchantId;
  const ledger = (await api<Balances>('GET', `/v1/settlement/balances?merchantId=${m}&status=POSTED`)).body;
  const balance = (account: string) => ledger.accounts.find((a) => a.account === account)?.balance ?? '0';
  expect({
    receivableHkd: balance(`ALIPAY_RECEIVABLE:${m}:HKD`), receivableJpy: balance(`ALIPAY_RECEIVABLE:${m}:JPY`),
    // what each currency's receivable held: 12.40 + 19.90 − 5.10 HKD, 1990 JPY
    fxHkd: balance(`FX_DIFFERENCE:${m}:HKD`), fxJpy: balance(`FX_DIFFERENCE:${m}:JPY`), fxUsd: balance(`FX_DIFFERENCE:${m}:USD`),
    settledUsd: balance(`SETTLED_FUNDS:${m}:USD`),
  }).toEqual({ receivableHkd: '0', receivableJpy: '0', fxHkd: '2720', fxJpy: '1990', fxUsd: '-1682', settledUsd: '1682' });
  expect(ledger.totals.map((t) => [t.currency, t.balanced]).sort()).toEqual([['HKD', true], ['JPY', true], ['USD', true]]);

  const exported = csvRecords((await api<string>('GET', `/v1/settlement/export.csv?batchId=${batches[0].settlementBatchId}`)).text).records;
  // one payout leg per currency it was converted from: 1.59 + 2.55 − 0.65 from HKD, 13.33 from JPY
  expect(exported.filter((r) => r.accountType === 'SETTLED_FUNDS').map((r) => `${r.debit} ${r.currency}`).sort()).toEqual(['13.33 USD', '3.49 USD']);
});
