import type { DataSource } from 'typeorm';
import { MESSAGE_EXAMPLES, TOPICS } from '@upm/contracts';
import type { RequestPaymentV1 } from '@upm/contracts';
import { DEFAULT_SAGA_CONFIG, SagaInput } from '@upm/payments-domain';
import { Metrics } from '@upm/shared-observability';
import { freshDatabase, testLogger } from '@upm/shared-testing';
import { ORCHESTRATOR_DATABASE } from './database';
import { SagaRunner } from './saga-runner';
import { TimerPoller } from './timer-poller';

let dataSource: DataSource;
const metrics = new Metrics('test');
const runner = new SagaRunner(DEFAULT_SAGA_CONFIG, testLogger(), metrics);

beforeAll(async () => {
  ({ dataSource } = await freshDatabase('upm_test_timer_poller', ORCHESTRATOR_DATABASE));
});

afterAll(async () => {
  await dataSource.destroy();
});

const requestPayment = (paymentId: string): SagaInput => ({
  type: 'RequestPayment',
  data: { ...(MESSAGE_EXAMPLES[TOPICS.paymentCommands.name].RequestPayment as RequestPaymentV1), paymentId, requestedAt: new Date().toISOString() },
});

describe('TimerPoller', () => {
  it('goes on firing the other sagas\' timers when one saga fails, and postpones the failed one\'s', async () => {
    const [broken, healthy] = ['tp_broken', 'tp_healthy'];
    for (const paymentId of [broken, healthy]) await dataSource.transaction((manager) => runner.run(manager, paymentId, requestPayment(paymentId)));
    // both answer deadlines are due, the broken saga's first; its stored state lost a field every step reads
    await dataSource.query("UPDATE timers SET due_at = now() - interval '2 seconds' WHERE payment_id = $1", [broken]);
    await dataSource.query("UPDATE timers SET due_at = now() - interval '1 second' WHERE payment_id = $1", [healthy]);
    await dataSource.query("UPDATE sagas SET state = state - 'attempts' WHERE payment_id = $1", [broken]);

    const poller = new TimerPoller(dataSource, runner, 50, testLogger(), metrics);
    expect(await poller.fireDue()).toBe(1);

    const sagas: Array<{ payment_id: string; status: string }> = await dataSource.query('SELECT payment_id, status FROM sagas WHERE payment_id LIKE $1 ORDER BY payment_id', ['tp_%']);
    expect(sagas).toEqual([{ payment_id: broken, status: 'PAY_SENT' }, { payment_id: healthy, status: 'INQUIRING' }]);
    const [postponed]: Array<{ seconds: number }> = await dataSource.query('SELECT extract(epoch FROM due_at - now())::float AS seconds FROM timers WHERE payment_id = $1', [broken]);
    expect(postponed.seconds).toBeGreaterThan(3);
    // the next round has nothing due: the broken saga no longer comes first every time
    expect(await poller.fireDue()).toBe(0);
    expect(await metrics.registry.getSingleMetricAsString('upm_saga_timer_failures_total')).toMatch(/^upm_saga_timer_failures_total\{[^}]*\} 1$/m);
  });
});
