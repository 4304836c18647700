import type { DataSource } from 'typeorm';
import { DEFAULT_SAGA_CONFIG, SagaInput } from '@upm/payments-domain';
import { collectOutbox } from '@upm/shared-kafka';
import { Metrics } from '@upm/shared-observability';
import { freshDatabase, testLogger } from '@upm/shared-testing';
import { ORCHESTRATOR_DATABASE } from './database';
import { SagaRunner } from './saga-runner';

let dataSource: DataSource;

beforeAll(async () => {
  ({ dataSource } = await freshDatabase('upm_test_saga_runner_metrics', ORCHESTRATOR_DATABASE));
});

afterAll(async () => {
  await dataSource.destroy();
});

const requestPayment = (paymentId: string): SagaInput => ({
  type: 'RequestPayment',
  data: {
    paymentId, merchantOrderId: `order-${paymentId}`, amount: { currency: 'HKD', value: '1250' }, paymentCode: '281012020000000000000000',
    merchant: { merchantId: 'mer_1', merchantName: 'Harbour Coffee', merchantMcc: '5812', storeId: 'sto_1', storeName: 'Central', storeMcc: '5812', terminalId: 'ter_1' },
    requestedAt: new Date().toISOString(),
  },
});
const payResult = (paymentId: string): SagaInput => ({
  type: 'PayResult',
  data: { paymentId, paymentRequestId: paymentId, attempt: 0, outcome: 'S', resultCode: 'SUCCESS', alipayPaymentId: '2026112719401080010018810000000001', paymentTime: '2026-11-27T12:06:02+08:00' },
});

describe('SagaRunner: metrics of a rolled-back transaction', () => {
  it('counts a payment final once when the batch that made it SUCCEEDED rolled back and its messages were applied one by one', async () => {
    const metrics = new Metrics('test');
    const runner = new SagaRunner(DEFAULT_SAGA_CONFIG, testLogger(), metrics);
    const [a, b] = ['rolled_back_a', 'rolled_back_b'];
    const final = async () => (await metrics.text()).split('\n').filter((line) => line.startsWith('upm_payments_final_total{'));
    // the consumer's batch, in one transaction: a reaches SUCCEEDED, then b's message fails
    await expect(dataSource.transaction((m) => collectOutbox(m, () => runner.inBatch(m, [a, a, b], async () => {
      await runner.run(m, a, requestPayment(a));
      await runner.run(m, a, payResult(a));
      throw new Error('b failed');
    })))).rejects.toThrow('b failed');
    expect(await final()).toEqual([]);
    // ...then a's messages are applied one by one, each in its transaction
    for (const input of [requestPayment(a), payResult(a)]) await dataSource.transaction((m) => collectOutbox(m, () => runner.run(m, a, input)));
    const [saga]: Array<{ status: string }> = await dataSource.query('SELECT status FROM sagas WHERE payment_id = $1', [a]);
    expect(saga.status).toBe('SUCCEEDED');
    expect(await final()).toEqual(['upm_payments_final_total{status="SUCCEEDED",failure_code="",service="test"} 1']);
  });
});
