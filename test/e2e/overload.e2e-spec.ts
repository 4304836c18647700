import { eventually, sleep } from '@upm/shared-testing';
import { Platform, startPlatform } from './support/platform';
import { PosClient } from './support/pos-client';
import { scrape } from './support/prometheus-text';

let platform: Platform;
let pos: PosClient;
const hkd = (value: string) => ({ currency: 'HKD', value });
/** the floor of a gateway's limit on payments waiting for Alipay's first answer (docs/architecture.md, load shedding) */
const LIMIT_FLOOR = 20;

/**
 * A hanging pay call is given up after 3 s (the sandbox holds it for 10 s), so a wave of them stays unanswered
 * long enough for all of it to be confirmed, even on a busy machine.
 */
const CALL_TIMEOUT = { ALIPAY_HTTP_TIMEOUT_MS: '3000' };

beforeAll(async () => {
  platform = await startPlatform('overload', 3900, {
    'terminal-gateway': { GATEWAY_SHED_AFTER_MS: '1500', GATEWAY_ANSWER_TARGET_MS: '700' },
    'alipay-connector': CALL_TIMEOUT,
    'payment-orchestrator': CALL_TIMEOUT,
    'alipay-sandbox': { SANDBOX_HANG_MS: '100000' },
  });
  pos = await platform.onboard('Overload Mart');
}, 120_000);

afterAll(async () => {
  await platform?.stop();
});

const metric = async (name: string) => (await scrape(platform.urls.gateway)).sum(name);

const refusedTotal = () => metric('upm_gateway_payments_refused_total');

describe('load shedding', () => {
  it('refuses new payments cheaply while an accepted one waits for the orchestrator, keeps answering reads, and accepts again once it catches up', async () => {
    await platform.services.get('payment-orchestrator')!.stop('SIGKILL');
    const waiting = { merchantOrderId: PosClient.orderId('waiting'), amount: hkd('1250'), paymentCode: PosClient.code('00') };
    const first = pos.pay({ ...waiting, waitSeconds: 25 }); // accepted, but nobody confirms it
    await sleep(2000);

    const refusedOrder = { merchantOrderId: PosClient.orderId('refused'), amount: hkd('800'), paymentCode: PosClient.code('00'), waitSeconds: 5 };
    const refused = await pos.pay(refusedOrder);
    expect(refused.status).toBe(503);
    expect(refused.body).toMatchObject({ error: { code: 'OVERLOADED' } });
    expect(refused.headers.get('retry-after')).toBe('1');
    expect((await pos.request('GET', `/v1/payments?merchantOrderId=${refusedOrder.merchantOrderId}`)).status).toBe(404);
    expect(await refusedTotal()).toBe(1);

    // refusing never looks anything up, so a retry of a created order waits too; reads still answer at once
    expect((await pos.pay({ ...waiting, waitSeconds: 0 })).status).toBe(503);
    const lookup = await pos.request<{ paymentId: string; status: string }>('GET', `/v1/payments?merchantOrderId=${waiting.merchantOrderId}`);
    expect(lookup.body.status).toBe('PROCESSING');
    expect(await refusedTotal()).toBe(2);

    await platform.start('payment-orchestrator');
    const accepted = await first;
    expect(accepted.body).toMatchObject({ paymentId: lookup.body.paymentId, status: 'SUCCEEDED' });
    // the retry of the created order is answered with it once the platform has caught up
    const replay = await pos.pay({ ...waiting, waitSeconds: 0 });
    expect(replay.status).toBe(200);
    expect(replay.body.paymentId).toBe(lookup.body.paymentId);

    const retried = await pos.pay(refusedOrder);
    expect(retried.status).toBe(201);
    expect(retried.body.status).toBe('SUCCEEDED');
    for (const paymentId of [accepted.body.paymentId, retried.body.paymentId]) {
      expect((await platform.sandboxPayment(paymentId))!.calls.pay).toBe(1);
    }
    expect(await refusedTotal()).toBe(2);
  }, 90_000);

  it('limits how many new payments wait for the first answer from Alipay once answers come late, and lets one in as each is answered', async () => {
    // pay calls Alipay never answers: each waits out the connector's 3 s call timeout before the saga reports
    // the payment PROCESSING (inquiring), past the gateway's 700 ms target, so the limit shrinks to its floor
    const hang = () => ({ merchantOrderId: PosClient.orderId('hang'), amount: hkd('300'), paymentCode: PosClient.code('84'), waitSeconds: 15 });
    const firstWave = Array.from({ length: LIMIT_FLOOR }, hang);
    const answers = firstWave.map((order) => pos.payRetrying(order));
    // every one of them answered, late: the limit is at its floor and all of it is free
    await eventually(async () => ((await metric('upm_gateway_unanswered_limit')) === LIMIT_FLOOR && (await metric('upm_gateway_unanswered_payments')) === 0 ? true : undefined), 20_000, 50);
    const secondWave = Array.from({ length: LIMIT_FLOOR }, hang);
    answers.push(...secondWave.map((order) => pos.payRetrying(order)));
    // all of them confirmed by the orchestrator (so the first rule has nothing to refuse for), none answered yet
    await eventually(async () => ((await metric('upm_gateway_unanswered_payments')) === LIMIT_FLOOR && (await metric('upm_gateway_unconfirmed_payments')) === 0 ? true : undefined), 10_000, 20);
    const refusedBefore = await refusedTotal();

    const order = { merchantOrderId: PosClient.orderId('after-slow'), amount: hkd('500'), paymentCode: PosClient.code('00'), waitSeconds: 10 };
    const refused = await pos.pay(order);
    expect(refused.status).toBe(503);
    expect(refused.body).toMatchObject({ error: { code: 'OVERLOADED' } });
    expect((await pos.request('GET', `/v1/payments?merchantOrderId=${order.merchantOrderId}`)).status).toBe(404);
    expect(await refusedTotal()).toBe(refusedBefore + 1);

    const retried = await pos.payRetrying(order);
    expect(retried.status).toBe(201);
    expect(retried.body.status).toBe('SUCCEEDED');
    expect((await platform.sandboxPayment(retried.body.paymentId))!.calls.pay).toBe(1);
    for (const answer of await Promise.all(answers)) {
      expect(answer.status).toBe(201);
      expect(answer.body).toMatchObject({ status: 'FAILED', failure: { code: 'ORDER_NOT_EXIST' } });
    }
  }, 90_000);
});
