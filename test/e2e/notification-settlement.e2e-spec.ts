import http from 'node:http';
import { createEnvelope, MESSAGE_EXAMPLES, TOPICS } from '@upm/contracts';
import { NOTIFICATION_DATABASE, verifySignature } from '@upm/notification';
import { migrate } from '@upm/shared-database';
import { createTestTopics, eventually, recreateDatabase, RunningService, startService, testKafka, uniquePrefix } from '@upm/shared-testing';

/** A reconciliation result published on settlement.v1.events reaches the merchant's webhook, signed. */
const ADMIN = 'notify-settlement-admin';
const prefix = uniquePrefix('notify_settle');
let notification: RunningService;
let receiver: http.Server;
const received: Array<{ headers: http.IncomingHttpHeaders; body: string }> = [];

beforeAll(async () => {
  await createTestTopics(testKafka('notify-settle'), prefix);
  const url = await recreateDatabase('upm_test_notify_settle');
  await migrate(NOTIFICATION_DATABASE, { url });
  receiver = http.createServer((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString()));
    req.on('end', () => {
      received.push({ headers: req.headers, body });
      res.writeHead(200).end();
    });
  });
  await new Promise<void>((resolve) => receiver.listen(3690, '127.0.0.1', () => resolve()));
  notification = await startService('notification', 3691, { DATABASE_URL: url, KAFKA_TOPIC_PREFIX: prefix, KAFKA_SESSION_TIMEOUT_MS: '6000', ADMIN_TOKEN: ADMIN, WEBHOOK_POLL_MS: '50', WEBHOOK_ALLOW_PRIVATE_ADDRESSES: 'true' });
}, 60_000);

afterAll(async () => {
  await notification?.stop('SIGKILL');
  await new Promise((resolve) => receiver?.close(resolve));
});

it('delivers a merchant\'s TransactionReconciled to the endpoint that subscribed to it', async () => {
  const data = (MESSAGE_EXAMPLES as Record<string, Record<string, unknown>>)[TOPICS.settlementEvents.name].TransactionReconciled as { merchantId: string };
  const created = await fetch(`${notification.url}/v1/admin/merchants/${data.merchantId}/webhooks`, {
    method: 'POST',
    headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' },
    body: JSON.stringify({ url: 'http://127.0.0.1:3690/hooks', eventTypes: ['TransactionReconciled'] }),
  });
  expect(created.status).toBe(201);
  const { secret, endpointId } = (await created.json()) as { secret: string; endpointId: string };

  const envelope = createEnvelope({ type: 'TransactionReconciled', key: 'pay_01JDZ8X3', data, producer: 'settlement' });
  const producer = testKafka('notify-settle-producer').producer();
  await producer.connect();
  await producer.send({ topic: `${prefix}${TOPICS.settlementEvents.name}`, messages: [{ key: envelope.key, value: JSON.stringify(envelope) }] });
  await producer.disconnect();

  const delivery = await eventually(() => received.find((r) => r.headers['upm-event-id'] === envelope.id), 20_000);
  expect(JSON.parse(delivery.body)).toMatchObject({ id: envelope.id, type: 'TransactionReconciled', merchantId: data.merchantId, stream: { key: 'settlement:pay_01JDZ8X3', sequence: 1 } });
  expect(verifySignature(secret, delivery.headers['upm-signature'] as string, delivery.headers['upm-timestamp'] as string, delivery.body)).toBe(true);

  // the delivery log finds it by the payment it is about
  const listed = await fetch(`${notification.url}/v1/admin/merchants/${data.merchantId}/webhooks/${endpointId}/deliveries?paymentId=pay_01JDZ8X3`, { headers: { authorization: `Bearer ${ADMIN}` } });
  expect(listed.status).toBe(200);
  expect(((await listed.json()) as { deliveries: unknown[] }).deliveries).toEqual([
    expect.objectContaining({ eventId: envelope.id, eventType: 'TransactionReconciled', paymentId: 'pay_01JDZ8X3', stream: { key: 'settlement:pay_01JDZ8X3', sequence: 1 } }),
  ]);
});
