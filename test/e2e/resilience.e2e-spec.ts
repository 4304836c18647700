import { sleep } from '@upm/shared-testing';
import { Platform, startPlatform } from './support/platform';
import { PosClient } from './support/pos-client';

/** Processes die; payments do not. Every service here is a real process killed with SIGKILL. */
let platform: Platform;
let pos: PosClient;
const hkd = (value: string) => ({ currency: 'HKD', value });

beforeAll(async () => {
  // inquiries slow enough that a kill lands in the middle of them
  platform = await startPlatform('resilience', 3400, { 'payment-orchestrator': { SAGA_INQUIRY_INTERVAL_MS: '500', SAGA_MAX_INQUIRIES: '6' } });
  pos = await platform.onboard('Harbour Coffee');
}, 120_000);

afterAll(async () => {
  await platform?.stop();
});

describe('a service killed mid-payment', () => {
  it('the orchestrator killed while inquiring resumes after restart and finishes with no duplicate pay or cancel', async () => {
    const created = await pos.pay({ merchantOrderId: PosClient.orderId('kill'), amount: hkd('1250'), paymentCode: PosClient.code('82'), waitSeconds: 0 });
    const paymentId = created.body.paymentId;
    await sleep(1200);
    const before = await platform.sandboxPayment(paymentId);
    expect(before!.calls.inquiryPayment).toBeGreaterThanOrEqual(1);
    expect(before!.calls.cancel).toBe(0);
    await platform.services.get('payment-orchestrator')!.stop('SIGKILL');
    await sleep(1500);
    expect((await pos.get(paymentId)).body.status).toBe('PROCESSING');
    await platform.start('payment-orchestrator');

    const payment = await pos.final(paymentId);
    expect(payment.status).toBe('CANCELLED');
    const after = await platform.sandboxPayment(paymentId);
    expect(after!.calls.pay).toBe(1);
    expect(after!.calls.cancel).toBe(1);
    expect(after!.calls.inquiryPayment).toBeGreaterThanOrEqual(6);
  }, 60_000);

  it('a payment the gateway answered survives the gateway being killed right after, even with the orchestrator down', async () => {
    await platform.services.get('payment-orchestrator')!.stop('SIGKILL');
    const created = await pos.pay({ merchantOrderId: PosClient.orderId('handoff'), amount: hkd('900'), paymentCode: PosClient.code('00'), waitSeconds: 0 });
    expect(created.status).toBe(202);
    await platform.services.get('terminal-gateway')!.stop('SIGKILL');
    await platform.start('payment-orchestrator');
    await platform.start('terminal-gateway');
    const payment = await pos.final(created.body.paymentId);
    expect(payment.status).toBe('SUCCEEDED');
    expect((await platform.sandboxPayment(created.body.paymentId))!.calls.pay).toBe(1);
  }, 60_000);

  it('the connector killed with a command in hand: the payment still ends, charged once', async () => {
    const created = await pos.pay({ merchantOrderId: PosClient.orderId('conn'), amount: hkd('700'), paymentCode: PosClient.code('80'), waitSeconds: 0 });
    await sleep(150);
    await platform.services.get('alipay-connector')!.stop('SIGKILL');
    await sleep(500);
    await platform.start('alipay-connector');
    const payment = await pos.final(created.body.paymentId);
    expect(payment.status).toBe('SUCCEEDED');
    const seen = await platform.sandboxPayment(created.body.paymentId);
    expect(seen!.status).toBe('SUCCESS');
    // a re-sent pay is answered from Alipay's idempotency: one payment, one charge
    expect(seen!.calls.pay).toBeGreaterThanOrEqual(1);
  }, 60_000);
});

describe('observability', () => {
  it('one payment carries one trace id through gateway, orchestrator and connector logs', async () => {
    const created = await pos.pay({ merchantOrderId: PosClient.orderId('trace'), amount: hkd('300'), paymentCode: PosClient.code('00') });
    const { paymentId } = created.body;
    expect(created.body.status).toBe('SUCCEEDED');
    await sleep(300);
    const traceIds = (app: 'terminal-gateway' | 'payment-orchestrator' | 'alipay-connector', msg: string) =>
      new Set(platform.services.get(app)!.logs.filter((l) => l.paymentId === paymentId && l.msg === msg).map((l) => l.traceId));
    const gateway = traceIds('terminal-gateway', 'payment accepted');
    const orchestrator = traceIds('payment-orchestrator', 'payment event');
    const connector = traceIds('alipay-connector', 'AMS call');
    expect(gateway.size).toBe(1);
    const [traceId] = [...gateway];
    expect(traceId).toMatch(/^[0-9a-f]{32}$/);
    expect(traceId).not.toBe('0'.repeat(32));
    expect([...orchestrator]).toEqual([traceId]);
    expect([...connector]).toEqual([traceId]);
  });
});
