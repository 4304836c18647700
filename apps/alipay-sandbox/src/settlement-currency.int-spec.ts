import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseCsv } from '@upm/contracts';
import type { AmsClient } from '@upm/alipay';
import { startInProcessSandbox, InProcessSandbox } from './testing/in-process-sandbox';
import { requestReports } from './testing/http';
import { connect, newMerchant, payInput, requestId } from './testing/merchant';

/**
 * A pay's settlementStrategy.settlementCurrency (spec §3.6, §12): one of the contract's settlement currencies,
 * required when the contract has several (SETTLE_CONTRACT_NOT_MATCH, PARAM_ILLEGAL); the payment, its refunds
 * and its cancel settle in the batch of that currency.
 */
const CUSTOMER = '1022188000000007777';
const DAY = '2026-11-27';

interface Started {
  sandbox: InProcessSandbox;
  client: AmsClient;
  dir: string;
}

async function start(name: string, settlementCurrencies?: string): Promise<Started> {
  const dir = mkdtempSync(path.join(tmpdir(), 'sandbox-settlement-currency-'));
  const sandbox = await startInProcessSandbox({
    SANDBOX_REPORT_DIR: dir,
    SANDBOX_CUSTOMER_ID: CUSTOMER,
    // the suites read DAY's files while paying on DAY
    SANDBOX_REPORT_OPEN_DAYS: 'true',
    ...(settlementCurrencies ? { SANDBOX_SETTLEMENT_CURRENCY: settlementCurrencies } : {}),
  });
  sandbox.sandbox.clock.set(new Date('2026-11-26T16:30:00Z')); // 00:30 UTC+8 on DAY
  return { sandbox, client: await connect(sandbox.url, newMerchant(name)), dir };
}

async function stop(started: Started): Promise<void> {
  started.client.close();
  await started.sandbox.close();
  rmSync(started.dir, { recursive: true, force: true });
}

/** The settlement items of DAY, by settlement currency: each row's type, request id and quote (or the columns asked for). */
async function settlementItems(started: Started, columns = ['transactionType', 'transactionRequestId', 'quoteCurrencyPair']): Promise<Record<string, string[][]>> {
  const { body } = await requestReports(started.sandbox.url, DAY);
  const batches: Record<string, string[][]> = {};
  for (const file of body.files.filter((f) => f.kind === 'settlementItems')) {
    const [header, ...rest] = parseCsv(readFileSync(file.path, 'utf8'));
    const at = (name: string) => header.indexOf(name);
    batches[file.currency ?? ''] = rest.slice(0, -1).map((row) => columns.map((name) => row[at(name)]));
  }
  return batches;
}

describe('a contract that settles in USD and HKD', () => {
  let started: Started;
  beforeAll(async () => (started = await start('SANDBOX_TWO_SETTLEMENT_CURRENCIES', 'USD,HKD')));
  afterAll(() => stop(started));

  it('refuses a pay that names no settlement currency (PARAM_ILLEGAL) or one outside the contract (SETTLE_CONTRACT_NOT_MATCH), and records nothing', async () => {
    const unnamed = payInput();
    const euro = payInput({ settlementCurrency: 'EUR' });
    const lowerCase = payInput({ settlementCurrency: 'usd' });
    expect([(await started.client.pay(unnamed)).resultCode, (await started.client.pay(euro)).resultCode, (await started.client.pay(lowerCase)).resultCode]).toEqual([
      'PARAM_ILLEGAL',
      'SETTLE_CONTRACT_NOT_MATCH',
      'PARAM_ILLEGAL',
    ]);
    for (const input of [unnamed, euro]) expect((await started.client.inquiryPayment({ paymentRequestId: input.paymentRequestId })).resultCode).toBe('ORDER_NOT_EXIST');
  });

  it('settles each payment, its refund and its cancel in the batch of the currency it named, at a quote', async () => {
    const inUsd = payInput({ amount: { currency: 'JPY', value: '2000' }, settlementCurrency: 'USD' });
    const inHkd = payInput({ amount: { currency: 'JPY', value: '3000' }, settlementCurrency: 'HKD' });
    const cancelled = payInput({ amount: { currency: 'JPY', value: '4000' }, settlementCurrency: 'HKD' });
    const refundRequestId = requestId('RF');
    const usdPaymentId = (await started.client.pay(inUsd)).body?.paymentId ?? '';
    expect((await started.client.pay(inHkd)).outcome).toBe('S');
    expect((await started.client.pay(cancelled)).outcome).toBe('S');
    expect((await started.client.refund({ refundRequestId, paymentId: usdPaymentId, refundAmount: { currency: 'JPY', value: '500' } })).outcome).toBe('S');
    expect((await started.client.cancel({ paymentRequestId: cancelled.paymentRequestId })).outcome).toBe('S');

    expect(await settlementItems(started)).toEqual({
      HKD: [
        ['PAYMENT', inHkd.paymentRequestId, 'JPY/HKD'],
        ['PAYMENT', cancelled.paymentRequestId, 'JPY/HKD'],
        ['CANCEL', cancelled.paymentRequestId, 'JPY/HKD'],
      ],
      USD: [
        ['PAYMENT', inUsd.paymentRequestId, 'JPY/USD'],
        ['REFUND', refundRequestId, 'JPY/USD'],
      ],
    });
  });
});

describe('a contract that settles in USD only', () => {
  let started: Started;
  beforeAll(async () => (started = await start('SANDBOX_USD_SETTLEMENT', 'USD')));
  afterAll(() => stop(started));

  it('settles a pay that names no currency in USD, takes one that names USD, and refuses one that names the payment currency', async () => {
    const unnamed = payInput();
    const named = payInput({ settlementCurrency: 'USD' });
    expect((await started.client.pay(payInput({ settlementCurrency: 'HKD' }))).resultCode).toBe('SETTLE_CONTRACT_NOT_MATCH');
    expect([(await started.client.pay(unnamed)).outcome, (await started.client.pay(named)).outcome]).toEqual(['S', 'S']);
    expect(await settlementItems(started)).toEqual({
      USD: [
        ['PAYMENT', unnamed.paymentRequestId, 'HKD/USD'],
        ['PAYMENT', named.paymentRequestId, 'HKD/USD'],
      ],
    });
  });
});

describe('a contract without a settlement currency (each payment settles in its own)', () => {
  let started: Started;
  beforeAll(async () => (started = await start('SANDBOX_OWN_SETTLEMENT')));
  afterAll(() => stop(started));

  it('takes a settlement currency equal to the payment currency and refuses any other', async () => {
    const own = payInput({ amount: { currency: 'HKD', value: '1250' }, settlementCurrency: 'HKD' });
    expect((await started.client.pay(own)).outcome).toBe('S');
    expect((await started.client.pay(payInput({ amount: { currency: 'HKD', value: '1250' }, settlementCurrency: 'USD' }))).resultCode).toBe('SETTLE_CONTRACT_NOT_MATCH');
    expect(await settlementItems(started)).toEqual({ HKD: [['PAYMENT', own.paymentRequestId, '']] });
  });
});

describe('a contract that settles in IDR (spec §3.1: whole rupiah, banker’s-rounded)', () => {
  let started: Started;
  beforeAll(async () => (started = await start('SANDBOX_IDR_SETTLEMENT', 'IDR')));
  afterAll(() => stop(started));

  it('converts amount and fee into whole rupiah', async () => {
    // 12.50 HKD at 0.1282 / 0.000063 = 2034.92063492 IDR per HKD: 25436.51 → 25437 IDR; the fee, 0.10 HKD → 203.49 → 203 IDR
    expect((await started.client.pay(payInput({ amount: { currency: 'HKD', value: '1250' } }))).outcome).toBe('S');
    expect(await settlementItems(started, ['settlementAmountValue', 'feeAmountValue', 'quoteCurrencyPair'])).toEqual({ IDR: [['25234.00', '-203.00', 'HKD/IDR']] });
  });
});
