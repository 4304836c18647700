import { randomBytes } from 'node:crypto';
import type { DataSource } from 'typeorm';
import { ApiError } from '@upm/shared-runtime';
import { Metrics } from '@upm/shared-observability';
import { eventually, freshDatabase } from '@upm/shared-testing';
import { NOTIFICATION_DATABASE } from '../database';
import type { NotificationOptions } from '../notification.options';
import { endpointsService, hang, HOUR, metricValuesBy, paymentEvent, testOptions, WebhookReceiver, webhookWorker } from '../testing/webhook-test-kit';
import { enqueueWebhookDeliveries } from './webhook-deliveries.consumer';

/** The worker against the real database and a real HTTP receiver: what it claims, and what it records. */
let dataSource: DataSource;
let receiver: WebhookReceiver;
const metrics = new Metrics('notification-test');
const options = testOptions();
const endpoints = (overrides: Partial<NotificationOptions> = {}) => endpointsService(dataSource, { ...options, ...overrides });
const worker = (overrides: Partial<NotificationOptions> = {}) => webhookWorker(dataSource, { ...options, ...overrides }, metrics);

/** An answer the test gives when it chooses to. */
function later(): { status: Promise<number>; answer: (status: number) => void } {
  let answer!: (status: number) => void;
  const status = new Promise<number>((resolve) => (answer = resolve));
  return { status, answer };
}

const paymentSucceeded = (merchantId: string, paymentId: string) => paymentEvent('PaymentSucceeded', merchantId, paymentId);

/** The failed attempts the worker counted so far, by code. */
const failuresCounted = () => metricValuesBy(metrics, 'upm_webhook_attempt_failures_total', 'code');

/** The outcomes the worker counted so far. */
const outcomesCounted = () => metricValuesBy(metrics, 'upm_webhook_deliveries_total', 'outcome');

async function attemptLog(deliveryId: string): Promise<Array<{ attempt: number; status_code: number | null }>> {
  return dataSource.query('SELECT attempt, status_code FROM webhook_attempts WHERE delivery_id = $1 ORDER BY attempt', [deliveryId]);
}

async function delivery(eventId: string): Promise<{ id: string; status: string; attempts: number; leased_until: Date | null; last_status_code: number | null; last_error_code: string | null; last_error: string | null }> {
  const [row] = await dataSource.query('SELECT id, status, attempts, leased_until, last_status_code, last_error_code, last_error FROM webhook_deliveries WHERE event_id = $1', [eventId]);
  return row;
}

beforeAll(async () => {
  ({ dataSource } = await freshDatabase('upm_test_webhook_worker', NOTIFICATION_DATABASE));
});

beforeEach(async () => {
  // each test's worker sees only that test's deliveries
  await dataSource.query('TRUNCATE webhook_deliveries, webhook_attempts');
  receiver = await new WebhookReceiver().listen();
});

afterEach(async () => {
  await receiver.close();
});

afterAll(async () => {
  await dataSource.destroy();
});

describe('webhook worker', () => {
  it('cancels a delivery enqueued while its endpoint was being deleted, never claims it, and it holds up no live one', async () => {
    const gone = await endpoints().create('mer_GONE', { url: receiver.url, eventTypes: ['*'] });
    await endpoints().create('mer_LIVE', { url: receiver.url, eventTypes: ['*'] });
    const orphaned = paymentSucceeded('mer_GONE', 'pay_GONE');
    // the consumer's transaction matched the endpoint while it was live, and commits only after the deletion
    // began: the deletion must not end before that delivery is visible to its cancelling
    const consumer = dataSource.createQueryRunner();
    await consumer.startTransaction();
    await enqueueWebhookDeliveries(consumer.manager, [orphaned], HOUR);
    const deleting = endpoints().delete('mer_GONE', gone.endpointId);
    await new Promise((resolve) => setTimeout(resolve, 200));
    await consumer.commitTransaction();
    await consumer.release();
    await deleting;
    expect(await delivery(orphaned.id)).toMatchObject({ status: 'CANCELLED', attempts: 0 });
    // a message consumed after the deletion finds no endpoint to deliver to
    const late = paymentSucceeded('mer_GONE', 'pay_GONE_LATER');
    expect((await dataSource.transaction((manager) => enqueueWebhookDeliveries(manager, [late], HOUR))).size).toBe(0);
    const live = paymentSucceeded('mer_LIVE', 'pay_LIVE');
    await dataSource.transaction((manager) => enqueueWebhookDeliveries(manager, [live], HOUR));

    // one slot: the cancelled delivery, older and first in line, must not take it
    const sender = worker({ workerConcurrency: 1 });
    expect(await sender.dispatch()).toBe(1);
    await eventually(async () => ((await delivery(live.id)).status === 'DELIVERED' ? true : undefined));
    expect(await sender.dispatch()).toBe(0);
    expect(receiver.requests.map((r) => r.eventId)).toEqual([live.id]);
    expect(await delivery(orphaned.id)).toMatchObject({ status: 'CANCELLED', attempts: 0, leased_until: null });
  });

  it('a worker whose claim lapsed and was taken over leaves the delivery to the worker that holds it now', async () => {
    await endpoints().create('mer_LEASE', { url: receiver.url, eventTypes: ['*'] });
    const event = paymentSucceeded('mer_LEASE', 'pay_LEASE');
    await dataSource.transaction((manager) => enqueueWebhookDeliveries(manager, [event], HOUR));
    const [stale, current] = [later(), later()];
    receiver.respond = (request) => (request.attempt === 1 ? stale.status : current.status);

    expect(await worker().dispatch()).toBe(1);
    const counted = await outcomesCounted();
    await eventually(() => (receiver.requests.length === 1 ? true : undefined));
    // the first worker stalls past its lease (as after a long pause), and another replica claims the delivery again
    const { id } = await delivery(event.id);
    await dataSource.query(`UPDATE webhook_deliveries SET leased_until = now() - interval '1 second' WHERE id = $1`, [id]);
    expect(await worker().dispatch()).toBe(1);
    await eventually(() => (receiver.requests.length === 2 ? true : undefined));
    const claimedAgain = await delivery(event.id);
    expect(claimedAgain).toMatchObject({ status: 'PENDING', attempts: 2 });

    // the stale worker's answer goes into the log only: the delivery keeps the second claim
    stale.answer(200);
    await eventually(async () => ((await attemptLog(id)).length === 1 ? true : undefined));
    expect(await delivery(event.id)).toEqual(claimedAgain);

    current.answer(500);
    await eventually(async () => ((await attemptLog(id)).length === 2 ? true : undefined));
    expect(await delivery(event.id)).toMatchObject({ status: 'PENDING', attempts: 2, leased_until: null, last_status_code: 500 });
    expect(await attemptLog(id)).toEqual([{ attempt: 1, status_code: 200 }, { attempt: 2, status_code: 500 }]);
    // upm_webhook_deliveries_total counts the attempt recorded on the delivery, not the one only logged
    const now = await outcomesCounted();
    expect({ delivered: (now.delivered ?? 0) - (counted.delivered ?? 0), failed: (now.failed ?? 0) - (counted.failed ?? 0) }).toEqual({ delivered: 0, failed: 1 });
  });

  it('a delivery waiting for an earlier one of its payment is not due before that one is tried again', async () => {
    await endpoints().create('mer_QUEUE', { url: receiver.url, eventTypes: ['*'] });
    const event = (sequence: number) => {
      const envelope = paymentSucceeded('mer_QUEUE', 'pay_QUEUE');
      (envelope.data.payment as unknown as { sequence: number }).sequence = sequence;
      return envelope;
    };
    const [first, second, third] = [event(1), event(2), event(3)];
    await dataSource.transaction((manager) => enqueueWebhookDeliveries(manager, [first, second], HOUR));
    receiver.respond = () => 503;

    expect(await worker().dispatch()).toBe(1);
    await eventually(async () => ((await delivery(first.id)).last_status_code === 503 ? true : undefined));
    // the dispatcher looks at every due delivery on every pass: one that cannot go before the first is sent
    // must not count as due, or an endpoint that is down makes each pass read all of its backlog
    const due = async (eventId: string): Promise<boolean> => (await dataSource.query('SELECT next_attempt_at <= now() AS due FROM webhook_deliveries WHERE event_id = $1', [eventId]))[0].due;
    const nextAttempt = async (eventId: string): Promise<number> => new Date((await dataSource.query('SELECT next_attempt_at FROM webhook_deliveries WHERE event_id = $1', [eventId]))[0].next_attempt_at).getTime();
    expect(await due(first.id)).toBe(false);
    expect(await due(second.id)).toBe(false);
    expect(await nextAttempt(second.id)).toBeGreaterThanOrEqual(await nextAttempt(first.id));
    // nor is one that arrives while the first waits for its retry
    await dataSource.transaction((manager) => enqueueWebhookDeliveries(manager, [third], HOUR));
    expect(await due(third.id)).toBe(false);
    expect(await nextAttempt(third.id)).toBeGreaterThanOrEqual(await nextAttempt(first.id));
  });

  it('a re-delivery retries on a fresh schedule as often as the first delivery did, and the log keeps every attempt', async () => {
    // back-off from 20 ms, doubling; dead-lettered 1.5 s after the event, or after the re-delivery
    const fast = { retry: { baseDelayMs: 20, maxDelayMs: HOUR, horizonMs: 1500 }, pollIntervalMs: 10 };
    const { endpointId } = await endpoints(fast).create('mer_AGAIN', { url: receiver.url, eventTypes: ['*'] });
    const event = paymentSucceeded('mer_AGAIN', 'pay_AGAIN');
    await dataSource.transaction((manager) => enqueueWebhookDeliveries(manager, [event], fast.retry.horizonMs));
    receiver.respond = () => 503;
    const sender = worker(fast);
    sender.onApplicationBootstrap();
    try {
      const deadLettered = async () => ((await delivery(event.id)).status === 'DEAD_LETTER' ? delivery(event.id) : undefined);
      const first = await eventually(deadLettered, 5000, 20);
      expect(first.attempts).toBeGreaterThanOrEqual(5);

      await endpoints(fast).redeliver('mer_AGAIN', endpointId, first.id);
      const second = await eventually(deadLettered, 5000, 20);
      // the back-off started again at 20 ms: without that it would go on from 20 ms × 2^attempts, and the
      // horizon would end it after one or two tries
      expect(second.attempts - first.attempts).toBeGreaterThanOrEqual(4);
      const numbers = Array.from({ length: second.attempts }, (_, i) => i + 1);
      expect(receiver.requests.map((r) => r.attempt)).toEqual(numbers);
      expect((await attemptLog(first.id)).map((a) => a.attempt)).toEqual(numbers);
    } finally {
      await sender.onModuleDestroy();
    }
  });
});

describe('re-delivery', () => {
  it('of a delivery waiting for its next retry sends it now, and the stream behind it, rather than after the back-off', async () => {
    // a back-off of an hour after the first failure
    const hourly = { retry: { baseDelayMs: HOUR, maxDelayMs: HOUR, horizonMs: 24 * HOUR } };
    const service = endpoints(hourly);
    const { endpointId } = await service.create('mer_NOW', { url: receiver.url, eventTypes: ['*'] });
    const event = (sequence: number) => {
      const envelope = paymentSucceeded('mer_NOW', 'pay_NOW');
      (envelope.data.payment as unknown as { sequence: number }).sequence = sequence;
      return envelope;
    };
    const [first, second] = [event(1), event(2)];
    await dataSource.transaction((manager) => enqueueWebhookDeliveries(manager, [first, second], HOUR));
    receiver.respond = () => 503;
    const sender = worker(hourly);
    expect(await sender.dispatch()).toBe(1);
    await eventually(async () => ((await delivery(first.id)).last_status_code === 503 ? true : undefined));
    expect(await sender.dispatch()).toBe(0);

    // the merchant fixed its receiver; the operator re-delivers the one that waits
    receiver.respond = () => 200;
    const redelivered = (await service.redeliver('mer_NOW', endpointId, (await delivery(first.id)).id)) as { status: string; nextAttemptAt: string };
    expect(redelivered.status).toBe('PENDING');
    expect(Date.parse(redelivered.nextAttemptAt)).toBeLessThanOrEqual(Date.now());
    expect(await sender.dispatch()).toBe(1);
    await eventually(async () => ((await delivery(first.id)).status === 'DELIVERED' ? true : undefined));
    expect(await sender.dispatch()).toBe(1);
    await eventually(async () => ((await delivery(second.id)).status === 'DELIVERED' ? true : undefined));
    expect(receiver.requests.map((r) => r.eventId)).toEqual([first.id, first.id, second.id]);
  });

  it('leaves a delivery being sent right now to that attempt', async () => {
    const service = endpoints();
    const { endpointId } = await service.create('mer_BUSY', { url: receiver.url, eventTypes: ['*'] });
    const event = paymentSucceeded('mer_BUSY', 'pay_BUSY');
    await dataSource.transaction((manager) => enqueueWebhookDeliveries(manager, [event], HOUR));
    const answer = later();
    receiver.respond = () => answer.status;
    expect(await worker().dispatch()).toBe(1);
    await eventually(() => (receiver.requests.length === 1 ? true : undefined));

    const before = await delivery(event.id);
    await service.redeliver('mer_BUSY', endpointId, before.id);
    expect(await delivery(event.id)).toEqual(before);
    expect(await worker().dispatch()).toBe(0);
    answer.answer(200);
    await eventually(async () => ((await delivery(event.id)).status === 'DELIVERED' ? true : undefined));
    expect(receiver.requests).toHaveLength(1);
  });

  it('keeps an endpoint\'s requests in flight within its concurrency on all the replicas together, and frees a slot as an attempt is recorded', async () => {
    await endpoints().create('mer_SLOTS', { url: receiver.url, eventTypes: ['*'] });
    const events = Array.from({ length: 8 }, (_, i) => paymentSucceeded('mer_SLOTS', `pay_SLOTS_${i}`));
    await dataSource.transaction((manager) => enqueueWebhookDeliveries(manager, events, HOUR));
    const answers: Array<(status: number) => void> = [];
    receiver.respond = () => new Promise<number>((resolve) => answers.push(resolve));
    // four replicas, each with room for all eight, claiming at the same time
    const replicas = Array.from({ length: 4 }, () => worker({ perEndpointConcurrency: 3 }));

    const started = await Promise.all(replicas.map((replica) => replica.dispatch()));
    expect(started.reduce((sum, n) => sum + n, 0)).toBe(3);
    await eventually(() => (receiver.requests.length === 3 ? true : undefined));
    expect(await Promise.all(replicas.map((replica) => replica.dispatch()))).toEqual([0, 0, 0, 0]);

    // one answer frees one slot, whichever replica takes it
    answers.shift()!(200);
    await eventually(async () => ((await Promise.all(events.map((e) => delivery(e.id)))).some((d) => d.status === 'DELIVERED') ? true : undefined));
    expect((await Promise.all(replicas.map((replica) => replica.dispatch()))).reduce((sum, n) => sum + n, 0)).toBe(1);
    await eventually(() => (receiver.requests.length === 4 ? true : undefined));
    expect(await Promise.all(replicas.map((replica) => replica.dispatch()))).toEqual([0, 0, 0, 0]);
    for (const answer of answers.splice(0)) answer(200);
    // the attempts are recorded before the next test empties the tables: a recording under way would deadlock with that
    await eventually(async () => ((await dataSource.query('SELECT 1 FROM webhook_deliveries WHERE leased_until IS NOT NULL')).length === 0 ? true : undefined));
  });

  it('sends another merchant\'s delivery at once while an endpoint that never answers has a backlog larger than the pool', async () => {
    const down = await new WebhookReceiver().listen();
    down.respond = hang;
    try {
      await endpoints().create('mer_DOWN', { url: down.url, eventTypes: ['*'] });
      await endpoints().create('mer_UP', { url: receiver.url, eventTypes: ['*'] });
      const backlog = Array.from({ length: 20 }, (_, i) => paymentSucceeded('mer_DOWN', `pay_DOWN_${i}`));
      await dataSource.transaction((manager) => enqueueWebhookDeliveries(manager, backlog, HOUR));
      // a pool of 6 and 4 requests to one endpoint at most: the endpoint that is down holds 4 until they time out
      const pool = worker({ workerConcurrency: 6, perEndpointConcurrency: 4, requestTimeoutMs: 3000 });
      expect(await pool.dispatch()).toBe(4);
      const healthy = paymentSucceeded('mer_UP', 'pay_UP_1');
      await dataSource.transaction((manager) => enqueueWebhookDeliveries(manager, [healthy], HOUR));
      const started = Date.now();
      expect(await pool.dispatch()).toBe(1);
      await eventually(async () => ((await delivery(healthy.id)).status === 'DELIVERED' ? true : undefined));
      expect(Date.now() - started).toBeLessThan(1000);
      expect(down.requests.length).toBeLessThanOrEqual(4);
    } finally {
      await down.close();
      // what was sent to it is recorded before the next test empties the tables
      await eventually(async () => ((await dataSource.query('SELECT 1 FROM webhook_deliveries WHERE leased_until IS NOT NULL')).length === 0 ? true : undefined), 10_000);
    }
  });

  it('counts the claims of a replica that died against the endpoint until they lapse', async () => {
    await endpoints().create('mer_DEAD', { url: receiver.url, eventTypes: ['*'] });
    const events = Array.from({ length: 4 }, (_, i) => paymentSucceeded('mer_DEAD', `pay_DEAD_${i}`));
    await dataSource.transaction((manager) => enqueueWebhookDeliveries(manager, events, HOUR));
    // a replica claimed two and died: nothing records their attempts, their claims lapse in a second
    const dead = await Promise.all(events.slice(0, 2).map((e) => delivery(e.id)));
    await dataSource.query(`UPDATE webhook_deliveries SET leased_until = now() + interval '1 second', attempts = attempts + 1 WHERE id = ANY($1)`, [dead.map((d) => d.id)]);

    const live = worker({ perEndpointConcurrency: 2 });
    expect(await live.dispatch()).toBe(0);
    await new Promise((resolve) => setTimeout(resolve, 1100));
    expect(await live.dispatch()).toBe(2);
    await eventually(async () => ((await Promise.all(events.slice(0, 2).map((e) => delivery(e.id)))).every((d) => d.status === 'DELIVERED') ? true : undefined));
    expect(receiver.requests.map((r) => [r.eventId, r.attempt]).sort()).toEqual(events.slice(0, 2).map((e) => [e.id, 2]).sort());
  });
});

describe('re-delivery of dead letters', () => {
  it('sends every dead-lettered delivery of the endpoint again, or those of one payment, or since a time, and no other', async () => {
    const service = endpoints();
    const { endpointId } = await service.create('mer_BULK', { url: receiver.url, eventTypes: ['*'] });
    const [a1, a2, b1, c1] = [paymentSucceeded('mer_BULK', 'pay_BULK_A'), paymentSucceeded('mer_BULK', 'pay_BULK_A'), paymentSucceeded('mer_BULK', 'pay_BULK_B'), paymentSucceeded('mer_BULK', 'pay_BULK_C')];
    (a2.data.payment as unknown as { sequence: number }).sequence = 4;
    await dataSource.transaction((manager) => enqueueWebhookDeliveries(manager, [a1, a2, b1, c1], HOUR));
    await dataSource.query(`UPDATE webhook_deliveries SET status = 'DEAD_LETTER', attempts = 9 WHERE event_id = ANY($1)`, [[a1.id, a2.id, b1.id]]);
    await dataSource.query(`UPDATE webhook_deliveries SET status = 'DELIVERED', attempts = 1 WHERE event_id = $1`, [c1.id]);
    await dataSource.query(`UPDATE webhook_deliveries SET created_at = now() - interval '2 days' WHERE event_id = $1`, [b1.id]);
    const statuses = async () => Promise.all([a1, a2, b1, c1].map(async (e) => (await delivery(e.id)).status));

    expect(await service.redeliverDeadLetters('mer_BULK', endpointId, { paymentId: 'pay_BULK_A' })).toBe(2);
    expect(await statuses()).toEqual(['PENDING', 'PENDING', 'DEAD_LETTER', 'DELIVERED']);
    await dataSource.query(`UPDATE webhook_deliveries SET status = 'DEAD_LETTER' WHERE event_id = ANY($1)`, [[a1.id, a2.id]]);
    expect(await service.redeliverDeadLetters('mer_BULK', endpointId, { since: new Date(Date.now() - HOUR).toISOString() })).toBe(2);
    expect(await statuses()).toEqual(['PENDING', 'PENDING', 'DEAD_LETTER', 'DELIVERED']);
    expect(await service.redeliverDeadLetters('mer_BULK', endpointId, {})).toBe(1);
    expect(await statuses()).toEqual(['PENDING', 'PENDING', 'PENDING', 'DELIVERED']);
    // on a fresh schedule, and each payment's in order
    const [row] = await dataSource.query('SELECT redelivered_at_attempt, give_up_at > now() AS in_horizon FROM webhook_deliveries WHERE event_id = $1', [b1.id]);
    expect(row).toEqual({ redelivered_at_attempt: 9, in_horizon: true });
    const sender = worker();
    sender.onApplicationBootstrap();
    try {
      await eventually(async () => ((await statuses()).every((s) => s === 'DELIVERED') ? true : undefined));
    } finally {
      await sender.onModuleDestroy();
    }
    const sent = receiver.requests.map((r) => r.eventId);
    expect(sent.sort()).toEqual([a1.id, a2.id, b1.id].sort());
    expect(receiver.requests.findIndex((r) => r.eventId === a1.id)).toBeLessThan(receiver.requests.findIndex((r) => r.eventId === a2.id));
  });
});

describe('endpoint addresses', () => {
  it.each(['http://127.0.0.1:8080/hooks', 'http://localhost/hooks', 'https://[::1]/hooks', 'http://10.0.0.7/hooks', 'http://169.254.169.254/latest/meta-data', 'http://[fe80::1]/hooks', 'http://0.0.0.0:3004/'])(
    'refuses to register %s with 400 WEBHOOK_URL_NOT_PUBLIC',
    async (url) => {
      const refused = endpoints({ allowPrivateAddresses: false }).create('mer_SSRF', { url, eventTypes: ['*'] });
      await expect(refused).rejects.toThrow(ApiError);
      await expect(refused).rejects.toMatchObject({ status: 400, code: 'WEBHOOK_URL_NOT_PUBLIC', details: [expect.objectContaining({ field: 'url', code: 'WEBHOOK_URL_NOT_PUBLIC' })] });
      expect(await dataSource.query('SELECT id FROM webhook_endpoints WHERE merchant_id = $1', ['mer_SSRF'])).toEqual([]);
    },
  );

  it.each([
    ['127.0.0.1', 'mer_MOVED_IP', '127.0.0.1 is a loopback address'],
    ['localhost', 'mer_MOVED_NAME', 'localhost resolves to 127.0.0.1, a loopback address'],
  ])('checks again at each send, as it connects: an endpoint on %s, no longer public, gets nothing, and the attempt says why', async (host, merchantId, reason) => {
    // registered while its name resolved to a public address; the worker now finds it on the loopback
    await endpoints().create(merchantId, { url: receiver.url.replace('127.0.0.1', host), eventTypes: ['*'] });
    const event = paymentSucceeded(merchantId, `pay_${merchantId}`);
    await dataSource.transaction((manager) => enqueueWebhookDeliveries(manager, [event], HOUR));

    expect(await worker({ allowPrivateAddresses: false }).dispatch()).toBe(1);
    const failed = await eventually(async () => ((await delivery(event.id)).last_error ? delivery(event.id) : undefined));
    expect(failed).toMatchObject({ status: 'PENDING', attempts: 1, last_status_code: null, last_error_code: 'ENDPOINT_NOT_PUBLIC', last_error: reason });
    expect(receiver.requests).toEqual([]);
  });
});


describe('the delivery log', () => {
  it('records why each attempt failed as a stable code with the raw detail beside it, and clears both once delivered', async () => {
    const closed = await new WebhookReceiver().listen();
    const closedUrl = closed.url;
    await closed.close();
    const service = endpoints();
    const { endpointId } = await service.create('mer_CODES', { url: closedUrl, eventTypes: ['*'] });
    const event = paymentSucceeded('mer_CODES', 'pay_CODES');
    await dataSource.transaction((manager) => enqueueWebhookDeliveries(manager, [event], HOUR));
    const countedBefore = await failuresCounted();
    const sender = worker();
    const settled = async (attempts: number) => {
      await dataSource.query('UPDATE webhook_deliveries SET next_attempt_at = now() WHERE event_id = $1', [event.id]);
      expect(await sender.dispatch()).toBe(1);
      return eventually(async () => ((await attemptLog((await delivery(event.id)).id)).length === attempts ? delivery(event.id) : undefined));
    };

    // nothing listens on the URL
    expect(await settled(1)).toMatchObject({ status: 'PENDING', last_status_code: null, last_error_code: 'ENDPOINT_UNREACHABLE', last_error: expect.stringContaining('ECONNREFUSED') });
    // the endpoint moves to a receiver that refuses, then accepts
    await dataSource.query('UPDATE webhook_endpoints SET url = $2 WHERE id = $1', [endpointId, receiver.url]);
    receiver.respond = () => 503;
    expect(await settled(2)).toMatchObject({ status: 'PENDING', last_status_code: 503, last_error_code: 'ENDPOINT_REJECTED', last_error: 'HTTP 503' });
    receiver.respond = () => 200;
    expect(await settled(3)).toMatchObject({ status: 'DELIVERED', last_status_code: 200, last_error_code: null, last_error: null });

    // and counted by code, for an alert across merchants
    expect(await failuresCounted()).toEqual({ ...countedBefore, ENDPOINT_UNREACHABLE: (countedBefore.ENDPOINT_UNREACHABLE ?? 0) + 1, ENDPOINT_REJECTED: (countedBefore.ENDPOINT_REJECTED ?? 0) + 1 });

    const { deliveryId } = (await service.deliveries('mer_CODES', endpointId, { limit: 10 }))[0] as { deliveryId: string };
    const view = (await service.delivery('mer_CODES', endpointId, deliveryId)) as { attemptLog: Array<Record<string, unknown>>; lastErrorCode?: string };
    expect(view.lastErrorCode).toBeUndefined();
    expect(view.attemptLog.map(({ attempt, statusCode, errorCode, error }) => ({ attempt, statusCode, errorCode, error }))).toEqual([
      { attempt: 1, statusCode: undefined, errorCode: 'ENDPOINT_UNREACHABLE', error: expect.stringContaining('ECONNREFUSED') },
      { attempt: 2, statusCode: 503, errorCode: 'ENDPOINT_REJECTED', error: 'HTTP 503' },
      { attempt: 3, statusCode: 200, errorCode: undefined, error: undefined },
    ]);
  });

  it('sends nothing unsigned when the endpoint has no secret left (erased by a deletion after the claim)', async () => {
    const { endpointId } = await endpoints().create('mer_NOSECRET', { url: receiver.url, eventTypes: ['*'] });
    const event = paymentSucceeded('mer_NOSECRET', 'pay_NOSECRET');
    await dataSource.transaction((manager) => enqueueWebhookDeliveries(manager, [event], HOUR));
    await dataSource.query('DELETE FROM webhook_secrets WHERE endpoint_id = $1', [endpointId]);

    expect(await worker().dispatch()).toBe(1);
    const failed = await eventually(async () => ((await delivery(event.id)).last_error_code ? delivery(event.id) : undefined));
    expect(failed).toMatchObject({ status: 'PENDING', attempts: 1, last_error_code: 'SIGNING_SECRET_UNREADABLE', last_error: expect.stringContaining('no active signing secret') });
    expect(receiver.requests).toEqual([]);
  });

  it('records SIGNING_SECRET_UNREADABLE, and sends nothing, when no configured key opens the secret', async () => {
    const sealedElsewhere = endpointsService(dataSource, options, [randomBytes(32)]);
    await sealedElsewhere.create('mer_NOKEY', { url: receiver.url, eventTypes: ['*'] });
    const event = paymentSucceeded('mer_NOKEY', 'pay_NOKEY');
    await dataSource.transaction((manager) => enqueueWebhookDeliveries(manager, [event], HOUR));

    expect(await worker().dispatch()).toBe(1);
    const failed = await eventually(async () => ((await delivery(event.id)).last_error_code ? delivery(event.id) : undefined));
    expect(failed).toMatchObject({ status: 'PENDING', attempts: 1, last_status_code: null, last_error_code: 'SIGNING_SECRET_UNREADABLE', last_error: expect.stringContaining('WEBHOOK_SECRET_KEYS') });
    expect(receiver.requests).toEqual([]);
  });
});

describe('disabling an endpoint', () => {
  it('holds its deliveries, those queued and those that come, sends none, and sends them in order once it is enabled again', async () => {
    const service = endpoints();
    const { endpointId } = await service.create('mer_PAUSE', { url: receiver.url, eventTypes: ['*'] });
    const event = (sequence: number) => {
      const envelope = paymentSucceeded('mer_PAUSE', 'pay_PAUSE');
      (envelope.data.payment as unknown as { sequence: number }).sequence = sequence;
      return envelope;
    };
    const [queued, later] = [event(1), event(2)];
    await dataSource.transaction((manager) => enqueueWebhookDeliveries(manager, [queued], HOUR));
    // it had failed once: once enabled again, it starts a fresh schedule
    await dataSource.query(`UPDATE webhook_deliveries SET attempts = 1, give_up_at = now() - interval '1 minute' WHERE event_id = $1`, [queued.id]);

    expect(await service.update('mer_PAUSE', endpointId, { enabled: false })).toMatchObject({ endpointId, enabled: false });
    await dataSource.transaction((manager) => enqueueWebhookDeliveries(manager, [later], HOUR));
    expect((await delivery(queued.id)).status).toBe('HELD');
    expect((await delivery(later.id)).status).toBe('HELD');
    expect(await worker().dispatch()).toBe(0);

    // a re-delivery asked for meanwhile waits as well
    const { deliveryId } = (await service.deliveries('mer_PAUSE', endpointId, { limit: 10 }))[0] as { deliveryId: string };
    await dataSource.query(`UPDATE webhook_deliveries SET status = 'DEAD_LETTER' WHERE id = $1`, [deliveryId]);
    await service.redeliver('mer_PAUSE', endpointId, deliveryId);
    expect((await delivery(later.id)).status).toBe('HELD');
    expect(await worker().dispatch()).toBe(0);
    expect(receiver.requests).toEqual([]);

    expect(await service.update('mer_PAUSE', endpointId, { enabled: true })).toMatchObject({ endpointId, enabled: true });
    const [row] = await dataSource.query('SELECT status, give_up_at > now() AS in_horizon, redelivered_at_attempt FROM webhook_deliveries WHERE event_id = $1', [queued.id]);
    expect(row).toEqual({ status: 'PENDING', in_horizon: true, redelivered_at_attempt: 1 });
    const sender = worker();
    sender.onApplicationBootstrap();
    try {
      await eventually(async () => ((await delivery(later.id)).status === 'DELIVERED' ? true : undefined));
    } finally {
      await sender.onModuleDestroy();
    }
    expect(receiver.requests.map((r) => r.eventId)).toEqual([queued.id, later.id]);
  });

  it('leaves a delivery being sent to that attempt when the endpoint is disabled and enabled meanwhile: one request at a time, per-endpoint cap 1', async () => {
    const service = endpoints();
    const { endpointId } = await service.create('mer_TOGGLE', { url: receiver.url, eventTypes: ['*'] });
    const event = paymentSucceeded('mer_TOGGLE', 'pay_TOGGLE');
    await dataSource.transaction((manager) => enqueueWebhookDeliveries(manager, [event], HOUR));
    const open = later();
    receiver.respond = () => open.status;
    const sender = worker({ perEndpointConcurrency: 1 });
    expect(await sender.dispatch()).toBe(1);
    await eventually(() => (receiver.requests.length === 1 ? true : undefined));

    // the merchant pauses the endpoint and resumes it a moment later, while the request is still open
    await service.update('mer_TOGGLE', endpointId, { enabled: false });
    await service.update('mer_TOGGLE', endpointId, { enabled: true });
    expect(await sender.dispatch()).toBe(0);
    open.answer(200);
    await eventually(async () => ((await delivery(event.id)).status === 'DELIVERED' ? true : undefined));
    expect(await sender.dispatch()).toBe(0);
    expect([receiver.requests.length, receiver.mostOpen, (await delivery(event.id)).leased_until]).toEqual([1, 1, null]);
  });

  it.each([
    ['answered: it is delivered, and not sent again once the endpoint is enabled', 200, { status: 'DELIVERED', last_status_code: 200 }, 1],
    ['failed: it stays held, and goes again once the endpoint is enabled', 503, { status: 'HELD', last_status_code: 503 }, 2],
  ])('records the attempt under way when the endpoint was disabled as its result says: %s', async (_what, status, recorded, requests) => {
    const service = endpoints();
    const { endpointId } = await service.create(`mer_PAUSED_${status}`, { url: receiver.url, eventTypes: ['*'] });
    const event = paymentSucceeded(`mer_PAUSED_${status}`, `pay_PAUSED_${status}`);
    await dataSource.transaction((manager) => enqueueWebhookDeliveries(manager, [event], HOUR));
    const open = later();
    receiver.respond = () => open.status;
    const sender = worker();
    expect(await sender.dispatch()).toBe(1);
    await eventually(() => (receiver.requests.length === 1 ? true : undefined));

    await service.update(`mer_PAUSED_${status}`, endpointId, { enabled: false });
    open.answer(status);
    await eventually(async () => ((await delivery(event.id)).leased_until === null ? true : undefined));
    expect(await delivery(event.id)).toMatchObject(recorded);

    receiver.respond = () => 200;
    await service.update(`mer_PAUSED_${status}`, endpointId, { enabled: true });
    expect(await sender.dispatch()).toBe(requests - 1);
    await eventually(async () => ((await delivery(event.id)).status === 'DELIVERED' ? true : undefined));
    expect(receiver.requests.map((r) => r.attempt)).toEqual([1, 2].slice(0, requests));
  });

  it.each([
    ['near its old horizon, it is not dead-lettered', 1500, 'NEAR'],
    ['far from its old horizon, it does not wait out the old back-off', HOUR, 'FAR'],
  ])('sends a delivery whose failing attempt was under way while the endpoint was disabled and enabled again on the fresh schedule the enabling gave: %s', async (_what, horizonMs, name) => {
    const service = endpoints();
    const { endpointId } = await service.create(`mer_TOGGLE_${name}`, { url: receiver.url, eventTypes: ['*'] });
    const event = paymentSucceeded(`mer_TOGGLE_${name}`, `pay_TOGGLE_${name}`);
    await dataSource.transaction((manager) => enqueueWebhookDeliveries(manager, [event], horizonMs));
    const open = later();
    receiver.respond = () => open.status;
    const sender = worker();
    expect(await sender.dispatch()).toBe(1);
    await eventually(() => (receiver.requests.length === 1 ? true : undefined));
    // a near horizon passes while the request is open
    await new Promise((resolve) => setTimeout(resolve, 2000));

    // the merchant pauses the endpoint and resumes it (a fresh horizon) while the request is still open; then it fails
    await service.update(`mer_TOGGLE_${name}`, endpointId, { enabled: false });
    await service.update(`mer_TOGGLE_${name}`, endpointId, { enabled: true });
    const before = await outcomesCounted();
    open.answer(503);
    await eventually(async () => ((await delivery(event.id)).leased_until === null ? true : undefined));
    expect(await delivery(event.id)).toMatchObject({ status: 'PENDING', last_status_code: 503 });
    // counted once it is recorded, as a failure to be retried
    const now = await eventually(async () => {
      const counted = await outcomesCounted();
      return Object.keys(counted).some((outcome) => counted[outcome] !== before[outcome]) ? counted : undefined;
    });
    expect(now).toEqual({ ...before, failed: (before.failed ?? 0) + 1 });

    // as had it failed a moment before the enabling: the fresh schedule's first attempt goes at once
    receiver.respond = () => 200;
    expect(await sender.dispatch()).toBe(1);
    await eventually(async () => ((await delivery(event.id)).status === 'DELIVERED' ? true : undefined));
    expect(receiver.requests.map((r) => r.attempt)).toEqual([1, 2]);
  });

  it('a change of URL, event types and description takes effect for the next delivery; the secret stays', async () => {
    const service = endpoints();
    const elsewhere = await new WebhookReceiver().listen();
    try {
      const created = await service.create('mer_MOVE', { url: elsewhere.url, eventTypes: ['PaymentCreated'], description: 'old' });
      const changed = await service.update('mer_MOVE', created.endpointId, { url: receiver.url, eventTypes: ['PaymentSucceeded'], description: null });
      expect(changed).toMatchObject({ url: receiver.url, eventTypes: ['PaymentSucceeded'], enabled: true, secrets: created.secrets });
      expect(changed).not.toHaveProperty('description');
      const event = paymentSucceeded('mer_MOVE', 'pay_MOVE');
      await dataSource.transaction((manager) => enqueueWebhookDeliveries(manager, [event], HOUR));
      expect(await worker().dispatch()).toBe(1);
      await eventually(async () => ((await delivery(event.id)).status === 'DELIVERED' ? true : undefined));
      expect(receiver.requests.map((r) => r.eventId)).toEqual([event.id]);
      expect(elsewhere.requests).toEqual([]);
    } finally {
      await elsewhere.close();
    }
  });

  it('a new URL gets at once, with its back-off started again, what waited for a retry at the old one', async () => {
    const hourly = { retry: { baseDelayMs: HOUR, maxDelayMs: HOUR, horizonMs: 24 * HOUR } };
    const service = endpoints(hourly);
    const wrong = await new WebhookReceiver().listen();
    wrong.respond = () => 404;
    try {
      const { endpointId } = await service.create('mer_FIXED', { url: wrong.url, eventTypes: ['*'] });
      const event = paymentSucceeded('mer_FIXED', 'pay_FIXED');
      await dataSource.transaction((manager) => enqueueWebhookDeliveries(manager, [event], HOUR));
      const sender = worker(hourly);
      expect(await sender.dispatch()).toBe(1);
      await eventually(async () => ((await delivery(event.id)).last_status_code === 404 ? true : undefined));
      expect(await sender.dispatch()).toBe(0);

      await service.update('mer_FIXED', endpointId, { url: receiver.url });
      expect(await sender.dispatch()).toBe(1);
      await eventually(async () => ((await delivery(event.id)).status === 'DELIVERED' ? true : undefined));
      expect(receiver.requests.map((r) => r.eventId)).toEqual([event.id]);
      const [{ redelivered_at_attempt }] = await dataSource.query('SELECT redelivered_at_attempt FROM webhook_deliveries WHERE event_id = $1', [event.id]);
      expect(redelivered_at_attempt).toBe(1);
    } finally {
      await wrong.close();
    }
  });

  it('refuses a new URL on an address that is not public, and changes nothing', async () => {
    const created = await endpoints().create('mer_MOVE_SSRF', { url: 'https://example.com/hooks', eventTypes: ['*'] });
    const refused = endpoints({ allowPrivateAddresses: false }).update('mer_MOVE_SSRF', created.endpointId, { url: 'http://169.254.169.254/latest/meta-data', enabled: false });
    await expect(refused).rejects.toMatchObject({ status: 400, code: 'WEBHOOK_URL_NOT_PUBLIC' });
    expect(await endpoints().get('mer_MOVE_SSRF', created.endpointId)).toMatchObject({ url: 'https://example.com/hooks', enabled: true });
  });

  it('a held delivery is cancelled when its endpoint is deleted', async () => {
    const service = endpoints();
    const { endpointId } = await service.create('mer_PAUSE_GONE', { url: receiver.url, eventTypes: ['*'] });
    await service.update('mer_PAUSE_GONE', endpointId, { enabled: false });
    const event = paymentSucceeded('mer_PAUSE_GONE', 'pay_PAUSE_GONE');
    await dataSource.transaction((manager) => enqueueWebhookDeliveries(manager, [event], HOUR));
    await service.delete('mer_PAUSE_GONE', endpointId);
    expect((await delivery(event.id)).status).toBe('CANCELLED');
  });
});
