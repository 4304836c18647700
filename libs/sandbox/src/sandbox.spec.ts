import { generateKeyPairSync } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { amsPath, createSignature, publicKeyPem, signedRequestHeaders, verifySignature } from '@upm/alipay';
import { testLogger } from '@upm/shared-testing';
import { canonicalJson } from './ams-engine';
import type { LedgerEntry } from './payment-book';
import { writeDeliveryMarker } from './report-delivery';
import { buildDayReports, REPORT_STAGING_DIR } from './reports';
import { ReportDayNotClosedError, Sandbox } from './sandbox';
import { DEFAULT_SANDBOX_SETTINGS, SandboxSettings } from './sandbox-settings';

// The sandbox without HTTP: the gateway takes a path, headers and raw bytes and answers what would be sent.
const merchant = generateKeyPairSync('rsa', { modulusLength: 2048 });
const CLIENT = 'SANDBOX_UNIT';

function sandboxWith(settings: Partial<SandboxSettings> = {}): Sandbox {
  const sandbox = new Sandbox({ ...DEFAULT_SANDBOX_SETTINGS, ...settings, clients: [{ clientId: CLIENT, publicKey: publicKeyPem(merchant.publicKey) }] }, { logger: testLogger() });
  sandboxes.push(sandbox);
  return sandbox;
}
const sandboxes: Sandbox[] = [];
afterEach(() => sandboxes.splice(0).forEach((s) => s.close()));

function request(path: string, body: string) {
  return { path, headers: signedRequestHeaders({ path, clientId: CLIENT, time: '1785000000000', body, privateKey: merchant.privateKey }), body: Buffer.from(body) };
}

const payBody = (digits: string) =>
  JSON.stringify({
    productCode: 'IN_STORE_PAYMENT',
    paymentRequestId: `PR_${digits}_${Math.random().toString(36).slice(2)}`,
    order: {
      referenceOrderId: 'O1',
      orderDescription: 'tea',
      orderAmount: { currency: 'HKD', value: '100' },
      merchant: { referenceMerchantId: 'M1', merchantMCC: '5812', merchantName: 'M', store: { referenceStoreId: 'S1', storeName: 'S', storeMCC: '5812' } },
      env: { storeTerminalId: 'T1', storeTerminalRequestTime: '2026-11-27T10:00:00+08:00' },
    },
    paymentAmount: { currency: 'HKD', value: '100' },
    paymentMethod: { paymentMethodType: 'CONNECT_WALLET', paymentMethodId: `28101202${'0'.repeat(14)}${digits}` },
    paymentFactor: { inStorePaymentScenario: 'PaymentCode' },
  });

describe('the sandbox gateway', () => {
  it('signs its answer over the request path with its own key', async () => {
    const sandbox = sandboxWith();
    const path = amsPath('pay', true);
    const reply = (await sandbox.gateway.handle(request(path, payBody('00'))))!;
    expect(JSON.parse(reply.body).result).toEqual({ resultCode: 'SUCCESS', resultStatus: 'S', resultMessage: 'success.' });
    expect(verifySignature({ path, clientId: CLIENT, time: reply.headers['response-time'], body: reply.body }, reply.headers.signature, sandbox.publicKeyPem())).toBe(true);
  });

  it('answers an unknown API and a body that is not a JSON object, signed', async () => {
    const sandbox = sandboxWith();
    const unknown = (await sandbox.gateway.handle(request('/ams/api/v1/payments/capture', '{}')))!;
    expect(JSON.parse(unknown.body).result.resultCode).toBe('NO_INTERFACE_DEF');
    const notJson = (await sandbox.gateway.handle(request(amsPath('pay', false), '[1,2]')))!;
    expect([JSON.parse(notJson.body).result.resultCode, notJson.headers.signature === undefined]).toEqual(['PARAM_ILLEGAL', false]);
  });

  it('adds SANDBOX_LATENCY_MS to every answer, including refusals', async () => {
    const sandbox = sandboxWith({ latencyMs: 80 });
    const started = Date.now();
    const reply = (await sandbox.gateway.handle({ ...request(amsPath('pay', false), payBody('00')), headers: {} }))!;
    expect(Date.now() - started).toBeGreaterThanOrEqual(75);
    expect(JSON.parse(reply.body).result.resultCode).toBe('INVALID_SIGNATURE');
  });

  it('drops a held answer when the sandbox closes (no answer to send)', async () => {
    const sandbox = sandboxWith({ hangMs: 60_000 });
    const held = sandbox.gateway.handle(request(amsPath('pay', false), payBody('83')));
    sandbox.close();
    expect(await held).toBeUndefined();
  });

  it('keeps the answer of a request signed under keyVersion 1 by default, with an explicit signature too', async () => {
    const sandbox = sandboxWith();
    const path = amsPath('inquiryPayment', false);
    const body = '{"paymentRequestId":"X"}';
    const signature = createSignature({ path, clientId: CLIENT, time: '1', body }, merchant.privateKey, 1);
    const reply = (await sandbox.gateway.handle({ path, headers: { 'content-type': 'application/json', 'client-id': CLIENT, 'request-time': '1', signature }, body: Buffer.from(body) }))!;
    expect(JSON.parse(reply.body).result.resultCode).toBe('ORDER_NOT_EXIST');
  });
});

describe('the sandbox’s report files (spec §13.1: day T’s files on T+1)', () => {
  let reportDir: string;
  beforeEach(() => (reportDir = mkdtempSync(path.join(tmpdir(), 'sandbox-unit-reports-'))));
  afterEach(() => rmSync(reportDir, { recursive: true, force: true }));

  it('are refused for a day the sandbox clock has not closed, today or later, and nothing is written', async () => {
    const sandbox = sandboxWith({ reportDir, reportOpenDays: false });
    sandbox.clock.set(new Date('2026-11-27T15:59:00Z')); // 23:59 UTC+8 on the 27th (the clock runs on from there)
    const today = sandbox.writeReports('2026-11-27');
    await expect(today).rejects.toBeInstanceOf(ReportDayNotClosedError);
    await expect(today).rejects.toMatchObject({ day: '2026-11-27', closesAt: new Date('2026-11-27T16:00:00Z') });
    await expect(sandbox.writeReports('2026-11-28')).rejects.toBeInstanceOf(ReportDayNotClosedError);
    expect(readdirSync(reportDir)).toEqual([]);

    sandbox.clock.set(new Date('2026-11-27T16:00:00Z')); // 00:00 UTC+8 on the 28th: the 27th has closed
    expect((await sandbox.writeReports('2026-11-27')).files.map((f) => f.kind)).toEqual(['transactionItems']);
  });

  it('of a day still open are written when reportOpenDays says so', async () => {
    const sandbox = sandboxWith({ reportDir, reportOpenDays: true });
    sandbox.clock.set(new Date('2026-11-27T04:00:00Z'));
    expect((await sandbox.writeReports('2026-11-27')).files.map((f) => f.kind)).toEqual(['transactionItems']);
  });
});

describe('the sandbox started after a crash between the two renames of a day folder rewrite', () => {
  let reportDir: string;
  beforeEach(() => (reportDir = mkdtempSync(path.join(tmpdir(), 'sandbox-unit-crash-'))));
  afterEach(() => rmSync(reportDir, { recursive: true, force: true }));

  const customerId = DEFAULT_SANDBOX_SETTINGS.customerId;
  const payment: LedgerEntry = {
    type: 'PAYMENT',
    customerId,
    at: new Date('2026-11-27T03:00:00Z'),
    amount: { currency: 'HKD', value: '1250' },
    transactionId: 'T-1',
    originalTransactionId: '',
    transactionRequestId: 'R-1',
    originalTransactionRequestId: '',
    referenceTransactionId: 'ORD-1',
    referenceMerchantId: 'M-1',
    referenceStoreId: 'S-1',
    orderDescription: 'coffee',
  };
  const contents = (folder: string) => Object.fromEntries(readdirSync(folder).sort().map((name) => [name, readFileSync(path.join(folder, name), 'utf8')]));

  it('puts the delivered day folder back from staging before delivering, and keeps its files', async () => {
    // delivered earlier: the 27th's files with its payment; then a rewrite of the 27th (delivery, its marker not
    // moved yet) stopped after the folder in place was moved out and before the new one was renamed in
    const delivered = buildDayReports([payment], '2026-11-27', [customerId]);
    const staging = path.join(reportDir, REPORT_STAGING_DIR, 'write-crashed');
    for (const [part, files] of [['previous', delivered], ['new', buildDayReports([], '2026-11-27', [customerId])]] as const) {
      const folder = part === 'previous' ? path.join(staging, part, customerId, '20261127') : path.join(staging, part, '20261127');
      mkdirSync(folder, { recursive: true });
      for (const file of files) writeFileSync(path.join(folder, file.name), file.content);
    }
    await writeDeliveryMarker(reportDir, { deliveredThrough: '2026-11-26' });

    const sandbox = sandboxWith({ reportDir, reportDelivery: true, reportDeliveryDelayMs: 0 });
    sandbox.clock.set(new Date('2026-11-27T16:30:00Z')); // the 27th is due; the sandbox's memory is empty
    await sandbox.deliverDueReports();

    expect(contents(path.join(reportDir, customerId, '20261127'))).toEqual(Object.fromEntries(delivered.map((f) => [f.name, f.content])));
    expect(readdirSync(path.join(reportDir, REPORT_STAGING_DIR))).toEqual([]);
  });
});

describe('canonicalJson', () => {
  it('ignores key order and spacing but not values', () => {
    expect(canonicalJson(JSON.parse('{"b":1,"a":{"y":[1,{"d":2,"c":3}],"x":"s"}}'))).toBe('{"a":{"x":"s","y":[1,{"c":3,"d":2}]},"b":1}');
    expect(canonicalJson({ a: '1' })).not.toBe(canonicalJson({ a: 1 }));
  });
});
