import { generateKeyPairSync } from 'node:crypto';
import { AmsClient, NOTIFICATION_ACK, parseNotification } from '@upm/alipay';
import { eventually, sleep } from '@upm/shared-testing';
import { startInProcessSandbox, InProcessSandbox } from './testing/in-process-sandbox';
import { paymentView, postJson } from './testing/http';
import { connect, newMerchant, payInput, requestId } from './testing/merchant';
import { acknowledge, NotifyReceiver, ReceivedNotification } from './testing/notify-receiver';

const merchant = newMerchant('SANDBOX_NOTIFY');
const notAcknowledged = (n: number) => (n % 2 === 1 ? { status: 500, body: 'busy' } : { status: 200, body: '{"result":{"resultStatus":"S"}}' });

describe('notifications, time factor 1000 (retries after 0, 120 and 600 ms)', () => {
  let sandbox: InProcessSandbox;
  let client: AmsClient;
  let alipayPublicKey: string;
  let receiver: NotifyReceiver;
  let baseUrl: string;

  beforeAll(async () => {
    sandbox = await startInProcessSandbox({ SANDBOX_TIME_FACTOR: '1000' });
    client = await connect(sandbox.url, merchant);
    alipayPublicKey = sandbox.sandbox.publicKeyPem();
    receiver = new NotifyReceiver();
    baseUrl = await receiver.start();
  });

  afterAll(async () => {
    client.close();
    await sandbox.close();
    await receiver.stop();
  });

  afterEach(() => receiver.setPolicy(acknowledge));

  const verify = (n: ReceivedNotification, key: string = alipayPublicKey) => parseNotification({ path: n.path, headers: n.headers, rawBody: n.rawBody }, key);

  it('are retried on Alipay’s schedule until the exact acknowledgement, then stop', async () => {
    // first a 500, then a 200 whose body is not the acknowledgement, then the acknowledgement
    receiver.setPolicy((n) => (n <= 2 ? notAcknowledged(n) : { status: 200, body: NOTIFICATION_ACK }));
    const input = payInput({ paymentNotifyUrl: `${baseUrl}/alipay/notify?store=S-001` });
    const paid = await client.pay(input);

    const deliveries = await eventually(() => (receiver.about(input.paymentRequestId).length === 3 ? receiver.about(input.paymentRequestId) : undefined), 10_000);
    const gaps = deliveries.slice(1).map((n, i) => n.receivedAt - deliveries[i].receivedAt);
    expect(gaps[0]).toBeGreaterThanOrEqual(110);
    expect(gaps[1]).toBeGreaterThanOrEqual(590);
    await sleep(1000);
    expect(receiver.about(input.paymentRequestId)).toHaveLength(3);
    const view = await paymentView(sandbox.url, input.paymentRequestId);
    expect(view.notifications).toEqual([{ notifyType: 'PAYMENT_RESULT', url: input.paymentNotifyUrl, copies: 1, attempts: 3, acknowledged: 1, lastAnswer: '200' }]);

    for (const delivery of deliveries) {
      const parsed = verify(delivery);
      expect(parsed).toMatchObject({
        ok: true,
        clientId: merchant.clientId,
        notification: {
          notifyType: 'PAYMENT_RESULT',
          result: { resultCode: 'SUCCESS', resultStatus: 'S' },
          paymentRequestId: input.paymentRequestId,
          paymentId: paid.body?.paymentId,
          paymentAmount: { currency: 'HKD', value: '1250' },
          paymentTime: expect.stringMatching(/\+08:00$/),
        },
      });
      expect(delivery.path).toBe('/alipay/notify?store=S-001');
      expect(delivery.headers.signature).toMatch(/^algorithm=RSA256,keyVersion=1,signature=/);
    }
  });

  it('do not verify with another key, on another path or with a changed body', () => {
    const [delivery] = receiver.received;
    const otherKey = generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey.export({ type: 'spki', format: 'pem' }).toString();
    expect(verify(delivery, otherKey)).toMatchObject({ ok: false, reason: 'INVALID_SIGNATURE' });
    expect(verify({ ...delivery, path: '/alipay/notify' })).toMatchObject({ ok: false, reason: 'INVALID_SIGNATURE' });
    expect(verify({ ...delivery, rawBody: Buffer.from(delivery.rawBody.toString().replace('1250', '1251')) })).toMatchObject({ ok: false, reason: 'INVALID_SIGNATURE' });
  });

  it('a redirect is not an acknowledgement, even to an address that acknowledges (spec §9: anything but a 200 is not delivered)', async () => {
    receiver.setPolicy((_n, notification) => (notification.path.startsWith('/moved') ? { status: 200, body: NOTIFICATION_ACK } : { status: 307, body: '', location: '/moved' }));
    const input = payInput({ paymentNotifyUrl: `${baseUrl}/alipay/notify` });
    await client.pay(input);
    const view = await eventually(async () => {
      const body = await paymentView(sandbox.url, input.paymentRequestId);
      return (body.notifications?.[0]?.attempts ?? 0) >= 2 ? body : undefined;
    }, 5000);
    expect(view.notifications?.[0]).toMatchObject({ acknowledged: 0, lastAnswer: '307' });
    expect(receiver.about(input.paymentRequestId).every((n) => n.path === '/alipay/notify')).toBe(true);
  });

  it('failures are notified too (SANDBOX_NOTIFY_FAILURES defaults to true)', async () => {
    const input = payInput({ scenario: '85', paymentNotifyUrl: `${baseUrl}/alipay/notify` });
    await client.pay(input);
    const [delivery] = await eventually(() => (receiver.about(input.paymentRequestId).length > 0 ? receiver.about(input.paymentRequestId) : undefined), 5000);
    expect(verify(delivery)).toMatchObject({ ok: true, notification: { result: { resultCode: 'USER_BALANCE_NOT_ENOUGH', resultStatus: 'F' } } });
  });

  it('a refund with refundNotifyUrl is notified as REFUND_RESULT', async () => {
    const paid = await client.pay(payInput());
    const refundRequestId = requestId('RF');
    await client.refund({ refundRequestId, paymentId: paid.body!.paymentId!, refundAmount: { currency: 'HKD', value: '50' }, refundNotifyUrl: `${baseUrl}/alipay/refunds` });
    const [delivery] = await eventually(() => (receiver.about(refundRequestId).length > 0 ? receiver.about(refundRequestId) : undefined), 5000);
    expect(verify(delivery)).toMatchObject({
      ok: true,
      notification: { notifyType: 'REFUND_RESULT', refundStatus: 'SUCCESS', refundRequestId, paymentId: paid.body?.paymentId, refundAmount: { value: '50' } },
    });
  });

  it('without a notify URL in the request they go to the URL registered for the client (the Dashboard’s); the request’s wins (spec §2.1)', async () => {
    const dashboard = newMerchant('SANDBOX_NOTIFY_DASHBOARD');
    const registered = await postJson<{ notifyUrl?: string }>(`${sandbox.url}/sandbox/clients`, {
      clientId: dashboard.clientId,
      publicKey: dashboard.publicKeyPem,
      notifyUrl: `${baseUrl}/dashboard/notify`,
    });
    expect(registered).toMatchObject({ status: 201, body: { notifyUrl: `${baseUrl}/dashboard/notify` } });
    const dashboardClient = new AmsClient({ baseUrl: sandbox.url, credentials: { clientId: dashboard.clientId, privateKey: dashboard.privateKey, alipayPublicKey } });
    try {
      const plain = payInput();
      const own = payInput({ paymentNotifyUrl: `${baseUrl}/own/notify` });
      const paid = await dashboardClient.pay(plain);
      await dashboardClient.pay(own);
      const refundRequestId = requestId('RF');
      await dashboardClient.refund({ refundRequestId, paymentId: paid.body!.paymentId!, refundAmount: { currency: 'HKD', value: '50' } });
      const pathsOf = (id: string) => eventually(() => (receiver.about(id).length > 0 ? receiver.about(id).map((n) => n.path) : undefined), 5000);
      expect(await pathsOf(plain.paymentRequestId)).toEqual(['/dashboard/notify']);
      expect(await pathsOf(own.paymentRequestId)).toEqual(['/own/notify']);
      expect(await pathsOf(refundRequestId)).toEqual(['/dashboard/notify']);
      const [refundDelivery] = receiver.about(refundRequestId);
      expect(verify(refundDelivery)).toMatchObject({ ok: true, notification: { notifyType: 'REFUND_RESULT', refundRequestId } });
    } finally {
      dashboardClient.close();
    }
  });

  it('refuses to register a notify URL that is not http(s)', async () => {
    const answer = await postJson<{ error: { code: string } }>(`${sandbox.url}/sandbox/clients`, { clientId: 'SANDBOX_BAD_URL', publicKey: merchant.publicKeyPem, notifyUrl: 'ftp://merchant.example/notify' });
    expect(answer.status).toBe(400);
  });
});

describe('notifications that are never acknowledged, time factor 100000', () => {
  it('are sent 8 times in all, a slow answer counting as not delivered', async () => {
    const sandbox = await startInProcessSandbox({ SANDBOX_TIME_FACTOR: '100000', SANDBOX_NOTIFY_TIMEOUT_MS: '200' });
    const receiver = new NotifyReceiver((n) => (n === 1 ? { status: 200, body: NOTIFICATION_ACK, delayMs: 600 } : { status: 503, body: '' }));
    const client = await connect(sandbox.url, merchant);
    try {
      const input = payInput({ paymentNotifyUrl: `${await receiver.start()}/notify` });
      await client.pay(input);
      const view = await eventually(async () => {
        const body = await paymentView(sandbox.url, input.paymentRequestId);
        return body.notifications?.[0]?.attempts === 8 ? body : undefined;
      }, 10_000);
      expect(view.notifications?.[0]).toMatchObject({ acknowledged: 0, lastAnswer: '503' });
      await sleep(300);
      expect(receiver.received).toHaveLength(8);
    } finally {
      client.close();
      await sandbox.close();
      await receiver.stop();
    }
  });
});
