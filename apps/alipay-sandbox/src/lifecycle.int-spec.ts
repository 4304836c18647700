import { AmsClient, formatAmsTime, PayRequest } from '@upm/alipay';
import { eventually } from '@upm/shared-testing';
import { startInProcessSandbox, InProcessSandbox } from './testing/in-process-sandbox';
import { paymentView, postJson } from './testing/http';
import { anotherPay, connect, codeEnding, newMerchant, payInput, requestId } from './testing/merchant';

let sandbox: InProcessSandbox;
let client: AmsClient;

beforeAll(async () => {
  sandbox = await startInProcessSandbox({ SANDBOX_TIME_FACTOR: '1000', SANDBOX_PIN_DELAY_MS: '1000000', SANDBOX_SINGLE_USE_CODES: 'true' });
  client = await connect(sandbox.url, newMerchant('SANDBOX_LIFECYCLE'));
});

afterAll(async () => {
  client.close();
  await sandbox.close();
});

afterEach(() => sandbox.sandbox.clock.reset());

const view = (paymentRequestId: string) => paymentView(sandbox.url, paymentRequestId);

async function paid(overrides: Parameters<typeof payInput>[0] = {}) {
  const input = payInput(overrides);
  const result = await client.pay(input);
  if (result.outcome !== 'S' || !result.body?.paymentId) throw new Error(`pay did not succeed: ${result.resultCode}`);
  return { input, paymentId: result.body.paymentId, result };
}

const refund = (paymentId: string, value: string, refundRequestId = requestId('RF'), currency = 'HKD') =>
  client.refund({ refundRequestId, paymentId, refundAmount: { currency, value } });

describe('pay idempotency (spec §4.5)', () => {
  it('the same paymentRequestId with the same body gets the same answer, and is charged once', async () => {
    const { input, result } = await paid();
    const again = await client.pay(input);
    expect(again.body).toEqual(result.body);
    expect(await view(input.paymentRequestId)).toMatchObject({ status: 'SUCCESS', calls: { pay: 2 } });
    expect(sandbox.sandbox.book.ledger.filter((e) => e.transactionRequestId === input.paymentRequestId)).toHaveLength(1);
  });

  it('the same content with other key order and spacing is the same request', async () => {
    const { input, result } = await paid();
    const reordered = JSON.parse(result.exchange.requestBody) as PayRequest;
    const shuffled = Object.fromEntries(Object.entries(reordered).reverse()) as unknown as PayRequest;
    expect((await client.call('pay', shuffled)).body).toEqual(result.body);
    expect(input.paymentRequestId).toBe(reordered.paymentRequestId);
  });

  it('the same paymentRequestId with another body gets F REPEAT_REQ_INCONSISTENT and changes nothing', async () => {
    const { input } = await paid();
    const conflict = await client.pay({ ...input, amount: { currency: 'HKD', value: '1251' } });
    expect(conflict).toMatchObject({ outcome: 'F', resultCode: 'REPEAT_REQ_INCONSISTENT' });
    expect(await view(input.paymentRequestId)).toMatchObject({ status: 'SUCCESS', amount: { value: '1250' } });
  });

  it('a replay while processing answers U, and after the PIN the final S', async () => {
    const input = payInput({ scenario: '80' });
    const first = await client.pay(input);
    expect((await client.pay(input)).body).toEqual(first.body);
    await eventually(async () => ((await client.inquiryPayment({ paymentRequestId: input.paymentRequestId })).body?.paymentStatus === 'SUCCESS' ? true : undefined), 5000);
    expect(await client.pay(input)).toMatchObject({ outcome: 'S', body: { paymentId: first.body?.paymentId } });
  });

  it('a failed payment replays its failure; a cancelled one answers ORDER_IS_CLOSED', async () => {
    const failed = payInput({ scenario: '86' });
    await client.pay(failed);
    expect(await client.pay(failed)).toMatchObject({ outcome: 'F', resultCode: 'RISK_REJECT' });
    const { input } = await paid();
    await client.cancel({ paymentRequestId: input.paymentRequestId });
    expect(await client.pay(input)).toMatchObject({ outcome: 'F', resultCode: 'ORDER_IS_CLOSED' });
  });

  it('paymentRequestIds belong to their client: another client may use the same one', async () => {
    const other = await connect(sandbox.url, newMerchant('SANDBOX_LIFECYCLE_OTHER'));
    try {
      const { input, paymentId } = await paid();
      const theirs = await other.pay({ ...input, paymentCode: codeEnding('00'), amount: { currency: 'HKD', value: '99' } });
      expect(theirs.outcome).toBe('S');
      expect(theirs.body?.paymentId).not.toBe(paymentId);
      expect(await other.inquiryPayment({ paymentId })).toMatchObject({ outcome: 'F', resultCode: 'ORDER_NOT_EXIST' });
    } finally {
      other.close();
    }
  });
});

describe('refunds (spec §7)', () => {
  it('partial and multiple refunds up to the amount; one cent more is REFUND_AMOUNT_EXCEED', async () => {
    const { input, paymentId } = await paid();
    const first = await refund(paymentId, '250');
    expect(first).toMatchObject({ outcome: 'S', body: { paymentId, refundAmount: { currency: 'HKD', value: '250' }, refundId: expect.stringMatching(/R\d{10}$/) } });
    expect((await refund(paymentId, '1000')).outcome).toBe('S');
    expect(await refund(paymentId, '1')).toMatchObject({ outcome: 'F', resultCode: 'REFUND_AMOUNT_EXCEED' });
    expect(await view(input.paymentRequestId)).toMatchObject({ refundedAmount: { value: '1250' }, calls: { refund: 3 } });
  });

  it('an over-refund in one go is refused and leaves the payment refundable', async () => {
    const { paymentId } = await paid();
    expect(await refund(paymentId, '1251')).toMatchObject({ outcome: 'F', resultCode: 'REFUND_AMOUNT_EXCEED' });
    expect((await refund(paymentId, '1250')).outcome).toBe('S');
  });

  it('the same refundRequestId and body replays the answer; another body is REPEAT_REQ_INCONSISTENT', async () => {
    const { input, paymentId } = await paid();
    const refundRequestId = requestId('RF');
    const first = await refund(paymentId, '300', refundRequestId);
    const again = await refund(paymentId, '300', refundRequestId);
    expect(again.body).toEqual(first.body);
    expect(await refund(paymentId, '301', refundRequestId)).toMatchObject({ outcome: 'F', resultCode: 'REPEAT_REQ_INCONSISTENT' });
    expect(await view(input.paymentRequestId)).toMatchObject({ refundedAmount: { value: '300' }, refunds: [{ refundRequestId, status: 'SUCCESS' }] });
  });

  it('inquiryRefund by refundRequestId or refundId reflects success and failure', async () => {
    const { paymentId } = await paid();
    const ok = await refund(paymentId, '100');
    const refundRequestId = JSON.parse(ok.exchange.requestBody).refundRequestId as string;
    expect(await client.inquiryRefund({ refundRequestId })).toMatchObject({ outcome: 'S', body: { refundStatus: 'SUCCESS', refundId: ok.body?.refundId, refundAmount: { value: '100' } } });
    expect((await client.inquiryRefund({ refundId: ok.body!.refundId! })).body?.refundRequestId).toBe(refundRequestId);
    const tooMuch = requestId('RF');
    await refund(paymentId, '5000', tooMuch);
    expect((await client.inquiryRefund({ refundRequestId: tooMuch })).body?.refundStatus).toBe('FAIL');
    expect(await client.inquiryRefund({ refundRequestId: 'NEVER' })).toMatchObject({ outcome: 'F', resultCode: 'ORDER_NOT_EXIST' });
  });

  it('refunds of a cancelled, a failed, a processing or an unknown payment are refused', async () => {
    const { input: cancelled, paymentId: cancelledId } = await paid();
    await client.cancel({ paymentRequestId: cancelled.paymentRequestId });
    expect(await refund(cancelledId, '1')).toMatchObject({ outcome: 'F', resultCode: 'ORDER_IS_CANCELED' });

    const failed = payInput({ scenario: '85' });
    await client.pay(failed);
    const failedId = (await client.inquiryPayment({ paymentRequestId: failed.paymentRequestId })).body!.paymentId!;
    expect(await refund(failedId, '1')).toMatchObject({ outcome: 'F', resultCode: 'ORDER_IS_CLOSED' });

    const processing = await client.pay(payInput({ scenario: '82' }));
    expect(await refund(processing.body!.paymentId!, '1')).toMatchObject({ outcome: 'F', resultCode: 'ORDER_STATUS_INVALID' });
    expect(await refund('20260101194010800100188100000000000', '1')).toMatchObject({ outcome: 'F', resultCode: 'ORDER_NOT_EXIST' });
  });

  it('a refund in another currency is PARAM_ILLEGAL; after the refund window REFUND_WINDOW_EXCEED', async () => {
    const { paymentId } = await paid();
    expect(await refund(paymentId, '1', requestId('RF'), 'USD')).toMatchObject({ outcome: 'F', resultCode: 'PARAM_ILLEGAL' });
    sandbox.sandbox.clock.advance(366 * 24 * 3600_000);
    expect(await refund(paymentId, '1')).toMatchObject({ outcome: 'F', resultCode: 'REFUND_WINDOW_EXCEED' });
  });
});

describe('cancel (spec §6)', () => {
  it('cancelling a paid payment refunds it in full; a second cancel answers S with the same cancelTime', async () => {
    const { input, paymentId } = await paid();
    const cancel = await client.cancel({ paymentId });
    expect(cancel).toMatchObject({ outcome: 'S', body: { paymentId, paymentRequestId: input.paymentRequestId } });
    expect(await client.inquiryPayment({ paymentId })).toMatchObject({ body: { paymentStatus: 'CANCELLED', paymentResultCode: 'ORDER_IS_CLOSED' } });
    expect(await view(input.paymentRequestId)).toMatchObject({ status: 'CANCELLED', reversedByCancel: true });
    const ledger = sandbox.sandbox.book.ledger.filter((e) => e.transactionId === paymentId).map((e) => [e.type, e.amount.value]);
    expect(ledger).toEqual([['PAYMENT', '1250'], ['CANCEL', '1250']]);
    expect((await client.cancel({ paymentId })).body?.cancelTime).toBe(cancel.body?.cancelTime);
  });

  it('a payment made today can be cancelled until 00:15 UTC+8 tomorrow, not a minute later (injected clock)', async () => {
    sandbox.sandbox.clock.set(new Date('2026-11-27T15:00:00Z')); // 23:00 UTC+8
    const late = await paid();
    const lateToo = await paid();
    sandbox.sandbox.clock.set(new Date('2026-11-27T16:14:00Z')); // 00:14 UTC+8 the next day
    expect(await client.cancel({ paymentId: late.paymentId })).toMatchObject({ outcome: 'S' });
    sandbox.sandbox.clock.set(new Date('2026-11-27T16:16:00Z')); // 00:16 UTC+8
    expect(await client.cancel({ paymentId: lateToo.paymentId })).toMatchObject({ outcome: 'F', resultCode: 'CANCEL_WINDOW_EXCEED' });
    expect((await refund(lateToo.paymentId, '1250')).outcome).toBe('S');
  });

  it('the clock can also be moved over HTTP', async () => {
    const { paymentId } = await paid();
    const moved = await postJson(`${sandbox.url}/sandbox/clock`, { advanceMs: 2 * 24 * 3600_000 });
    expect(moved).toMatchObject({ status: 200, body: { offsetMs: 2 * 24 * 3600_000 } });
    expect(await client.cancel({ paymentId })).toMatchObject({ outcome: 'F', resultCode: 'CANCEL_WINDOW_EXCEED' });
    expect((await postJson(`${sandbox.url}/sandbox/clock`, { reset: true })).body).toMatchObject({ offsetMs: 0 });
  });

  it('a cancel during PIN entry wins: the payment never succeeds', async () => {
    const input = payInput({ scenario: '80' });
    await client.pay(input);
    expect((await client.cancel({ paymentRequestId: input.paymentRequestId })).outcome).toBe('S');
    await new Promise((resolve) => setTimeout(resolve, 1300));
    expect((await client.inquiryPayment({ paymentRequestId: input.paymentRequestId })).body?.paymentStatus).toBe('CANCELLED');
  });

  it('a cancel of a pay not yet arrived closes it: the late pay is F ORDER_IS_CLOSED and charges nothing (spec §5, §6)', async () => {
    const input = payInput();
    expect(await client.cancel({ paymentRequestId: input.paymentRequestId })).toMatchObject({ outcome: 'F', resultCode: 'ORDER_NOT_EXIST' });
    expect(await client.pay(input)).toMatchObject({ outcome: 'F', resultCode: 'ORDER_IS_CLOSED' });
    expect(await client.pay(input)).toMatchObject({ outcome: 'F', resultCode: 'ORDER_IS_CLOSED' });
    expect(sandbox.sandbox.book.ledger.filter((e) => e.transactionRequestId === input.paymentRequestId)).toHaveLength(0);
    expect((await client.inquiryPayment({ paymentRequestId: input.paymentRequestId })).body?.paymentStatus).not.toBe('SUCCESS');
    expect(await view(input.paymentRequestId)).toMatchObject({ status: 'NOT_RECORDED', calls: { pay: 2, cancel: 1 }, cancelledAt: expect.stringMatching(/\+08:00$/) });
  });

  it('a cancel by an unknown paymentId closes nothing else: another pay still goes through', async () => {
    expect(await client.cancel({ paymentId: '20260101194010800100188100000000000' })).toMatchObject({ outcome: 'F', resultCode: 'ORDER_NOT_EXIST' });
    expect((await client.pay(payInput())).outcome).toBe('S');
  });

  it('a partly refunded payment cannot be cancelled (ORDER_STATUS_INVALID)', async () => {
    const { paymentId } = await paid();
    await refund(paymentId, '10');
    expect(await client.cancel({ paymentId })).toMatchObject({ outcome: 'F', resultCode: 'ORDER_STATUS_INVALID' });
  });
});

describe('request validation (spec §15.3)', () => {
  it('a missing field is PARAM_ILLEGAL, another product ACCESS_DENIED, an unknown currency CURRENCY_NOT_SUPPORT', async () => {
    const { result } = await paid();
    const body = JSON.parse(result.exchange.requestBody) as PayRequest;
    const fresh = () => anotherPay(body);
    const { env: _env, ...orderWithoutEnv } = body.order;
    expect(await client.call('pay', { ...fresh(), order: orderWithoutEnv } as unknown as PayRequest)).toMatchObject({ outcome: 'F', resultCode: 'PARAM_ILLEGAL' });
    expect(await client.call('pay', { ...fresh(), paymentAmount: { currency: 'HKD', value: 1250 } } as unknown as PayRequest)).toMatchObject({ outcome: 'F', resultCode: 'PARAM_ILLEGAL' });
    expect(await client.call('pay', { ...fresh(), productCode: 'CASHIER_PAYMENT' } as unknown as PayRequest)).toMatchObject({ outcome: 'F', resultCode: 'ACCESS_DENIED' });
    for (const storeTerminalRequestTime of ['2026-11-27T04:06:00.123Z', '2026-11-27 12:06:00', 'now']) {
      const order = { ...body.order, env: { ...body.order.env, storeTerminalRequestTime } };
      expect(await client.call('pay', { ...fresh(), order })).toMatchObject({ outcome: 'F', resultCode: 'PARAM_ILLEGAL' });
    }
    const rupiah = { currency: 'IDR', value: '1500050' };
    expect(await client.call('pay', { ...fresh(), paymentAmount: rupiah, order: { ...body.order, orderAmount: rupiah } })).toMatchObject({ outcome: 'F', resultCode: 'PARAM_ILLEGAL' });
    const xxx = { currency: 'XXX', value: '100' };
    expect(await client.call('pay', { ...fresh(), paymentAmount: xxx, order: { ...body.order, orderAmount: xxx } })).toMatchObject({ outcome: 'F', resultCode: 'CURRENCY_NOT_SUPPORT' });
    expect(await client.call('inquiryPayment', {})).toMatchObject({ outcome: 'F', resultCode: 'PARAM_ILLEGAL' });
  });

  it('an optional field over its length or out of its format is PARAM_ILLEGAL too, on every API (spec §4.1, §5–§8)', async () => {
    const { result, paymentId, input } = await paid();
    const body = JSON.parse(result.exchange.requestBody) as PayRequest;
    const fresh = () => anotherPay(body);
    const account33 = 'A'.repeat(33);
    const refundBody = (extra: object) => ({ refundRequestId: requestId('RF'), paymentId, refundAmount: { currency: 'HKD', value: '1' }, ...extra });
    const url = (length: number) => `https://merchant.example/${'n'.repeat(length - 'https://merchant.example/'.length)}`;
    const refused = [
      await client.call('pay', { ...fresh(), merchantAccountId: account33 }),
      await client.call('pay', { ...fresh(), merchantRegion: 'HKG' }),
      await client.call('pay', { ...fresh(), extendInfo: 42 } as unknown as PayRequest),
      // spec §2.8: an optional field is omitted, never sent empty
      await client.call('pay', { ...fresh(), extendInfo: '' }),
      await client.call('refund', refundBody({ extendInfo: '' })),
      await client.call('inquiryPayment', { paymentRequestId: input.paymentRequestId, merchantAccountId: account33 }),
      await client.call('cancel', { paymentRequestId: input.paymentRequestId, merchantAccountId: account33 }),
      await client.call('refund', refundBody({ merchantAccountId: account33 })),
      await client.call('refund', refundBody({ refundNotifyUrl: url(1025) })),
      await client.call('refund', refundBody({ refundRequestTime: 'yesterday' })),
      await client.call('inquiryRefund', { refundRequestId: 'RF_ANY', merchantAccountId: account33 }),
    ];
    expect(refused.map((r) => `${r.outcome} ${r.resultCode}`)).toEqual(Array(refused.length).fill('F PARAM_ILLEGAL'));
    expect(await view(input.paymentRequestId)).toMatchObject({ status: 'SUCCESS', refundedAmount: { value: '0' } });

    const accepted = [
      await client.call('pay', { ...fresh(), merchantAccountId: 'A'.repeat(32), merchantRegion: 'HK' }),
      await client.call('refund', refundBody({ refundNotifyUrl: url(1024), refundRequestTime: '2026-11-27T10:00:00+08:00', merchantAccountId: 'A'.repeat(32) })),
    ];
    expect(accepted.map((r) => r.outcome)).toEqual(['S', 'S']);
  });

  it('a merchant or store MCC that is not the 4 digits of ISO 18245 is PARAM_ILLEGAL (spec §3.4)', async () => {
    const { result } = await paid();
    const body = JSON.parse(result.exchange.requestBody) as PayRequest;
    const withMccs = (merchantMCC: string, storeMCC: string) => ({
      ...anotherPay(body),
      order: { ...body.order, merchant: { ...body.order.merchant, merchantMCC, store: { ...body.order.merchant.store, storeMCC } } },
    });
    const answers = await Promise.all([['581', '5812'], ['58120', '5812'], ['RETAIL', '5812'], ['5812', '58 2'], ['5812', '']].map(([m, st]) => client.call('pay', withMccs(m, st))));
    expect(answers.map((a) => `${a.outcome} ${a.resultCode}`)).toEqual(Array(answers.length).fill('F PARAM_ILLEGAL'));
    expect((await client.call('pay', withMccs('7011', '5999'))).outcome).toBe('S');
  });

  it('an env field over its length is PARAM_ILLEGAL (spec §3.5: clientIp and deviceTokenId 64, extendInfo 2048)', async () => {
    const { result } = await paid();
    const body = JSON.parse(result.exchange.requestBody) as PayRequest;
    const withEnv = (extra: object) => ({ ...anotherPay(body), order: { ...body.order, env: { ...body.order.env, ...extra } } });
    const refused = await Promise.all([{ clientIp: '1'.repeat(65) }, { deviceTokenId: 'D'.repeat(65) }, { extendInfo: 'E'.repeat(2049) }, { extendInfo: '' }].map((extra) => client.call('pay', withEnv(extra))));
    expect(refused.map((a) => `${a.outcome} ${a.resultCode}`)).toEqual(Array(refused.length).fill('F PARAM_ILLEGAL'));
    expect((await client.call('pay', withEnv({ clientIp: '203.0.113.7', deviceTokenId: 'D'.repeat(64), extendInfo: 'E'.repeat(2048) }))).outcome).toBe('S');
  });

  it('a merchantAddress without its region or with a field over its length is PARAM_ILLEGAL (spec §3.4)', async () => {
    const { result } = await paid();
    const body = JSON.parse(result.exchange.requestBody) as PayRequest;
    const at = (merchantAddress: object) => ({ ...anotherPay(body), order: { ...body.order, merchant: { ...body.order.merchant, merchantAddress } } });
    const refused = await Promise.all(
      [{ city: 'Hong Kong' }, { region: 'HKG' }, { region: 'HK', state: 'S'.repeat(9) }, { region: 'HK', city: 'C'.repeat(33) }, { region: 'HK', address1: 'A'.repeat(257) }, { region: 'HK', zipCode: 'Z'.repeat(33) }].map(
        (address) => client.call('pay', at(address)),
      ),
    );
    expect(refused.map((a) => `${a.outcome} ${a.resultCode}`)).toEqual(Array(refused.length).fill('F PARAM_ILLEGAL'));
    expect((await client.call('pay', at({ region: 'HK', city: 'Hong Kong', address1: '1 Queen’s Road Central', zipCode: '000000' }))).outcome).toBe('S');
  });

  it('the other optional Merchant, Store and Env fields are strings, never empty, within their length; a storeAddress has its region (spec §2.8, §3.4, §3.5)', async () => {
    const { result } = await paid();
    const body = JSON.parse(result.exchange.requestBody) as PayRequest;
    const withMerchant = (merchant: object, store: object = {}, env: object = {}) => {
      const pay = anotherPay(body);
      return { ...pay, order: { ...pay.order, merchant: { ...pay.order.merchant, ...merchant, store: { ...pay.order.merchant.store, ...store } }, env: { ...pay.order.env, ...env } } } as PayRequest;
    };
    const refused = await Promise.all(
      [
        withMerchant({ merchantDisplayName: 'D'.repeat(65) }),
        withMerchant({ merchantDisplayName: '' }),
        withMerchant({ merchantRegisterDate: '2020-01-01' }),
        withMerchant({}, { storeDisplayName: '' }),
        withMerchant({}, { storeTerminalId: 7 }),
        withMerchant({}, { storeOperatorId: '' }),
        withMerchant({}, { storePhoneNo: 85212345678 }),
        withMerchant({}, { storeAddress: { city: 'Hong Kong' } }),
        withMerchant({}, {}, { terminalType: '' }),
        withMerchant({}, {}, { osType: 1 }),
        withMerchant({}, {}, { userAgent: '' }),
      ].map((pay) => client.call('pay', pay)),
    );
    expect(refused.map((a) => `${a.outcome} ${a.resultCode}`)).toEqual(Array(refused.length).fill('F PARAM_ILLEGAL'));
    const complete = withMerchant(
      { merchantDisplayName: 'D'.repeat(64), merchantRegisterDate: '2020-01-01T00:00:00+08:00' },
      { storeDisplayName: 'Central', storeTerminalId: 'POS-07', storeOperatorId: 'cashier-3', storeAddress: { region: 'HK', city: 'Hong Kong' }, storePhoneNo: '+852 2123 4567' },
      { terminalType: 'APP', osType: 'ANDROID', userAgent: 'pos/1.0' },
    );
    expect((await client.call('pay', complete)).outcome).toBe('S');
  });

  it('a refusal’s resultMessage stays within String(256) whatever the request held (spec §3.2)', async () => {
    const { result } = await paid();
    const body = JSON.parse(result.exchange.requestBody) as PayRequest;
    const answers = [
      await client.call('pay', { ...body, paymentRequestId: requestId(), productCode: `X${'Y'.repeat(1000)}` } as unknown as PayRequest),
      await client.call('pay', { ...body, paymentRequestId: requestId(), settlementStrategy: { settlementCurrency: 'Q'.repeat(1000) } }),
      await client.call('pay', { ...body, paymentRequestId: requestId(), paymentAmount: { currency: 'Z'.repeat(3), value: '1' }, order: { ...body.order, orderAmount: { currency: 'ZZZ', value: '1' } } }),
    ];
    expect(answers.map((a) => a.resultCode)).toEqual(['ACCESS_DENIED', 'PARAM_ILLEGAL', 'CURRENCY_NOT_SUPPORT']);
    for (const answer of answers) expect(answer.body?.result.resultMessage.length).toBeLessThanOrEqual(256);
    expect(answers[0].body?.result.resultMessage.length).toBe(256);
  });

  it('GET /sandbox/payments of an id never seen is 404', async () => {
    expect((await fetch(`${sandbox.url}/sandbox/payments/NEVER_SEEN`)).status).toBe(404);
  });
});

describe('a payment in another currency than the wallet’s (spec §4.2, §9)', () => {
  it('answers and inquires what the ALIPAYCN user paid in CNY, with the quote; a CNY payment has neither', async () => {
    const hkd = await paid({ amount: { currency: 'HKD', value: '1250' } });
    // 0.1282 / 0.1380 USD per unit: 0.92898551 CNY per HKD; 12.50 HKD is 11.61 CNY
    const wallet = { actualPaymentAmount: { currency: 'CNY', value: '1161' }, paymentQuote: { quoteCurrencyPair: 'HKD/CNY', quotePrice: 0.92898551, guaranteed: false } };
    expect(hkd.result.body).toMatchObject(wallet);
    expect((await client.inquiryPayment({ paymentId: hkd.paymentId })).body).toMatchObject({ paymentStatus: 'SUCCESS', ...wallet });

    const cny = await paid({ amount: { currency: 'CNY', value: '1000' } });
    expect(cny.result.body?.actualPaymentAmount).toBeUndefined();
    expect(cny.result.body?.paymentQuote).toBeUndefined();
    const processing = await client.pay(payInput({ scenario: '82' }));
    expect(processing.body?.actualPaymentAmount).toBeUndefined();
  });
});

describe('paymentExpiryTime (spec §4.1: after it the payment can no longer succeed)', () => {
  const inSeconds = (seconds: number) => formatAmsTime(new Date(sandbox.sandbox.clock.now().getTime() + seconds * 1000));
  const inquire = async (paymentRequestId: string) => {
    const { body } = await client.inquiryPayment({ paymentRequestId });
    return `${body?.paymentStatus} ${body?.paymentResultCode}`;
  };

  it('a payment still processing when it expires is closed: FAIL ORDER_IS_CLOSED, and a replayed pay answers so', async () => {
    const input = payInput({ scenario: '82', paymentExpiryTime: inSeconds(2) });
    expect((await client.pay(input)).resultCode).toBe('PAYMENT_IN_PROCESS');
    expect(await inquire(input.paymentRequestId)).toBe('PROCESSING PAYMENT_IN_PROCESS');
    await eventually(async () => ((await view(input.paymentRequestId)).status === 'FAIL' ? true : undefined), 5000, 100);
    expect(await inquire(input.paymentRequestId)).toBe('FAIL ORDER_IS_CLOSED');
    expect(await client.pay(input)).toMatchObject({ outcome: 'F', resultCode: 'ORDER_IS_CLOSED' });
  });

  it('the PIN entered after the expiry does not make it succeed, also when the clock moved past the expiry', async () => {
    const input = payInput({ scenario: '80', paymentExpiryTime: inSeconds(60) });
    expect((await client.pay(input)).resultCode).toBe('PAYMENT_IN_PROCESS');
    sandbox.sandbox.clock.advance(120_000);
    expect(await inquire(input.paymentRequestId)).toBe('FAIL ORDER_IS_CLOSED');
    await new Promise((resolve) => setTimeout(resolve, 1500)); // the PIN (1 s at this time factor) comes too late
    expect(await view(input.paymentRequestId)).toMatchObject({ status: 'FAIL', failure: { code: 'ORDER_IS_CLOSED' } });
    expect(sandbox.sandbox.book.ledger.filter((e) => e.transactionRequestId === input.paymentRequestId)).toHaveLength(0);
  });

  it('a pay that arrives after its expiry fails at once; one within it succeeds as usual', async () => {
    const late = payInput({ paymentExpiryTime: inSeconds(-60) });
    expect(await client.pay(late)).toMatchObject({ outcome: 'F', resultCode: 'ORDER_IS_CLOSED' });
    expect(await inquire(late.paymentRequestId)).toBe('FAIL ORDER_IS_CLOSED');
    const inTime = payInput({ scenario: '80', paymentExpiryTime: inSeconds(600) });
    await client.pay(inTime);
    await eventually(async () => ((await inquire(inTime.paymentRequestId)) === 'SUCCESS SUCCESS' ? true : undefined), 5000, 100);
  });
});

describe('single-use codes (spec §4.4, §10.4, §11.1: a payment code pays once)', () => {
  it('a code an earlier payment took answers F EXPIRED_CODE, a failed payment’s too; the first payment’s replay is unchanged', async () => {
    const first = payInput();
    const answer = await client.pay(first);
    expect(answer.outcome).toBe('S');
    const second = payInput({ paymentCode: first.paymentCode });
    expect(await client.pay(second)).toMatchObject({ outcome: 'F', resultCode: 'EXPIRED_CODE' });
    expect(await view(second.paymentRequestId)).toMatchObject({ status: 'FAIL', failure: { code: 'EXPIRED_CODE' } });
    expect((await client.pay(first)).body).toEqual(answer.body);

    const declined = payInput({ scenario: '85' });
    expect((await client.pay(declined)).resultCode).toBe('USER_BALANCE_NOT_ENOUGH');
    expect(await client.pay(payInput({ paymentCode: declined.paymentCode }))).toMatchObject({ outcome: 'F', resultCode: 'EXPIRED_CODE' });
  });

  it('a pay that recorded nothing (84) leaves its code unused: the re-sent pay hangs again', async () => {
    const lost = payInput({ scenario: '84' });
    expect(await client.pay(lost)).toMatchObject({ outcome: 'U', resultCode: 'UNKNOWN_EXCEPTION' });
    expect(await client.pay(lost)).toMatchObject({ outcome: 'U', resultCode: 'UNKNOWN_EXCEPTION' });
    expect(await view(lost.paymentRequestId)).toMatchObject({ status: 'NOT_RECORDED', calls: { pay: 2 } });
  });

  it('SANDBOX_SINGLE_USE_CODES=false lets a code pay again and again', async () => {
    const lenient = await startInProcessSandbox({ SANDBOX_SINGLE_USE_CODES: 'false' });
    const lenientClient = await connect(lenient.url, newMerchant('SANDBOX_LENIENT'));
    try {
      const code = payInput().paymentCode;
      for (let i = 0; i < 2; i += 1) expect((await lenientClient.pay(payInput({ paymentCode: code }))).outcome).toBe('S');
    } finally {
      lenientClient.close();
      await lenient.close();
    }
  });
});

describe('shutdown', () => {
  it('closing the sandbox drops a held answer at once instead of waiting for the hang', async () => {
    const patient = await startInProcessSandbox({ SANDBOX_HANG_MS: '60000' });
    const patientClient = await connect(patient.url, newMerchant('SANDBOX_SHUTDOWN'));
    try {
      const pending = patientClient.pay(payInput({ scenario: '83' }), { timeoutMs: 20_000 });
      await new Promise((resolve) => setTimeout(resolve, 200));
      const started = Date.now();
      await patient.close();
      expect(Date.now() - started).toBeLessThan(2000);
      expect(await pending).toMatchObject({ outcome: 'U', problem: 'NETWORK_ERROR' });
    } finally {
      patientClient.close();
    }
  });
});

describe('a restarted sandbox (memory lost, the platform keeps its ids)', () => {
  it('gives its payments and refunds ids no earlier run gave, so a refund by an old paymentId never takes a new payment’s money', async () => {
    const run = async () => {
      const instance = await startInProcessSandbox();
      const instanceClient = await connect(instance.url, newMerchant('SANDBOX_RESTARTED'));
      instance.sandbox.clock.set(new Date('2026-11-27T04:00:00Z'));
      return { instance, instanceClient };
    };
    let { instance, instanceClient } = await run();
    try {
      const before = await instanceClient.pay(payInput());
      const beforeId = before.body!.paymentId!;
      const beforeRefund = await instanceClient.refund({ refundRequestId: requestId('RF'), paymentId: beforeId, refundAmount: { currency: 'HKD', value: '1' } });
      instanceClient.close();
      await instance.close();

      ({ instance, instanceClient } = await run());
      const after = await instanceClient.pay(payInput());
      const afterId = after.body!.paymentId!;
      expect(afterId).not.toBe(beforeId);
      expect(afterId).toMatch(/^\d{8}\d{16}I\d{10}$/);
      const lateRefund = await instanceClient.refund({ refundRequestId: requestId('RF'), paymentId: beforeId, refundAmount: { currency: 'HKD', value: '1250' } });
      expect(lateRefund).toMatchObject({ outcome: 'F', resultCode: 'ORDER_NOT_EXIST' });
      expect((await paymentView(instance.url, after.body!.paymentRequestId!)).refundedAmount).toEqual({ currency: 'HKD', value: '0' });
      const afterRefund = await instanceClient.refund({ refundRequestId: requestId('RF'), paymentId: afterId, refundAmount: { currency: 'HKD', value: '1' } });
      expect(afterRefund.body!.refundId).not.toBe(beforeRefund.body!.refundId);
    } finally {
      instanceClient.close();
      await instance.close();
    }
  });
});
