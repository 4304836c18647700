import { generateKeyPairSync, KeyObject } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { INestApplication, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { DataSource } from 'typeorm';
import { createSignature, JSON_CONTENT_TYPE, NOTIFICATION_ACK } from '@upm/alipay';
import { ADMIN_TOKEN, AdminTokenGuard, JsonBodyGuard, RuntimeModule } from '@upm/shared-runtime';
import { freshDatabase } from '@upm/shared-testing';
import { CONNECTOR_OPTIONS } from './connector.options';
import { CONNECTOR_DATABASE } from './database';
import { ALIPAY_PUBLIC_KEYS, ALIPAY_RETIRED_PUBLIC_KEYS, NotificationIntake } from './notification-intake';
import { NotifyController } from './notify.controller';
import { UnparsableNotifications, UnparsableNotificationsRetention } from './unparsable-notifications';
import { UnparsableNotificationsController } from './unparsable-notifications.controller';

const CLIENT_ID = 'CLIENT_REPLAY_TEST';
const NOTIFY_PATH = '/alipay/notify';
const TOKEN = 'replay-test-admin-token';
const alipay = generateKeyPairSync('rsa', { modulusLength: 2048 });
/** the key Alipay signs with after a rotation */
const rotated = generateKeyPairSync('rsa', { modulusLength: 2048 });
/** the keys the connector trusts, changed by a rotation */
const trustedKeys = new Map([[CLIENT_ID, alipay.publicKey]]);
/** Alipay's keys retired by a rotation and listed, for replays only (ALIPAY_RETIRED_PUBLIC_KEYS) */
const retiredKeys: KeyObject[] = [];

let dataSource: DataSource;
let app: INestApplication;
let base: string;

beforeAll(async () => {
  ({ dataSource } = await freshDatabase('upm_test_connector_unparsable', CONNECTOR_DATABASE));
  @Module({
    imports: [RuntimeModule.forRoot({ service: 'alipay-connector', logLevel: process.env.TEST_LOG_LEVEL ?? 'silent' })],
    controllers: [NotifyController, UnparsableNotificationsController],
    providers: [
      { provide: DataSource, useValue: dataSource },
      { provide: ALIPAY_PUBLIC_KEYS, useValue: trustedKeys },
      { provide: ALIPAY_RETIRED_PUBLIC_KEYS, useValue: retiredKeys },
      // no retention given: the default applies
      { provide: CONNECTOR_OPTIONS, useValue: { notifyPath: NOTIFY_PATH, maxConcurrency: 1 } },
      { provide: ADMIN_TOKEN, useValue: TOKEN },
      AdminTokenGuard,
      JsonBodyGuard,
      NotificationIntake,
      UnparsableNotifications,
      UnparsableNotificationsRetention,
    ],
  })
  class ReplayTestModule {}
  app = await NestFactory.create(ReplayTestModule, { rawBody: true, logger: false });
  await app.listen(0, '127.0.0.1');
  base = `http://127.0.0.1:${(app.getHttpServer().address() as AddressInfo).port}`;
});

afterAll(async () => {
  await app.close();
  await dataSource.destroy();
});

let sequence = 0;

/** A PAYMENT_RESULT the connector reads; `unreadable` leaves out the paymentId every notification carries. */
function paymentNotification(options: { unreadable?: boolean } = {}): { paymentRequestId: string; body: string } {
  sequence += 1;
  const paymentRequestId = `pay_replay_${Date.now().toString(36)}_${sequence}`;
  const body = JSON.stringify({
    notifyType: 'PAYMENT_RESULT',
    result: { resultCode: 'SUCCESS', resultStatus: 'S', resultMessage: 'success.' },
    paymentRequestId,
    ...(options.unreadable ? {} : { paymentId: `2026112919401080010018810000${String(sequence).padStart(7, '0')}` }),
    paymentAmount: { currency: 'JPY', value: '1000' },
    paymentCreateTime: '2026-11-29T12:06:00+08:00',
    paymentTime: '2026-11-29T12:06:02+08:00',
  });
  return { paymentRequestId, body };
}

/** The headers Alipay sends with a body posted to `path`, signed with its key. */
function signedHeaders(body: string, path = NOTIFY_PATH, privateKey = alipay.privateKey): Record<string, string> {
  const time = String(Date.now());
  const signature = createSignature({ path, clientId: CLIENT_ID, time, body }, privateKey).replace(/,/g, ', ');
  return { 'content-type': JSON_CONTENT_TYPE, 'client-id': CLIENT_ID, 'request-time': time, signature };
}

/** Posts the body to the webhook as Alipay does; answers the id of the row it was kept in. */
async function postUnreadable(): Promise<{ id: string; paymentRequestId: string }> {
  const { paymentRequestId, body } = paymentNotification({ unreadable: true });
  const response = await fetch(`${base}${NOTIFY_PATH}`, { method: 'POST', headers: signedHeaders(body), body });
  expect(response.status).toBe(400);
  const [row]: Array<{ id: string }> = await dataSource.query("SELECT id FROM unparsable_notifications WHERE convert_from(body, 'UTF8') LIKE $1", [`%${paymentRequestId}%`]);
  return { id: row.id, paymentRequestId };
}

/**
 * A row as a connector that could not read this body kept it: signed headers and the exact bytes of a notification
 * the connector under test reads (as once a fix is deployed).
 */
async function keptByAnOlderConnector(body: string, options: { path?: string; lastReceivedAt?: string } = {}): Promise<string> {
  const path = options.path ?? NOTIFY_PATH;
  const [row]: Array<{ id: string }> = await dataSource.query(
    `INSERT INTO unparsable_notifications (body_sha256, client_id, path, headers, body, problem, last_received_at)
     VALUES (encode(sha256($1), 'hex'), $2, $3, $4, $1, 'PAYMENT_RESULT without paymentId', COALESCE($5::timestamptz, now())) RETURNING id`,
    [Buffer.from(body), CLIENT_ID, path, signedHeaders(body, path), options.lastReceivedAt ?? null],
  );
  return row.id;
}

interface AdminAnswer {
  notifications: Array<{ id: string; body: string; problem: string }>;
  notification: { id: string; replayedAt: string | null };
  answer: unknown;
  error: { code: string; message: string };
}

async function admin(method: 'GET' | 'POST', path: string, token = TOKEN): Promise<{ status: number; body: AdminAnswer }> {
  const response = await fetch(`${base}/v1/admin/unparsable-notifications${path}`, { method, headers: { authorization: `Bearer ${token}` } });
  return { status: response.status, body: (await response.json()) as AdminAnswer };
}

const notified = async (paymentRequestId: string): Promise<string[]> =>
  ((await dataSource.query('SELECT type FROM outbox WHERE key = $1 ORDER BY seq', [paymentRequestId])) as Array<{ type: string }>).map((row) => row.type);

const rowOf = async (id: string): Promise<{ attempts: number; replayed_at: Date | null } | undefined> =>
  ((await dataSource.query('SELECT attempts, replayed_at FROM unparsable_notifications WHERE id = $1', [id])) as Array<{ attempts: number; replayed_at: Date | null }>)[0];

describe('the admin API over kept unread notifications', () => {
  it('answers only the admin token', async () => {
    const { id } = await postUnreadable();
    for (const token of ['', 'not-the-admin-token']) {
      expect(await admin('GET', '', token)).toEqual({ status: 401, body: { error: expect.objectContaining({ code: 'UNAUTHENTICATED' }) } });
      expect((await admin('POST', `/${id}/replay`, token)).status).toBe(401);
    }
  });

  it('lists them newest first, a page at a time, with what was received', async () => {
    const [a, b, c] = [await postUnreadable(), await postUnreadable(), await postUnreadable()];
    const first = await admin('GET', '?limit=2');
    expect(first.status).toBe(200);
    expect(first.body.notifications.map((n) => n.id)).toEqual([c.id, b.id]);
    expect(first.body.notifications[0]).toMatchObject({ clientId: CLIENT_ID, path: NOTIFY_PATH, attempts: 1, replayedAt: null, headers: { 'client-id': CLIENT_ID } });
    expect(first.body.notifications[0].body).toContain(c.paymentRequestId);
    expect(first.body.notifications[0].problem).toMatch(/PAYMENT_RESULT/);

    const next = await admin('GET', `?limit=2&before=${b.id}`);
    expect(next.body.notifications[0].id).toBe(a.id);
    expect((await admin('GET', '?limit=0')).body.error.code).toBe('VALIDATION_FAILED');
  });

  it('replays one the connector now reads: verified again, taken as the webhook takes it, and marked replayed', async () => {
    const { paymentRequestId, body } = paymentNotification();
    const id = await keptByAnOlderConnector(body);

    const replayed = await admin('POST', `/${id}/replay`);
    expect(replayed.status).toBe(200);
    expect(replayed.body.answer).toEqual(JSON.parse(NOTIFICATION_ACK));
    expect(replayed.body.notification).toMatchObject({ id, replayedAt: expect.any(String) });
    expect(await notified(paymentRequestId)).toEqual(['PaymentNotified']);
    expect((await rowOf(id))?.replayed_at).toBeInstanceOf(Date);
  });

  it('verifies over the path Alipay signed, even once the notify URL has changed', async () => {
    const { paymentRequestId, body } = paymentNotification();
    const id = await keptByAnOlderConnector(body, { path: '/old/notify?tenant=1' });
    expect((await admin('POST', `/${id}/replay`)).status).toBe(200);
    expect(await notified(paymentRequestId)).toEqual(['PaymentNotified']);
  });

  it('refuses one that no longer verifies, taking nothing and keeping the row as it was', async () => {
    const { paymentRequestId, body } = paymentNotification();
    const id = await keptByAnOlderConnector(body);
    await dataSource.query(`UPDATE unparsable_notifications SET body = convert_to(replace(convert_from(body, 'UTF8'), '"1000"', '"9000"'), 'UTF8') WHERE id = $1`, [id]);

    const refused = await admin('POST', `/${id}/replay`);
    expect(refused.status).toBe(422);
    expect(refused.body.error.code).toBe('NOTIFICATION_NOT_VERIFIED');
    expect(await notified(paymentRequestId)).toEqual([]);
    expect(await rowOf(id)).toEqual({ attempts: 1, replayed_at: null });
  });

  it('answers a stable error for one the connector still cannot read, and keeps it unchanged', async () => {
    const { id, paymentRequestId } = await postUnreadable();

    const refused = await admin('POST', `/${id}/replay`);
    expect(refused.status).toBe(422);
    expect(refused.body.error.code).toBe('NOTIFICATION_UNPARSABLE');
    expect(refused.body.error.message).toMatch(/PAYMENT_RESULT/);
    // a replay is not one of Alipay's attempts
    expect(await rowOf(id)).toEqual({ attempts: 1, replayed_at: null });
    expect(await notified(paymentRequestId)).toEqual([]);
  });

  it('answers 404 for an id that names no kept notification', async () => {
    for (const id of ['999999999', 'abc', '0']) {
      const missing = await admin('POST', `/${id}/replay`);
      expect(missing.status).toBe(404);
      expect(missing.body.error.code).toBe('NOTIFICATION_NOT_FOUND');
    }
  });
});

describe('a replay checks the kept signature every time', () => {
  /** Alipay rotates its key: the connector trusts the new one, and lists the old one as retired or not. */
  function rotate({ listRetired }: { listRetired: boolean }): void {
    trustedKeys.set(CLIENT_ID, rotated.publicKey);
    retiredKeys.splice(0, retiredKeys.length, ...(listRetired ? [alipay.publicKey] : []));
  }

  afterEach(() => {
    trustedKeys.set(CLIENT_ID, alipay.publicKey);
    retiredKeys.splice(0, retiredKeys.length);
  });

  it('refuses a row changed in the database, though its body, hash and verified_at were changed to agree', async () => {
    const { id } = await postUnreadable();
    // what someone able to write the connector's database could make of it: a readable PAYMENT_RESULT S
    const { paymentRequestId, body: forged } = paymentNotification();
    await dataSource.query(`UPDATE unparsable_notifications SET body = $2, body_sha256 = encode(sha256($2), 'hex'), verified_at = now() WHERE id = $1`, [id, Buffer.from(forged)]);

    const refused = await admin('POST', `/${id}/replay`);
    expect(refused.status).toBe(422);
    expect(refused.body.error.code).toBe('NOTIFICATION_NOT_VERIFIED');
    expect(await notified(paymentRequestId)).toEqual([]);
    expect(await rowOf(id)).toEqual({ attempts: 1, replayed_at: null });
  });

  it('after a rotation, refuses a row signed with the old key while that key is not listed, and takes it once it is', async () => {
    const { paymentRequestId, body } = paymentNotification();
    const id = await keptByAnOlderConnector(body);

    rotate({ listRetired: false });
    const refused = await admin('POST', `/${id}/replay`);
    expect(refused.status).toBe(422);
    expect(refused.body.error.code).toBe('NOTIFICATION_NOT_VERIFIED');
    expect(await notified(paymentRequestId)).toEqual([]);
    expect(await rowOf(id)).toEqual({ attempts: 1, replayed_at: null });

    rotate({ listRetired: true });
    const replayed = await admin('POST', `/${id}/replay`);
    expect(replayed.status).toBe(200);
    expect(replayed.body.answer).toEqual(JSON.parse(NOTIFICATION_ACK));
    expect(await notified(paymentRequestId)).toEqual(['PaymentNotified']);
    expect((await rowOf(id))?.replayed_at).toBeInstanceOf(Date);
  });

  it('says one the webhook kept is still unread after a rotation with the old key listed, not that it does not verify', async () => {
    const { id, paymentRequestId } = await postUnreadable();
    rotate({ listRetired: true });

    const refused = await admin('POST', `/${id}/replay`);
    expect(refused.status).toBe(422);
    expect(refused.body.error.code).toBe('NOTIFICATION_UNPARSABLE');
    expect(await notified(paymentRequestId)).toEqual([]);
  });

  it('refuses a row whose client id has no current Alipay key, even with a retired key that verifies it', async () => {
    const { paymentRequestId, body } = paymentNotification();
    const id = await keptByAnOlderConnector(body);
    trustedKeys.delete(CLIENT_ID);
    retiredKeys.push(alipay.publicKey);
    const unknownClient = 'upm_alipay_notification_replays_total{type="unknown",result="UNKNOWN_CLIENT",service="alipay-connector"}';
    const before = await count(unknownClient);

    const refused = await admin('POST', `/${id}/replay`);
    expect(refused.status).toBe(422);
    expect(refused.body.error).toEqual({ code: 'NOTIFICATION_NOT_VERIFIED', message: expect.stringContaining(`no Alipay key for client id ${CLIENT_ID}`) });
    expect(await notified(paymentRequestId)).toEqual([]);
    expect(await count(unknownClient)).toBe(before + 1);
  });

  it('refuses a live post signed with a retired key, though that key is listed', async () => {
    const { paymentRequestId, body } = paymentNotification();
    rotate({ listRetired: true });

    const response = await fetch(`${base}${NOTIFY_PATH}`, { method: 'POST', headers: signedHeaders(body), body });
    expect(response.status).toBe(401);
    expect(await notified(paymentRequestId)).toEqual([]);
  });
});

/** The value of one series on the test app's /metrics, 0 when absent; undefined when the series is not exposed. */
async function scraped(series: string): Promise<number | undefined> {
  const text = await (await fetch(`${base}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.split(' ').pop());
}

/** A series' value on /metrics, 0 until it is exposed. */
const count = async (series: string): Promise<number> => (await scraped(series)) ?? 0;

describe('the metrics of notifications', () => {
  const posted = (labels: string) => `upm_alipay_notifications_total{type=${labels},service="alipay-connector"}`;
  const replays = (labels: string) => `upm_alipay_notification_replays_total{type=${labels},service="alipay-connector"}`;

  it('shows every known kind of notification at 0 from start-up, so the first one counts in increase()', async () => {
    // no test here posts or replays a refund notification, nor one without its headers
    expect(await scraped(posted('"RefundNotified",result="accepted"'))).toBe(0);
    expect(await scraped(posted('"REFUND_RESULT",result="ignored"'))).toBe(0);
    expect(await scraped(posted('"unknown",result="MISSING_HEADERS"'))).toBe(0);
    expect(await scraped(replays('"RefundNotified",result="accepted"'))).toBe(0);
    expect(await scraped(replays('"unknown",result="MISSING_HEADERS"'))).toBe(0);
  });

  it('counts a replay apart from the posts Alipay sends', async () => {
    const acceptedPosts = await count(posted('"PaymentNotified",result="accepted"'));
    const unreadPosts = await count(posted('"unknown",result="MALFORMED_BODY"'));
    const acceptedReplays = await count(replays('"PaymentNotified",result="accepted"'));
    const unreadReplays = await count(replays('"unknown",result="MALFORMED_BODY"'));

    const { body } = paymentNotification();
    await admin('POST', `/${await keptByAnOlderConnector(body)}/replay`);
    const { id } = await postUnreadable();
    await admin('POST', `/${id}/replay`);

    expect(await count(posted('"PaymentNotified",result="accepted"'))).toBe(acceptedPosts);
    expect(await count(posted('"unknown",result="MALFORMED_BODY"'))).toBe(unreadPosts + 1);
    expect(await count(replays('"PaymentNotified",result="accepted"'))).toBe(acceptedReplays + 1);
    expect(await count(replays('"unknown",result="MALFORMED_BODY"'))).toBe(unreadReplays + 1);
  });
});

describe('the retention of kept unread notifications', () => {
  it('deletes those Alipay last sent more than 30 days ago (the default), replayed or not, and keeps the others', async () => {
    const old = await keptByAnOlderConnector(paymentNotification().body, { lastReceivedAt: new Date(Date.now() - 31 * 86_400_000).toISOString() });
    const recent = await keptByAnOlderConnector(paymentNotification().body, { lastReceivedAt: new Date(Date.now() - 29 * 86_400_000).toISOString() });

    expect(await app.get(UnparsableNotificationsRetention).prune()).toBeGreaterThanOrEqual(1);
    expect(await rowOf(old)).toBeUndefined();
    expect(await rowOf(recent)).toEqual({ attempts: 1, replayed_at: null });
  });
});
