import { get, IncomingMessage } from 'node:http';
import { Module } from '@nestjs/common';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { Redis } from 'ioredis';
import { DataSource } from 'typeorm';
import type { PaymentViewV1, RefundViewV1 } from '@upm/contracts';
import { Metrics } from '@upm/shared-observability';
import { RedisModule } from '@upm/shared-redis';
import { RuntimeModule } from '@upm/shared-runtime';
import { eventually, freshDatabase, sleep, tcpProxy, TcpProxy } from '@upm/shared-testing';
import { GATEWAY_DATABASE } from '../database';
import { GATEWAY_OPTIONS, GatewayOptions } from '../gateway.options';
import { Admission } from '../payments/admission';
import { PaymentUpdates } from '../payments/payment-updates';
import { PaymentsService } from '../payments/payments.service';
import { TerminalRateLimiter } from '../payments/rate-limiter';
import { RegistryService } from '../registry/registry.service';
import { TerminalEventsHub } from '../terminal-events/terminal-events';
import { hkd, posApiTestKit, serveGateway } from '../testing/pos-api-test-kit';
import { TerminalGuard } from './auth.guards';
import { PosController } from './pos.controller';
import { TerminalEventsController } from './terminal-events.controller';

/**
 * The POS API while Redis is away: the gateway wired to Redis as the service is (RedisModule, its readiness
 * check), through a proxy the test cuts, with the real controllers and PostgreSQL. Reads go on, rate-limited on
 * the replica alone; payments and refunds, which need Redis' idempotency lock, are refused with a stable code.
 */
let dataSource: DataSource;
let proxy: TcpProxy;
let app: NestExpressApplication;
let redis: Redis;
let baseUrl: string;

const options: GatewayOptions = { adminToken: 'x', rateLimitPerSecond: 1000, defaultWaitSeconds: 0, shedAfterMs: 0, answerTargetMs: 0, sseHeartbeatMs: 200 };

beforeAll(async () => {
  ({ dataSource } = await freshDatabase('upm_test_gateway_redis_outage', GATEWAY_DATABASE));
  const target = new URL(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379/0');
  proxy = await tcpProxy(Number(target.port || 6379), target.hostname);
  target.host = `127.0.0.1:${proxy.port}`;

  @Module({
    imports: [RuntimeModule.forRoot({ service: 'terminal-gateway', logLevel: process.env.TEST_LOG_LEVEL ?? 'silent' }), RedisModule.forRoot(target.toString(), `test:${Date.now()}:gw:`, { requiredForReadiness: false })],
    controllers: [PosController, TerminalEventsController],
    providers: [
      { provide: DataSource, useValue: dataSource }, { provide: GATEWAY_OPTIONS, useValue: options },
      RegistryService, TerminalGuard, PaymentsService, PaymentUpdates, TerminalRateLimiter, Admission, TerminalEventsHub,
    ],
  })
  class OutageModule {}

  ({ app, baseUrl } = await serveGateway(OutageModule));
  redis = app.get(Redis);
});

afterAll(async () => {
  await proxy.restore().catch(() => undefined);
  await app.close();
  await proxy.close();
  await dataSource.destroy();
});

/** Takes Redis away from the gateway and waits until its connection has seen it go. */
async function cutRedis(): Promise<void> {
  const closed = new Promise((resolve) => redis.once('close', resolve));
  await proxy.cut();
  await closed;
}

async function restoreRedis(): Promise<void> {
  await proxy.restore();
  await eventually(() => (redis.status === 'ready' ? true : undefined), 10_000, 20);
}

// events applied here wake no waiter: a long-poll while Redis is away answers by its own re-read
const { call, newTerminal, paymentBody, apply } = posApiTestKit(() => ({ app, baseUrl, dataSource }), 'Redis outage', { wake: false });
let refunds = 0;

/** A payment Alipay paid, with a refund under way, made while Redis was there. */
async function paidAndRefunding(key: string): Promise<{ payment: PaymentViewV1; refund: RefundViewV1 }> {
  const created = await call<PaymentViewV1>('POST', '/v1/payments', key, paymentBody());
  expect(created.status).toBe(202);
  const payment: PaymentViewV1 = { ...created.body, status: 'SUCCEEDED', sequence: 1, alipay: { paymentRequestId: created.body.paymentId, paymentId: `alipay_${created.body.paymentId}` } };
  await apply('PaymentSucceeded', payment);
  const refund = await call<RefundViewV1>('POST', `/v1/payments/${payment.paymentId}/refunds`, key, { refundRequestId: `r-${refunds++}`, amount: hkd('100'), waitSeconds: 0 });
  expect(refund.status).toBe(202);
  return { payment, refund: refund.body };
}

async function paymentRows(): Promise<number> {
  return Number((await dataSource.query('SELECT count(*) AS n FROM payments'))[0].n);
}

function openStream(key: string): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    get(`${baseUrl}/v1/terminals/me/events`, { agent: false, headers: { authorization: `Bearer ${key}`, accept: 'text/event-stream' } }, resolve).on('error', reject);
  });
}

async function metric(name: string): Promise<number> {
  const line = (await app.get(Metrics).text()).split('\n').find((l) => l.startsWith(`${name}{`) || l.startsWith(`${name} `));
  return line ? Number(line.split(' ').pop()) : 0;
}

describe('while Redis is away', () => {
  afterEach(async () => {
    if (redis.status !== 'ready') await restoreRedis();
  });

  it('answers reads, long-polls and the event stream, still rate-limited per terminal on this replica', async () => {
    const key = await newTerminal();
    const { payment, refund } = await paidAndRefunding(key);
    await cutRedis();
    const countedAlone = await metric('upm_gateway_rate_limit_local_total');

    expect(await call('GET', `/v1/payments/${payment.paymentId}`, key)).toMatchObject({ status: 200, body: { paymentId: payment.paymentId, status: 'SUCCEEDED' } });
    expect(await call('GET', `/v1/payments?merchantOrderId=${payment.merchantOrderId}`, key)).toMatchObject({ status: 200, body: { paymentId: payment.paymentId } });
    expect(await call('GET', `/v1/payments/${payment.paymentId}/refunds/${refund.refundId}`, key)).toMatchObject({ status: 200, body: { refundId: refund.refundId } });
    // a long-poll whose answer comes meanwhile: no Redis wake-up reaches it, its own re-read does
    const polling = call<PaymentViewV1>('GET', `/v1/payments/${payment.paymentId}/refunds/${refund.refundId}?waitSeconds=8`, key);
    await sleep(200);
    await apply('RefundSucceeded', { ...payment, sequence: 2, refundedAmount: hkd('100') }, { ...refund, status: 'SUCCEEDED' });
    expect(await polling).toMatchObject({ status: 200, body: { refundId: refund.refundId, status: 'SUCCEEDED' } });
    const stream = await openStream(key);
    expect(stream.statusCode).toBe(200);
    stream.destroy();
    expect(await metric('upm_gateway_rate_limit_local_total')).toBeGreaterThanOrEqual(countedAlone + 5);

    // the limit still holds a terminal that asks too much, one second at a time
    const limit = options.rateLimitPerSecond;
    options.rateLimitPerSecond = 3;
    try {
      const answers = await Promise.all(Array.from({ length: 8 }, () => call('GET', `/v1/payments/${payment.paymentId}`, key)));
      const limited = answers.filter((a) => a.status === 429);
      expect(limited.length).toBeGreaterThanOrEqual(2);
      expect(limited[0]).toMatchObject({ retryAfter: '1', body: { error: { code: 'RATE_LIMITED' } } });
      expect(answers.filter((a) => a.status === 200).length).toBeLessThanOrEqual(6);
      // another terminal has a limit of its own
      expect(await call('GET', `/v1/payments/${payment.paymentId}`, await newTerminal())).toMatchObject({ status: 404 });
    } finally {
      options.rateLimitPerSecond = limit;
    }
  });

  it('answers reads at once when Redis hangs with its connection open: the rate limit does not wait for it', async () => {
    const key = await newTerminal();
    const { payment } = await paidAndRefunding(key);
    proxy.freeze();
    try {
      const started = Date.now();
      const answer = await fetch(`${baseUrl}/v1/payments/${payment.paymentId}`, { headers: { authorization: `Bearer ${key}` }, signal: AbortSignal.timeout(5000) });
      expect(answer.status).toBe(200);
      expect(Date.now() - started).toBeLessThan(2000);
    } finally {
      // the hung connections go; the Redis client reconnects once the proxy is back
      await cutRedis();
    }
  });

  it('refuses a payment within seconds when Redis hangs with its connection open, and makes nothing', async () => {
    const key = await newTerminal();
    await call('GET', '/v1/payments/pay_none', key);
    const rows = await paymentRows();
    proxy.freeze();
    try {
      const started = Date.now();
      const refused = await fetch(`${baseUrl}/v1/payments`, {
        method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, body: JSON.stringify(paymentBody()), signal: AbortSignal.timeout(8000),
      });
      expect({ status: refused.status, code: ((await refused.json()) as { error: { code: string } }).error.code }).toEqual({ status: 503, code: 'IDEMPOTENCY_UNAVAILABLE' });
      expect(Date.now() - started).toBeLessThan(3000);
      expect(await paymentRows()).toBe(rows);
    } finally {
      await cutRedis();
      await restoreRedis();
    }
  });

  it('refuses payments and refunds at once with 503 IDEMPOTENCY_UNAVAILABLE and Retry-After, makes nothing, and takes them again once Redis is back', async () => {
    const key = await newTerminal();
    const { payment } = await paidAndRefunding(key);
    const unpaid = await call<PaymentViewV1>('POST', '/v1/payments', key, paymentBody());
    await cutRedis();
    const rows = await paymentRows();

    const started = Date.now();
    const refusedPayment = await call('POST', '/v1/payments', key, paymentBody());
    const refusedRefund = await call('POST', `/v1/payments/${payment.paymentId}/refunds`, key, { refundRequestId: `r-${refunds++}`, amount: hkd('100'), waitSeconds: 0 });
    // not after the Redis client's reconnection attempts: the POS hears at once
    expect(Date.now() - started).toBeLessThan(1000);
    for (const refused of [refusedPayment, refusedRefund]) {
      expect(refused).toMatchObject({ status: 503, retryAfter: '1', body: { error: { code: 'IDEMPOTENCY_UNAVAILABLE' } } });
    }
    expect(await paymentRows()).toBe(rows);
    expect((await dataSource.query('SELECT count(*) AS n FROM refunds WHERE payment_id = $1', [payment.paymentId]))[0].n).toBe('1');

    // a cashier's abort takes no Redis lock (PostgreSQL orders it against refunds): it still goes in
    expect(await call('POST', `/v1/payments/${unpaid.body.paymentId}/cancel`, key, { waitSeconds: 0 })).toMatchObject({ status: 202, body: { status: 'PROCESSING' } });
    expect((await dataSource.query("SELECT count(*) AS n FROM outbox WHERE key = $1 AND type = 'CancelPayment'", [unpaid.body.paymentId]))[0].n).toBe('1');

    await restoreRedis();
    expect(await call('POST', '/v1/payments', key, paymentBody())).toMatchObject({ status: 202 });
  });

  it('keeps the replica ready, naming Redis degraded: every replica shares it, and reads need it not', async () => {
    await cutRedis();
    const response = await fetch(`${baseUrl}/health/ready`);
    const body = (await response.json()) as { status: string; checks: Record<string, string> };
    expect(response.status).toBe(200);
    expect(body.status).toBe('ready');
    expect(body.checks.redis).toMatch(/^degraded: /);
  });
});
