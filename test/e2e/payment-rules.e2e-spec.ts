import { generateKeyPairSync } from 'node:crypto';
import { Client } from 'pg';
import { signedRequestHeaders } from '@upm/alipay';
import { eventually, sleep, startService } from '@upm/shared-testing';
import { Platform, startPlatform } from './support/platform';
import { PosClient } from './support/pos-client';

/** The POS API's promises: idempotency, tenant scoping, cancel wins, refund limits, forged notifications. */
let platform: Platform;
let pos: PosClient;
let other: PosClient;
const hkd = (value: string) => ({ currency: 'HKD', value });

beforeAll(async () => {
  platform = await startPlatform('rules', 3300);
  pos = await platform.onboard('Harbour Coffee');
  other = await platform.onboard('Other Merchant');
}, 120_000);

afterAll(async () => {
  await platform?.stop();
});

async function paid(value = '1000'): Promise<string> {
  const answer = await pos.pay({ merchantOrderId: PosClient.orderId('paid'), amount: hkd(value), paymentCode: PosClient.code('00') });
  expect(answer.body.status).toBe('SUCCEEDED');
  return answer.body.paymentId;
}

describe('idempotency on merchantOrderId', () => {
  it('20 concurrent identical create calls make one payment and one AMS pay', async () => {
    const body = { merchantOrderId: PosClient.orderId('dup'), amount: hkd('1250'), paymentCode: PosClient.code('00') };
    const answers = await Promise.all(Array.from({ length: 20 }, () => pos.pay(body)));
    const ids = new Set(answers.map((a) => a.body.paymentId));
    expect(ids.size).toBe(1);
    expect(answers.filter((a) => a.status === 201)).toHaveLength(1);
    expect(answers.every((a) => a.body.status === 'SUCCEEDED')).toBe(true);
    const [paymentId] = [...ids];
    expect((await platform.sandboxPayment(paymentId))!.calls.pay).toBe(1);
  });

  it('answers 409 IDEMPOTENCY_CONFLICT to the same merchantOrderId with another body, and changes nothing', async () => {
    const merchantOrderId = PosClient.orderId('conflict');
    const first = await pos.pay({ merchantOrderId, amount: hkd('1250'), paymentCode: PosClient.code('00') });
    const changed = await pos.pay({ merchantOrderId, amount: hkd('1251'), paymentCode: PosClient.code('00') });
    expect(changed.status).toBe(409);
    expect(changed.body).toEqual({ error: { code: 'IDEMPOTENCY_CONFLICT', message: expect.any(String) } });
    const lookedUp = await pos.request('GET', `/v1/payments?merchantOrderId=${merchantOrderId}`);
    expect(lookedUp.body).toMatchObject({ paymentId: first.body.paymentId, amount: hkd('1250') });
  });

  it('refuses malformed requests with stable codes and never creates a payment from them', async () => {
    const bad = await pos.pay({ merchantOrderId: 'has space', amount: { currency: 'JPY', value: '12.5' }, paymentCode: '1234' });
    expect(bad.status).toBe(400);
    expect((bad.body as unknown as { error: { details: Array<{ code: string }> } }).error.details.map((d) => d.code).sort()).toEqual(['INVALID_AMOUNT', 'INVALID_MERCHANT_ORDER_ID', 'INVALID_PAYMENT_CODE']);
    const rupiah = await pos.pay({ merchantOrderId: PosClient.orderId(), amount: { currency: 'IDR', value: '1500050' }, paymentCode: PosClient.code('00') });
    expect(rupiah.status).toBe(400);
    expect((rupiah.body as unknown as { error: { details: Array<{ field: string; code: string }> } }).error.details).toEqual([expect.objectContaining({ field: 'amount.value', code: 'INVALID_AMOUNT' })]);
    for (const currency of ['XXX', 'toString', 'constructor']) {
      const unsupported = await pos.pay({ merchantOrderId: PosClient.orderId(), amount: { currency, value: '100' }, paymentCode: PosClient.code('00') });
      expect(unsupported.status).toBe(400);
      expect(JSON.stringify(unsupported.body)).toContain('UNSUPPORTED_CURRENCY');
    }
    const malformed = await fetch(`${pos.baseUrl}/v1/payments`, { method: 'POST', headers: { authorization: `Bearer ${pos.key}`, 'content-type': 'application/json' }, body: '{"merchantOrderId":' });
    expect(malformed.status).toBe(400);
    expect(((await malformed.json()) as { error: { code: string } }).error.code).toBe('MALFORMED_JSON');
    const anonymous = await fetch(`${pos.baseUrl}/v1/payments`, { method: 'POST', headers: { authorization: 'Bearer tk.nope.nope' } });
    expect(anonymous.status).toBe(401);
  });

  it('charges a scanned code with the spaces and line end a scanner adds, and replays it as the same request', async () => {
    const code = PosClient.code('00');
    const body = { merchantOrderId: PosClient.orderId('scan'), amount: hkd('1250'), paymentCode: `${code.slice(0, 6)} ${code.slice(6)}\r\n` };
    const answer = await pos.pay(body);
    expect(answer.status).toBe(201);
    expect(answer.body.status).toBe('SUCCEEDED');
    const replay = await pos.pay({ ...body, paymentCode: code });
    expect(replay.status).toBe(200);
    expect(replay.body.paymentId).toBe(answer.body.paymentId);
    expect((await platform.sandboxPayment(answer.body.paymentId))!.calls.pay).toBe(1);
  });
});

describe('tenant scoping', () => {
  it('answers 404 to another merchant\'s terminal for everything about a payment', async () => {
    const paymentId = await paid();
    const merchantOrderId = (await pos.get(paymentId)).body.merchantOrderId;
    for (const answer of [
      await other.get(paymentId),
      await other.request('GET', `/v1/payments?merchantOrderId=${merchantOrderId}`),
      await other.cancel(paymentId, 0),
      await other.refund(paymentId, { refundRequestId: 'R-x', amount: hkd('1') }),
    ]) {
      expect(answer.status).toBe(404);
      expect(answer.body).toEqual({ error: { code: 'PAYMENT_NOT_FOUND', message: 'no such payment' } });
    }
    expect((await pos.get(paymentId)).body.status).toBe('SUCCEEDED');
  });
});

describe('cancel wins', () => {
  it('a POS cancel while the user enters the PIN ends CANCELLED, and the success that follows does not flip it', async () => {
    const created = await pos.pay({ merchantOrderId: PosClient.orderId('abort'), amount: hkd('1250'), paymentCode: PosClient.code('80'), waitSeconds: 0 });
    expect(created.status).toBe(202);
    const cancelled = await pos.cancel(created.body.paymentId, 20);
    expect(cancelled.body.status).toBe('CANCELLED');
    await sleep(1500); // the PIN delay (0.6 s here) has long passed
    expect((await pos.get(created.body.paymentId)).body.status).toBe('CANCELLED');
    expect((await platform.sandboxPayment(created.body.paymentId))!.status).toBe('CANCELLED');
  });
});

describe('refunds', () => {
  it('allows partial refunds up to the amount paid and refuses the next with REFUND_EXCEEDS_PAID', async () => {
    const paymentId = await paid('1000');
    const first = await pos.refund(paymentId, { refundRequestId: 'R-1', amount: hkd('400') });
    expect(first).toMatchObject({ status: 201, body: { status: 'SUCCEEDED', amount: hkd('400') } });
    const replay = await pos.refund(paymentId, { refundRequestId: 'R-1', amount: hkd('400') });
    expect(replay).toMatchObject({ status: 200, body: { refundId: first.body.refundId, status: 'SUCCEEDED' } });
    const conflicting = await pos.refund(paymentId, { refundRequestId: 'R-1', amount: hkd('401') });
    expect(conflicting.status).toBe(409);
    const second = await pos.refund(paymentId, { refundRequestId: 'R-2', amount: hkd('600') });
    expect(second.body.status).toBe('SUCCEEDED');
    await eventually(async () => ((await pos.get(paymentId)).body.refundedAmount.value === '1000' ? true : undefined));
    const third = await pos.refund(paymentId, { refundRequestId: 'R-3', amount: hkd('1') });
    expect(third).toMatchObject({ status: 422, body: { error: { code: 'REFUND_EXCEEDS_PAID' } } });
    const seen = await platform.sandboxPayment(paymentId);
    expect(seen!.calls.refund).toBe(2);
    expect(seen!.refundedAmount).toEqual(hkd('1000'));
  });

  it('lets exactly one of two concurrent refunds that together exceed the amount paid succeed', async () => {
    const paymentId = await paid('1000');
    const answers = await Promise.all([
      pos.refund(paymentId, { refundRequestId: 'C-1', amount: hkd('700') }),
      pos.refund(paymentId, { refundRequestId: 'C-2', amount: hkd('700') }),
    ]);
    const statuses = answers.map((a) => a.status).sort();
    expect(statuses).toEqual([201, 422]);
    expect(answers.find((a) => a.status === 422)!.body).toMatchObject({ error: { code: 'REFUND_EXCEEDS_PAID' } });
    expect(answers.find((a) => a.status === 201)!.body).toMatchObject({ status: 'SUCCEEDED' });
    const seen = await platform.sandboxPayment(paymentId);
    expect(seen!.calls.refund).toBe(1);
    expect(seen!.refundedAmount).toEqual(hkd('700'));
  });

  it('refuses to cancel a payment that has a refund, and the payment keeps its money and its refund', async () => {
    const paymentId = await paid('1000');
    expect((await pos.refund(paymentId, { refundRequestId: 'R-part', amount: hkd('300') })).body).toMatchObject({ status: 'SUCCEEDED' });
    const cancel = await pos.cancel(paymentId, 5);
    expect(cancel).toMatchObject({ status: 422, body: { error: { code: 'PAYMENT_NOT_CANCELLABLE' } } });
    expect((await pos.get(paymentId)).body).toMatchObject({ status: 'SUCCEEDED', refundedAmount: hkd('300') });
    expect((await platform.sandboxPayment(paymentId))!.calls.cancel).toBe(0);
  });

  it('voids a sale whose only refund Alipay refused: nothing went back, and the cashier can still reverse it', async () => {
    const paymentId = await paid('1000');
    const clock = (body: unknown) => fetch(`${platform.urls.sandbox}/sandbox/clock`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    // a year on, the sandbox's refund window has passed: Alipay refuses the refund (F REFUND_WINDOW_EXCEED)
    await clock({ advanceMs: 366 * 86_400_000 });
    try {
      const refund = await pos.refund(paymentId, { refundRequestId: 'R-late', amount: hkd('400'), waitSeconds: 10 });
      expect(refund).toMatchObject({ status: 201, body: { status: 'FAILED', failure: { code: 'REFUND_WINDOW_EXCEED' } } });
    } finally {
      await clock({ reset: true });
    }
    // back within the day's cancel window, the void goes ahead and Alipay reverses the whole charge
    const cancel = await pos.cancel(paymentId, 20);
    expect(cancel).toMatchObject({ status: 200, body: { status: 'CANCELLED', refundedAmount: hkd('0') } });
    const seen = await platform.sandboxPayment(paymentId);
    expect(seen).toMatchObject({ status: 'CANCELLED', calls: { refund: 1, cancel: 1 } });
  });

  it('refuses to refund a payment that did not succeed', async () => {
    const failed = await pos.pay({ merchantOrderId: PosClient.orderId('fail'), amount: hkd('1000'), paymentCode: PosClient.code('85') });
    const refund = await pos.refund(failed.body.paymentId, { refundRequestId: 'R-1', amount: hkd('1') });
    expect(refund).toMatchObject({ status: 422, body: { error: { code: 'PAYMENT_NOT_REFUNDABLE' } } });
  });
});

describe('notifications from Alipay', () => {
  it('refuses a forged notification and it changes nothing', async () => {
    const created = await pos.pay({ merchantOrderId: PosClient.orderId('forged'), amount: hkd('1250'), paymentCode: PosClient.code('82'), waitSeconds: 0 });
    const paymentId = created.body.paymentId;
    const forger = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const body = Buffer.from(JSON.stringify({
      notifyType: 'PAYMENT_RESULT', result: { resultCode: 'SUCCESS', resultStatus: 'S', resultMessage: 'success' },
      paymentRequestId: paymentId, paymentId: '2026112719401080010018810000000001', paymentAmount: hkd('1250'), paymentCreateTime: new Date().toISOString(), paymentTime: new Date().toISOString(),
    }));
    const headers = signedRequestHeaders({ path: '/alipay/notify', clientId: 'SANDBOX_UPM_E2E', time: String(Date.now()), body, privateKey: forger.privateKey, keyVersion: '1' });
    const answer = await fetch(`${platform.urls.connector}/alipay/notify`, { method: 'POST', headers, body });
    expect(answer.status).toBe(401);
    expect(await answer.json()).toMatchObject({ result: { resultCode: 'INVALID_SIGNATURE', resultStatus: 'F' } });
    const unsigned = await fetch(`${platform.urls.connector}/alipay/notify`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
    expect(unsigned.status).toBe(401);
    // the forged success never lands: the saga runs out of inquiries and cancels
    expect((await pos.final(paymentId)).status).toBe('CANCELLED');
  });
});

describe('the AMS audit log', () => {
  it('records every exchange of a payment with the payment code masked', async () => {
    const code = PosClient.code('80');
    const created = await pos.pay({ merchantOrderId: PosClient.orderId('audit'), amount: hkd('800'), paymentCode: code });
    expect(created.body.status).toBe('SUCCEEDED');
    const db = new Client({ connectionString: platform.env['alipay-connector'].DATABASE_URL });
    await db.connect();
    try {
      const { rows } = await db.query('SELECT api, outcome, request_body, response_body FROM ams_exchanges WHERE payment_id = $1 ORDER BY id', [created.body.paymentId]);
      expect(rows[0]).toMatchObject({ api: 'pay', outcome: 'U' });
      expect(rows.slice(1).every((r) => r.api === 'inquiryPayment')).toBe(true);
      expect(rows.at(-1)).toMatchObject({ outcome: 'S' });
      const text = JSON.stringify(rows);
      expect(text).not.toContain(code);
      expect(rows[0].request_body).toContain(`${code.slice(0, 6)}${'*'.repeat(code.length - 10)}${code.slice(-4)}`);
      expect(rows[0].response_body).toContain('PAYMENT_IN_PROCESS');
    } finally {
      await db.end();
    }
  });
});

describe('onboarding', () => {
  it('imports thousands of terminals from CSV in one call, all or nothing, and their keys work', async () => {
    const tag = Date.now().toString(36);
    const header = 'merchantId,merchantName,merchantMcc,storeId,storeName,storeMcc,terminalId';
    const rows = Array.from({ length: 2000 }, (_, i) => `mer_${tag}_${i % 10},"Chain ${i % 10}, Ltd",5411,sto_${tag}_${i % 400},Store ${i % 400},5411,ter_${tag}_${i}`);
    const csv = [header, ...rows].join('\n');
    const post = (text: string) => fetch(`${platform.urls.gateway}/v1/admin/import`, { method: 'POST', headers: { authorization: 'Bearer e2e-admin-token-0123', 'content-type': 'text/csv' }, body: text });
    const first = await post(csv);
    expect(first.status).toBe(200);
    const result = (await first.json()) as { merchantsCreated: number; storesCreated: number; terminalsCreated: number; terminals: Array<{ terminalId: string; key: string }> };
    expect(result).toMatchObject({ merchantsCreated: 10, storesCreated: 400, terminalsCreated: 2000 });
    const imported = new PosClient(platform.urls.gateway, result.terminals[1999].key, { merchantId: '', storeId: '', terminalId: '' });
    const payment = await imported.pay({ merchantOrderId: PosClient.orderId('imp'), amount: hkd('500'), paymentCode: PosClient.code('00') });
    expect(payment.body).toMatchObject({ status: 'SUCCEEDED', terminalId: `ter_${tag}_1999`, merchantId: `mer_${tag}_9` });

    const again = (await (await post(csv)).json()) as { terminalsCreated: number };
    expect(again.terminalsCreated).toBe(0);
    const broken = await post(`${header}\nmer_${tag}_new,New,5411,sto_${tag}_new,S,5411,ter_${tag}_new\nmer_${tag}_bad,Bad,54,sto_${tag}_bad,S,5411,ter_${tag}_bad`);
    expect(broken.status).toBe(400);
    expect(JSON.stringify(await broken.json())).toContain('"line":3');
    const split = await post(`${header}\nmer_${tag}_a,A,5411,sto_${tag}_shared,S,5411,ter_${tag}_a\nmer_${tag}_b,B,5411,sto_${tag}_shared,S,5411,ter_${tag}_b`);
    expect(split.status).toBe(409);
    expect(await split.json()).toMatchObject({ error: { code: 'STORE_BELONGS_TO_ANOTHER_MERCHANT', details: [{ storeId: `sto_${tag}_shared` }] } });
    const notCreated = await post(`${header}\nmer_${tag}_new,New,5411,sto_${tag}_new,S,5411,ter_${tag}_new`);
    expect(((await notCreated.json()) as { merchantsCreated: number }).merchantsCreated).toBe(1);
  });

  it('rotates a terminal key (the old one stops working) and revokes it', async () => {
    const terminal = await platform.onboard('Rotating');
    const rotated = await platform.admin.post(`/v1/admin/terminals/${terminal.ids.terminalId}/rotate-key`, {});
    const renewed = new PosClient(terminal.baseUrl, String(rotated.key), terminal.ids);
    expect((await terminal.request('GET', '/v1/payments?merchantOrderId=x')).status).toBe(401);
    expect((await renewed.request('GET', '/v1/payments?merchantOrderId=x')).status).toBe(404);
    await platform.admin.post(`/v1/admin/terminals/${terminal.ids.terminalId}/revoke`, {});
    expect((await renewed.request('GET', '/v1/payments?merchantOrderId=x')).status).toBe(401);
  });

  it('limits requests per terminal with 429 RATE_LIMITED', async () => {
    const limited = await startService('terminal-gateway', 3399, { ...platform.env['terminal-gateway'], GATEWAY_RATE_LIMIT_PER_SECOND: '3' });
    try {
      const terminal = await platform.onboard('Busy');
      const client = new PosClient(limited.url, terminal.key, terminal.ids);
      const answers = await Promise.all(Array.from({ length: 8 }, () => client.pay({ merchantOrderId: PosClient.orderId('rl'), amount: hkd('100'), paymentCode: PosClient.code('00'), waitSeconds: 0 })));
      const limitedAnswers = answers.filter((a) => a.status === 429);
      expect(limitedAnswers.length).toBeGreaterThanOrEqual(1);
      expect(limitedAnswers[0].body).toMatchObject({ error: { code: 'RATE_LIMITED' } });
      expect(answers.filter((a) => a.status !== 429).length).toBeLessThanOrEqual(6);
    } finally {
      await limited.stop('SIGKILL');
    }
  });

  it('serves its OpenAPI document and browsable docs', async () => {
    const document = (await (await fetch(`${platform.urls.gateway}/openapi.json`)).json()) as { paths: Record<string, unknown> };
    expect(Object.keys(document.paths)).toEqual(expect.arrayContaining(['/v1/payments', '/v1/payments/{paymentId}/cancel', '/v1/payments/{paymentId}/refunds', '/v1/admin/import']));
    expect((await fetch(`${platform.urls.gateway}/docs`)).status).toBe(200);
  });
});
