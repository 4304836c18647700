import { connect } from 'node:net';
import { brotliCompressSync, deflateSync, gzipSync } from 'node:zlib';
import { Module, Type } from '@nestjs/common';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { Redis } from 'ioredis';
import { DataSource } from 'typeorm';
import { createEnvelope, PaymentStatus, PaymentViewV1, RefundViewV1 } from '@upm/contracts';
import { RedisLocks } from '@upm/shared-redis';
import { ADMIN_TOKEN, AdminTokenGuard, RuntimeModule } from '@upm/shared-runtime';
import { eventually, freshDatabase, sleep } from '@upm/shared-testing';
import { GATEWAY_DATABASE } from '../database';
import { GATEWAY_OPTIONS, GatewayOptions } from '../gateway.options';
import { Admission } from '../payments/admission';
import { PaymentUpdates } from '../payments/payment-updates';
import { PaymentsService } from '../payments/payments.service';
import { TerminalRateLimiter } from '../payments/rate-limiter';
import { RegistryService } from '../registry/registry.service';
import { hkd, posApiTestKit, serveGateway } from '../testing/pos-api-test-kit';
import { AdminController } from './admin.controller';
import { TerminalGuard } from './auth.guards';
import { PosController } from './pos.controller';

/**
 * The POS API served by the real controllers, PostgreSQL and Redis, to a POS over HTTP. The orchestrator's
 * side is played by applying its payments.v1.events to the read model, as the gateway's consumer does.
 */
let dataSource: DataSource;
let redis: Redis;
let app: NestExpressApplication;
let baseUrl: string;
/** the module of the POS API, to start a second replica of it */
let posApiModule: Type;

const ADMIN = 'pos-api-admin-token';
const options: GatewayOptions = { adminToken: ADMIN, rateLimitPerSecond: 1000, defaultWaitSeconds: 0, shedAfterMs: 1000, answerTargetMs: 3000 };

beforeAll(async () => {
  ({ dataSource } = await freshDatabase('upm_test_gateway_pos_api', GATEWAY_DATABASE));
  redis = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379/0');

  @Module({
    imports: [RuntimeModule.forRoot({ service: 'terminal-gateway', logLevel: process.env.TEST_LOG_LEVEL ?? 'silent' })],
    controllers: [PosController, AdminController],
    providers: [
      { provide: DataSource, useValue: dataSource }, { provide: Redis, useValue: redis }, { provide: GATEWAY_OPTIONS, useValue: options },
      { provide: RedisLocks, useValue: new RedisLocks(redis, `test:${Date.now()}:lock:`) }, { provide: ADMIN_TOKEN, useValue: ADMIN },
      RegistryService, TerminalGuard, AdminTokenGuard, PaymentsService, PaymentUpdates, TerminalRateLimiter, Admission,
    ],
  })
  class PosApiModule {}
  posApiModule = PosApiModule;

  ({ app, baseUrl } = await serveGateway(posApiModule));
});

afterAll(async () => {
  await app.close();
  await redis.quit();
  await dataSource.destroy();
});

const { call, newTerminal, paymentBody, apply } = posApiTestKit(() => ({ app, baseUrl, dataSource }), 'POS API', { wake: true });

/** The orchestrator's view of the payment after its `sequence`-th event. */
const viewOf = (payment: PaymentViewV1, status: PaymentStatus, sequence: number, refunded = '0'): PaymentViewV1 => ({
  ...payment, status, sequence, refundedAmount: hkd(refunded), alipay: { paymentRequestId: payment.paymentId, paymentId: `alipay_${payment.paymentId}` },
});

/** A payment the orchestrator took and Alipay paid (its two events applied). */
async function paidPayment(key: string): Promise<PaymentViewV1> {
  const created = await call<PaymentViewV1>('POST', '/v1/payments', key, paymentBody());
  expect(created.status).toBe(202);
  await apply('PaymentCreated', viewOf(created.body, 'PROCESSING', 0));
  await apply('PaymentSucceeded', viewOf(created.body, 'SUCCEEDED', 1));
  return viewOf(created.body, 'SUCCEEDED', 1);
}

/** The refund as the orchestrator answers it when it refuses the command (nothing was sent to Alipay). */
const refused = (refund: RefundViewV1, code: string, message: string): RefundViewV1 => ({ ...refund, status: 'FAILED', failure: { code, message } });

async function refundRows(paymentId: string): Promise<Array<{ view: RefundViewV1 }>> {
  return dataSource.query('SELECT view FROM refunds WHERE payment_id = $1', [paymentId]);
}

/** The CancelPayment commands the gateway sent for the payment, oldest first: their envelope ids. */
async function cancelCommandIds(paymentId: string): Promise<string[]> {
  const rows: Array<{ id: string }> = await dataSource.query("SELECT id FROM outbox WHERE key = $1 AND type = 'CancelPayment' ORDER BY seq", [paymentId]);
  return rows.map((row) => row.id);
}

/** The orchestrator's refusal of the cancel `commandId` sent, applied as the consumer does. */
async function refuseCancel(payment: PaymentViewV1, commandId: string, code: string, message: string): Promise<void> {
  const envelope = createEnvelope({
    type: 'PaymentCancelRefused', key: payment.paymentId, data: { payment, failure: { code, message } }, producer: 'payment-orchestrator', cause: { id: commandId, correlationId: payment.paymentId },
  });
  await dataSource.transaction((manager) => app.get(PaymentsService).applyEvent(manager, envelope));
  await app.get(PaymentUpdates).publish(payment);
}

async function cancelCommands(paymentId: string): Promise<number> {
  const [{ count }]: Array<{ count: number }> = await dataSource.query("SELECT count(*)::int AS count FROM outbox WHERE key = $1 AND type = 'CancelPayment'", [paymentId]);
  return count;
}

describe('POST /v1/payments', () => {
  it('answers a replay with 200 and the same payment, final or not: its status says whether to keep polling', async () => {
    const key = await newTerminal();
    const body = paymentBody();
    const first = await call<PaymentViewV1>('POST', '/v1/payments', key, body);
    expect(first).toMatchObject({ status: 202, body: { status: 'PROCESSING' } });
    await apply('PaymentCreated', viewOf(first.body, 'PROCESSING', 0));

    // a POS that lost the answer while the shopper enters a PIN sends the same request again (CONTRACTS §1: 200);
    // the payment is not final yet, so it keeps polling
    const processing = await call<PaymentViewV1>('POST', '/v1/payments', key, { ...body, waitSeconds: 1 });
    expect(processing).toMatchObject({ status: 200, body: { paymentId: first.body.paymentId, status: 'PROCESSING', sequence: 0 } });

    await apply('PaymentSucceeded', viewOf(first.body, 'SUCCEEDED', 1));
    const final = await call<PaymentViewV1>('POST', '/v1/payments', key, body);
    expect(final).toMatchObject({ status: 200, body: { paymentId: first.body.paymentId, status: 'SUCCEEDED' } });
  });
});

describe('a body that is not JSON', () => {
  const send = async (path: string, key: string, contentType: string, body: string) => {
    const response = await fetch(`${baseUrl}${path}`, { method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': contentType }, body });
    return { status: response.status, body: (await response.json()) as Record<string, unknown> };
  };

  it('is refused with 415 UNSUPPORTED_MEDIA_TYPE, not read as a form nor as a body without fields, and makes nothing', async () => {
    const key = await newTerminal();
    const body = paymentBody();
    const form = `merchantOrderId=${body.merchantOrderId}&amount[currency]=HKD&amount[value]=1000&paymentCode=${body.paymentCode}`;
    for (const [contentType, sent] of [['application/x-www-form-urlencoded', form], ['text/plain', JSON.stringify(body)], ['application/vnd.api+json', JSON.stringify(body)]]) {
      expect(await send('/v1/payments', key, contentType, sent)).toEqual({ status: 415, body: { error: { code: 'UNSUPPORTED_MEDIA_TYPE', message: expect.stringContaining('application/json') } } });
    }
    expect(await dataSource.query('SELECT 1 FROM payments WHERE merchant_order_id = $1', [body.merchantOrderId])).toEqual([]);

    const payment = await paidPayment(key);
    expect(await send(`/v1/payments/${payment.paymentId}/refunds`, key, 'text/plain', JSON.stringify({ refundRequestId: 'R-1', amount: hkd('1') }))).toMatchObject({ status: 415, body: { error: { code: 'UNSUPPORTED_MEDIA_TYPE' } } });
    expect(await send(`/v1/payments/${payment.paymentId}/cancel`, key, 'application/x-www-form-urlencoded', 'waitSeconds=0')).toMatchObject({ status: 415, body: { error: { code: 'UNSUPPORTED_MEDIA_TYPE' } } });
    expect(await refundRows(payment.paymentId)).toEqual([]);
    expect(await cancelCommands(payment.paymentId)).toBe(0);
    expect(await send('/v1/admin/merchants', ADMIN, 'application/x-www-form-urlencoded', 'name=Shop&mcc=5411')).toMatchObject({ status: 415, body: { error: { code: 'UNSUPPORTED_MEDIA_TYPE' } } });

    // JSON with its charset named, and a cancel without any body, go through
    expect(await send('/v1/payments', key, 'application/json; charset=utf-8', JSON.stringify(paymentBody()))).toMatchObject({ status: 202 });
    const cancel = await fetch(`${baseUrl}/v1/payments/${payment.paymentId}/cancel`, { method: 'POST', headers: { authorization: `Bearer ${key}` } });
    expect(cancel.status).toBe(202);
  });
});

describe('a compressed body', () => {
  const send = async (path: string, key: string, contentType: string, encoding: string, body: Buffer) => {
    const response = await fetch(`${baseUrl}${path}`, { method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': contentType, 'content-encoding': encoding }, body });
    return { status: response.status, acceptEncoding: response.headers.get('accept-encoding'), body: (await response.json()) as Record<string, unknown> };
  };
  /** each Content-Encoding a client may send, with the body as it would encode it: the known ones, one no server knows, a corrupt gzip */
  const encodings: Array<[string, (body: Buffer) => Buffer]> = [
    ['gzip', (body) => gzipSync(body)], ['deflate', (body) => deflateSync(body)], ['br', (body) => brotliCompressSync(body)], ['GZIP', (body) => gzipSync(body)],
    ['x-unknown', (body) => body], ['gzip', (body) => gzipSync(body).subarray(0, 12)], ['gzip, identity', (body) => gzipSync(body)],
  ];
  const refused = { status: 415, acceptEncoding: 'identity', body: { error: { code: 'UNSUPPORTED_CONTENT_ENCODING', message: expect.stringContaining('Content-Encoding') } } };

  it('is refused with 415 UNSUPPORTED_CONTENT_ENCODING by the POS and the admin API alike, and makes nothing', async () => {
    const key = await newTerminal();
    const payment = await paidPayment(key);
    const json = (value: unknown) => Buffer.from(JSON.stringify(value));
    for (const [encoding, encode] of encodings) {
      const body = paymentBody();
      expect([encoding, await send('/v1/payments', key, 'application/json', encoding, encode(json(body)))]).toEqual([encoding, refused]);
      expect(await dataSource.query('SELECT 1 FROM payments WHERE merchant_order_id = $1', [body.merchantOrderId])).toEqual([]);
      expect(await send(`/v1/payments/${payment.paymentId}/refunds`, key, 'application/json', encoding, encode(json({ refundRequestId: 'R-gz', amount: hkd('1') })))).toEqual(refused);
      expect(await send(`/v1/payments/${payment.paymentId}/cancel`, key, 'application/json', encoding, encode(json({ waitSeconds: 0 })))).toEqual(refused);
      expect(await send('/v1/admin/merchants', ADMIN, 'application/json', encoding, encode(json({ name: 'Compressed shop', mcc: '5411' })))).toEqual(refused);
      const csv = 'merchantId,merchantName,merchantMcc,storeId,storeName,storeMcc,terminalId\nmer_gz,Shop,5411,sto_gz,Store,5411,ter_gz\n';
      expect(await send('/v1/admin/import', ADMIN, 'text/csv', encoding, encode(Buffer.from(csv)))).toEqual(refused);
    }
    expect(await refundRows(payment.paymentId)).toEqual([]);
    expect(await cancelCommands(payment.paymentId)).toBe(0);
    expect(await dataSource.query("SELECT 1 FROM merchants WHERE name = 'Compressed shop' OR id = 'mer_gz'")).toEqual([]);
    expect(await dataSource.query("SELECT 1 FROM terminals WHERE id = 'ter_gz'")).toEqual([]);

    // a body that says it is not encoded goes through
    expect(await send('/v1/payments', key, 'application/json', 'identity', json(paymentBody()))).toMatchObject({ status: 202, body: { status: 'PROCESSING' } });
  });
});

describe('input no database can hold', () => {
  // PostgreSQL stores neither a NUL character nor half of a surrogate pair, in text or in jsonb
  const unstorable = ['a\u0000b', 'a\ud800b'];

  it('refuses it in a text field with 400 and the field\'s code, before the payment exists', async () => {
    const key = await newTerminal();
    for (const description of unstorable) {
      const body = { ...paymentBody(), description };
      const answer = await call<{ error: { code: string; details: Array<{ field: string; code: string }> } }>('POST', '/v1/payments', key, body);
      expect(answer.status).toBe(400);
      expect(answer.body.error.details).toEqual([expect.objectContaining({ field: 'description', code: 'INVALID_DESCRIPTION' })]);
      expect(await dataSource.query('SELECT 1 FROM payments WHERE merchant_order_id = $1', [body.merchantOrderId])).toEqual([]);
    }
    const payment = await paidPayment(key);
    const refund = await call<{ error: { details: Array<{ field: string; code: string }> } }>('POST', `/v1/payments/${payment.paymentId}/refunds`, key, { refundRequestId: 'R-1', amount: hkd('1'), reason: unstorable[0] });
    expect(refund.status).toBe(400);
    expect(refund.body.error.details).toEqual([expect.objectContaining({ field: 'reason', code: 'INVALID_REASON' })]);

    const admin = (path: string, body: unknown) => call<{ error: { details: Array<{ field: string; code: string }> } }>('POST', path, ADMIN, body);
    const merchant = await admin('/v1/admin/merchants', { name: unstorable[1], mcc: '5411' });
    expect(merchant.status).toBe(400);
    expect(merchant.body.error.details).toEqual([expect.objectContaining({ field: 'name', code: 'INVALID_NAME' })]);
  });

  it('answers 404 to a path id that no payment, refund or store can have, and 400 to such a merchantOrderId', async () => {
    const key = await newTerminal();
    const payment = await paidPayment(key);
    for (const path of ['/v1/payments/pay%00x', `/v1/payments/${payment.paymentId}/refunds/ref%00x`]) {
      expect(await call('GET', path, key)).toMatchObject({ status: 404, body: { error: { code: 'PAYMENT_NOT_FOUND' } } });
    }
    expect(await call('POST', '/v1/payments/pay%00x/cancel', key, {})).toMatchObject({ status: 404, body: { error: { code: 'PAYMENT_NOT_FOUND' } } });
    expect(await call('POST', '/v1/admin/stores/sto%00x/terminals', ADMIN, {})).toMatchObject({ status: 404, body: { error: { code: 'STORE_NOT_FOUND' } } });
    expect(await call('POST', '/v1/admin/merchants/mer%00x/stores', ADMIN, { name: 'Store', mcc: '5411' })).toMatchObject({ status: 404, body: { error: { code: 'MERCHANT_NOT_FOUND' } } });
    expect(await call('POST', '/v1/admin/terminals/ter%00x/revoke', ADMIN)).toMatchObject({ status: 404, body: { error: { code: 'TERMINAL_NOT_FOUND' } } });

    for (const query of ['merchantOrderId=a%00b', `merchantOrderId=${payment.merchantOrderId}&merchantOrderId=other`]) {
      const answer = await call<{ error: { code: string; details: Array<{ field: string; code: string }> } }>('GET', `/v1/payments?${query}`, key);
      expect(answer).toMatchObject({ status: 400, body: { error: { code: 'VALIDATION_FAILED' } } });
      expect(answer.body.error.details).toEqual([expect.objectContaining({ field: 'merchantOrderId', code: 'INVALID_MERCHANT_ORDER_ID' })]);
    }
    expect(await call('GET', `/v1/payments?merchantOrderId=${payment.merchantOrderId}`, key)).toMatchObject({ status: 200, body: { paymentId: payment.paymentId } });
  });
});

describe('POST /v1/payments/{paymentId}/refunds', () => {
  it('answers 422 with the orchestrator\'s code when it refuses a refund, as when the gateway refuses it, and answers a replay the same', async () => {
    const key = await newTerminal();
    const payment = await paidPayment(key);
    const path = `/v1/payments/${payment.paymentId}/refunds`;
    const body = { refundRequestId: 'R-1', amount: hkd('400'), waitSeconds: 5 };

    // the orchestrator refuses while the POS waits: the sale is being voided, which the read model does not show yet
    const answering = call<{ error: { code: string; message: string; details: Array<{ refundId: string }> } }>('POST', path, key, body);
    const row = await eventually(async () => (await refundRows(payment.paymentId))[0], 5000, 20);
    await apply('RefundFailed', payment, refused(row.view, 'PAYMENT_NOT_REFUNDABLE', 'only a succeeded payment can be refunded (status CANCELLING)'));
    const answer = await answering;
    expect(answer.status).toBe(422);
    expect(answer.body.error).toEqual({ code: 'PAYMENT_NOT_REFUNDABLE', message: expect.any(String), details: [{ refundId: row.view.refundId }] });
    // the saga's own states are not the POS's business
    expect(answer.body.error.message).not.toContain('CANCELLING');

    // a retry of the same request is told the same; the refund stays readable, FAILED with its reason
    expect(await call('POST', path, key, body)).toEqual(answer);
    const read = await call<RefundViewV1>('GET', `${path}/${row.view.refundId}`, key);
    expect(read).toMatchObject({ status: 200, body: { refundId: row.view.refundId, status: 'FAILED', failure: { code: 'PAYMENT_NOT_REFUNDABLE' } } });

    // the gateway's own check of the same rule answers in the same shape
    const failed = await call<PaymentViewV1>('POST', '/v1/payments', key, paymentBody());
    await apply('PaymentFailed', viewOf(failed.body, 'FAILED', 0));
    const refusedHere = await call('POST', `/v1/payments/${failed.body.paymentId}/refunds`, key, body);
    expect(refusedHere).toEqual({ status: 422, body: { error: { code: 'PAYMENT_NOT_REFUNDABLE', message: expect.any(String) } } });
  });

  it('answers a refund that Alipay refused as the FAILED refund it is, not as a refusal', async () => {
    const key = await newTerminal();
    const payment = await paidPayment(key);
    const path = `/v1/payments/${payment.paymentId}/refunds`;
    const accepted = await call<RefundViewV1>('POST', path, key, { refundRequestId: 'R-1', amount: hkd('400') });
    expect(accepted).toMatchObject({ status: 202, body: { status: 'PROCESSING' } });
    await apply('RefundRequested', viewOf(payment, 'SUCCEEDED', 2), accepted.body);
    await apply('RefundFailed', viewOf(payment, 'SUCCEEDED', 3), { ...accepted.body, status: 'FAILED', failure: { code: 'REFUND_WINDOW_EXCEED', message: 'too late' } });

    const replay = await call<RefundViewV1>('POST', path, key, { refundRequestId: 'R-1', amount: hkd('400') });
    expect(replay).toMatchObject({ status: 200, body: { refundId: accepted.body.refundId, status: 'FAILED', failure: { code: 'REFUND_WINDOW_EXCEED' } } });
  });
});

describe('GET /v1/payments/{paymentId}/refunds/{refundId}', () => {
  it('long-polls with waitSeconds until the refund is no longer PROCESSING, as a payment does', async () => {
    const key = await newTerminal();
    const payment = await paidPayment(key);
    const accepted = await call<RefundViewV1>('POST', `/v1/payments/${payment.paymentId}/refunds`, key, { refundRequestId: 'R-1', amount: hkd('400') });
    const path = `/v1/payments/${payment.paymentId}/refunds/${accepted.body.refundId}`;
    expect(await call('GET', path, key)).toMatchObject({ status: 200, body: { status: 'PROCESSING' } });

    const started = Date.now();
    const waiting = call<RefundViewV1>('GET', `${path}?waitSeconds=10`, key);
    await sleep(300);
    await apply('RefundRequested', viewOf(payment, 'SUCCEEDED', 2), accepted.body);
    await apply('RefundSucceeded', viewOf(payment, 'SUCCEEDED', 3, '400'), { ...accepted.body, status: 'SUCCEEDED' });
    expect(await waiting).toMatchObject({ status: 200, body: { refundId: accepted.body.refundId, status: 'SUCCEEDED' } });
    expect(Date.now() - started).toBeLessThan(5000);
    expect(await call('GET', `${path}?waitSeconds=31`, key)).toMatchObject({ status: 400, body: { error: { details: [{ field: 'waitSeconds', code: 'INVALID_WAIT_SECONDS' }] } } });
  });
});

describe('POST /v1/payments/{paymentId}/cancel', () => {
  it('voids a sale whose only refund the orchestrator refused', async () => {
    const key = await newTerminal();
    const payment = await paidPayment(key);
    const refund = await call<RefundViewV1>('POST', `/v1/payments/${payment.paymentId}/refunds`, key, { refundRequestId: 'R-1', amount: hkd('1000') });
    expect(refund.status).toBe(202);
    await apply('RefundFailed', payment, refused(refund.body, 'REFUND_EXCEEDS_PAID', 'refunds would total 2000 of 1000 HKD paid'));

    const cancel = await call<PaymentViewV1>('POST', `/v1/payments/${payment.paymentId}/cancel`, key, { waitSeconds: 0 });
    expect(cancel).toMatchObject({ status: 202, body: { status: 'SUCCEEDED' } });
    expect(await cancelCommands(payment.paymentId)).toBe(1);
  });

  it('refuses to void a sale while a refund of it is under way, and voids it once Alipay refused that refund', async () => {
    const key = await newTerminal();
    const payment = await paidPayment(key);
    const cancel = () => call('POST', `/v1/payments/${payment.paymentId}/cancel`, key, { waitSeconds: 0 });
    const refund = await call<RefundViewV1>('POST', `/v1/payments/${payment.paymentId}/refunds`, key, { refundRequestId: 'R-1', amount: hkd('400') });
    expect(await cancel()).toMatchObject({ status: 422, body: { error: { code: 'PAYMENT_NOT_CANCELLABLE' } } });

    await apply('RefundRequested', viewOf(payment, 'SUCCEEDED', 2), refund.body);
    expect(await cancel()).toMatchObject({ status: 422, body: { error: { code: 'PAYMENT_NOT_CANCELLABLE' } } });
    expect(await cancelCommands(payment.paymentId)).toBe(0);

    // Alipay refused it: nothing went back, and the orchestrator lets the void go ahead as well
    await apply('RefundFailed', viewOf(payment, 'SUCCEEDED', 3), { ...refund.body, status: 'FAILED', failure: { code: 'REFUND_WINDOW_EXCEED', message: 'too late' } });
    expect(await cancel()).toMatchObject({ status: 202, body: { status: 'SUCCEEDED' } });
    expect(await cancelCommands(payment.paymentId)).toBe(1);
  });

  it('answers a cancel the orchestrator refused at once with 422 and the refusal\'s code, and only the cancel it refused', async () => {
    const key = await newTerminal();
    const payment = await paidPayment(key);
    const cancel = (waitSeconds: number) => call('POST', `/v1/payments/${payment.paymentId}/cancel`, key, { waitSeconds });
    const started = Date.now();
    const waiting = cancel(20);
    await eventually(async () => ((await cancelCommandIds(payment.paymentId)).length === 1 ? true : undefined));
    const [refused] = await cancelCommandIds(payment.paymentId);
    // e.g. a payment made SUCCEEDED by a review, whose reversal refund is still unknown: the gateway cannot see that
    await refuseCancel(payment, refused, 'PAYMENT_NOT_CANCELLABLE', 'the payment has refunds; refund the rest instead of cancelling');
    expect(await waiting).toMatchObject({ status: 422, body: { error: { code: 'PAYMENT_NOT_CANCELLABLE', message: expect.any(String) } } });
    expect(Date.now() - started).toBeLessThan(5000);
    expect(await call('GET', `/v1/payments/${payment.paymentId}`, key)).toMatchObject({ status: 200, body: { status: 'SUCCEEDED', sequence: 1 } });

    // the cashier tries again: a new cancel, which that refusal does not answer
    expect(await cancel(1)).toMatchObject({ status: 202, body: { status: 'SUCCEEDED' } });
    expect(await cancelCommandIds(payment.paymentId)).toHaveLength(2);
  });

  it('refuses to void a sale once a refund of it succeeded, even beside refused ones', async () => {
    const key = await newTerminal();
    const payment = await paidPayment(key);
    const cancel = () => call('POST', `/v1/payments/${payment.paymentId}/cancel`, key, { waitSeconds: 0 });
    const first = await call<RefundViewV1>('POST', `/v1/payments/${payment.paymentId}/refunds`, key, { refundRequestId: 'R-1', amount: hkd('400') });
    await apply('RefundRequested', viewOf(payment, 'SUCCEEDED', 2), first.body);
    await apply('RefundFailed', viewOf(payment, 'SUCCEEDED', 3), { ...first.body, status: 'FAILED', failure: { code: 'RISK_REJECT', message: 'refused' } });
    const second = await call<RefundViewV1>('POST', `/v1/payments/${payment.paymentId}/refunds`, key, { refundRequestId: 'R-2', amount: hkd('300') });
    await apply('RefundRequested', viewOf(payment, 'SUCCEEDED', 4), second.body);
    await apply('RefundSucceeded', viewOf(payment, 'SUCCEEDED', 5, '300'), { ...second.body, status: 'SUCCEEDED' });

    expect(await cancel()).toMatchObject({ status: 422, body: { error: { code: 'PAYMENT_NOT_CANCELLABLE' } } });
    expect(await cancelCommands(payment.paymentId)).toBe(0);
  });
});

describe('load shedding', () => {
  it('is not set off by a POS whose request body is slow to arrive: another POS\'s payment goes in', async () => {
    const key = await newTerminal();
    // a POS on a poor store network (or anyone, without a key) whose body is still on its way after the limit
    const port = Number(new URL(baseUrl).port);
    const slow = connect(port, '127.0.0.1');
    await new Promise((resolve) => slow.once('connect', resolve));
    slow.write(`POST /v1/payments HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${key}\r\nContent-Type: application/json\r\nContent-Length: 400\r\n\r\n{"merchantOrderId":`);
    try {
      await sleep(options.shedAfterMs! + 500);
      const answer = await call<PaymentViewV1>('POST', '/v1/payments', key, paymentBody());
      expect(answer).toMatchObject({ status: 202, body: { status: 'PROCESSING' } });
    } finally {
      slow.destroy();
    }
  });

  it('counts a payment from the moment its body arrived, and refuses new ones while the orchestrator has not taken it', async () => {
    const key = await newTerminal();
    const waiting = call('POST', '/v1/payments', key, { ...paymentBody(), waitSeconds: 3 });
    await sleep(options.shedAfterMs! + 300);
    expect(await call('POST', '/v1/payments', key, paymentBody())).toMatchObject({ status: 503, body: { error: { code: 'OVERLOADED' } } });
    expect((await waiting).status).toBe(202);
    expect(await call('POST', '/v1/payments', key, paymentBody())).toMatchObject({ status: 202 });
  });
});

describe('rate limit', () => {
  it('counts every request of a terminal, reads as well as writes, and answers 429 RATE_LIMITED with Retry-After', async () => {
    const key = await newTerminal();
    const payment = await paidPayment(key);
    const limit = options.rateLimitPerSecond;
    options.rateLimitPerSecond = 3;
    try {
      const answers = await Promise.all(Array.from({ length: 8 }, () => fetch(`${baseUrl}/v1/payments/${payment.paymentId}`, { headers: { authorization: `Bearer ${key}` } })));
      const limited = answers.filter((a) => a.status === 429);
      expect(limited.length).toBeGreaterThanOrEqual(2);
      expect(limited[0].headers.get('retry-after')).toBe('1');
      expect(await limited[0].json()).toMatchObject({ error: { code: 'RATE_LIMITED' } });
      expect(answers.filter((a) => a.status === 200).length).toBeLessThanOrEqual(6);
    } finally {
      options.rateLimitPerSecond = limit;
    }
  });
});

describe('POST /v1/admin/import', () => {
  const HEADER = 'merchantId,merchantName,merchantMcc,storeId,storeName,storeMcc,terminalId';
  const importCsv = async (...lines: string[]) => {
    const response = await fetch(`${baseUrl}/v1/admin/import`, { method: 'POST', headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'text/csv' }, body: [HEADER, ...lines].join('\n') });
    return { status: response.status, body: (await response.json()) as { error: { code: string; details: unknown[] } } & { terminalsCreated: number } };
  };

  it('names the line, the field and a stable code of every problem, and imports nothing', async () => {
    const answer = await importCsv('imp_m1,Shop,5411,imp_s1,Store,5411,imp_t1', 'imp m2,,54,imp_s2,Store\u0000,5411,imp_t2');
    expect(answer.status).toBe(400);
    expect(answer.body.error.code).toBe('VALIDATION_FAILED');
    expect(answer.body.error.details).toEqual([
      { line: 3, field: 'merchantId', code: 'INVALID_ID', message: expect.any(String) },
      { line: 3, field: 'merchantName', code: 'INVALID_NAME', message: expect.any(String) },
      { line: 3, field: 'merchantMcc', code: 'INVALID_MCC', message: expect.any(String) },
      { line: 3, field: 'storeName', code: 'INVALID_NAME', message: expect.any(String) },
    ]);
    expect(await dataSource.query("SELECT id FROM terminals WHERE id LIKE 'imp_%'")).toEqual([]);
  });

  it('names the file line a problem is on, counting blank lines and line breaks in quoted fields', async () => {
    const answer = await importCsv(
      '',
      'imp_m6,"Shop on',
      'two lines",5411,imp_s6,Store,5411,imp_t6',
      '',
      'imp_m6,Shop,5411,imp_s6,Store,5411,bad terminal',
    );
    expect(answer.status).toBe(400);
    expect(answer.body.error.details).toEqual([{ line: 6, field: 'terminalId', code: expect.any(String), message: expect.any(String) }]);
    expect(await dataSource.query("SELECT id FROM merchants WHERE id = 'imp_m6'")).toEqual([]);
  });

  it('refuses a row with more fields than the header names (an unquoted comma), rather than dropping what does not fit', async () => {
    const answer = await importCsv('imp_m7,Shop,5411,imp_s7,Store,5411,imp_t7', 'imp_m7,Shop,5411,imp_s7,Store,5411,imp_t8,imp_t9');
    expect(answer.status).toBe(400);
    expect(answer.body.error.details).toEqual([{ line: 3, field: '(row)', code: 'TOO_MANY_FIELDS', message: expect.stringMatching(/8 fields/) }]);
    expect(await dataSource.query("SELECT id FROM terminals WHERE id IN ('imp_t7', 'imp_t8')")).toEqual([]);
  });

  it('refuses a header that names a column twice, rather than reading one of the two', async () => {
    const response = await fetch(`${baseUrl}/v1/admin/import`, {
      method: 'POST', headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'text/csv' },
      body: `merchantId,${HEADER}\nimp_m11,imp_m12,Shop,5411,imp_s12,Store,5411,imp_t12`,
    });
    expect({ status: response.status, body: await response.json() }).toEqual({ status: 400, body: { error: { code: 'MALFORMED_CSV', message: expect.stringContaining('merchantId') } } });
    expect(await dataSource.query("SELECT id FROM merchants WHERE id IN ('imp_m11', 'imp_m12')")).toEqual([]);
  });

  it('refuses a file that gives one merchant or store two names or two MCCs, naming the line, and imports nothing', async () => {
    const answer = await importCsv(
      'imp_m13,Shop,5411,imp_s13,Store,5411,imp_t13',
      'imp_m13,Shop,5812,imp_s13,Store,5411,imp_t14',
      'imp_m13,Shop,5411,imp_s13,Other store,5411,imp_t15',
    );
    expect(answer.status).toBe(400);
    expect(answer.body.error.details).toEqual([
      { line: 3, field: 'merchantMcc', code: 'CONFLICTING_VALUE', message: expect.stringContaining('line 2') },
      { line: 4, field: 'storeName', code: 'CONFLICTING_VALUE', message: expect.stringContaining('line 2') },
    ]);
    expect(await dataSource.query("SELECT id FROM merchants WHERE id = 'imp_m13'")).toEqual([]);
  });

  it('names the line an unterminated quote opens on', async () => {
    const answer = await importCsv('imp_m8,Shop,5411,imp_s8,Store,5411,imp_t8', '', 'imp_m8,"Shop,5411,imp_s8,Store,5411,imp_t9', 'imp_m8,Shop,5411,imp_s8,Store,5411,imp_t10');
    expect(answer).toMatchObject({ status: 400, body: { error: { code: 'MALFORMED_CSV', details: [{ line: 4, code: 'UNTERMINATED_QUOTE' }] } } });
  });

  it('imports a chain of 70,000 terminals in one file, more than a statement can take parameters', async () => {
    const lines = Array.from({ length: 70_000 }, (_, i) => `chain_m,Big chain,5411,chain_s${i % 7000},Store ${i % 7000},5411,chain_t${i}`);
    const first = await importCsv(...lines);
    expect(first).toMatchObject({ status: 200, body: { merchantsCreated: 1, storesCreated: 7000, terminalsCreated: 70_000 } });
    // the same file again finds everything there
    expect(await importCsv(...lines)).toMatchObject({ status: 200, body: { merchantsCreated: 0, storesCreated: 0, terminalsCreated: 0 } });
  }, 120_000);

  it('refuses a file that puts a terminal in another store than it is in, or in two stores, and imports nothing', async () => {
    expect((await importCsv('imp_m3,Shop,5411,imp_s3,Store,5411,imp_t3')).body.terminalsCreated).toBe(1);
    // the terminal, its key and its payments are the first merchant's: a file cannot hand them to another
    const moved = await importCsv('imp_m4,Other,5411,imp_s4,Other store,5411,imp_t3', 'imp_m4,Other,5411,imp_s4,Other store,5411,imp_t4');
    expect(moved).toMatchObject({ status: 409, body: { error: { code: 'TERMINAL_BELONGS_TO_ANOTHER_STORE', details: [{ terminalId: 'imp_t3' }] } } });
    const twice = await importCsv('imp_m5,Shop,5411,imp_s5,Store,5411,imp_t5', 'imp_m5,Shop,5411,imp_s6,Store 2,5411,imp_t5');
    expect(twice).toMatchObject({ status: 409, body: { error: { code: 'TERMINAL_BELONGS_TO_ANOTHER_STORE', details: [{ terminalId: 'imp_t5' }] } } });

    expect(await dataSource.query("SELECT id, store_id AS \"storeId\", merchant_id AS \"merchantId\" FROM terminals WHERE id LIKE 'imp_%'")).toEqual([{ id: 'imp_t3', storeId: 'imp_s3', merchantId: 'imp_m3' }]);
    expect(await dataSource.query("SELECT id FROM stores WHERE id IN ('imp_s4', 'imp_s5', 'imp_s6')")).toEqual([]);
  });
});

describe('shutdown', () => {
  it('answers a POS long-polling the replica at once with what it holds, so the replica stops within its grace', async () => {
    const key = await newTerminal();
    const payment = (await call<PaymentViewV1>('POST', '/v1/payments', key, paymentBody())).body;
    const replica = await serveGateway(posApiModule);
    const started = Date.now();
    const waiting = fetch(`${replica.baseUrl}/v1/payments/${payment.paymentId}?waitSeconds=15`, { headers: { authorization: `Bearer ${key}` } });
    await sleep(300);

    const closing = replica.app.close();
    const answer = await waiting;
    expect(Date.now() - started).toBeLessThan(2000);
    expect({ status: answer.status, body: await answer.json() }).toMatchObject({ status: 200, body: { paymentId: payment.paymentId, status: 'PROCESSING' } });
    await closing;
    // within SHUTDOWN_GRACE_MS's default, not after the POS's whole wait
    expect(Date.now() - started).toBeLessThan(10_000);
  });
});
