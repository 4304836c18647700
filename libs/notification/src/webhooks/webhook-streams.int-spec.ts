import type { DataSource } from 'typeorm';
import { createEnvelope, Envelope, MESSAGE_EXAMPLES, TOPICS } from '@upm/contracts';
import { Metrics } from '@upm/shared-observability';
import { eventually, freshDatabase } from '@upm/shared-testing';
import { NOTIFICATION_DATABASE } from '../database';
import { endpointsService, HOUR, paymentEvent, testOptions, WebhookReceiver, webhookWorker } from '../testing/webhook-test-kit';
import { enqueueWebhookDeliveries, WebhookPayload } from './webhook-deliveries.consumer';

/** Each endpoint's streams are numbered 1, 2, 3, … without gaps, so that a receiver can tell a gap and a re-delivery. */
let dataSource: DataSource;
let receiver: WebhookReceiver;
const options = testOptions({ pollIntervalMs: 20 });
const endpoints = () => endpointsService(dataSource, options);

function reconciled(merchantId: string, paymentId: string): Envelope {
  const example = (MESSAGE_EXAMPLES as Record<string, Record<string, unknown>>)[TOPICS.settlementEvents.name].TransactionReconciled as Record<string, unknown>;
  return createEnvelope({ type: 'TransactionReconciled', key: paymentId, data: { ...example, merchantId, paymentId }, producer: 'settlement' });
}

const enqueue = (...envelopes: Envelope[]) => dataSource.transaction((manager) => enqueueWebhookDeliveries(manager, envelopes, HOUR));

/** What each delivery of these events to the endpoint carries: its stream, as the stored body says. */
async function streams(endpointId: string, events: Envelope[]): Promise<Array<WebhookPayload['stream']>> {
  const rows: Array<{ event_id: string; body: string }> = await dataSource.query('SELECT event_id, body FROM webhook_deliveries WHERE endpoint_id = $1 AND event_id = ANY($2)', [
    endpointId,
    events.map((e) => e.id),
  ]);
  return events.map((event) => (JSON.parse(rows.find((row) => row.event_id === event.id)!.body) as WebhookPayload).stream);
}

beforeAll(async () => {
  ({ dataSource } = await freshDatabase('upm_test_webhook_streams', NOTIFICATION_DATABASE));
});

beforeEach(async () => {
  receiver = await new WebhookReceiver().listen();
});

afterEach(async () => {
  await receiver.close();
});

afterAll(async () => {
  await dataSource.destroy();
});

describe('webhook streams', () => {
  it('number what each endpoint is sent of a payment 1, 2, 3, … whatever it subscribed to, and its settlement events apart', async () => {
    const all = await endpoints().create('mer_STREAM', { url: receiver.url, eventTypes: ['*'] });
    const some = await endpoints().create('mer_STREAM', { url: receiver.url, eventTypes: ['PaymentCreated', 'PaymentSucceeded'] });
    const [created, processing, succeeded] = [paymentEvent('PaymentCreated', 'mer_STREAM', 'pay_S1', 0), paymentEvent('PaymentProcessing', 'mer_STREAM', 'pay_S1', 1), paymentEvent('PaymentSucceeded', 'mer_STREAM', 'pay_S1', 2)];
    const settled = reconciled('mer_STREAM', 'pay_S1');
    // one batch, then a second: the numbers go on
    await enqueue(created, processing);
    await enqueue(succeeded, settled);

    expect(await streams(all.endpointId, [created, processing, succeeded, settled])).toEqual([
      { key: 'pay_S1', sequence: 1 },
      { key: 'pay_S1', sequence: 2 },
      { key: 'pay_S1', sequence: 3 },
      { key: 'settlement:pay_S1', sequence: 1 },
    ]);
    // the payment's own sequence skips the event this endpoint did not subscribe to; its stream does not
    expect(await streams(some.endpointId, [created, succeeded])).toEqual([
      { key: 'pay_S1', sequence: 1 },
      { key: 'pay_S1', sequence: 2 },
    ]);

    // an event consumed again adds no delivery and uses up no number
    await enqueue(succeeded);
    const refundEvent = paymentEvent('PaymentSucceeded', 'mer_STREAM', 'pay_S1', 3);
    await enqueue(refundEvent);
    expect(await streams(all.endpointId, [refundEvent])).toEqual([{ key: 'pay_S1', sequence: 4 }]);
  });

  it('leave no gap when a transaction that took a number rolls back while another waits for the stream', async () => {
    const { endpointId } = await endpoints().create('mer_RACE', { url: receiver.url, eventTypes: ['*'] });
    const [first, second] = [paymentEvent('PaymentCreated', 'mer_RACE', 'pay_RACE', 0), paymentEvent('PaymentProcessing', 'mer_RACE', 'pay_RACE', 1)];
    const failing = dataSource.createQueryRunner();
    await failing.startTransaction();
    await enqueueWebhookDeliveries(failing.manager, [first], HOUR);
    // the second waits for the stream while the first transaction holds it
    let secondDone = false;
    const waiting = enqueue(second).then(() => (secondDone = true));
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(secondDone).toBe(false);
    await failing.rollbackTransaction();
    await failing.release();
    await waiting;

    expect(await streams(endpointId, [second])).toEqual([{ key: 'pay_RACE', sequence: 1 }]);
    await enqueue(first);
    expect(await streams(endpointId, [first])).toEqual([{ key: 'pay_RACE', sequence: 2 }]);
  });

  it('show the receiver a dead-lettered delivery as a gap, and its re-delivery as a number it has passed', async () => {
    const fast = { ...options, retry: { baseDelayMs: 20, maxDelayMs: 40, horizonMs: 300 } };
    const service = endpointsService(dataSource, fast);
    const { endpointId } = await service.create('mer_GAP', { url: receiver.url, eventTypes: ['*'] });
    const [created, processing, succeeded] = [paymentEvent('PaymentCreated', 'mer_GAP', 'pay_GAP', 0), paymentEvent('PaymentProcessing', 'mer_GAP', 'pay_GAP', 1), paymentEvent('PaymentSucceeded', 'mer_GAP', 'pay_GAP', 2)];
    await dataSource.transaction((manager) => enqueueWebhookDeliveries(manager, [created, processing, succeeded], fast.retry.horizonMs));
    let refusing = true;
    // refused with a 4xx, about this delivery alone: the endpoint answers, so it is not held back, and 3 is sent once
    // 2 is dead-lettered (on an endpoint held back, 3 would be dead-lettered too, its own horizon having passed)
    receiver.respond = ({ payload }) => (refusing && payload.id === processing.id ? 400 : 200);
    const sender = webhookWorker(dataSource, fast, new Metrics('notification-test'));
    sender.onApplicationBootstrap();
    try {
      const accepted = () => receiver.payloads.filter((p) => !(refusing && p.id === processing.id));
      await eventually(() => (accepted().some((p) => p.id === succeeded.id) ? true : undefined), 5000, 20);
      // the receiver got 1, then 2 until it was dead-lettered, then 3: what it applied skips 2
      expect(accepted().map((p) => p.stream.sequence)).toEqual([1, 3]);
      expect(new Set(receiver.payloads.filter((p) => p.id === processing.id).map((p) => p.stream.sequence))).toEqual(new Set([2]));

      refusing = false;
      const [dead] = (await service.deliveries('mer_GAP', endpointId, { status: 'DEAD_LETTER', limit: 10 })) as Array<{ deliveryId: string; eventId: string }>;
      expect(dead.eventId).toBe(processing.id);
      await service.redeliver('mer_GAP', endpointId, dead.deliveryId);
      sender.wake();
      const again = await eventually(() => receiver.payloads.at(-1)?.id === processing.id ? receiver.payloads.at(-1) : undefined, 5000, 20);
      expect(again.stream).toEqual({ key: 'pay_GAP', sequence: 2 });
    } finally {
      await sender.onModuleDestroy();
    }
  });
});

describe('several replicas sending at once', () => {
  it('never send one delivery twice at once, and send each stream in order, though every first attempt fails', async () => {
    const { endpointId } = await endpoints().create('mer_REPLICAS', { url: receiver.url, eventTypes: ['*'] });
    const fast = { ...options, retry: { baseDelayMs: 20, maxDelayMs: 40, horizonMs: HOUR }, perEndpointConcurrency: 8 };
    const events = ['pay_R1', 'pay_R2', 'pay_R3', 'pay_R4'].flatMap((paymentId) =>
      [0, 1, 2, 3, 4].map((sequence) => paymentEvent(sequence === 0 ? 'PaymentCreated' : 'PaymentSucceeded', 'mer_REPLICAS', paymentId, sequence)),
    );
    await enqueue(...events);
    const tried = new Set<string>();
    receiver.respond = ({ payload }) => (tried.has(payload.id) ? 200 : (tried.add(payload.id), 500));
    const replicas = [0, 1, 2].map(() => webhookWorker(dataSource, fast, new Metrics('notification-test')));
    for (const replica of replicas) replica.onApplicationBootstrap();
    try {
      await eventually(async () => {
        const [{ left }] = await dataSource.query(`SELECT count(*)::int AS left FROM webhook_deliveries WHERE endpoint_id = $1 AND status <> 'DELIVERED'`, [endpointId]);
        return left === 0 || undefined;
      }, 15_000, 50);
    } finally {
      await Promise.all(replicas.map((replica) => replica.onModuleDestroy()));
    }
    const accepted = receiver.payloads.filter((p, i) => receiver.payloads.findIndex((q) => q.id === p.id) !== i);
    // each event failed once and was accepted once: nothing went twice at the same time
    expect(receiver.payloads).toHaveLength(2 * events.length);
    expect(new Set(accepted.map((p) => p.id)).size).toBe(events.length);
    for (const paymentId of ['pay_R1', 'pay_R2', 'pay_R3', 'pay_R4']) {
      // no request of a stream came before the one ahead of it was accepted
      const stream = receiver.payloads.filter((p) => p.stream.key === paymentId).map((p) => p.stream.sequence);
      expect(stream).toEqual([1, 1, 2, 2, 3, 3, 4, 4, 5, 5]);
    }
  });
});

describe('the delivery log', () => {
  it('lists a payment\'s settlement deliveries with its own under its paymentId', async () => {
    const { endpointId } = await endpoints().create('mer_LOG', { url: receiver.url, eventTypes: ['*'] });
    const [succeeded, settled, other] = [paymentEvent('PaymentSucceeded', 'mer_LOG', 'pay_LOG1', 2), reconciled('mer_LOG', 'pay_LOG1'), paymentEvent('PaymentSucceeded', 'mer_LOG', 'pay_LOG2', 2)];
    await enqueue(succeeded, settled, other);

    const listed = (await endpoints().deliveries('mer_LOG', endpointId, { paymentId: 'pay_LOG1', limit: 10 })) as Array<{ eventId: string; paymentId: string; stream: unknown }>;
    expect(listed.map(({ eventId, paymentId, stream }) => ({ eventId, paymentId, stream }))).toEqual([
      { eventId: settled.id, paymentId: 'pay_LOG1', stream: { key: 'settlement:pay_LOG1', sequence: 1 } },
      { eventId: succeeded.id, paymentId: 'pay_LOG1', stream: { key: 'pay_LOG1', sequence: 1 } },
    ]);
  });
});

describe('the delivery log, a page at a time', () => {
  it('goes on from the last delivery of the page before, to the end', async () => {
    const { endpointId } = await endpoints().create('mer_PAGES', { url: receiver.url, eventTypes: ['*'] });
    const events = Array.from({ length: 5 }, (_, i) => paymentEvent('PaymentSucceeded', 'mer_PAGES', `pay_PAGE${i}`, 2));
    for (const event of events) await enqueue(event);
    const page = async (before?: string) => (await endpoints().deliveries('mer_PAGES', endpointId, { limit: 2, before })) as Array<{ deliveryId: string; eventId: string }>;

    const pages: string[][] = [];
    let before: string | undefined;
    for (let rows = await page(); rows.length; rows = await page(before)) {
      pages.push(rows.map((r) => r.eventId));
      before = rows.at(-1)!.deliveryId;
    }
    expect(pages).toEqual([[events[4].id, events[3].id], [events[2].id, events[1].id], [events[0].id]]);
    await expect(endpoints().deliveries('mer_PAGES', endpointId, { limit: 2, before: 'whd_NONE' })).rejects.toMatchObject({ status: 404, code: 'DELIVERY_NOT_FOUND' });
  });
});
