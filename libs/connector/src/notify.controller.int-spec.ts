import { generateKeyPairSync } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { INestApplication, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { DataSource } from 'typeorm';
import { createSignature, formatAmsTime, JSON_CONTENT_TYPE, NOTIFICATION_ACK } from '@upm/alipay';
import { RuntimeModule } from '@upm/shared-runtime';
import { freshDatabase } from '@upm/shared-testing';
import { CONNECTOR_OPTIONS } from './connector.options';
import { CONNECTOR_DATABASE } from './database';
import { ALIPAY_PUBLIC_KEYS, NotifyController } from './notify.controller';

const CLIENT_ID = 'CLIENT_NOTIFY_TEST';
const NOTIFY_PATH = '/alipay/notify';
const alipay = generateKeyPairSync('rsa', { modulusLength: 2048 });
const forger = generateKeyPairSync('rsa', { modulusLength: 2048 });

let dataSource: DataSource;
let app: INestApplication;
let url: string;

beforeAll(async () => {
  ({ dataSource } = await freshDatabase('upm_test_connector_notify', CONNECTOR_DATABASE));
  @Module({
    imports: [RuntimeModule.forRoot({ service: 'alipay-connector', logLevel: process.env.TEST_LOG_LEVEL ?? 'silent' })],
    controllers: [NotifyController],
    providers: [
      { provide: DataSource, useValue: dataSource },
      { provide: ALIPAY_PUBLIC_KEYS, useValue: new Map([[CLIENT_ID, alipay.publicKey]]) },
      { provide: CONNECTOR_OPTIONS, useValue: { notifyPath: NOTIFY_PATH, maxConcurrency: 1 } },
    ],
  })
  class NotifyTestModule {}
  // as the connector's runService serves it: the exact bytes kept for the signature
  app = await NestFactory.create(NotifyTestModule, { rawBody: true, logger: false });
  await app.listen(0, '127.0.0.1');
  url = `http://127.0.0.1:${(app.getHttpServer().address() as AddressInfo).port}${NOTIFY_PATH}`;
});

afterAll(async () => {
  await app.close();
  await dataSource.destroy();
});

let sequence = 0;

function paymentNotification(): { paymentRequestId: string; body: string } {
  sequence += 1;
  const paymentRequestId = `pay_notify_${Date.now().toString(36)}_${sequence}`;
  const body = JSON.stringify({
    notifyType: 'PAYMENT_RESULT',
    result: { resultCode: 'SUCCESS', resultStatus: 'S', resultMessage: 'success.' },
    paymentRequestId,
    paymentId: `2026112719401080010018810000${String(sequence).padStart(7, '0')}`,
    paymentAmount: { currency: 'JPY', value: '1000' },
    paymentCreateTime: '2026-11-27T12:06:00+08:00',
    paymentTime: '2026-11-27T12:06:02+08:00',
  });
  return { paymentRequestId, body };
}

/** Posts the body as Alipay does: request-time as given, the Signature header with spaces after its commas (spec §2.3). */
async function post(body: string, options: { time?: string; key?: typeof alipay.privateKey } = {}): Promise<{ status: number; text: string }> {
  const time = options.time ?? String(Date.now());
  const signature = createSignature({ path: NOTIFY_PATH, clientId: CLIENT_ID, time, body }, options.key ?? alipay.privateKey).replace(/,/g, ', ');
  const response = await fetch(url, { method: 'POST', headers: { 'content-type': JSON_CONTENT_TYPE, 'client-id': CLIENT_ID, 'request-time': time, signature }, body });
  return { status: response.status, text: await response.text() };
}

const notified = async (paymentRequestId: string): Promise<string[]> =>
  ((await dataSource.query('SELECT type FROM outbox WHERE key = $1 ORDER BY seq', [paymentRequestId])) as Array<{ type: string }>).map((row) => row.type);

describe('notifyPayment at the connector (spec §9)', () => {
  it('records a verified notification, then answers exactly the SUCCESS acknowledgement, with an ISO or an epoch request-time', async () => {
    for (const time of [String(Date.now()), formatAmsTime(new Date())]) {
      const { paymentRequestId, body } = paymentNotification();
      expect(await post(body, { time })).toEqual({ status: 200, text: NOTIFICATION_ACK });
      expect(await notified(paymentRequestId)).toEqual(['PaymentNotified']);
    }
  });

  it('acknowledges every copy of a duplicate; each is passed on for the saga to take once', async () => {
    const { paymentRequestId, body } = paymentNotification();
    expect(await post(body)).toEqual({ status: 200, text: NOTIFICATION_ACK });
    expect(await post(body)).toEqual({ status: 200, text: NOTIFICATION_ACK });
    expect(await notified(paymentRequestId)).toEqual(['PaymentNotified', 'PaymentNotified']);
  });

  it('refuses a notification signed with another key or changed on the way with the same INVALID_SIGNATURE answer, recording nothing', async () => {
    const { paymentRequestId, body } = paymentNotification();
    const forged = await post(body, { key: forger.privateKey });
    const time = String(Date.now());
    const signature = createSignature({ path: NOTIFY_PATH, clientId: CLIENT_ID, time, body }, alipay.privateKey);
    const changed = await fetch(url, { method: 'POST', headers: { 'content-type': JSON_CONTENT_TYPE, 'client-id': CLIENT_ID, 'request-time': time, signature }, body: body.replace('"1000"', '"9000"') });
    for (const answer of [forged, { status: changed.status, text: await changed.text() }]) {
      expect(answer.status).toBe(401);
      expect(JSON.parse(answer.text)).toEqual({ result: { resultCode: 'INVALID_SIGNATURE', resultStatus: 'F', resultMessage: 'signature does not verify' } });
    }
    expect(await notified(paymentRequestId)).toEqual([]);
  });

  it('does not acknowledge a notification it could not record, so Alipay sends it again and it is taken then', async () => {
    const { paymentRequestId, body } = paymentNotification();
    await dataSource.query(`CREATE OR REPLACE FUNCTION refuse_notified() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF NEW.key = '${paymentRequestId}' THEN RAISE EXCEPTION 'outbox refused the row'; END IF;
        RETURN NEW;
      END $$`);
    await dataSource.query('CREATE TRIGGER refuse_notified BEFORE INSERT ON outbox FOR EACH ROW EXECUTE FUNCTION refuse_notified()');
    try {
      const refused = await post(body);
      expect(refused.status).toBe(500);
      expect(refused.text).not.toBe(NOTIFICATION_ACK);
    } finally {
      await dataSource.query('DROP TRIGGER refuse_notified ON outbox');
    }
    expect(await notified(paymentRequestId)).toEqual([]);
    expect(await post(body)).toEqual({ status: 200, text: NOTIFICATION_ACK });
    expect(await notified(paymentRequestId)).toEqual(['PaymentNotified']);
  });
});
