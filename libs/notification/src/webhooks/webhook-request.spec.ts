import { execFileSync } from 'node:child_process';
import type { LookupAddress } from 'node:dns';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { AddressInfo, createServer as createTcpServer, isIP, LookupFunction, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LoopbackServer } from '@upm/shared-testing';
import { postWebhook, WebhookRequest } from './webhook-request';

/** A merchant's endpoint on 127.0.0.1: records every request, and `handle` answers it (200 unless told otherwise). */
class Receiver extends LoopbackServer {
  readonly requests: Array<{ method?: string; url?: string; headers: IncomingHttpHeaders; body: string }> = [];
  handle: (req: IncomingMessage, res: ServerResponse) => void = (_req, res) => res.writeHead(200).end();

  protected onRequest(req: IncomingMessage, res: ServerResponse): void {
    let body = '';
    req.setEncoding('utf8').on('data', (chunk: string) => (body += chunk)).on('end', () => {
      this.requests.push({ method: req.method, url: req.url, headers: req.headers, body });
      this.handle(req, res);
    });
  }
}

/**
 * A name server under a merchant's control, with a zero TTL: each query gets the next of `answers` (the last one
 * from then on). Records every name asked.
 */
function nameServer(...answers: string[][]): LookupFunction & { asked: string[] } {
  const asked: string[] = [];
  const lookup: LookupFunction = (hostname, options, callback) => {
    const addresses: LookupAddress[] = answers[Math.min(asked.length, answers.length - 1)].map((address) => ({ address, family: isIP(address) }));
    asked.push(hostname);
    if (options.all) callback(null, addresses);
    else callback(null, addresses[0].address, addresses[0].family);
  };
  return Object.assign(lookup, { asked });
}

let receiver: Receiver;
const request = (url: string, overrides: Partial<WebhookRequest> = {}): WebhookRequest => ({
  url,
  headers: { 'content-type': 'application/json', 'upm-event-id': 'evt_1' },
  body: '{"type":"PaymentSucceeded"}',
  timeoutMs: 2000,
  publicOnly: true,
  ...overrides,
});

beforeEach(async () => {
  receiver = await new Receiver().listen();
});

afterEach(async () => {
  await receiver.close();
});

describe('the address a webhook connects to', () => {
  it('is the address checked: the name is resolved once, for the connection, and a non-public answer is refused there', async () => {
    // the name answered a public address when it was checked before (at registration, or an earlier attempt)
    const rebinding = nameServer(['203.0.113.7'], ['127.0.0.1']);
    rebinding('hooks.merchant.test', {}, () => undefined);

    const answer = await postWebhook(request(`http://hooks.merchant.test:${receiver.port}/hooks`), rebinding);

    expect(answer).toEqual({ failure: { code: 'ENDPOINT_NOT_PUBLIC', detail: 'hooks.merchant.test resolves to 127.0.0.1, a loopback address' } });
    // one resolution for the attempt: nothing checks one answer and connects to another
    expect(rebinding.asked).toEqual(['hooks.merchant.test', 'hooks.merchant.test']);
    expect(receiver.requests).toEqual([]);
  });

  it('is the one the given name server answers: the connection asks no other', async () => {
    // only this name server knows the name: a send that resolved it anew elsewhere would not find it
    const names = nameServer(['127.0.0.1']);

    expect(await postWebhook(request(`http://hooks.merchant.test:${receiver.port}/hooks`, { publicOnly: false }), names)).toEqual({ statusCode: 200 });
    expect(names.asked).toEqual(['hooks.merchant.test']);
    expect(receiver.requests).toHaveLength(1);
  });

  it('is refused when any address of the name is not public, not only the first', async () => {
    const answer = await postWebhook(request(`http://hooks.merchant.test:${receiver.port}/hooks`), nameServer(['203.0.113.7', '169.254.169.254']));

    expect(answer).toEqual({ failure: { code: 'ENDPOINT_NOT_PUBLIC', detail: 'hooks.merchant.test resolves to 169.254.169.254, a link-local address' } });
    expect(receiver.requests).toEqual([]);
  });

  it.each([
    ['http://127.0.0.1:PORT/hooks', '127.0.0.1 is a loopback address'],
    ['http://[::ffff:127.0.0.1]:PORT/hooks', '::ffff:7f00:1 is a loopback address'],
  ])('is refused when the URL holds it: %s', async (url, detail) => {
    const names = nameServer(['203.0.113.7']);

    expect(await postWebhook(request(url.replace('PORT', String(receiver.port))), names)).toEqual({ failure: { code: 'ENDPOINT_NOT_PUBLIC', detail } });
    expect(names.asked).toEqual([]);
    expect(receiver.requests).toEqual([]);
  });

  it('may be private when private addresses are allowed', async () => {
    expect(await postWebhook(request(`http://127.0.0.1:${receiver.port}/hooks`, { publicOnly: false }))).toEqual({ statusCode: 200 });
    expect(receiver.requests).toHaveLength(1);
  });
});

describe('a webhook request', () => {
  it('POSTs the body with the headers given, and answers the status', async () => {
    receiver.handle = (_req, res) => res.writeHead(503).end();

    expect(await postWebhook(request(`http://127.0.0.1:${receiver.port}/hooks?shop=1`, { publicOnly: false }))).toEqual({ statusCode: 503, failure: { code: 'ENDPOINT_REJECTED', detail: 'HTTP 503' } });
    expect(receiver.requests).toEqual([
      {
        method: 'POST',
        url: '/hooks?shop=1',
        headers: expect.objectContaining({ 'content-type': 'application/json', 'upm-event-id': 'evt_1', 'content-length': '27' }),
        body: '{"type":"PaymentSucceeded"}',
      },
    ]);
  });

  it('does not follow a redirect', async () => {
    receiver.handle = (_req, res) => res.writeHead(307, { location: `http://127.0.0.1:${receiver.port}/elsewhere` }).end();

    expect(await postWebhook(request(`http://127.0.0.1:${receiver.port}/hooks`, { publicOnly: false }))).toEqual({ statusCode: 307, failure: { code: 'ENDPOINT_REDIRECTED', detail: 'HTTP 307' } });
    expect(receiver.requests.map((r) => r.url)).toEqual(['/hooks']);
  });

  it('takes the status without reading the body: an endless body does not hold it', async () => {
    receiver.handle = (_req, res) => {
      res.writeHead(200);
      const stream = setInterval(() => (res.destroyed ? clearInterval(stream) : res.write('x'.repeat(65_536))), 1);
    };
    const startedAt = Date.now();

    expect(await postWebhook(request(`http://127.0.0.1:${receiver.port}/hooks`, { publicOnly: false, timeoutMs: 1000 }))).toEqual({ statusCode: 200 });
    expect(Date.now() - startedAt).toBeLessThan(1000);
  });

});

/** A TLS endpoint on 127.0.0.1 with a self-signed certificate, which no client trusts. */
async function untrustedTlsServer(): Promise<{ port: number; close: () => Promise<void> }> {
  const dir = mkdtempSync(join(tmpdir(), 'upm-webhook-tls-'));
  try {
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'), '-days', '1', '-subj', '/CN=127.0.0.1'], { stdio: 'ignore' });
    const server = createHttpsServer({ key: readFileSync(join(dir, 'key.pem')), cert: readFileSync(join(dir, 'cert.pem')) }, (_req, res) => res.writeHead(200).end());
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return { port: (server.address() as AddressInfo).port, close: () => new Promise((resolve) => server.close(() => resolve())) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** A TCP server on 127.0.0.1 that reads a request and does `onRequest` with the socket. */
async function tcpServer(onRequest: (socket: Socket) => void): Promise<{ port: number; close: () => Promise<void> }> {
  const sockets = new Set<Socket>();
  const server = createTcpServer((socket) => {
    sockets.add(socket);
    socket.once('data', () => onRequest(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    close: () => {
      for (const socket of sockets) socket.destroy();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

describe('a failed attempt says why with a stable code, and keeps the raw detail', () => {
  const send = (url: string, overrides: Partial<WebhookRequest> = {}) => postWebhook(request(url, { publicOnly: false, ...overrides }));

  it('ENDPOINT_REJECTED with the status when the endpoint answers other than 2xx or 3xx', async () => {
    receiver.handle = (_req, res) => res.writeHead(410).end();

    expect(await send(`http://127.0.0.1:${receiver.port}/hooks`)).toEqual({ statusCode: 410, failure: { code: 'ENDPOINT_REJECTED', detail: 'HTTP 410' } });
  });

  it('none when it answers 2xx', async () => {
    receiver.handle = (_req, res) => res.writeHead(204).end();

    expect(await send(`http://127.0.0.1:${receiver.port}/hooks`)).toEqual({ statusCode: 204 });
  });

  it('ENDPOINT_TIMEOUT when no answer comes in time', async () => {
    receiver.handle = () => undefined;

    expect(await send(`http://127.0.0.1:${receiver.port}/hooks`, { timeoutMs: 200 })).toEqual({ failure: { code: 'ENDPOINT_TIMEOUT', detail: 'no answer within 200 ms' } });
  });

  it('ENDPOINT_UNREACHABLE when nothing listens', async () => {
    const closed = receiver.port;
    await receiver.close();
    receiver = await new Receiver().listen();

    expect(await send(`http://127.0.0.1:${closed}/hooks`)).toEqual({ failure: { code: 'ENDPOINT_UNREACHABLE', detail: `connect ECONNREFUSED 127.0.0.1:${closed}` } });
  });

  it('ENDPOINT_CONNECTION_CLOSED when the endpoint drops the connection without answering', async () => {
    const server = await tcpServer((socket) => socket.destroy());
    try {
      expect(await send(`http://127.0.0.1:${server.port}/hooks`)).toEqual({ failure: { code: 'ENDPOINT_CONNECTION_CLOSED', detail: 'ECONNRESET: socket hang up' } });
    } finally {
      await server.close();
    }
  });

  it('ENDPOINT_DNS_ERROR when the host name does not resolve, through the checked lookup as well', async () => {
    for (const publicOnly of [true, false]) {
      expect(await send('http://no-such-host.invalid/hooks', { publicOnly })).toEqual({ failure: { code: 'ENDPOINT_DNS_ERROR', detail: expect.stringContaining('ENOTFOUND') } });
    }
  });

  it('ENDPOINT_TLS_ERROR when the certificate is not trusted, or the port speaks no TLS', async () => {
    const tls = await untrustedTlsServer();
    try {
      expect(await send(`https://127.0.0.1:${tls.port}/hooks`)).toEqual({ failure: { code: 'ENDPOINT_TLS_ERROR', detail: 'DEPTH_ZERO_SELF_SIGNED_CERT: self-signed certificate' } });
    } finally {
      await tls.close();
    }
    expect(await send(`https://127.0.0.1:${receiver.port}/hooks`)).toEqual({ failure: { code: 'ENDPOINT_TLS_ERROR', detail: expect.stringContaining('EPROTO') } });
    expect(receiver.requests).toEqual([]);
  });

  it('ENDPOINT_INVALID_RESPONSE when the answer is not HTTP', async () => {
    const server = await tcpServer((socket) => socket.end('HELLO\r\n\r\n'));
    try {
      expect(await send(`http://127.0.0.1:${server.port}/hooks`)).toEqual({ failure: { code: 'ENDPOINT_INVALID_RESPONSE', detail: expect.stringContaining('HPE_INVALID_CONSTANT') } });
    } finally {
      await server.close();
    }
  });
});
