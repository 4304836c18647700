import type { DataSource } from 'typeorm';
import { Metrics } from '@upm/shared-observability';
import { freshDatabase, testLogger } from '@upm/shared-testing';
import { NOTIFICATION_DATABASE } from '../database';
import { testOptions } from '../testing/webhook-test-kit';
import { STREAM_IDLE_DAYS, WebhookLogRetention } from './webhook-log-retention';

/** The delivery log keeps settled deliveries for a retention after their last schedule, and whatever is still to be sent. */
let dataSource: DataSource;

beforeAll(async () => {
  ({ dataSource } = await freshDatabase('upm_test_webhook_log_retention', NOTIFICATION_DATABASE));
});

afterAll(async () => {
  await dataSource.destroy();
});

/** A delivery whose last schedule was `daysAgo` days ago, with one attempt then. */
async function delivery(id: string, status: string, daysAgo: number): Promise<void> {
  await dataSource.query(
    `INSERT INTO webhook_deliveries (id, endpoint_id, merchant_id, event_id, event_type, payment_id, sequence, stream, stream_sequence, body, status, next_attempt_at, give_up_at, created_at)
     VALUES ($1, 'whe_RET', 'mer_RET', $1, 'PaymentSucceeded', 'pay_RET', 0, $1, 1, '{}', $2, now(), now() - make_interval(days => $3), now() - make_interval(days => $3 + 1))`,
    [id, status, daysAgo],
  );
  await dataSource.query(`INSERT INTO webhook_attempts (delivery_id, attempt, started_at, latency_ms) VALUES ($1, 1, now() - make_interval(days => $2), 5)`, [id, daysAgo]);
}

describe('the delivery log retention', () => {
  it('deletes settled deliveries past the retention with their attempts, and stream counters idle past a refund window; keeps the rest', async () => {
    for (const status of ['DELIVERED', 'DEAD_LETTER', 'CANCELLED', 'PENDING', 'HELD']) {
      await delivery(`old_${status}`, status, 31);
      await delivery(`recent_${status}`, status, 29);
    }
    const retention = new WebhookLogRetention(dataSource, testLogger('notification'), new Metrics('notification-test'), testOptions({ logRetentionDays: 30 }));

    await dataSource.query(`INSERT INTO webhook_streams (endpoint_id, stream, last_sequence, used_at) VALUES
      ('whe_RET', 'pay_IDLE', 4, now() - make_interval(days => $1 + 1)), ('whe_RET', 'pay_REFUNDABLE', 2, now() - make_interval(days => $1 - 1))`, [STREAM_IDLE_DAYS]);
    expect(await retention.prune()).toEqual({ deliveries: 3, attempts: 3, streams: 1 });
    const left: Array<{ id: string }> = await dataSource.query('SELECT id FROM webhook_deliveries ORDER BY id');
    expect(left.map((row) => row.id)).toEqual(['old_HELD', 'old_PENDING', 'recent_CANCELLED', 'recent_DEAD_LETTER', 'recent_DELIVERED', 'recent_HELD', 'recent_PENDING']);
    const attempts: Array<{ delivery_id: string }> = await dataSource.query('SELECT delivery_id FROM webhook_attempts ORDER BY delivery_id');
    expect(attempts.map((row) => row.delivery_id)).toEqual(left.map((row) => row.id));
    expect(await retention.prune()).toEqual({ deliveries: 0, attempts: 0, streams: 0 });
    // a counter stays while a refund of its payment may still come
    expect(await dataSource.query('SELECT stream FROM webhook_streams')).toEqual([{ stream: 'pay_REFUNDABLE' }]);
  });
});
