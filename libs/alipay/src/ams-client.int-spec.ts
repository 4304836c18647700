import { generateKeyPairSync } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { AmsClient } from './ams-client';
import { signedResponseHeaders, verifySignature } from './signature';

// A hand-rolled gateway per test, misbehaving in the one way under test; the sandbox covers the happy paths.
const merchant = generateKeyPairSync('rsa', { modulusLength: 2048 });
const alipay = generateKeyPairSync('rsa', { modulusLength: 2048 });
const CLIENT_ID = 'CLIENT_TRANSPORT';
const NOW = 1_785_000_000_000;

type Handler = (req: http.IncomingMessage, body: Buffer, res: http.ServerResponse) => void;

interface FakeGateway {
  url: string;
  connections: number;
  close(): Promise<void>;
}

async function fakeGateway(handler: Handler): Promise<FakeGateway> {
  const state = { connections: 0 };
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => handler(req, Buffer.concat(chunks), res));
  });
  server.on('connection', () => (state.connections += 1));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    get connections() {
      return state.connections;
    },
    close: () => {
      server.closeAllConnections();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

function signedAnswer(req: http.IncomingMessage, res: http.ServerResponse, body: string, status = 200): void {
  const headers = signedResponseHeaders({ path: req.url ?? '', clientId: CLIENT_ID, time: '2026-06-01T12:00:00+08:00', body, privateKey: alipay.privateKey });
  res.writeHead(status, headers).end(body);
}

const clients: AmsClient[] = [];
const gateways: FakeGateway[] = [];

function clientFor(gateway: FakeGateway, timeoutMs = 1000): AmsClient {
  const client = new AmsClient({ baseUrl: gateway.url, credentials: { clientId: CLIENT_ID, privateKey: merchant.privateKey, alipayPublicKey: alipay.publicKey }, timeoutMs, now: () => NOW });
  clients.push(client);
  return client;
}

async function gatewayWith(handler: Handler): Promise<FakeGateway> {
  const gateway = await fakeGateway(handler);
  gateways.push(gateway);
  return gateway;
}

afterEach(async () => {
  clients.splice(0).forEach((client) => client.close());
  await Promise.all(gateways.splice(0).map((gateway) => gateway.close()));
});

const INQUIRY = { paymentRequestId: 'PR1' };
const SUCCESS = JSON.stringify({ result: { resultCode: 'SUCCESS', resultStatus: 'S', resultMessage: 'success.' }, paymentStatus: 'SUCCESS' });

describe('AmsClient over real HTTP', () => {
  it('sends the exact signed bytes with the AMS headers, and keeps the exchange for the audit log', async () => {
    let seen: { headers: http.IncomingHttpHeaders; body: string; verified: boolean } | undefined;
    const gateway = await gatewayWith((req, body, res) => {
      const verified = verifySignature({ path: req.url ?? '', clientId: String(req.headers['client-id']), time: String(req.headers['request-time']), body }, String(req.headers.signature), merchant.publicKey);
      seen = { headers: req.headers, body: body.toString(), verified };
      signedAnswer(req, res, SUCCESS);
    });
    const result = await clientFor(gateway).inquiryPayment(INQUIRY);

    expect(seen).toMatchObject({ verified: true, body: '{"paymentRequestId":"PR1"}', headers: { 'content-type': 'application/json; charset=UTF-8', 'client-id': CLIENT_ID, 'request-time': String(NOW) } });
    expect(result).toMatchObject({ outcome: 'S', resultCode: 'SUCCESS', httpStatus: 200, body: { paymentStatus: 'SUCCESS' } });
    expect(result.exchange).toEqual({
      sent: true,
      clientId: CLIENT_ID,
      url: `${gateway.url}/ams/api/v1/payments/inquiryPayment`,
      path: '/ams/api/v1/payments/inquiryPayment',
      requestTime: String(NOW),
      requestBody: '{"paymentRequestId":"PR1"}',
      httpStatus: 200,
      responseTime: '2026-06-01T12:00:00+08:00',
      responseBody: SUCCESS,
    });
  });

  it('reuses one keep-alive connection for consecutive calls', async () => {
    const gateway = await gatewayWith((req, _body, res) => signedAnswer(req, res, SUCCESS));
    const client = clientFor(gateway);
    for (let i = 0; i < 5; i += 1) expect((await client.inquiryPayment(INQUIRY)).outcome).toBe('S');
    expect(gateway.connections).toBe(1);
  });

  it('a gateway that does not answer within the call timeout is U TIMEOUT, on time', async () => {
    const gateway = await gatewayWith(() => undefined);
    const result = await clientFor(gateway, 300).inquiryPayment(INQUIRY);
    expect(result).toMatchObject({ outcome: 'U', problem: 'TIMEOUT' });
    expect(result.durationMs).toBeGreaterThanOrEqual(295);
    expect(result.durationMs).toBeLessThan(1500);
  });

  it('an answer that starts but does not finish in time is U TIMEOUT', async () => {
    const gateway = await gatewayWith((_req, _body, res) => {
      res.writeHead(200, { 'content-length': '100' });
      res.write('{"result":');
    });
    expect(await clientFor(gateway, 300).inquiryPayment(INQUIRY)).toMatchObject({ outcome: 'U', problem: 'TIMEOUT' });
  });

  it('a dropped connection and a refused connection are U NETWORK_ERROR', async () => {
    const dropping = await gatewayWith((req) => req.socket.destroy());
    expect(await clientFor(dropping).inquiryPayment(INQUIRY)).toMatchObject({ outcome: 'U', problem: 'NETWORK_ERROR' });
    const closed = await fakeGateway(() => undefined);
    await closed.close();
    expect(await clientFor(closed).inquiryPayment(INQUIRY)).toMatchObject({ outcome: 'U', problem: 'NETWORK_ERROR' });
  });

  it('5xx and other non-200 answers are U, even when signed and claiming F', async () => {
    const failing = JSON.stringify({ result: { resultCode: 'PROCESS_FAIL', resultStatus: 'F', resultMessage: 'x' } });
    for (const status of [500, 502, 503, 404, 429]) {
      const gateway = await gatewayWith((req, _body, res) => signedAnswer(req, res, failing, status));
      expect(await clientFor(gateway).inquiryPayment(INQUIRY)).toMatchObject({ outcome: 'U', problem: 'HTTP_STATUS', httpStatus: status });
    }
  });

  it('an unparsable signed body is U', async () => {
    const gateway = await gatewayWith((req, _body, res) => signedAnswer(req, res, '<html>gateway error</html>'));
    expect(await clientFor(gateway).inquiryPayment(INQUIRY)).toMatchObject({ outcome: 'U', problem: 'UNPARSABLE_RESPONSE' });
  });

  it('refuses to send a malformed request', async () => {
    const gateway = await gatewayWith((req, _body, res) => signedAnswer(req, res, SUCCESS));
    const client = clientFor(gateway);
    await expect(client.refund({ refundRequestId: 'R 1', paymentId: 'P1', refundAmount: { currency: 'HKD', value: '1.5' } })).rejects.toThrow(/refundRequestId.*refundAmount/);
    await expect(client.cancel({})).rejects.toThrow(/paymentId, paymentRequestId/);
    expect(gateway.connections).toBe(0);
  });
});
