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

async function deliveries(eventId: string): Promise<Array<{ endpoint_id: string; payment_id: string; sequence: number }>> {
  return dataSource.query('SELECT endpoint_id, payment_id, sequence FROM webhook_deliveries WHERE event_id = $1 ORDER BY endpoint_id', [eventId]);
}

describe('settlement events as merchant webhooks', () => {
  it('queues a merchant\'s settlement event for the endpoints that subscribed to it, in a lane apart from the payment\'s', async () => {
    const reconciled = createEnvelope({ type: 'TransactionReconciled', key: 'pay_01JDZ8X3', data: settlementExample('TransactionReconciled'), producer: 'settlement' });
    const queued = await dataSource.transaction((manager) => enqueueWebhookDeliveries(manager, reconciled, HOUR));
    expect(queued).toBe(2);
    expect(await deliveries(reconciled.id)).toEqual([
      { endpoint_id: 'whe_all', payment_id: 'settlement:pay_01JDZ8X3', sequence: 0 },
      { endpoint_id: 'whe_recon', payment_id: 'settlement:pay_01JDZ8X3', sequence: 0 },
    ]);
  });

  it('sends a settlement batch, which belongs to no single merchant, to no merchant', async () => {
    const batch = createEnvelope({ type: 'SettlementBatchSettled', key: 'batch-1', data: settlementExample('SettlementBatchSettled'), producer: 'settlement' });
    expect(await dataSource.transaction((manager) => enqueueWebhookDeliveries(manager, batch, HOUR))).toBe(0);
    expect(await deliveries(batch.id)).toEqual([]);
  });

  it('still orders payment events by the payment\'s sequence', async () => {
    const succeeded = createEnvelope({ type: 'PaymentSucceeded', key: 'pay_01JDZ8X3', data: MESSAGE_EXAMPLES[TOPICS.paymentEvents.name].PaymentSucceeded, producer: 'payment-orchestrator' });
    expect(await dataSource.transaction((manager) => enqueueWebhookDeliveries(manager, succeeded, HOUR))).toBe(1);
    expect(await deliveries(succeeded.id)).toEqual([{ endpoint_id: 'whe_all', payment_id: 'pay_01JDZ8X3', sequence: 3 }]);
  });
});
