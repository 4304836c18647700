import type { DataSource } from 'typeorm';
import { createEnvelope, MESSAGE_EXAMPLES, TOPICS } from '@upm/contracts';
import { enqueueWebhookDeliveries, NOTIFICATION_DATABASE } from '@upm/notification';
import { freshDatabase } from '@upm/shared-testing';

/** Merchants subscribe to settlement events as they do to payment events; batch-level ones stay with finance. */
let dataSource: DataSource;
const HOUR = 3_600_000;
const settlementExample = (type: string) => (MESSAGE_EXAMPLES as Record<string, Record<string, unknown>>)[TOPICS.settlementEvents.name][type];

beforeAll(async () => {
  ({ dataSource } = await freshDatabase('upm_test_notify_settlement', NOTIFICATION_DATABASE));
  await dataSource.query(
    `INSERT INTO webhook_endpoints (id, merchant_id, url, event_types) VALUES
     ('whe_recon', 'mer_7KQ2', 'http://127.0.0.1:1/recon', '["TransactionReconciled", "DiscrepancyDetected"]'),
     ('whe_all', 'mer_7KQ2', 'http://127.0.0.1:1/all', '["*"]'),
     ('whe_other', 'mer_OTHER', 'http://127.0.0.1:1/other', '["*"]')`,
  );
});

afterAll(async () => {
  await dataSource.destroy();
});

async function deliveries(eventId: string): Promise<Array<{ endpoint_id: string; payment_id: string | null; stream: string; sequence: number }>> {
  return dataSource.query('SELECT endpoint_id, payment_id, stream, sequence FROM webhook_deliveries WHERE event_id = $1 ORDER BY endpoint_id', [eventId]);
}

describe('settlement events as merchant webhooks', () => {
  it('queues a merchant\'s settlement event for the endpoints that subscribed to it, under its payment but in a stream apart from the payment\'s', async () => {
    const reconciled = createEnvelope({ type: 'TransactionReconciled', key: 'pay_01JDZ8X3', data: settlementExample('TransactionReconciled'), producer: 'settlement' });
    const queued = await dataSource.transaction((manager) => enqueueWebhookDeliveries(manager, [reconciled], HOUR));
    expect([...queued]).toEqual([reconciled.id]);
    expect(await deliveries(reconciled.id)).toEqual([
      { endpoint_id: 'whe_all', payment_id: 'pay_01JDZ8X3', stream: 'settlement:pay_01JDZ8X3', sequence: 0 },
      { endpoint_id: 'whe_recon', payment_id: 'pay_01JDZ8X3', stream: 'settlement:pay_01JDZ8X3', sequence: 0 },
    ]);
  });

  it('sends a settlement batch, which belongs to no single merchant, to no merchant', async () => {
    const batch = createEnvelope({ type: 'SettlementBatchSettled', key: 'batch-1', data: settlementExample('SettlementBatchSettled'), producer: 'settlement' });
    expect((await dataSource.transaction((manager) => enqueueWebhookDeliveries(manager, [batch], HOUR))).size).toBe(0);
    expect(await deliveries(batch.id)).toEqual([]);
  });

  it('still orders payment events by the payment\'s sequence', async () => {
    const succeeded = createEnvelope({ type: 'PaymentSucceeded', key: 'pay_01JDZ8X3', data: MESSAGE_EXAMPLES[TOPICS.paymentEvents.name].PaymentSucceeded, producer: 'payment-orchestrator' });
    expect([...(await dataSource.transaction((manager) => enqueueWebhookDeliveries(manager, [succeeded], HOUR)))]).toEqual([succeeded.id]);
    expect(await deliveries(succeeded.id)).toEqual([{ endpoint_id: 'whe_all', payment_id: 'pay_01JDZ8X3', stream: 'pay_01JDZ8X3', sequence: 3 }]);
  });

  it('matches, numbers and writes a whole batch with one statement each, every event to its own merchant\'s subscribers only', async () => {
    const paymentEvent = (type: 'PaymentSucceeded' | 'PaymentCreated', merchantId: string, paymentId: string, sequence: number) => {
      const example = MESSAGE_EXAMPLES[TOPICS.paymentEvents.name][type] as { payment: Record<string, unknown> };
      return createEnvelope({ type, key: paymentId, data: { ...example, payment: { ...example.payment, merchantId, paymentId, sequence } }, producer: 'payment-orchestrator' });
    };
    const ours = paymentEvent('PaymentSucceeded', 'mer_7KQ2', 'pay_BATCH1', 2);
    const theirs = paymentEvent('PaymentCreated', 'mer_OTHER', 'pay_BATCH2', 0);
    const nobodys = paymentEvent('PaymentSucceeded', 'mer_NOBODY', 'pay_BATCH3', 2);
    const reconciled = createEnvelope({ type: 'TransactionReconciled', key: 'pay_BATCH1', data: settlementExample('TransactionReconciled'), producer: 'settlement' });
    const statements: string[] = [];
    const queued = await dataSource.transaction((manager) => {
      const query = manager.query.bind(manager);
      manager.query = (sql: string, parameters?: unknown[]) => (statements.push(sql), query(sql, parameters));
      return enqueueWebhookDeliveries(manager, [ours, theirs, nobodys, reconciled], HOUR);
    });
    expect(statements).toHaveLength(3);
    expect(new Set(queued)).toEqual(new Set([ours.id, theirs.id, reconciled.id]));
    expect(await deliveries(ours.id)).toEqual([{ endpoint_id: 'whe_all', payment_id: 'pay_BATCH1', stream: 'pay_BATCH1', sequence: 2 }]);
    expect(await deliveries(theirs.id)).toEqual([{ endpoint_id: 'whe_other', payment_id: 'pay_BATCH2', stream: 'pay_BATCH2', sequence: 0 }]);
    expect(await deliveries(nobodys.id)).toEqual([]);
    expect((await deliveries(reconciled.id)).map((d) => d.endpoint_id)).toEqual(['whe_all', 'whe_recon']);
    const bodies: Array<{ body: string }> = await dataSource.query('SELECT body FROM webhook_deliveries WHERE event_id = $1', [theirs.id]);
    expect(JSON.parse(bodies[0].body)).toMatchObject({ id: theirs.id, type: 'PaymentCreated', merchantId: 'mer_OTHER', data: { payment: { paymentId: 'pay_BATCH2' } } });

    // the same events once more add nothing: one delivery per endpoint and event
    await dataSource.transaction((manager) => enqueueWebhookDeliveries(manager, [ours, reconciled], HOUR));
    const [{ count }] = await dataSource.query('SELECT count(*)::int AS count FROM webhook_deliveries WHERE event_id = ANY($1)', [[ours.id, theirs.id, reconciled.id]]);
    expect(count).toBe(4);
  });
});
