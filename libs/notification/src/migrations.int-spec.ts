import { createDataSource } from '@upm/shared-database';
import { Metrics } from '@upm/shared-observability';
import { eventually, freshDatabase } from '@upm/shared-testing';
import { NOTIFICATION_DATABASE } from './database';
import { WebhookDeliveryStreams1764979200000 } from './migrations';
import { endpointsService, testOptions, WebhookReceiver, webhookWorker } from './testing/webhook-test-kit';

/** Deliveries written before the upgrade that numbers streams. */
describe('the delivery streams migration', () => {
  it('numbers each endpoint\'s streams in the order they would have gone out, and files settlement deliveries under their payment', async () => {
    const all = NOTIFICATION_DATABASE.migrations as Array<new () => object>;
    const before = { ...NOTIFICATION_DATABASE, migrations: all.slice(0, all.indexOf(WebhookDeliveryStreams1764979200000)) };
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
      expect((await upgraded.runMigrations({ transaction: 'each' })).map((m) => m.name)).toEqual(expect.arrayContaining(['WebhookDeliveryStreams1764979200000']));
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

describe('the schema during a rollout', () => {
  it('takes the deliveries the previous version writes, and the worker sends them', async () => {
    const { dataSource } = await freshDatabase('upm_test_notify_migrate_rollout', NOTIFICATION_DATABASE);
    const receiver = await new WebhookReceiver().listen();
    const options = testOptions({ retry: { baseDelayMs: 1000, maxDelayMs: 1000, horizonMs: 60_000 }, requestTimeoutMs: 2000, workerConcurrency: 4 });
    try {
      const service = endpointsService(dataSource, options);
      const { endpointId } = await service.create('mer_OLD', { url: receiver.url, eventTypes: ['*'] });
      // the statement the version before streams runs, word for word
      await dataSource.query(
        `INSERT INTO webhook_deliveries (id, endpoint_id, merchant_id, event_id, event_type, payment_id, sequence, body, status, next_attempt_at, give_up_at)
     SELECT d.id, d.endpoint_id, d.merchant_id, d.event_id, d.event_type, d.payment_id, d.sequence, d.body, 'PENDING',
            GREATEST(now(), (SELECT max(e.next_attempt_at) FROM webhook_deliveries e WHERE e.endpoint_id = d.endpoint_id AND e.payment_id = d.payment_id AND e.status = 'PENDING')),
            now() + make_interval(secs => $9::double precision / 1000)
       FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::int[], $8::text[])
            AS d(id, endpoint_id, merchant_id, event_id, event_type, payment_id, sequence, body)
     ON CONFLICT ON CONSTRAINT "UQ_webhook_deliveries_endpoint_event" DO NOTHING`,
        [['whd_OLD'], [endpointId], ['mer_OLD'], ['evt_OLD'], ['PaymentSucceeded'], ['pay_OLD'], [2], ['{"id":"evt_OLD"}'], 60_000],
      );

      const worker = webhookWorker(dataSource, options, new Metrics('notification-test'));
      expect(await worker.dispatch()).toBe(1);
      await eventually(async () => ((await service.delivery('mer_OLD', endpointId, 'whd_OLD')) as { status: string }).status === 'DELIVERED' || undefined);
      expect(receiver.requests.map((r) => r.eventId)).toEqual(['evt_OLD']);
      expect(await service.delivery('mer_OLD', endpointId, 'whd_OLD')).not.toHaveProperty('stream', expect.anything());
    } finally {
      await receiver.close();
      await dataSource.destroy();
    }
  });
});
