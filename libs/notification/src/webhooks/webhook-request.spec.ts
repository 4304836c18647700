import type { LookupAddress } from 'node:dns';
import { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import { isIP, LookupFunction } from 'node:net';
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

    expect(answer).toEqual({ error: 'hooks.merchant.test resolves to 127.0.0.1, a loopback address' });
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

    expect(answer).toEqual({ error: 'hooks.merchant.test resolves to 169.254.169.254, a link-local address' });
    expect(receiver.requests).toEqual([]);
  });

  it.each([
    ['http://127.0.0.1:PORT/hooks', '127.0.0.1 is a loopback address'],
    ['http://[::ffff:127.0.0.1]:PORT/hooks', '::ffff:7f00:1 is a loopback address'],
  ])('is refused when the URL holds it: %s', async (url, error) => {
    const names = nameServer(['203.0.113.7']);

    expect(await postWebhook(request(url.replace('PORT', String(receiver.port))), names)).toEqual({ error });
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

    expect(await postWebhook(request(`http://127.0.0.1:${receiver.port}/hooks?shop=1`, { publicOnly: false }))).toEqual({ statusCode: 503 });
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

    expect(await postWebhook(request(`http://127.0.0.1:${receiver.port}/hooks`, { publicOnly: false }))).toEqual({ statusCode: 307 });
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

  it('gives up when no answer comes in time', async () => {
    receiver.handle = () => undefined;

    expect(await postWebhook(request(`http://127.0.0.1:${receiver.port}/hooks`, { publicOnly: false, timeoutMs: 200 }))).toEqual({ error: 'no answer within 200 ms' });
  });

  it('names a network error by its code', async () => {
    const closed = receiver.port;
    await receiver.close();
    receiver = await new Receiver().listen();

    expect(await postWebhook(request(`http://127.0.0.1:${closed}/hooks`, { publicOnly: false }))).toEqual({ error: 'ECONNREFUSED' });
    // a name that does not resolve fails through the checked lookup as well
    expect(await postWebhook(request('http://no-such-host.invalid/hooks'))).toEqual({ error: 'ENOTFOUND' });
  });
});
