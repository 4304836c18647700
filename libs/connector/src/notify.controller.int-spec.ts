import { generateKeyPairSync } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { INestApplication, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { DataSource } from 'typeorm';
import { createSignature, formatAmsTime, JSON_CONTENT_TYPE, NOTIFICATION_ACK } from '@upm/alipay';
import { Metrics } from '@upm/shared-observability';
import { RuntimeModule } from '@upm/shared-runtime';
import { freshDatabase } from '@upm/shared-testing';
import { CONNECTOR_OPTIONS } from './connector.options';
import { CONNECTOR_DATABASE } from './database';
import { ALIPAY_PUBLIC_KEYS, NotificationIntake } from './notification-intake';
import { NotifyController } from './notify.controller';

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
      NotificationIntake,
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

describe('a signed notification the connector cannot read', () => {
  type Kept = { client_id: string; path: string; headers: Record<string, string>; body: Buffer; problem: string; attempts: number };
  const keptRows = async (paymentRequestId: string): Promise<Kept[]> =>
    dataSource.query("SELECT client_id, path, headers, body, problem, attempts FROM unparsable_notifications WHERE convert_from(body, 'UTF8') LIKE $1", [`%${paymentRequestId}%`]);
  const keptCount = async (): Promise<number> => {
    const line = (await app.get(Metrics).text()).split('\n').find((l) => l.startsWith('upm_alipay_unparsable_notifications_total'));
    return line ? Number(line.split(' ').pop()) : 0;
  };
  /** a PAYMENT_RESULT without the paymentId every notification carries */
  const unreadable = (): { paymentRequestId: string; body: string } => {
    const { paymentRequestId, body } = paymentNotification();
    const parsed = JSON.parse(body) as Record<string, unknown>;
    delete parsed.paymentId;
    return { paymentRequestId, body: JSON.stringify(parsed) };
  };

  it('is kept as received, counted, and still not acknowledged; Alipay\'s retries add attempts to the same row', async () => {
    const { paymentRequestId, body } = unreadable();
    const before = await keptCount();

    const first = await post(body, { time: '1764240000000' });
    expect(first.status).toBe(400);
    expect(first.text).not.toBe(NOTIFICATION_ACK);
    const retried = await post(body, { time: '1764240060000' });
    expect(retried.status).toBe(400);

    const rows = await keptRows(paymentRequestId);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ client_id: CLIENT_ID, path: NOTIFY_PATH, attempts: 2, headers: { 'client-id': CLIENT_ID, 'request-time': '1764240060000', 'content-type': JSON_CONTENT_TYPE } });
    expect(rows[0].body.equals(Buffer.from(body))).toBe(true);
    expect(rows[0].problem).toMatch(/PAYMENT_RESULT/);
    expect(await keptCount()).toBe(before + 2);
    expect(await notified(paymentRequestId)).toEqual([]);
  });

  it('can be posted again from what was kept, and its signature still verifies', async () => {
    const { paymentRequestId, body } = unreadable();
    await post(body);
    const [row] = await keptRows(paymentRequestId);

    const replayed = await fetch(url, { method: 'POST', headers: row.headers, body: row.body });
    // a forged or altered copy would be 401 INVALID_SIGNATURE: this one gets past the signature to the same refusal
    expect(replayed.status).toBe(400);
    expect(((await replayed.json()) as { result: { resultCode: string } }).result.resultCode).toBe('PARAM_ILLEGAL');
    expect((await keptRows(paymentRequestId))[0].attempts).toBe(2);
  });

  it('is not acknowledged either when it cannot be kept, so Alipay sends it again', async () => {
    const { paymentRequestId, body } = unreadable();
    await dataSource.query(`CREATE OR REPLACE FUNCTION refuse_kept() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN RAISE EXCEPTION 'table refused the row'; END $$`);
    await dataSource.query('CREATE TRIGGER refuse_kept BEFORE INSERT ON unparsable_notifications FOR EACH ROW EXECUTE FUNCTION refuse_kept()');
    try {
      const refused = await post(body);
      expect(refused.status).toBe(500);
      expect(refused.text).not.toBe(NOTIFICATION_ACK);
    } finally {
      await dataSource.query('DROP TRIGGER refuse_kept ON unparsable_notifications');
    }
    await post(body);
    expect((await keptRows(paymentRequestId)).map((row) => row.attempts)).toEqual([1]);
  });

  it('keeps nothing that does not verify: a stranger cannot fill the table', async () => {
    const { paymentRequestId, body } = unreadable();
    expect((await post(body, { key: forger.privateKey })).status).toBe(401);
    expect(await keptRows(paymentRequestId)).toEqual([]);
  });
});
