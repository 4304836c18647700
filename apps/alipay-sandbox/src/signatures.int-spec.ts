import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { AmsClient, amsPath, createSignature, publicKeyBase64, publicKeyPem, signedRequestHeaders, verifySignature } from '@upm/alipay';
import { startInProcessSandbox, InProcessSandbox } from './testing/in-process-sandbox';
import { postJson } from './testing/http';
import { connect, newMerchant, payInput } from './testing/merchant';

let sandbox: InProcessSandbox;
const merchant = newMerchant('SANDBOX_SIGNATURES');
let client: AmsClient;
let alipayPublicKey: string;

beforeAll(async () => {
  sandbox = await startInProcessSandbox();
  client = await connect(sandbox.url, merchant);
  alipayPublicKey = await (await fetch(`${sandbox.url}/sandbox/alipay-public-key`)).text();
});

afterAll(async () => {
  client.close();
  await sandbox.close();
});

const PATH = amsPath('inquiryPayment', true);
const BODY = JSON.stringify({ paymentRequestId: 'NOPE' });

/** A raw POST to the sandbox, for requests no well-behaved client would send. */
async function post(headers: Record<string, string | undefined>, body: string, path = PATH) {
  const defined = Object.fromEntries(Object.entries(headers).filter(([, v]) => v !== undefined)) as Record<string, string>;
  const response = await fetch(`${sandbox.url}${path}`, { method: 'POST', headers: defined, body });
  return { status: response.status, headers: response.headers, text: await response.text() };
}

const signed = (body: string, overrides: Partial<{ time: string; privateKey: typeof merchant.privateKey; path: string; keyVersion: string }> = {}) =>
  signedRequestHeaders({ path: overrides.path ?? PATH, clientId: merchant.clientId, time: overrides.time ?? String(Date.now()), body, privateKey: overrides.privateKey ?? merchant.privateKey, keyVersion: overrides.keyVersion });

function expectInvalidSignature(answer: { status: number; headers: Headers; text: string }) {
  expect(answer.status).toBe(200);
  expect(JSON.parse(answer.text)).toEqual({ result: { resultCode: 'INVALID_SIGNATURE', resultStatus: 'F', resultMessage: expect.any(String) } });
  expect(answer.headers.get('signature')).toBeNull();
}

describe('request signatures', () => {
  it('a correctly signed request is answered with a signed response that verifies over path, response-time and body', async () => {
    const answer = await post(signed(BODY), BODY);
    expect(JSON.parse(answer.text).result).toMatchObject({ resultCode: 'ORDER_NOT_EXIST', resultStatus: 'F' });
    expect(answer.headers.get('client-id')).toBe(merchant.clientId);
    const content = { path: PATH, clientId: merchant.clientId, time: answer.headers.get('response-time')!, body: answer.text };
    expect(verifySignature(content, answer.headers.get('signature')!, alipayPublicKey)).toBe(true);
    expect(verifySignature({ ...content, body: answer.text.replace('NOT', 'NOX') }, answer.headers.get('signature')!, alipayPublicKey)).toBe(false);
  });

  it('accepts an ISO-8601 Request-Time and spaces in the Signature header (spec §2.3)', async () => {
    const time = '2026-11-27T10:00:00+08:00';
    const signature = createSignature({ path: PATH, clientId: merchant.clientId, time, body: BODY }, merchant.privateKey).replace(/,/g, ', ');
    const answer = await post({ 'content-type': 'application/json; charset=UTF-8', 'client-id': merchant.clientId, 'request-time': time, signature }, BODY);
    expect(JSON.parse(answer.text).result.resultCode).toBe('ORDER_NOT_EXIST');
  });

  it('a request signed with the wrong key gets INVALID_SIGNATURE, unsigned', async () => {
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    expectInvalidSignature(await post(signed(BODY, { privateKey }), BODY));
  });

  it('a tampered body, time or path gets INVALID_SIGNATURE, unsigned', async () => {
    const headers = signed(BODY);
    expectInvalidSignature(await post(headers, BODY.replace('NOPE', 'NOPF')));
    expectInvalidSignature(await post({ ...headers, 'request-time': String(Number(headers['request-time']) + 1) }, BODY));
    expectInvalidSignature(await post(headers, BODY, amsPath('inquiryPayment', false)));
  });

  it('a signature sent as raw Base64, not URL-encoded, gets INVALID_SIGNATURE: Alipay URL-decodes it and a "+" becomes a space (spec §2.5)', async () => {
    // a body whose signature has a "+" in its Base64, as nearly every signature does
    let body = BODY;
    let headers = signed(body);
    for (let n = 0; !decodeURIComponent(headers.signature).includes('+'); n += 1) {
      body = JSON.stringify({ paymentRequestId: `NOPE_${n}` });
      headers = signed(body);
    }
    const raw = headers.signature.replace(/signature=(.*)$/, (_, encoded: string) => `signature=${decodeURIComponent(encoded)}`);
    expect(raw).toContain('+');
    expectInvalidSignature(await post({ ...headers, signature: raw }, body));
    expect(JSON.parse((await post(headers, body)).text).result.resultCode).toBe('ORDER_NOT_EXIST');
  });

  it.each(['client-id', 'request-time', 'signature'])('a request without %s gets INVALID_SIGNATURE, unsigned', async (missing) => {
    expectInvalidSignature(await post({ ...signed(BODY), [missing]: undefined }, BODY));
  });

  it.each([
    ['text/plain', 'text/plain; charset=UTF-8'],
    ['another charset', 'application/json; charset=ISO-8859-1'],
    ['a form', 'application/x-www-form-urlencoded'],
  ])('a request with %s gets a signed F MEDIA_TYPE_NOT_ACCEPTABLE (spec §2.3, §4.4)', async (_, contentType) => {
    const answer = await post({ ...signed(BODY), 'content-type': contentType }, BODY);
    expect(answer.status).toBe(200);
    expect(JSON.parse(answer.text).result).toMatchObject({ resultCode: 'MEDIA_TYPE_NOT_ACCEPTABLE', resultStatus: 'F' });
    expect(verifySignature({ path: PATH, clientId: merchant.clientId, time: answer.headers.get('response-time')!, body: answer.text }, answer.headers.get('signature')!, alipayPublicKey)).toBe(true);
  });

  it('a request without Content-Type gets F MEDIA_TYPE_NOT_ACCEPTABLE too', async () => {
    const headers = signed(BODY);
    delete (headers as Record<string, string | undefined>)['content-type'];
    const { port } = new URL(sandbox.url);
    const text = await new Promise<string>((resolve, reject) => {
      const req = http.request({ host: '127.0.0.1', port, path: PATH, method: 'POST', headers }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
      });
      req.on('error', reject);
      req.end(BODY);
    });
    expect(JSON.parse(text).result).toMatchObject({ resultCode: 'MEDIA_TYPE_NOT_ACCEPTABLE', resultStatus: 'F' });
  });

  it.each(['application/json', 'Application/JSON;charset=utf-8', 'application/json; charset="UTF-8"', 'application/json; charset=utf8'])('takes the JSON media type %s', async (contentType) => {
    const answer = await post({ ...signed(BODY), 'content-type': contentType }, BODY);
    expect(JSON.parse(answer.text).result).toMatchObject({ resultCode: 'ORDER_NOT_EXIST' });
  });

  it('the client classifies the unsigned INVALID_SIGNATURE answer as U, keeping the claim', async () => {
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const impostor = new AmsClient({ baseUrl: sandbox.url, credentials: { clientId: merchant.clientId, privateKey, alipayPublicKey } });
    try {
      const result = await impostor.pay(payInput());
      expect(result).toMatchObject({ outcome: 'U', problem: 'UNSIGNED_RESPONSE', claimedResult: { resultCode: 'INVALID_SIGNATURE', resultStatus: 'F' } });
    } finally {
      impostor.close();
    }
  });

  it('an unknown client gets a signed F INVALID_CLIENT', async () => {
    const stranger = newMerchant('SANDBOX_NEVER_REGISTERED');
    const unregistered = new AmsClient({ baseUrl: sandbox.url, credentials: { clientId: stranger.clientId, privateKey: stranger.privateKey, alipayPublicKey } });
    try {
      expect(await unregistered.pay(payInput())).toMatchObject({ outcome: 'F', resultCode: 'INVALID_CLIENT' });
    } finally {
      unregistered.close();
    }
  });

  it('selects the key by keyVersion; an unknown version gets F KEY_NOT_FOUND', async () => {
    const rotated = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const registered = await postJson(`${sandbox.url}/sandbox/clients`, { clientId: merchant.clientId, publicKey: publicKeyPem(rotated.publicKey), keyVersion: '2' });
    expect(registered).toMatchObject({ status: 201, body: { clientId: merchant.clientId, keyVersion: '2' } });
    const v2 = new AmsClient({ baseUrl: sandbox.url, credentials: { clientId: merchant.clientId, privateKey: rotated.privateKey, alipayPublicKey, keyVersion: 2 } });
    try {
      expect((await v2.pay(payInput())).outcome).toBe('S');
      expect((await client.pay(payInput())).outcome).toBe('S'); // keyVersion 1 still verifies with the first key
      expect(JSON.parse((await post(signed(BODY, { keyVersion: '9' }), BODY)).text).result).toMatchObject({ resultCode: 'KEY_NOT_FOUND', resultStatus: 'F' });
    } finally {
      v2.close();
    }
  });

  it('refuses to register a key that is not an RSA public key', async () => {
    const response = await postJson(`${sandbox.url}/sandbox/clients`, { clientId: 'X', publicKey: 'hello' });
    expect(response).toMatchObject({ status: 400, body: { error: { code: 'VALIDATION_FAILED' } } });
  });
});

describe('response signatures', () => {
  it('an answer whose body was changed on the way (one byte) is U, although the sandbox charged', async () => {
    const proxy = await startTamperingProxy(sandbox.url);
    const viaProxy = new AmsClient({ baseUrl: proxy.url, credentials: { clientId: merchant.clientId, privateKey: merchant.privateKey, alipayPublicKey } });
    try {
      const input = payInput();
      const result = await viaProxy.pay(input);
      expect(result).toMatchObject({ outcome: 'U', problem: 'INVALID_RESPONSE_SIGNATURE', claimedResult: { resultStatus: 'S' } });
      expect(result.body).toBeUndefined();
      expect(proxy.tampered).toBe(1);
      expect((await client.inquiryPayment({ paymentRequestId: input.paymentRequestId })).body?.paymentStatus).toBe('SUCCESS');
    } finally {
      viaProxy.close();
      await proxy.close();
    }
  });

  it('a client holding the wrong Alipay public key trusts nothing (U)', async () => {
    const wrong = generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey;
    const misconfigured = new AmsClient({ baseUrl: sandbox.url, credentials: { clientId: merchant.clientId, privateKey: merchant.privateKey, alipayPublicKey: wrong } });
    try {
      expect(await misconfigured.pay(payInput({ scenario: '85' }))).toMatchObject({ outcome: 'U', problem: 'INVALID_RESPONSE_SIGNATURE', claimedResult: { resultCode: 'USER_BALANCE_NOT_ENOUGH' } });
    } finally {
      misconfigured.close();
    }
  });
});

describe('keys and clients from configuration', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'sandbox-keys-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('uses SANDBOX_PRIVATE_KEY_FILE and SANDBOX_CLIENTS (a PEM file and an inline Base64 DER key), with Base64 DER keys in the client', async () => {
    const alipayKeys = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const fromFile = newMerchant('SANDBOX_FROM_FILE');
    const inline = generateKeyPairSync('rsa', { modulusLength: 2048 });
    writeFileSync(path.join(dir, 'sandbox.pem'), alipayKeys.privateKey.export({ type: 'pkcs1', format: 'pem' }));
    writeFileSync(path.join(dir, 'merchant.pem'), fromFile.publicKeyPem);
    const configured = await startInProcessSandbox({
      SANDBOX_PRIVATE_KEY_FILE: path.join(dir, 'sandbox.pem'),
      SANDBOX_CLIENTS: `SANDBOX_FROM_FILE=${path.join(dir, 'merchant.pem')}, INLINE_CLIENT=${publicKeyBase64(inline.publicKey)}`,
    });
    const base64Alipay = await (await fetch(`${configured.url}/sandbox/alipay-public-key?format=base64`)).text();
    expect(base64Alipay).toBe(publicKeyBase64(alipayKeys.publicKey));
    const clients = [
      new AmsClient({ baseUrl: configured.url, credentials: { clientId: fromFile.clientId, privateKey: fromFile.privateKey, alipayPublicKey: base64Alipay } }),
      new AmsClient({
        baseUrl: configured.url,
        credentials: { clientId: 'INLINE_CLIENT', privateKey: inline.privateKey.export({ type: 'pkcs1', format: 'der' }).toString('base64'), alipayPublicKey: base64Alipay },
      }),
    ];
    try {
      for (const each of clients) expect(await each.pay(payInput())).toMatchObject({ outcome: 'S', resultCode: 'SUCCESS' });
    } finally {
      clients.forEach((each) => each.close());
      await configured.close();
    }
  });

  it('one client object serves several client ids, each signing with its own key', async () => {
    const second = newMerchant('SECOND_REGION');
    await connect(sandbox.url, second).then((c) => c.close());
    const multi = new AmsClient({
      baseUrl: sandbox.url,
      credentials: [
        { clientId: merchant.clientId, privateKey: merchant.privateKey, alipayPublicKey },
        { clientId: second.clientId, privateKey: second.privateKey, alipayPublicKey },
      ],
    });
    try {
      const first = await multi.pay(payInput());
      const other = await multi.pay(payInput(), { clientId: second.clientId });
      expect([first.exchange.clientId, first.outcome]).toEqual([merchant.clientId, 'S']);
      expect([other.exchange.clientId, other.exchange.path, other.outcome]).toEqual([second.clientId, '/ams/api/v1/payments/pay', 'S']);
    } finally {
      multi.close();
    }
  });
});

/** Forwards to the sandbox and flips one byte of every answer body. */
async function startTamperingProxy(target: string): Promise<{ url: string; tampered: number; close(): Promise<void> }> {
  const state = { tampered: 0 };
  const server = http.createServer((req, res) => {
    const upstream = http.request(new URL(req.url ?? '/', target), { method: req.method, headers: req.headers }, (answer) => {
      const chunks: Buffer[] = [];
      answer.on('data', (chunk: Buffer) => chunks.push(chunk));
      answer.on('end', () => {
        const body = Buffer.concat(chunks);
        const at = body.indexOf('"paymentId":"') + '"paymentId":"'.length;
        body[at] = body[at] === 0x31 ? 0x32 : 0x31;
        state.tampered += 1;
        res.writeHead(answer.statusCode ?? 502, answer.headers).end(body);
      });
    });
    req.pipe(upstream);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    get tampered() {
      return state.tampered;
    },
    close: () => {
      server.closeAllConnections();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
