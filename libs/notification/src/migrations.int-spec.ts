import { createDataSource } from '@upm/shared-database';
import { freshDatabase } from '@upm/shared-testing';
import { NOTIFICATION_DATABASE } from './database';
import { WebhookDeliveryStreams1764979200000 } from './migrations';

/** Deliveries written before the upgrade that numbers streams. */
describe('the delivery streams migration', () => {
  it('numbers each endpoint\'s streams in the order they would have gone out, and files settlement deliveries under their payment', async () => {
    const before = { ...NOTIFICATION_DATABASE, migrations: (NOTIFICATION_DATABASE.migrations as unknown[]).filter((m) => m !== WebhookDeliveryStreams1764979200000) as Array<new () => object> };
    const { url, dataSource: old } = await freshDatabase('upm_test_notify_migrate_streams', before);
    const row = (seq: number, endpointId: string, paymentId: string, sequence: number, body = '{}') =>
      `(${seq}, 'whd_${seq}', '${endpointId}', 'mer_1', 'evt_${seq}', 'PaymentSucceeded', '${paymentId}', ${sequence}, '${body}', 'DELIVERED', now(), now())`;
    await old.query(`INSERT INTO webhook_deliveries (seq, id, endpoint_id, merchant_id, event_id, event_type, payment_id, sequence, body, status, next_attempt_at, give_up_at) VALUES
      ${[
        row(1, 'whe_a', 'pay_1', 2),
        row(2, 'whe_a', 'pay_1', 0),
        row(3, 'whe_b', 'pay_1', 2),
        row(4, 'whe_a', 'settlement:pay_1', 0, '{"data":{"paymentId":"pay_1"}}'),
        row(5, 'whe_a', 'settlement:20261127HKD001', 0, '{"data":{"settlementBatchId":"x"}}'),
      ].join(', ')}`);
    await old.destroy();

    const upgraded = createDataSource(NOTIFICATION_DATABASE, { url, poolSize: 2 });
    await upgraded.initialize();
    try {
      expect((await upgraded.runMigrations({ transaction: 'each' })).map((m) => m.name)).toEqual(['WebhookDeliveryStreams1764979200000']);
      expect(await upgraded.query('SELECT id, payment_id, stream, stream_sequence FROM webhook_deliveries ORDER BY seq')).toEqual([
        { id: 'whd_1', payment_id: 'pay_1', stream: 'pay_1', stream_sequence: 2 },
        { id: 'whd_2', payment_id: 'pay_1', stream: 'pay_1', stream_sequence: 1 },
        { id: 'whd_3', payment_id: 'pay_1', stream: 'pay_1', stream_sequence: 1 },
        { id: 'whd_4', payment_id: 'pay_1', stream: 'settlement:pay_1', stream_sequence: 1 },
        { id: 'whd_5', payment_id: null, stream: 'settlement:20261127HKD001', stream_sequence: 1 },
      ]);
      // new deliveries go on from the numbers already given
      expect(await upgraded.query('SELECT endpoint_id, stream, last_sequence FROM webhook_streams ORDER BY endpoint_id, stream')).toEqual([
        { endpoint_id: 'whe_a', stream: 'pay_1', last_sequence: 2 },
        { endpoint_id: 'whe_a', stream: 'settlement:20261127HKD001', last_sequence: 1 },
        { endpoint_id: 'whe_a', stream: 'settlement:pay_1', last_sequence: 1 },
        { endpoint_id: 'whe_b', stream: 'pay_1', last_sequence: 1 },
      ]);
    } finally {
      await upgraded.destroy();
    }
  });
});
