import type { EntityManager, EntitySubscriberInterface } from 'typeorm';
import { DEFAULT_SAGA_CONFIG, SagaInput, SagaState } from '@upm/payments-domain';
import { collectOutbox } from '@upm/shared-kafka';
import { Metrics } from '@upm/shared-observability';
import { testLogger } from '@upm/shared-testing';
import { SagaRunner } from './saga-runner';

/**
 * A database of committed saga rows, with TypeORM's transaction as the runner sees it: each transaction sees the
 * committed rows, commits its writes only if its work ends well, and then tells the subscribers (or that it rolled back).
 */
class FakeDb {
  readonly sagas = new Map<string, SagaState>();
  readonly subscribers: EntitySubscriberInterface[] = [];

  async transaction<T>(work: (m: EntityManager) => Promise<T>): Promise<T> {
    const pending = new Map<string, SagaState>();
    const queryRunner = { connection: this, isTransactionActive: true };
    const manager = {
      connection: this,
      queryRunner,
      query: async (sql: string, params: unknown[]) => {
        if (sql.includes('FROM sagas WHERE payment_id = ANY')) {
          return (params[0] as string[]).filter((id) => this.sagas.has(id)).map((id) => ({ payment_id: id, state: this.sagas.get(id) }));
        }
        if (sql.includes('INSERT INTO sagas')) for (const s of JSON.parse(params[0] as string)) pending.set(s.payment_id, s.state);
        return [];
      },
    } as unknown as EntityManager;
    Object.assign(queryRunner, { manager });
    const event = { connection: this, queryRunner, manager } as never;
    let result: T;
    try {
      result = await work(manager);
    } catch (error) {
      queryRunner.isTransactionActive = false;
      for (const subscriber of this.subscribers) await subscriber.afterTransactionRollback?.(event);
      throw error;
    }
    for (const [id, state] of pending) this.sagas.set(id, state);
    queryRunner.isTransactionActive = false;
    for (const subscriber of this.subscribers) await subscriber.afterTransactionCommit?.(event);
    return result;
  }
}

const merchant = { merchantId: 'mer_1', merchantName: 'Harbour Coffee', merchantMcc: '5812', storeId: 'sto_1', storeName: 'Central', storeMcc: '5812', terminalId: 'ter_1' };
const requestPayment = (paymentId: string): SagaInput => ({
  type: 'RequestPayment',
  data: { paymentId, merchantOrderId: `order-${paymentId}`, amount: { currency: 'HKD', value: '1250' }, paymentCode: '281012020000000000000000', merchant, requestedAt: new Date().toISOString() },
});
const paid = { alipayPaymentId: '2026112719401080010018810000000001', paymentTime: '2026-11-27T12:06:02+08:00' };
const payResult = (paymentId: string): SagaInput => ({
  type: 'PayResult',
  data: { paymentId, paymentRequestId: paymentId, attempt: 0, outcome: 'S', resultCode: 'SUCCESS', ...paid },
});
const notifiedOtherAmount = (paymentId: string): SagaInput => ({
  type: 'PaymentNotified',
  data: { paymentId, paymentRequestId: paymentId, outcome: 'S', resultCode: 'SUCCESS', amount: { currency: 'HKD', value: '1150' }, ...paid },
});

const counted = async (metrics: Metrics, name: string) =>
  (await metrics.text()).split('\n').filter((line) => line.startsWith(`${name}{`)).map((line) => line.replace(/service="test",?/, '').replace(',}', '}'));

describe('SagaRunner: metrics and review alerts are emitted once the step\'s transaction commits', () => {
  const a = 'pay_a0000000000000000000000001';
  const b = 'pay_b0000000000000000000000001';

  it('counts a payment final once when it reached SUCCEEDED in a batch that rolled back (another message failed) and was applied again', async () => {
    const metrics = new Metrics('test');
    const runner = new SagaRunner(DEFAULT_SAGA_CONFIG, testLogger(), metrics);
    const db = new FakeDb();
    // the consumer's batch: all of it in one transaction; b's handler fails, so it rolls back
    await expect(db.transaction((m) => collectOutbox(m, () => runner.inBatch(m, [a, a, b], async () => {
      await runner.run(m, a, requestPayment(a));
      await runner.run(m, a, payResult(a));
      throw new Error('b failed');
    })))).rejects.toThrow('b failed');
    expect(await counted(metrics, 'upm_payments_final_total')).toEqual([]);
    // ...then its messages are applied one by one: a's two succeed
    await db.transaction((m) => collectOutbox(m, () => runner.inBatch(m, [a], () => runner.run(m, a, requestPayment(a)))));
    await db.transaction((m) => collectOutbox(m, () => runner.inBatch(m, [a], () => runner.run(m, a, payResult(a)))));
    expect(db.sagas.get(a)?.status).toBe('SUCCEEDED');
    expect(await counted(metrics, 'upm_payments_final_total')).toEqual(['upm_payments_final_total{status="SUCCEEDED",failure_code=""} 1']);
    expect(await counted(metrics, 'upm_saga_step_seconds_count')).toEqual(['upm_saga_step_seconds_count{status="SUCCEEDED"} 1']);
  });

  it('raises the needs-review alert once when the step that put the payment in review was rolled back and ran again', async () => {
    const metrics = new Metrics('test');
    const logger = testLogger();
    const errors = jest.spyOn(logger, 'error');
    const alerts = () => errors.mock.calls.filter(([, message]) => String(message).startsWith('payment needs review'));
    const runner = new SagaRunner(DEFAULT_SAGA_CONFIG, logger, metrics);
    const db = new FakeDb();
    for (const input of [requestPayment(a), payResult(a)]) await db.transaction((m) => runner.run(m, a, input));
    // a notification for another amount puts the payment in review, but the store of its transaction fails
    await expect(db.transaction(async (m) => {
      await runner.run(m, a, notifiedOtherAmount(a));
      expect(alerts()).toEqual([]);
      throw new Error('the database went away');
    })).rejects.toThrow('the database went away');
    expect(await counted(metrics, 'upm_payments_needs_review_total')).toEqual([]);
    await db.transaction((m) => runner.run(m, a, notifiedOtherAmount(a)));
    expect(db.sagas.get(a)?.status).toBe('NEEDS_REVIEW');
    expect(alerts()).toHaveLength(1);
    expect(await counted(metrics, 'upm_payments_needs_review_total')).toEqual(['upm_payments_needs_review_total{kind="AMOUNT_MISMATCH"} 1']);
    expect(await counted(metrics, 'upm_payments_final_total')).toEqual(['upm_payments_final_total{status="SUCCEEDED",failure_code=""} 1']);
  });
});
