import { readTopic, sleep, testKafka } from '@upm/shared-testing';
import matrix from '../scenarios/payment-matrix.json';
import { AppName, Platform, startPlatform } from './support/platform';
import { PosClient } from './support/pos-client';

/**
 * The payment matrix of CONTRACTS.md §2, driven through the POS API against every real service and the
 * sandbox: the final status, what the sandbox received, and what was published on payments.v1.events.
 */
interface Scenario {
  name: string;
  suffix: string;
  abortAfterMs?: number;
  expect: {
    status: string;
    failure?: string;
    refunded?: boolean;
    sandbox: { status?: string; calls: Record<string, number | string> };
    events: string[];
  };
}

let platform: Platform;
let pos: PosClient;

beforeAll(async () => {
  platform = await startPlatform('payflow', 3200);
  pos = await platform.onboard('Harbour Coffee');
}, 120_000);

afterAll(async () => {
  await platform?.stop();
});

async function eventsOf(paymentId: string, last: string): Promise<Array<{ type: string; data: { payment: { sequence: number; status: string } } }>> {
  const messages = await readTopic(testKafka('payflow-reader'), `${platform.prefix}payments.v1.events`, (all) => all.some((m) => m.key === paymentId && (m.value as { type: string }).type === last), 20_000);
  return messages.filter((m) => m.key === paymentId).map((m) => m.value as never);
}

describe('payment matrix', () => {
  it.each((matrix as unknown as Scenario[]).map((s) => [`${s.suffix} ${s.name}`, s] as const))('%s', async (_title, scenario) => {
    const amount = { currency: 'HKD', value: '1250' };
    const created = await pos.pay({ merchantOrderId: PosClient.orderId(scenario.suffix), amount, paymentCode: PosClient.code(scenario.suffix), waitSeconds: scenario.abortAfterMs === undefined ? 20 : 0 });
    expect([200, 201, 202]).toContain(created.status);
    const { paymentId } = created.body;
    if (scenario.abortAfterMs !== undefined) {
      await sleep(scenario.abortAfterMs);
      const cancelled = await pos.cancel(paymentId, 20);
      expect([200, 202]).toContain(cancelled.status);
    }
    const payment = await pos.final(paymentId);
    expect(payment.status).toBe(scenario.expect.status);
    if (scenario.expect.failure) expect(payment.failure?.code).toBe(scenario.expect.failure);
    if (scenario.expect.refunded) expect(payment.refundedAmount).toEqual(amount);

    const last = scenario.expect.events.at(-1)!;
    const events = await eventsOf(paymentId, last);
    expect(events.map((e) => e.type)).toEqual(scenario.expect.events);
    expect(events.map((e) => e.data.payment.sequence)).toEqual(events.map((_, i) => i));

    const seen = await platform.sandboxPayment(paymentId);
    expect(seen).toBeDefined();
    if (scenario.expect.sandbox.status) expect(seen!.status).toBe(scenario.expect.sandbox.status);
    const calls: Record<string, number> = seen!.calls;
    for (const [call, want] of Object.entries(scenario.expect.sandbox.calls)) {
      const count = calls[call];
      if (typeof want === 'string') expect(count).toBeGreaterThanOrEqual(Number(want.slice(2)));
      else expect({ call, count }).toEqual({ call, count: want });
    }
  }, 60_000);
});

describe('trace ids without an exporter', () => {
  it('gives the log lines of one payment one trace id, from the POS request to the AMS call', async () => {
    const created = await pos.pay({ merchantOrderId: PosClient.orderId('trace-log'), amount: { currency: 'HKD', value: '88' }, paymentCode: PosClient.code('00') });
    expect(created.body.status).toBe('SUCCEEDED');
    const { paymentId } = created.body;
    const lines = (app: AppName, msg: string) => platform.services.get(app)!.logs.filter((l) => l.paymentId === paymentId && l.msg === msg);

    const accepted = lines('terminal-gateway', 'payment accepted');
    expect(accepted).toHaveLength(1);
    const traceId = accepted[0].traceId;
    expect(traceId).toMatch(/^[0-9a-f]{32}$/);
    // the command's handling (orchestrator) and the pay call (connector, over Kafka) continue the POS request's trace
    const created0 = lines('payment-orchestrator', 'payment event').find((l) => l.event === 'PaymentCreated');
    expect(created0?.traceId).toBe(traceId);
    const pay = lines('alipay-connector', 'AMS call').find((l) => l.endpoint === 'pay');
    expect(pay?.traceId).toBe(traceId);
  }, 60_000);
});
