import { csvRecords } from '@upm/contracts';
import { businessDayOf } from '@upm/settlement';
import { PaymentResource, PosClient } from './support/pos-client';
import { settlementSuite } from './support/settlement';

/**
 * A merchant whose Alipay contract settles in US dollars while its shoppers pay in Hong Kong dollars and yen:
 * the sandbox settles the day in one USD batch at its fixed quotes (HKD/USD 0.1282, JPY/USD 0.0067), and the
 * ledger must clear each transaction currency's receivable through its FX_DIFFERENCE account.
 */
jest.setTimeout(180_000);

const { running, api, sandboxReports, deliver, ingest, transactions, balances, caughtUp } = settlementSuite('settle_fx', 3550, { SANDBOX_SETTLEMENT_CURRENCY: 'USD' });

it('posts a day settled in another currency: receivables cleared, each currency balanced through FX_DIFFERENCE', async () => {
  const pos = await running.platform.onboard('FX Tea');
  const paid: PaymentResource[] = [];
  for (const [tag, currency, value] of [['hkd1', 'HKD', '1250'], ['hkd2', 'HKD', '2000'], ['yen', 'JPY', '2000']] as const) {
    const { body } = await pos.pay({ merchantOrderId: PosClient.orderId(tag), amount: { currency, value }, paymentCode: PosClient.code('00'), waitSeconds: 20 });
    expect(body.status).toBe('SUCCEEDED');
    paid.push(body);
  }
  const refund = await pos.refund(paid[1].paymentId, { refundRequestId: PosClient.orderId('rhkd2'), amount: { currency: 'HKD', value: '500' }, waitSeconds: 20 });
  expect(refund.body.status).toBe('SUCCEEDED');
  await caughtUp(pos, paid);

  const day = businessDayOf(paid[0].alipay!.paymentTime!);
  const files = await sandboxReports(day);
  // one file of each kind, or several parts of one when the sandbox splits them (SANDBOX_REPORT_MAX_ROWS)
  expect([...new Set(files.map((f) => `${f.kind} ${f.currency ?? ''}`))]).toEqual(['transactionItems ', 'settlementItems USD', 'settlementSummary USD']);
  for (const file of files) await deliver(file.path);
  const ingested = await ingest();
  expect([...new Set(ingested.map((f) => `${f.kind} ${f.status}`))].sort()).toEqual(['settlementItems INGESTED', 'transactionItems INGESTED']);

  // HKD 12.50 → 1.60 − 0.01 fee; HKD 20.00 → 2.56 − 0.01; refund HKD −5.00 → −0.64 − 0.01; JPY 2000 → 13.40 − 0.07
  const batches = (await api<{ batches: Array<{ settlementBatchId: string; currency: string; status: string; net: { value: string }; fees: { value: string }; fx: unknown }> }>('GET', '/v1/settlement/batches')).body.batches;
  expect(batches).toEqual([expect.objectContaining({ currency: 'USD', status: 'RECONCILED', net: { currency: 'USD', value: '1682' }, fees: { currency: 'USD', value: '-10' } })]);
  expect(batches[0].fx).toMatchObject({ quoteCurrencyPair: expect.stringMatching(/^(HKD|JPY)\/USD$/) });
  // each item's amount in its own currency, its fee and settlement amount in the batch's
  const detail = (await api<{ items: Array<{ amount: { currency: string }; fee: { currency: string; value: string }; settlementAmount: { currency: string } }> }>('GET', `/v1/settlement/batches/${batches[0].settlementBatchId}`)).body;
  expect(detail.items.map((i) => `${i.amount.currency} ${i.fee.value} ${i.fee.currency} ${i.settlementAmount.currency}`).sort()).toEqual(
    ['HKD -1 USD USD', 'HKD -1 USD USD', 'HKD -1 USD USD', 'JPY -7 USD USD'],
  );
  const moves = (await transactions()).filter((t) => t.kind !== 'SETTLEMENT');
  expect(moves.map((t) => `${t.kind} ${t.status} ${t.reconciliation}`).sort()).toEqual(['PAYMENT POSTED MATCHED', 'PAYMENT POSTED MATCHED', 'PAYMENT POSTED MATCHED', 'REFUND POSTED MATCHED']);
  expect((await api<{ discrepancies: unknown[] }>('GET', '/v1/settlement/discrepancies')).body.discrepancies).toEqual([]);

  const m = pos.ids.merchantId;
  const ledger = await balances(`?merchantId=${m}&status=POSTED`);
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
