import type { DataSource } from 'typeorm';
import { createEnvelope, Envelope, MESSAGE_EXAMPLES, PaymentViewV1, RefundViewV1, TOPICS } from '@upm/contracts';
import { Metrics } from '@upm/shared-observability';
import { freshDatabase, testLogger } from '@upm/shared-testing';
import { SETTLEMENT_DATABASE } from '../database';
import { LedgerStore } from './ledger.store';
import { PaymentEventsHandler, pendingCancelsPruner } from './payment-events.handler';

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

/** One event of a payment, under its own id, from the contract's example; `sequence` as the event carries it. */
function event(paymentId: string, type: string, sequence: number): Envelope {
  const { payment, refund } = examples[type];
  return createEnvelope({
    type, key: paymentId, producer: 'test',
    data: { payment: { ...payment, paymentId, sequence }, ...(refund ? { refund: { ...refund, paymentId, refundId: `${paymentId}-r1` } } : {}) },
  });
}

/** A payment's life as events. */
function life(paymentId: string): Envelope[] {
  return [
    event(paymentId, 'PaymentCreated', 0), event(paymentId, 'PaymentSucceeded', 2), event(paymentId, 'RefundRequested', 3),
    event(paymentId, 'PaymentProcessing', 1), // late: an older state must not win
    event(paymentId, 'RefundSucceeded', 4),
  ];
}

const tracked = (paymentId: string) =>
  dataSource.query('SELECT status, sequence, refunds, view, amount::text, business_day::text, merchant_id FROM tracked_payments WHERE payment_id = $1', [paymentId]);
const ledgerOf = (paymentId: string) =>
  dataSource.query('SELECT kind, status, amount::text, fee::text, (SELECT count(*)::int FROM ledger_entries e WHERE e.transaction_id = t.id) AS entries FROM ledger_transactions t WHERE payment_id = $1 ORDER BY kind', [paymentId]);

describe('PaymentEventsHandler', () => {
  it('gives back with a cancel the fee its payment was charged, though the fee schedule changed in between', async () => {
    const before = new PaymentEventsHandler(new LedgerStore('settlement'), { feeMinor: 100n, feeRateBps: 220 });
    const after = new PaymentEventsHandler(new LedgerStore('settlement'), { feeMinor: 50n });
    await dataSource.transaction((manager) => before.apply(manager, event('pay_cancel_fee', 'PaymentSucceeded', 2)));
    await dataSource.transaction((manager) => after.apply(manager, event('pay_cancel_fee', 'PaymentCancelled', 5)));

    // 2.2 % of 12.50 HKD rounded half up, plus 1.00 HKD, charged and given back
    expect(await ledgerOf('pay_cancel_fee')).toEqual([
      expect.objectContaining({ kind: 'CANCEL', fee: '128' }), expect.objectContaining({ kind: 'PAYMENT', fee: '128' }),
    ]);
    const [{ fees }] = await dataSource.query(
      `SELECT COALESCE(SUM(CASE WHEN e.direction = 'DEBIT' THEN e.amount ELSE -e.amount END), 0)::text AS fees
       FROM ledger_entries e JOIN ledger_transactions t ON t.id = e.transaction_id WHERE t.payment_id = 'pay_cancel_fee' AND e.account_type = 'FEES'`,
    );
    expect(fees).toBe('0');
  });

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

  it('books a cancel that came before the charge it reverses once the charge comes, as in order', async () => {
    const charged = (paymentId: string) => [event(paymentId, 'PaymentSucceeded', 2), event(paymentId, 'PaymentCancelled', 3)];
    const ledger = async (paymentId: string) =>
      (await dataSource.query(
        `SELECT kind, status, amount::text, fee::text, to_char(business_day, 'YYYY-MM-DD') AS day, source_event_type, source_sequence,
           (SELECT json_agg(json_build_array(e.account_type, e.direction, e.amount::text) ORDER BY e.id) FROM ledger_entries e WHERE e.transaction_id = t.id) AS entries
         FROM ledger_transactions t WHERE payment_id = $1 ORDER BY kind`,
        [paymentId],
      )) as unknown[];

    const [succeeded, cancelled] = charged('pay_in_order');
    await dataSource.transaction((manager) => handler.apply(manager, succeeded));
    await dataSource.transaction((manager) => handler.apply(manager, cancelled));
    const inOrder = await ledger('pay_in_order');
    expect(inOrder).toMatchObject([{ kind: 'CANCEL', source_event_type: 'PaymentCancelled', source_sequence: 3 }, { kind: 'PAYMENT' }]);

    const [lateSuccess, earlyCancel] = charged('pay_cancel_first');
    await dataSource.transaction((manager) => handler.apply(manager, earlyCancel));
    expect(await ledger('pay_cancel_first')).toEqual([]);
    await dataSource.transaction((manager) => handler.apply(manager, lateSuccess));
    expect(await ledger('pay_cancel_first')).toEqual(inOrder);

    const [successInBatch, cancelInBatch] = charged('pay_cancel_first_batch');
    await dataSource.transaction((manager) => handler.applyAll(manager, [cancelInBatch, successInBatch]));
    expect(await ledger('pay_cancel_first_batch')).toEqual(inOrder);

    // booked once: the success replayed finds nothing left waiting
    await dataSource.transaction((manager) => handler.apply(manager, lateSuccess));
    expect(await ledger('pay_cancel_first')).toEqual(inOrder);
    expect(await dataSource.query("SELECT payment_id FROM pending_cancels WHERE payment_id LIKE 'pay_cancel_first%'")).toEqual([]);
  });

  it('keeps a cancel of a payment never charged waiting, and books nothing for it', async () => {
    await dataSource.transaction((manager) => handler.apply(manager, event('pay_never_charged', 'PaymentCancelled', 2)));
    expect(await ledgerOf('pay_never_charged')).toEqual([]);
    expect(await dataSource.query("SELECT payment_id FROM pending_cancels WHERE payment_id = 'pay_never_charged'")).toEqual([{ payment_id: 'pay_never_charged' }]);
  });

  it('forgets a cancel that waited for its charge longer than the retention, and keeps the ones within it', async () => {
    for (const paymentId of ['pay_waited_long', 'pay_waiting']) {
      await dataSource.transaction((manager) => handler.apply(manager, event(paymentId, 'PaymentCancelled', 2)));
    }
    await dataSource.query("UPDATE pending_cancels SET created_at = now() - interval '15 days' WHERE payment_id = 'pay_waited_long'");
    const pruner = pendingCancelsPruner(dataSource, testLogger(), new Metrics('test'), 336);
    expect(await pruner.prune()).toBe(1);
    const left = await dataSource.query("SELECT payment_id FROM pending_cancels WHERE payment_id IN ('pay_waited_long', 'pay_waiting')");
    expect(left).toEqual([{ payment_id: 'pay_waiting' }]);
  });
});
