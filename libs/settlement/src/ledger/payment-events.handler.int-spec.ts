import type { DataSource } from 'typeorm';
import { createEnvelope, Envelope, MESSAGE_EXAMPLES, PaymentViewV1, RefundViewV1, TOPICS } from '@upm/contracts';
import { freshDatabase } from '@upm/shared-testing';
import { SETTLEMENT_DATABASE } from '../database';
import { LedgerStore } from './ledger.store';
import { PaymentEventsHandler } from './payment-events.handler';

/** A batch of payment events leaves the ledger and the tracked payments exactly as applying them one by one does. */
let dataSource: DataSource;
const handler = new PaymentEventsHandler(new LedgerStore('settlement'), 10n);
const examples = MESSAGE_EXAMPLES[TOPICS.paymentEvents.name] as Record<string, { payment: PaymentViewV1; refund?: RefundViewV1 }>;

beforeAll(async () => {
  ({ dataSource } = await freshDatabase('upm_test_payment_events', SETTLEMENT_DATABASE));
});

afterAll(async () => {
  await dataSource.destroy();
});

/** A payment's life as events, under its own id; `sequence` as each event carries it. */
function life(paymentId: string): Envelope[] {
  const event = (type: string, sequence: number, refundStatus?: string) => {
    const { payment, refund } = examples[type];
    return createEnvelope({
      type, key: paymentId, producer: 'test',
      data: { payment: { ...payment, paymentId, sequence }, ...(refund ? { refund: { ...refund, paymentId, refundId: `${paymentId}-r1`, ...(refundStatus ? { status: refundStatus } : {}) } } : {}) },
    });
  };
  return [
    event('PaymentCreated', 0), event('PaymentSucceeded', 2), event('RefundRequested', 3),
    event('PaymentProcessing', 1), // late: an older state must not win
    event('RefundSucceeded', 4),
  ];
}

const tracked = (paymentId: string) =>
  dataSource.query('SELECT status, sequence, refunds, view, amount::text, business_day::text, merchant_id FROM tracked_payments WHERE payment_id = $1', [paymentId]);
const ledgerOf = (paymentId: string) =>
  dataSource.query('SELECT kind, status, amount::text, fee::text, (SELECT count(*)::int FROM ledger_entries e WHERE e.transaction_id = t.id) AS entries FROM ledger_transactions t WHERE payment_id = $1 ORDER BY kind', [paymentId]);

describe('PaymentEventsHandler', () => {
  it('applies a batch as one-by-one does, writing the tracked payments with one statement', async () => {
    for (const envelope of life('pay_one_by_one')) await dataSource.transaction((manager) => handler.apply(manager, envelope));

    const statements: string[] = [];
    await dataSource.transaction((manager) => {
      const query = manager.query.bind(manager);
      manager.query = (sql: string, parameters?: unknown[]) => (statements.push(sql), query(sql, parameters));
      return handler.applyAll(manager, [...life('pay_batch_a'), ...life('pay_batch_b')]);
    });
    expect(statements.filter((sql) => sql.includes('tracked_payments'))).toHaveLength(1);

    const [alone] = await tracked('pay_one_by_one');
    expect(alone).toMatchObject({ status: 'SUCCEEDED', sequence: 4, refunds: { 'pay_one_by_one-r1': 'SUCCEEDED' } });
    for (const paymentId of ['pay_batch_a', 'pay_batch_b']) {
      const [row] = await tracked(paymentId);
      expect({ ...row, refunds: Object.values(row.refunds), view: { ...row.view, paymentId: undefined } }).toEqual({
        ...alone, refunds: Object.values(alone.refunds), view: { ...alone.view, paymentId: undefined },
      });
      expect(await ledgerOf(paymentId)).toEqual(await ledgerOf('pay_one_by_one'));
    }
    expect(await ledgerOf('pay_batch_a')).toEqual([
      { kind: 'PAYMENT', status: 'EXPECTED', amount: '1250', fee: '10', entries: 4 },
      { kind: 'REFUND', status: 'EXPECTED', amount: '500', fee: '10', entries: 4 },
    ]);
  });

  it('keeps a newer state already tracked when a batch brings only older ones', async () => {
    const [created, , requested, processing, refunded] = life('pay_newer');
    await dataSource.transaction((manager) => handler.apply(manager, requested));
    await dataSource.transaction((manager) => handler.applyAll(manager, [created, processing]));
    expect((await tracked('pay_newer'))[0]).toMatchObject({ status: 'SUCCEEDED', sequence: 3, refunds: { 'pay_newer-r1': 'PROCESSING' } });
    await dataSource.transaction((manager) => handler.applyAll(manager, [processing, refunded]));
    expect((await tracked('pay_newer'))[0]).toMatchObject({ status: 'SUCCEEDED', sequence: 4, refunds: { 'pay_newer-r1': 'SUCCEEDED' } });
  });

  it('keeps a refund’s final status when its RefundRequested comes late, in a later batch or in the same one', async () => {
    const [, , requested, , refunded] = life('pay_late_request');
    await dataSource.transaction((manager) => handler.apply(manager, refunded));
    await dataSource.transaction((manager) => handler.apply(manager, requested));
    expect((await tracked('pay_late_request'))[0]).toMatchObject({ refunds: { 'pay_late_request-r1': 'SUCCEEDED' } });

    const [, , requestedInBatch, , refundedInBatch] = life('pay_late_request_batch');
    await dataSource.transaction((manager) => handler.applyAll(manager, [refundedInBatch, requestedInBatch]));
    expect((await tracked('pay_late_request_batch'))[0]).toMatchObject({ refunds: { 'pay_late_request_batch-r1': 'SUCCEEDED' } });
  });
});
