import { Client } from 'pg';
import { eventually, readTopic, sleep, testKafka } from '@upm/shared-testing';
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

/** The calling terminal's event stream (GET /v1/terminals/me/events), replayed from its start, until `until` holds. */
async function terminalEvents(client: PosClient, until: (events: StreamEvent[]) => boolean): Promise<StreamEvent[]> {
  const abort = new AbortController();
  const response = await fetch(`${client.baseUrl}/v1/terminals/me/events?lastEventId=0`, { headers: { authorization: `Bearer ${client.key}`, accept: 'text/event-stream' }, signal: abort.signal });
  expect(response.status).toBe(200);
  const events: StreamEvent[] = [];
  const timer = setTimeout(() => abort.abort(), 20_000);
  const decoder = new TextDecoder();
  let buffer = '';
  try {
    for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
      buffer += decoder.decode(chunk, { stream: true });
      for (let end = buffer.indexOf('\n\n'); end >= 0; end = buffer.indexOf('\n\n')) {
        const data = buffer.slice(0, end).split('\n').filter((line) => line.startsWith('data: ')).map((line) => line.slice(6)).join('');
        buffer = buffer.slice(end + 2);
        if (data) events.push(JSON.parse(data) as StreamEvent);
      }
      if (until(events)) break;
    }
  } catch {
    // aborted: answer what came
  } finally {
    clearTimeout(timer);
    abort.abort();
  }
  return events;
}

interface StreamEvent {
  eventId: string;
  type: string;
  payment: { paymentId: string; status: string; sequence: number };
  failure?: { code: string; message: string };
}

describe('a cancel the orchestrator refuses', () => {
  it('answers the POS with its stable code, on the waiting request and on the event stream, and leaves the payment as it was', async () => {
    const hkd = (value: string) => ({ currency: 'HKD', value });
    const paid = await pos.pay({ merchantOrderId: PosClient.orderId('refused-void'), amount: hkd('1250'), paymentCode: PosClient.code('00') });
    expect(paid.body.status).toBe('SUCCEEDED');
    const { paymentId } = paid.body;
    const refund = await pos.refund(paymentId, { refundRequestId: PosClient.orderId('part'), amount: hkd('500'), waitSeconds: 20 });
    expect(refund).toMatchObject({ status: 201, body: { status: 'SUCCEEDED' } });
    const before = await eventually(async () => ((p) => (p.refundedAmount.value === '500' ? p : undefined))((await pos.get(paymentId)).body), 20_000, 100);

    // The gateway refuses a void of a refunded payment itself; here its copy of the refund is gone (its database
    // restored from a backup older than the refund), so the cancel reaches the orchestrator, which holds the refund.
    const gatewayDb = new Client({ connectionString: platform.env['terminal-gateway'].DATABASE_URL });
    await gatewayDb.connect();
    try {
      expect((await gatewayDb.query('DELETE FROM refunds WHERE payment_id = $1', [paymentId])).rowCount).toBe(1);
    } finally {
      await gatewayDb.end();
    }

    const cancel = await pos.cancel(paymentId, 20);
    expect(cancel).toMatchObject({ status: 422, body: { error: { code: 'PAYMENT_NOT_CANCELLABLE' } } });

    // the payment is unchanged, for the POS and at Alipay: no cancel was sent, the sale and its refund stand
    expect((await pos.get(paymentId)).body).toEqual(before);
    expect(await platform.sandboxPayment(paymentId)).toMatchObject({ status: 'SUCCESS', refundedAmount: hkd('500'), calls: { pay: 1, cancel: 0, refund: 1 } });

    // a POS listening only to its stream learns the refusal and its code there, with the payment as it stands
    const refusedOn = (events: StreamEvent[]) => events.find((e) => e.payment.paymentId === paymentId && e.type === 'PaymentCancelRefused');
    const refused = refusedOn(await terminalEvents(pos, (events) => refusedOn(events) !== undefined));
    expect(refused).toMatchObject({ payment: { status: 'SUCCEEDED', sequence: before.sequence }, failure: { code: 'PAYMENT_NOT_CANCELLABLE' } });
    expect(refused!.failure!.message).not.toMatch(/CANCELLING|REVERSAL|REFUNDING_REVERSAL/);

    // on payments.v1.events too, and nothing else follows it for the payment
    const events = await eventsOf(paymentId, 'PaymentCancelRefused');
    expect(events.map((e) => e.type)).toEqual(['PaymentCreated', 'PaymentSucceeded', 'RefundRequested', 'RefundSucceeded', 'PaymentCancelRefused']);
  }, 60_000);
});
