import type { DataSource } from 'typeorm';
import { createEnvelope, Envelope, parseMessage, PaymentStatus, PaymentViewV1, RefundViewV1, TOPICS } from '@upm/contracts';
import { Metrics } from '@upm/shared-observability';
import { freshDatabase, sleep, testLogger } from '@upm/shared-testing';
import { GATEWAY_DATABASE } from '../database';
import { TerminalEventsRetention } from '../terminal-events/retention';
import { terminalEventsAfter } from '../terminal-events/terminal-events';
import { PaymentsService } from './payments.service';

let dataSource: DataSource;
let payments: PaymentsService;

beforeAll(async () => {
  ({ dataSource } = await freshDatabase('upm_test_gateway_read_model', GATEWAY_DATABASE));
  // applying events needs only the transaction it is given
  payments = new PaymentsService(dataSource, undefined as never, undefined as never, undefined as never, testLogger());
});

afterAll(async () => {
  await dataSource.destroy();
});

const terminal = { terminalId: 'ter_rm_1', merchantId: 'mer_rm' };
const view = (paymentId: string, status: PaymentStatus, sequence: number): PaymentViewV1 => ({
  paymentId, merchantOrderId: `order-${paymentId}`, merchantId: terminal.merchantId, storeId: 'sto_rm', terminalId: terminal.terminalId,
  amount: { currency: 'HKD', value: '1250' }, status, refundedAmount: { currency: 'HKD', value: '0' }, sequence,
  createdAt: '2026-11-27T10:00:00.000Z', updatedAt: '2026-11-27T10:00:01.000Z',
});
const event = (type: string, payment: PaymentViewV1) => createEnvelope({ type, key: payment.paymentId, data: { payment }, producer: 'payment-orchestrator', correlationId: payment.paymentId });

async function apply(...envelopes: Envelope[]): Promise<void> {
  for (const envelope of envelopes) await dataSource.transaction((manager) => payments.applyEvent(manager, envelope));
}

describe('the read model and the terminal stream', () => {
  it('moves a view only forward, and appends to the terminal stream only the events that moved it', async () => {
    const created = event('PaymentCreated', view('pay_rm_1', 'PROCESSING', 0));
    const succeeded = event('PaymentSucceeded', view('pay_rm_1', 'SUCCEEDED', 1));
    // the success, then the creation arriving late, then the success again (a redelivery under a new envelope)
    await apply(succeeded, created, event('PaymentSucceeded', view('pay_rm_1', 'SUCCEEDED', 1)));

    const [row] = await dataSource.query('SELECT status, sequence FROM payments WHERE payment_id = $1', ['pay_rm_1']);
    expect(row).toEqual({ status: 'SUCCEEDED', sequence: 1 });
    const stream = (await terminalEventsAfter(dataSource, terminal, '0')).events;
    expect(stream.map((e) => [e.eventId, e.type, e.payment.sequence])).toEqual([[succeeded.id, 'PaymentSucceeded', 1]]);
  });

  it('gives each terminal its own stream, in the order the views moved', async () => {
    const other = { ...view('pay_rm_3', 'PROCESSING', 0), terminalId: 'ter_rm_2' };
    await apply(event('PaymentCreated', view('pay_rm_2', 'PROCESSING', 0)), event('PaymentCreated', other), event('PaymentFailed', view('pay_rm_2', 'FAILED', 1)));

    const mine = (await terminalEventsAfter(dataSource, terminal, '0')).events.filter((e) => e.payment.paymentId === 'pay_rm_2');
    expect(mine.map((e) => e.type)).toEqual(['PaymentCreated', 'PaymentFailed']);
    expect(Number(mine[0].id)).toBeLessThan(Number(mine[1].id));
    const theirs = (await terminalEventsAfter(dataSource, { terminalId: 'ter_rm_2', merchantId: terminal.merchantId }, '0')).events;
    expect(theirs.map((e) => e.payment.paymentId)).toEqual(['pay_rm_3']);
  });

  it('appends a refund the orchestrator refused to the terminal stream once, though the payment itself did not move', async () => {
    const succeeded = view('pay_rm_refused', 'SUCCEEDED', 1);
    await apply(event('PaymentSucceeded', succeeded));
    await dataSource.query(
      `INSERT INTO refunds (refund_id, payment_id, refund_request_id, request_hash, status, view) VALUES ('ref_rm_refused', 'pay_rm_refused', 'R-1', 'h', 'PROCESSING', '{}')`,
    );
    // a refusal is answered with the payment as it stands: the same sequence
    const refused = {
      paymentId: 'pay_rm_refused', refundId: 'ref_rm_refused', refundRequestId: 'R-1', amount: { currency: 'HKD', value: '2000' },
      status: 'FAILED' as const, failure: { code: 'REFUND_EXCEEDS_PAID', message: 'refunds would total 2000 of 1250 HKD paid' }, origin: 'MERCHANT' as const,
    };
    const refusal = () => createEnvelope({ type: 'RefundFailed', key: 'pay_rm_refused', data: { payment: succeeded, refund: refused }, producer: 'payment-orchestrator', correlationId: 'pay_rm_refused' });
    const first = refusal();
    await apply(first, refusal()); // and again under a new envelope

    const [row] = await dataSource.query("SELECT status, view->'failure'->>'code' AS code FROM refunds WHERE refund_id = 'ref_rm_refused'");
    expect(row).toEqual({ status: 'FAILED', code: 'REFUND_EXCEEDS_PAID' });
    const stream = (await terminalEventsAfter(dataSource, terminal, '0')).events.filter((e) => e.payment.paymentId === 'pay_rm_refused');
    expect(stream.map((e) => [e.eventId, e.type, e.refund?.status])).toEqual([
      [expect.any(String), 'PaymentSucceeded', undefined],
      [first.id, 'RefundFailed', 'FAILED'],
    ]);
  });

  it('appends a refund\'s outcome that arrives after a newer event of its payment once, with the payment as it stands', async () => {
    const paid = (sequence: number, refunded: string): PaymentViewV1 => ({ ...view('pay_rm_late', 'SUCCEEDED', sequence), refundedAmount: { currency: 'HKD', value: refunded } });
    const refund = (refundId: string, status: RefundViewV1['status']): RefundViewV1 => ({
      paymentId: 'pay_rm_late', refundId, refundRequestId: `R-${refundId}`, amount: { currency: 'HKD', value: '100' }, status, origin: 'MERCHANT',
    });
    const refundEvent = (type: string, payment: PaymentViewV1, r: RefundViewV1) =>
      createEnvelope({ type, key: payment.paymentId, data: { payment, refund: r }, producer: 'payment-orchestrator', correlationId: payment.paymentId });
    await apply(event('PaymentSucceeded', paid(1, '0')));
    await dataSource.query(
      `INSERT INTO refunds (refund_id, payment_id, refund_request_id, request_hash, status, view) VALUES ('ref_rm_late_a', 'pay_rm_late', 'R-ref_rm_late_a', 'h', 'PROCESSING', '{}')`,
    );
    await apply(refundEvent('RefundRequested', paid(2, '0'), refund('ref_rm_late_a', 'PROCESSING')));
    // the first refund's success (sequence 3) comes late, redriven from the dead-letter topic: the next refund's
    // request (sequence 4) was applied first; then the success comes once more under a new envelope
    const latest = paid(4, '100');
    const succeeded = () => refundEvent('RefundSucceeded', paid(3, '100'), { ...refund('ref_rm_late_a', 'SUCCEEDED'), alipayRefundId: 'a1' });
    const late = succeeded();
    await apply(refundEvent('RefundRequested', latest, refund('ref_rm_late_b', 'PROCESSING')), late, succeeded());

    expect(await dataSource.query("SELECT status, sequence FROM payments WHERE payment_id = 'pay_rm_late'")).toEqual([{ status: 'SUCCEEDED', sequence: 4 }]);
    expect(await dataSource.query("SELECT status FROM refunds WHERE refund_id = 'ref_rm_late_a'")).toEqual([{ status: 'SUCCEEDED' }]);
    const stream = (await terminalEventsAfter(dataSource, terminal, '0')).events.filter((e) => e.payment.paymentId === 'pay_rm_late');
    // the POS hears the refund's outcome, and never sees the payment go back to an older view
    expect(stream.map((e) => [e.type, e.refund?.refundId, e.refund?.status, e.payment.sequence])).toEqual([
      ['PaymentSucceeded', undefined, undefined, 1],
      ['RefundRequested', 'ref_rm_late_a', 'PROCESSING', 2],
      ['RefundRequested', 'ref_rm_late_b', 'PROCESSING', 4],
      ['RefundSucceeded', 'ref_rm_late_a', 'SUCCEEDED', 4],
    ]);
    expect(stream[3]).toMatchObject({ eventId: late.id, payment: latest });
  });

  it('applies the saga\'s reversal refund though a refund of the merchant\'s already took its refundRequestId, rather than failing the event for ever', async () => {
    const succeeded = view('pay_rm_rev', 'SUCCEEDED', 1);
    await apply(event('PaymentSucceeded', succeeded));
    // a POS may name its refund anything, also what the saga names the refund that reverses a sale Alipay would not cancel
    await dataSource.query(
      `INSERT INTO refunds (refund_id, payment_id, refund_request_id, request_hash, status, view) VALUES ('ref_rm_pos', 'pay_rm_rev', 'rev_pay_rm_rev', 'h', 'PROCESSING', '{}')`,
    );
    const reversal = {
      paymentId: 'pay_rm_rev', refundId: 'rev_pay_rm_rev', refundRequestId: 'rev_pay_rm_rev', amount: { currency: 'HKD', value: '1250' },
      status: 'PROCESSING' as const, origin: 'CANCEL_FALLBACK' as const,
    };
    const requested = createEnvelope({ type: 'RefundRequested', key: 'pay_rm_rev', data: { payment: view('pay_rm_rev', 'SUCCEEDED', 2), refund: reversal }, producer: 'payment-orchestrator', correlationId: 'pay_rm_rev' });
    const refunded = { ...view('pay_rm_rev', 'CANCELLED', 3), refundedAmount: { currency: 'HKD', value: '1250' } };
    const cancelled = createEnvelope({ type: 'PaymentCancelled', key: 'pay_rm_rev', data: { payment: refunded }, producer: 'payment-orchestrator', correlationId: 'pay_rm_rev' });
    await apply(requested, cancelled);

    expect(await dataSource.query("SELECT status, sequence FROM payments WHERE payment_id = 'pay_rm_rev'")).toEqual([{ status: 'CANCELLED', sequence: 3 }]);
    // the merchant's refund stays as it was
    expect(await dataSource.query("SELECT refund_id, status FROM refunds WHERE payment_id = 'pay_rm_rev'")).toEqual([{ refund_id: 'ref_rm_pos', status: 'PROCESSING' }]);
    const stream = (await terminalEventsAfter(dataSource, terminal, '0')).events.filter((e) => e.payment.paymentId === 'pay_rm_rev');
    expect(stream.map((e) => [e.type, e.payment.sequence])).toEqual([['PaymentSucceeded', 1], ['RefundRequested', 2], ['PaymentCancelled', 3]]);
  });

  it('keeps a refused cancel by the refused command, once, leaves the view as it was, and appends each refused command once to the terminal stream', async () => {
    const succeeded = view('pay_rm_void', 'SUCCEEDED', 1);
    await apply(event('PaymentSucceeded', succeeded));
    const cause = { id: 'cmd-void-1', correlationId: 'pay_rm_void' };
    const failure = { code: 'PAYMENT_NOT_CANCELLABLE', message: 'the payment has refunds; refund the rest instead of cancelling' };
    const refusal = () => createEnvelope({ type: 'PaymentCancelRefused', key: 'pay_rm_void', data: { payment: succeeded, failure }, producer: 'payment-orchestrator', cause });
    // as the consumer reads it: the contract of payments.v1.events takes it
    const first = parseMessage(TOPICS.paymentEvents.name, JSON.parse(JSON.stringify(refusal())));
    await apply(first, refusal()); // and again under a new envelope
    // one an hour old goes when another comes
    await dataSource.query("UPDATE cancel_refusals SET refused_at = now() - interval '2 hours' WHERE command_id = 'cmd-void-1'");
    await apply(createEnvelope({ type: 'PaymentCancelRefused', key: 'pay_rm_void', data: { payment: succeeded, failure }, producer: 'payment-orchestrator', cause: { ...cause, id: 'cmd-void-2' } }));

    expect(await dataSource.query("SELECT command_id, code FROM cancel_refusals WHERE payment_id = 'pay_rm_void'")).toEqual([{ command_id: 'cmd-void-2', code: 'PAYMENT_NOT_CANCELLABLE' }]);
    expect(await dataSource.query("SELECT status, sequence FROM payments WHERE payment_id = 'pay_rm_void'")).toEqual([{ status: 'SUCCEEDED', sequence: 1 }]);
    const stream = (await terminalEventsAfter(dataSource, terminal, '0')).events.filter((e) => e.payment.paymentId === 'pay_rm_void');
    expect(stream.map((e) => [e.type, e.failure?.code])).toEqual([['PaymentSucceeded', undefined], ['PaymentCancelRefused', 'PAYMENT_NOT_CANCELLABLE'], ['PaymentCancelRefused', 'PAYMENT_NOT_CANCELLABLE']]);
  });

  it('applies two batches that touch the same two terminals in opposite orders side by side, without a deadlock', async () => {
    const on = (paymentId: string, terminalId: string) => event('PaymentCreated', { ...view(paymentId, 'PROCESSING', 0), terminalId });
    const batches = [
      [on('pay_rm_a1', 'ter_rm_x'), on('pay_rm_a2', 'ter_rm_y')],
      [on('pay_rm_b1', 'ter_rm_y'), on('pay_rm_b2', 'ter_rm_x')],
    ];
    // each batch applies its first event, then waits (half a second at most) for the other to have applied its
    // own first one: event by event, each would now hold the lock the other needs next
    let halfway = 0;
    const apply = (batch: ReturnType<typeof on>[]) =>
      dataSource.transaction(async (manager) => {
        await payments.lockTerminals(manager, batch);
        await payments.applyEvent(manager, batch[0]);
        halfway++;
        for (let waited = 0; halfway < 2 && waited < 500; waited += 10) await sleep(10);
        await payments.applyEvent(manager, batch[1]);
      });
    await Promise.all(batches.map(apply));

    for (const terminalId of ['ter_rm_x', 'ter_rm_y']) {
      const stream = (await terminalEventsAfter(dataSource, { terminalId, merchantId: terminal.merchantId }, '0')).events;
      expect(stream.map((e) => e.payment.paymentId).sort()).toEqual(terminalId === 'ter_rm_x' ? ['pay_rm_a1', 'pay_rm_b2'] : ['pay_rm_a2', 'pay_rm_b1']);
    }
  });

  it('deletes stream events older than the retention and keeps the rest, with the payments', async () => {
    await apply(event('PaymentCreated', view('pay_rm_old', 'PROCESSING', 0)), event('PaymentCreated', view('pay_rm_recent', 'PROCESSING', 0)));
    await dataSource.query("UPDATE terminal_events SET created_at = now() - interval '73 hours' WHERE payment_id = 'pay_rm_old'");
    const retention = new TerminalEventsRetention(dataSource, testLogger(), new Metrics('test'), { adminToken: 'x', rateLimitPerSecond: 1, defaultWaitSeconds: 0, terminalEventsRetentionHours: 72 });

    expect(await retention.prune()).toBe(1);
    const left = (await terminalEventsAfter(dataSource, terminal, '0')).events;
    expect(left.map((e) => e.payment.paymentId)).not.toContain('pay_rm_old');
    expect(left.map((e) => e.payment.paymentId)).toContain('pay_rm_recent');
    // the read model itself is not the stream: the payment stays readable
    expect(await dataSource.query("SELECT status FROM payments WHERE payment_id = 'pay_rm_old'")).toEqual([{ status: 'PROCESSING' }]);
    expect(await retention.prune()).toBe(0);
  });
});
