import { AmsClient, NOTIFICATION_ACK, PayRequest } from '@upm/alipay';
import { eventually } from '@upm/shared-testing';
import { startInProcessSandbox, InProcessSandbox } from './testing/in-process-sandbox';
import { paymentView } from './testing/http';
import { connect, newMerchant, payInput, requestId } from './testing/merchant';
import { acknowledge, NotifyReceiver } from './testing/notify-receiver';

// Time factor 1000: the PIN takes 1 s, a hung answer 1.5 s, notification retries 0 / 120 / 600 ms.
const ENV = { SANDBOX_TIME_FACTOR: '1000', SANDBOX_PIN_DELAY_MS: '1000000', SANDBOX_HANG_MS: '1500000' };
const SHORT_TIMEOUT_MS = 400;

let sandbox: InProcessSandbox;
let client: AmsClient;
let receiver: NotifyReceiver;
let notifyUrl: string;

beforeAll(async () => {
  sandbox = await startInProcessSandbox(ENV);
  client = await connect(sandbox.url, newMerchant('SANDBOX_SCENARIOS'));
  receiver = new NotifyReceiver();
  notifyUrl = `${await receiver.start()}/alipay/notify`;
});

afterAll(async () => {
  client.close();
  await sandbox.close();
  await receiver.stop();
});

const view = (paymentRequestId: string) => paymentView(sandbox.url, paymentRequestId);
const inquire = (paymentRequestId: string) => client.inquiryPayment({ paymentRequestId });
const statusOf = async (paymentRequestId: string) => (await inquire(paymentRequestId)).body?.paymentStatus;

describe('pay, classified, for every scenario of CONTRACTS.md §2', () => {
  it.each([
    ['00', 'S', 'SUCCESS'],
    ['42', 'S', 'SUCCESS'],
    ['79', 'S', 'SUCCESS'],
    ['80', 'U', 'PAYMENT_IN_PROCESS'],
    ['81', 'U', 'PAYMENT_IN_PROCESS'],
    ['82', 'U', 'PAYMENT_IN_PROCESS'],
    ['85', 'F', 'USER_BALANCE_NOT_ENOUGH'],
    ['86', 'F', 'RISK_REJECT'],
    ['87', 'F', 'EXPIRED_CODE'],
    ['89', 'U', 'UNKNOWN_EXCEPTION'],
    ['90', 'U', 'PAYMENT_IN_PROCESS'],
    ['91', 'S', 'SUCCESS'],
    ['92', 'S', 'SUCCESS'],
  ])('code ending %s answers %s %s, signed', async (scenario, outcome, resultCode) => {
    const result = await client.pay(payInput({ scenario }));
    expect({ outcome: result.outcome, resultCode: result.resultCode, problem: result.problem, httpStatus: result.httpStatus }).toEqual({
      outcome,
      resultCode,
      problem: undefined,
      httpStatus: 200,
    });
    expect(result.body?.result.resultCode).toBe(resultCode);
  });

  it('83: the answer hangs past the caller timeout (U), yet Alipay took the money; cancel refunds it', async () => {
    const input = payInput({ scenario: '83' });
    const result = await client.pay(input, { timeoutMs: SHORT_TIMEOUT_MS });
    expect(result).toMatchObject({ outcome: 'U', problem: 'TIMEOUT' });
    expect(result.durationMs).toBeGreaterThanOrEqual(SHORT_TIMEOUT_MS - 5);
    expect(await statusOf(input.paymentRequestId)).toBe('SUCCESS');

    const cancel = await client.cancel({ paymentRequestId: input.paymentRequestId });
    expect(cancel).toMatchObject({ outcome: 'S', resultCode: 'SUCCESS' });
    expect(await view(input.paymentRequestId)).toMatchObject({ status: 'CANCELLED', reversedByCancel: true, calls: { pay: 1, inquiryPayment: 1, cancel: 1 } });
  });

  it('84: the answer hangs past the caller timeout (U) and nothing was recorded', async () => {
    const input = payInput({ scenario: '84' });
    expect(await client.pay(input, { timeoutMs: SHORT_TIMEOUT_MS })).toMatchObject({ outcome: 'U', problem: 'TIMEOUT' });
    expect(await inquire(input.paymentRequestId)).toMatchObject({ outcome: 'F', resultCode: 'ORDER_NOT_EXIST' });
    expect(await client.cancel({ paymentRequestId: input.paymentRequestId })).toMatchObject({ outcome: 'F', resultCode: 'ORDER_NOT_EXIST' });
    expect(await view(input.paymentRequestId)).toMatchObject({ status: 'NOT_RECORDED', calls: { pay: 1, inquiryPayment: 1, cancel: 1 } });
  });

  it('83/84 with a patient caller: the held answer does arrive, signed, after the hang', async () => {
    const started = Date.now();
    const paid = await client.pay(payInput({ scenario: '83' }));
    expect(paid).toMatchObject({ outcome: 'S', resultCode: 'SUCCESS' });
    expect(Date.now() - started).toBeGreaterThanOrEqual(1400);
    expect(await client.pay(payInput({ scenario: '84' }))).toMatchObject({ outcome: 'U', resultCode: 'UNKNOWN_EXCEPTION' });
  });

  it('88: HTTP 500 without a signature is U, but the payment succeeded; its notification waits for the hang', async () => {
    const input = payInput({ scenario: '88', paymentNotifyUrl: notifyUrl });
    const sent = Date.now();
    const result = await client.pay(input);
    expect(result).toMatchObject({ outcome: 'U', problem: 'HTTP_STATUS', httpStatus: 500 });
    expect(result.body).toBeUndefined();
    expect(await statusOf(input.paymentRequestId)).toBe('SUCCESS');
    expect(receiver.about(input.paymentRequestId)).toHaveLength(0);
    const [notification] = await eventually(() => (receiver.about(input.paymentRequestId).length > 0 ? receiver.about(input.paymentRequestId) : undefined), 5000);
    expect(notification.receivedAt - sent).toBeGreaterThanOrEqual(1400);
  });

  it.each([
    ['a wrong length', '2810120200000000'.slice(0, 10)],
    ['a wrong prefix', `10${'1'.repeat(22)}`],
    ['letters', `2810120200000000000000AB`],
  ])('a code with %s is refused locally by the client (F, nothing sent) and by the sandbox (F INVALID_PAYMENT_CODE)', async (_case, code) => {
    const local = await client.pay(payInput({ paymentCode: code }));
    expect(local).toMatchObject({ outcome: 'F', resultCode: 'INVALID_PAYMENT_CODE', problem: 'REJECTED_LOCALLY', exchange: { sent: false } });

    const input = payInput();
    const body: PayRequest = {
      productCode: 'IN_STORE_PAYMENT',
      paymentRequestId: input.paymentRequestId,
      order: { referenceOrderId: 'O1', orderDescription: 'd', orderAmount: input.amount, merchant: input.merchant, env: input.env },
      paymentAmount: input.amount,
      paymentMethod: { paymentMethodType: 'CONNECT_WALLET', paymentMethodId: code },
      paymentFactor: { inStorePaymentScenario: 'PaymentCode' },
    };
    const remote = await client.call('pay', body);
    expect(remote).toMatchObject({ outcome: 'F', resultCode: 'INVALID_PAYMENT_CODE', httpStatus: 200 });
    expect(remote.problem).toBeUndefined();
    expect(await statusOf(input.paymentRequestId)).toBe('FAIL');
  });
});

describe('what happens after pay', () => {
  it('80: PROCESSING while the user enters the PIN, then SUCCESS, then a notification', async () => {
    const input = payInput({ scenario: '80', paymentNotifyUrl: notifyUrl });
    const paid = await client.pay(input);
    expect(paid.body?.paymentId).toMatch(/^\d{8}19401001\d{8}I\d{10}$/);
    expect(await inquire(input.paymentRequestId)).toMatchObject({ outcome: 'S', body: { paymentStatus: 'PROCESSING', paymentResultCode: 'PAYMENT_IN_PROCESS' } });
    expect(receiver.about(input.paymentRequestId)).toHaveLength(0);
    await eventually(async () => ((await statusOf(input.paymentRequestId)) === 'SUCCESS' ? true : undefined), 5000);
    const done = await inquire(input.paymentRequestId);
    expect(done.body).toMatchObject({ paymentId: paid.body?.paymentId, paymentAmount: { currency: 'HKD', value: '1250' }, paymentTime: expect.stringMatching(/\+08:00$/) });
    await eventually(() => (receiver.about(input.paymentRequestId).length === 1 ? true : undefined), 5000);
  });

  it('81: the user declines: the payment ends FAIL', async () => {
    const input = payInput({ scenario: '81' });
    await client.pay(input);
    expect(await statusOf(input.paymentRequestId)).toBe('PROCESSING');
    await eventually(async () => ((await statusOf(input.paymentRequestId)) === 'FAIL' ? true : undefined), 5000);
    expect((await inquire(input.paymentRequestId)).body?.paymentResultCode).toBe('USER_PAYMENT_VERIFICATION_FAILED');
  });

  it('82: PROCESSING for ever until cancelled; the cancel succeeds', async () => {
    const input = payInput({ scenario: '82' });
    await client.pay(input);
    await new Promise((resolve) => setTimeout(resolve, 1300));
    expect(await statusOf(input.paymentRequestId)).toBe('PROCESSING');
    const cancel = await client.cancel({ paymentRequestId: input.paymentRequestId });
    expect(cancel).toMatchObject({ outcome: 'S', body: { paymentRequestId: input.paymentRequestId, cancelTime: expect.any(String) } });
    expect(await statusOf(input.paymentRequestId)).toBe('CANCELLED');
  });

  it('89: pay U for ever, cancel U for ever', async () => {
    const input = payInput({ scenario: '89' });
    expect((await client.pay(input)).outcome).toBe('U');
    expect((await client.pay(input)).outcome).toBe('U');
    for (let attempt = 0; attempt < 3; attempt += 1) {
      expect(await client.cancel({ paymentRequestId: input.paymentRequestId })).toMatchObject({ outcome: 'U', resultCode: 'UNKNOWN_EXCEPTION' });
    }
    expect(await statusOf(input.paymentRequestId)).toBe('PROCESSING');
    expect(await view(input.paymentRequestId)).toMatchObject({ calls: { pay: 2, cancel: 3 } });
  });

  it('90: pay U, cancel F CANCEL_WINDOW_EXCEED, inquiry later SUCCESS, and the refund works', async () => {
    const input = payInput({ scenario: '90' });
    const paid = await client.pay(input);
    expect(paid.outcome).toBe('U');
    expect(await client.cancel({ paymentRequestId: input.paymentRequestId })).toMatchObject({ outcome: 'F', resultCode: 'CANCEL_WINDOW_EXCEED' });
    await eventually(async () => ((await statusOf(input.paymentRequestId)) === 'SUCCESS' ? true : undefined), 5000);
    const refund = await client.refund({ refundRequestId: requestId('RF'), paymentId: paid.body!.paymentId!, refundAmount: input.amount });
    expect(refund).toMatchObject({ outcome: 'S', resultCode: 'SUCCESS' });
  });

  it('91: the notification reaches the notify URL before the pay answer', async () => {
    // the receiver takes 300 ms to acknowledge: a pay answer that waited for the delivery cannot be quicker
    receiver.setPolicy(() => ({ status: 200, body: NOTIFICATION_ACK, delayMs: 300 }));
    try {
      const input = payInput({ scenario: '91', paymentNotifyUrl: notifyUrl });
      const paid = await client.pay(input);
      expect(paid.outcome).toBe('S');
      expect(paid.durationMs).toBeGreaterThanOrEqual(290);
      expect(receiver.about(input.paymentRequestId)).toHaveLength(1);
      expect(JSON.parse(receiver.about(input.paymentRequestId)[0].rawBody.toString())).toMatchObject({ paymentId: paid.body?.paymentId, result: { resultStatus: 'S' } });
    } finally {
      receiver.setPolicy(acknowledge);
    }
  });

  it('92: the notification is delivered three times', async () => {
    const input = payInput({ scenario: '92', paymentNotifyUrl: notifyUrl });
    await client.pay(input);
    await eventually(() => (receiver.about(input.paymentRequestId).length === 3 ? true : undefined), 10_000);
    const bodies = receiver.about(input.paymentRequestId).map((n) => JSON.parse(n.rawBody.toString()).paymentId);
    expect(new Set(bodies).size).toBe(1);
    expect(await view(input.paymentRequestId)).toMatchObject({ notifications: [{ copies: 3, acknowledged: 3, attempts: 3 }] });
  });

  it('the sandbox path variant behaves the same (spec §2.1)', async () => {
    const merchant = newMerchant('PROD_STYLE_CLIENT');
    const production = await connect(sandbox.url, merchant);
    const sandboxPaths = await connect(sandbox.url, { ...merchant, clientId: 'SANDBOX_STYLE_CLIENT' });
    try {
      const a = await production.pay(payInput());
      const b = await sandboxPaths.pay(payInput());
      expect([a.exchange.path, a.outcome]).toEqual(['/ams/api/v1/payments/pay', 'S']);
      expect([b.exchange.path, b.outcome]).toEqual(['/ams/sandbox/api/v1/payments/pay', 'S']);
    } finally {
      production.close();
      sandboxPaths.close();
    }
  });
});
