import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { createServer, IncomingHttpHeaders, Server } from 'node:http';
import { Client } from 'pg';
import { eventually, sleep } from '@upm/shared-testing';
import { ADMIN_TOKEN, Platform, startPlatform } from './support/platform';
import { PosClient } from './support/pos-client';

/**
 * Merchant webhooks (notification) and the POS event stream (gateway), driven over real HTTP: the receivers
 * are node:http servers in this process, the services are real processes.
 */
const HORIZON_MS = 10_000;
let platform: Platform;
let notificationUrl: string;
const receivers: Receiver[] = [];
let nextReceiverPort = 3620;
const hkd = (value: string) => ({ currency: 'HKD', value });

beforeAll(async () => {
  platform = await startPlatform('notify', 3600, {
    notification: {
      ADMIN_TOKEN, WEBHOOK_RETRY_BASE_MS: '200', WEBHOOK_RETRY_MAX_DELAY_MS: '800', WEBHOOK_RETRY_HORIZON_MS: String(HORIZON_MS),
      WEBHOOK_TIMEOUT_MS: '1500', WEBHOOK_POLL_MS: '100', WEBHOOK_PER_ENDPOINT_CONCURRENCY: '2',
      WEBHOOK_SECRET_KEYS: randomBytes(32).toString('base64'),
    },
    'terminal-gateway': { SSE_HEARTBEAT_MS: '300' },
  });
  await platform.start('notification');
  notificationUrl = `http://127.0.0.1:${platform.ports.notification}`;
}, 120_000);

afterAll(async () => {
  await Promise.all(receivers.map((r) => r.close()));
  await platform?.stop();
});

/** The receiver's check, exactly as docs/webhooks.md tells merchants to write it. */
function verifyUpmWebhook(secret: string, rawBody: string, headers: IncomingHttpHeaders, toleranceSeconds = 300): boolean {
  const timestamp = String(headers['upm-timestamp'] ?? '');
  const signatures = String(headers['upm-signature'] ?? '').split(',').map((s) => s.trim()).filter((s) => s.startsWith('v1=')).map((s) => s.slice(3));
  if (!/^\d+$/.test(timestamp) || Math.abs(Date.now() / 1000 - Number(timestamp)) > toleranceSeconds) return false;
  const expected = createHmac('sha256', secret).update(`${timestamp}.${rawBody}`).digest();
  return signatures.some((sig) => {
    const given = Buffer.from(sig, 'hex');
    return given.length === expected.length && timingSafeEqual(given, expected);
  });
}

interface Request {
  headers: IncomingHttpHeaders;
  body: string;
  event: { id: string; type: string; merchantId: string; stream: { key: string; sequence: number }; data: { payment: { paymentId: string; sequence: number; status: string } } };
  at: number;
  /** the status this receiver answered */
  answered?: number;
}

/** A merchant's webhook endpoint: records every request and answers what `respond` says (a number, or never). */
class Receiver {
  readonly requests: Request[] = [];
  /** a status; `hang`: never answer; `endless`: answer 200 with a body that never ends */
  respond: (request: Request, receiver: Receiver) => number | 'hang' | 'endless' = () => 200;
  private readonly server: Server;
  readonly port = nextReceiverPort++;

  constructor() {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const body = Buffer.concat(chunks).toString('utf8');
        const request: Request = { headers: req.headers, body, event: JSON.parse(body) as Request['event'], at: Date.now() };
        this.requests.push(request);
        const status = this.respond(request, this);
        if (status === 'hang') return;
        if (status === 'endless') {
          request.answered = 200;
          res.writeHead(200);
          const dribble = setInterval(() => res.write('x'.repeat(64 * 1024)), 10);
          res.on('close', () => clearInterval(dribble));
          return;
        }
        request.answered = status;
        res.writeHead(status).end();
      });
    });
    receivers.push(this);
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}/hooks`;
  }

  async listen(): Promise<this> {
    await new Promise<void>((resolve) => this.server.listen(this.port, '127.0.0.1', resolve));
    return this;
  }

  accepted(): Request[] {
    return this.requests.filter((r) => r.answered !== undefined && r.answered >= 200 && r.answered < 300);
  }

  forEvent(eventId: string): Request[] {
    return this.requests.filter((r) => r.event.id === eventId);
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise((resolve) => this.server.close(resolve));
  }
}

async function admin<T = Record<string, unknown>>(method: string, path: string, body?: unknown): Promise<{ status: number; body: T }> {
  const response = await fetch(notificationUrl + path, {
    method,
    headers: { authorization: `Bearer ${ADMIN_TOKEN}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  return { status: response.status, body: (text ? JSON.parse(text) : {}) as T };
}

interface Delivery {
  deliveryId: string;
  eventId: string;
  eventType: string;
  paymentId: string;
  status: string;
  attempts: number;
  attemptLog?: Array<{ attempt: number; statusCode?: number; error?: string; latencyMs: number }>;
}

async function subscribe(pos: PosClient, receiver: Receiver, eventTypes = ['*']): Promise<{ endpointId: string; secret: string }> {
  const created = await admin<{ endpointId: string; secret: string }>('POST', `/v1/admin/merchants/${pos.ids.merchantId}/webhooks`, { url: receiver.url, eventTypes });
  expect(created.status).toBe(201);
  return created.body;
}

async function deliveries(pos: PosClient, endpointId: string, query = ''): Promise<Delivery[]> {
  return (await admin<{ deliveries: Delivery[] }>('GET', `/v1/admin/merchants/${pos.ids.merchantId}/webhooks/${endpointId}/deliveries${query}`)).body.deliveries;
}

async function paySucceeded(pos: PosClient, suffix = '00'): Promise<string> {
  const answer = await pos.pay({ merchantOrderId: PosClient.orderId('wh'), amount: hkd('1250'), paymentCode: PosClient.code(suffix) });
  expect(answer.body.status).toBe('SUCCEEDED');
  return answer.body.paymentId;
}

describe('merchant webhooks', () => {
  it('signs every delivery so that the documented recipe verifies it, and a tampered one fails; a rotation signs with both secrets', async () => {
    const receiver = await new Receiver().listen();
    const pos = await platform.onboard('Signed Tea');
    const { endpointId, secret } = await subscribe(pos, receiver, ['PaymentSucceeded']);
    expect(secret).toMatch(/^whsec_/);
    const paymentId = await paySucceeded(pos);

    const request = await eventually(() => receiver.requests.find((r) => r.event.data.payment.paymentId === paymentId));
    expect(request.event.type).toBe('PaymentSucceeded');
    expect(request.headers['upm-event-id']).toBe(request.event.id);
    // the trace context travels with the delivery (W3C traceparent)
    expect(request.headers.traceparent).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-0[01]$/);
    expect(request.event.merchantId).toBe(pos.ids.merchantId);
    expect(verifyUpmWebhook(secret, request.body, request.headers)).toBe(true);
    expect(verifyUpmWebhook(secret, request.body.replace('"1250"', '"9250"'), request.headers)).toBe(false);
    expect(verifyUpmWebhook(secret, request.body, { ...request.headers, 'upm-timestamp': String(Number(request.headers['upm-timestamp']) - 1) })).toBe(false);
    expect(verifyUpmWebhook('whsec_not-the-secret', request.body, request.headers)).toBe(false);
    // only the subscribed type was sent
    expect(receiver.requests.every((r) => r.event.type === 'PaymentSucceeded')).toBe(true);

    const rotated = await admin<{ secret: string }>('POST', `/v1/admin/merchants/${pos.ids.merchantId}/webhooks/${endpointId}/rotate-secret`, { overlapSeconds: 3600 });
    expect(rotated.status).toBe(200);
    const second = await paySucceeded(pos);
    const during = await eventually(() => receiver.requests.find((r) => r.event.data.payment.paymentId === second));
    expect(String(during.headers['upm-signature']).split(',')).toHaveLength(2);
    expect(verifyUpmWebhook(secret, during.body, during.headers)).toBe(true);
    expect(verifyUpmWebhook(rotated.body.secret, during.body, during.headers)).toBe(true);

    // the database holds both secrets sealed, neither as issued
    const db = new Client({ connectionString: platform.env.notification.DATABASE_URL });
    await db.connect();
    const rows: Array<{ secret: string }> = (await db.query('SELECT secret FROM webhook_secrets WHERE endpoint_id = $1', [endpointId]).finally(() => db.end())).rows;
    expect(rows).toHaveLength(2);
    for (const row of rows) expect(row.secret).toMatch(/^sealed:v1:/);
    expect(JSON.stringify(rows)).not.toContain(secret);
    expect(JSON.stringify(rows)).not.toContain(rotated.body.secret);

    // the endpoint listing never shows a secret
    const listed = await admin('GET', `/v1/admin/merchants/${pos.ids.merchantId}/webhooks`);
    expect(JSON.stringify(listed.body)).not.toContain(secret);
    expect(JSON.stringify(listed.body)).not.toContain(rotated.body.secret);
    // another merchant cannot see this endpoint
    expect((await admin('GET', `/v1/admin/merchants/someone-else/webhooks/${endpointId}`)).status).toBe(404);
  });

  it('a receiver that fails twice and then answers 200 gets the event exactly three times, and the log shows each attempt', async () => {
    const receiver = await new Receiver().listen();
    receiver.respond = (request, r) => (r.forEvent(request.event.id).length <= 2 ? 500 : 200);
    const pos = await platform.onboard('Twice Bakery');
    const { endpointId } = await subscribe(pos, receiver, ['PaymentSucceeded']);
    const paymentId = await paySucceeded(pos);

    const accepted = await eventually(() => receiver.accepted().find((r) => r.event.data.payment.paymentId === paymentId), 15_000);
    await sleep(2500); // longer than any back-off in this configuration: a fourth request would have come
    const all = receiver.forEvent(accepted.event.id);
    expect(all.map((r) => r.answered)).toEqual([500, 500, 200]);
    expect(all.map((r) => r.headers['upm-delivery-attempt'])).toEqual(['1', '2', '3']);
    expect(new Set(all.map((r) => r.headers['upm-event-id']))).toEqual(new Set([accepted.event.id]));
    // back-off: the gaps grow and are at least half the base delay
    expect(all[1].at - all[0].at).toBeGreaterThanOrEqual(90);

    const [delivery] = await deliveries(pos, endpointId, `?paymentId=${paymentId}`);
    expect(delivery.status).toBe('DELIVERED');
    const detail = await admin<Delivery>('GET', `/v1/admin/merchants/${pos.ids.merchantId}/webhooks/${endpointId}/deliveries/${delivery.deliveryId}`);
    expect(detail.body.attemptLog!.map((a) => a.statusCode)).toEqual([500, 500, 200]);
    expect(detail.body.attemptLog!.every((a) => a.latencyMs >= 0)).toBe(true);
  });

  it('a receiver down past the retry horizon ends in the dead letter, and re-delivery by API then reaches it', async () => {
    const receiver = await new Receiver().listen();
    receiver.respond = () => 503;
    const pos = await platform.onboard('Closed Noodles');
    const { endpointId } = await subscribe(pos, receiver, ['PaymentSucceeded']);
    const paymentId = await paySucceeded(pos);

    const dead = await eventually(async () => (await deliveries(pos, endpointId, `?paymentId=${paymentId}`)).find((d) => d.status === 'DEAD_LETTER'), HORIZON_MS + 10_000, 250);
    const triesBefore = receiver.forEvent(dead.eventId).length;
    expect(triesBefore).toBe(dead.attempts);
    expect(triesBefore).toBeGreaterThanOrEqual(4);
    await sleep(1500);
    expect(receiver.forEvent(dead.eventId)).toHaveLength(triesBefore); // nothing more after the dead letter

    receiver.respond = () => 200;
    const redelivered = await admin<Delivery>('POST', `/v1/admin/merchants/${pos.ids.merchantId}/webhooks/${endpointId}/deliveries/${dead.deliveryId}/redeliver`);
    expect(redelivered.status).toBe(202);
    const accepted = await eventually(() => receiver.accepted().find((r) => r.event.id === dead.eventId));
    expect(accepted.headers['upm-event-id']).toBe(dead.eventId);
    await eventually(async () => ((await deliveries(pos, endpointId, `?paymentId=${paymentId}`))[0].status === 'DELIVERED' ? true : undefined));
  }, 40_000);

  it('delivers one payment\'s events in order even when each first attempt fails', async () => {
    const receiver = await new Receiver().listen();
    receiver.respond = (request, r) => (r.forEvent(request.event.id).length === 1 ? 500 : 200);
    const pos = await platform.onboard('Ordered Dumplings');
    await subscribe(pos, receiver);
    // a PIN-entry payment, then two refunds: Created, Processing, Succeeded, and a Requested/Succeeded pair per refund
    const created = await pos.pay({ merchantOrderId: PosClient.orderId('ord'), amount: hkd('1000'), paymentCode: PosClient.code('80'), waitSeconds: 0 });
    const paymentId = created.body.paymentId;
    expect((await pos.final(paymentId)).status).toBe('SUCCEEDED');
    for (const id of ['r1', 'r2']) {
      const refund = await pos.refund(paymentId, { refundRequestId: `${id}-${paymentId.slice(-8)}`, amount: hkd('300'), waitSeconds: 20 });
      expect(refund.body.status).toBe('SUCCEEDED');
    }

    const mine = () => receiver.requests.filter((r) => r.event.data.payment.paymentId === paymentId);
    await eventually(() => (receiver.accepted().filter((r) => r.event.data.payment.paymentId === paymentId && r.event.type === 'RefundSucceeded').length === 2 ? true : undefined), 20_000);
    const sequences = receiver.accepted().filter((r) => r.event.data.payment.paymentId === paymentId).map((r) => r.event.data.payment.sequence);
    expect(sequences.length).toBeGreaterThanOrEqual(7);
    expect(sequences).toEqual([...sequences].sort((a, b) => a - b));
    expect(new Set(sequences).size).toBe(sequences.length);
    // the payment's stream to this endpoint is numbered 1, 2, 3, … in the order it was accepted, and retries keep the number
    const accepted = receiver.accepted().filter((r) => r.event.data.payment.paymentId === paymentId);
    expect(accepted.map((r) => r.event.stream)).toEqual(accepted.map((_, i) => ({ key: paymentId, sequence: i + 1 })));
    for (const request of mine()) expect(request.event.stream).toEqual(accepted.find((r) => r.event.id === request.event.id)!.event.stream);
    // no request for an event arrived before every earlier event of the payment had been accepted
    for (const request of mine()) {
      const seq = request.event.data.payment.sequence;
      const earlierAccepted = receiver.accepted().filter((r) => r.event.data.payment.paymentId === paymentId && r.event.data.payment.sequence < seq);
      expect(earlierAccepted.every((r) => r.at <= request.at)).toBe(true);
      expect(earlierAccepted.length).toBe(sequences.filter((s) => s < seq).length);
    }
  }, 60_000);

  it('a receiver that never answers does not delay another merchant\'s deliveries', async () => {
    const slow = await new Receiver().listen();
    slow.respond = () => 'hang';
    const fast = await new Receiver().listen();
    const slowPos = await platform.onboard('Sleepy Diner');
    const fastPos = await platform.onboard('Quick Juice');
    await subscribe(slowPos, slow);
    await subscribe(fastPos, fast, ['PaymentSucceeded']);
    await Promise.all([0, 1, 2, 3].map(() => paySucceeded(slowPos)));
    await eventually(() => (slow.requests.length >= 2 ? true : undefined));

    const paidAt = Date.now();
    const paymentId = await paySucceeded(fastPos);
    const received = await eventually(() => fast.requests.find((r) => r.event.data.payment.paymentId === paymentId), 10_000, 20);
    expect(received.at - paidAt).toBeLessThan(1500);
    // the slow endpoint never had more than its two slots in flight (each attempt is cut off after 1.5 s)
    for (const request of slow.requests) expect(slow.requests.filter((r) => r.at > request.at - 1400 && r.at <= request.at).length).toBeLessThanOrEqual(2);
  }, 60_000);

  it('takes a 200 as delivered without reading a body that never ends', async () => {
    const receiver = await new Receiver().listen();
    receiver.respond = () => 'endless';
    const pos = await platform.onboard('Chatty Bakery');
    const { endpointId } = await subscribe(pos, receiver, ['PaymentSucceeded']);
    const paymentId = await paySucceeded(pos);
    const delivered = await eventually(async () => (await deliveries(pos, endpointId, `?paymentId=${paymentId}`)).find((d) => d.status === 'DELIVERED'), 15_000);
    expect(delivered.attempts).toBe(1);
    // the attempt ended with the status, not at the request timeout (1.5 s here) while reading the body
    const detail = await admin<Delivery>('GET', `/v1/admin/merchants/${pos.ids.merchantId}/webhooks/${endpointId}/deliveries/${delivered.deliveryId}`);
    expect(detail.body.attemptLog).toEqual([expect.objectContaining({ attempt: 1, statusCode: 200 })]);
    expect(detail.body.attemptLog![0].error).toBeUndefined();
    expect(detail.body.attemptLog![0].latencyMs).toBeLessThan(1000);
  }, 30_000);

  it('a notification service killed with SIGKILL loses no pending delivery', async () => {
    const receiver = await new Receiver().listen();
    receiver.respond = () => 500;
    const pos = await platform.onboard('Restart Ramen');
    const { endpointId } = await subscribe(pos, receiver);
    const payments = [await paySucceeded(pos), await paySucceeded(pos)];
    const pending = await eventually(async () => {
      const list = await deliveries(pos, endpointId);
      // each payment's first event is being retried; the events after it wait their turn
      return list.length >= 4 && list.every((d) => d.status === 'PENDING') && list.filter((d) => d.attempts >= 2).length >= 2 ? list : undefined;
    });

    await platform.services.get('notification')!.stop('SIGKILL');
    receiver.respond = () => 200;
    await platform.start('notification');

    for (const delivery of pending) await eventually(() => receiver.accepted().find((r) => r.event.id === delivery.eventId), 15_000);
    // the receiver answers before the worker records the answer: read once every delivery is settled
    const ours = (list: Awaited<ReturnType<typeof deliveries>>) => list.filter((d) => payments.includes(d.paymentId));
    const after = await eventually(async () => {
      const list = await deliveries(pos, endpointId);
      return ours(list).every((d) => d.status !== 'PENDING') ? list : undefined;
    }, 15_000);
    expect(ours(after).every((d) => d.status === 'DELIVERED')).toBe(true);
    expect(new Set(receiver.accepted().map((r) => r.event.id))).toEqual(new Set(after.map((d) => d.eventId)));
  }, 60_000);

  it('a disabled endpoint gets nothing, and once enabled again gets what it missed', async () => {
    const receiver = await new Receiver().listen();
    const pos = await platform.onboard('Paused Pho');
    const { endpointId } = await subscribe(pos, receiver, ['PaymentSucceeded']);
    const path = `/v1/admin/merchants/${pos.ids.merchantId}/webhooks/${endpointId}`;
    const disabled = await admin<{ enabled: boolean }>('PATCH', path, { enabled: false });
    expect(disabled.status).toBe(200);
    expect(disabled.body.enabled).toBe(false);
    const paymentId = await paySucceeded(pos);

    const held = await eventually(async () => (await deliveries(pos, endpointId, `?paymentId=${paymentId}&status=HELD`))[0]);
    await sleep(1000);
    expect(receiver.requests).toEqual([]);
    expect((await deliveries(pos, endpointId, `?paymentId=${paymentId}`)).map((d) => d.status)).toEqual(['HELD']);

    expect((await admin<{ enabled: boolean }>('PATCH', path, { enabled: true })).body.enabled).toBe(true);
    await eventually(() => receiver.accepted().find((r) => r.event.id === held.eventId));
    expect((await admin<{ error: { code: string } }>('PATCH', path, {})).body.error.code).toBe('VALIDATION_FAILED');
    // nothing of this endpoint is dead-lettered; a filter the call does not know is refused
    expect(await admin('POST', `${path}/deliveries/redeliver`, {})).toEqual({ status: 202, body: { redelivered: 0 } });
    const unknown = await admin<{ error: { details: Array<{ code: string }> } }>('POST', `${path}/deliveries/redeliver`, { status: 'DELIVERED' });
    expect(unknown.status).toBe(400);
    expect(unknown.body.error.details.map((d) => d.code)).toEqual(['UNKNOWN_FIELD']);
  });

  it('refuses admin calls without the admin token and endpoints that are not http(s)', async () => {
    const response = await fetch(`${notificationUrl}/v1/admin/merchants/m1/webhooks`, { headers: { authorization: 'Bearer wrong-token-000' } });
    expect(response.status).toBe(401);
    const bad = await admin<{ error: { code: string } }>('POST', '/v1/admin/merchants/m1/webhooks', { url: 'ftp://example.com/x', eventTypes: ['NoSuchEvent'] });
    expect(bad.status).toBe(400);
    expect(bad.body.error.code).toBe('VALIDATION_FAILED');
    // credentials in the URL would travel, and show, with every attempt
    const withCredentials = await admin<{ error: { code: string; details: Array<{ field: string }> } }>('POST', '/v1/admin/merchants/m1/webhooks', { url: 'https://user:s3cret@example.com/hooks', eventTypes: ['*'] });
    expect(withCredentials.status).toBe(400);
    expect(withCredentials.body.error.details.map((d) => d.field)).toEqual(['url']);
  });
});

interface StreamEvent {
  id: string;
  at: number;
  data: { eventId: string; type: string; payment: { paymentId: string; merchantId: string; terminalId: string; status: string; updatedAt: string } };
}

/** A POS listening to GET /v1/terminals/me/events. */
class EventStream {
  readonly events: StreamEvent[] = [];
  readonly comments: string[] = [];
  private readonly abort = new AbortController();

  constructor(private readonly pos: PosClient) {}

  async open(lastEventId?: string): Promise<this> {
    const response = await fetch(`${this.pos.baseUrl}/v1/terminals/me/events`, {
      headers: { authorization: `Bearer ${this.pos.key}`, accept: 'text/event-stream', ...(lastEventId ? { 'last-event-id': lastEventId } : {}) },
      signal: this.abort.signal,
    });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toContain('text/event-stream');
    void this.read(response.body!);
    await eventually(() => (this.comments.length ? true : undefined));
    return this;
  }

  close(): void {
    this.abort.abort();
  }

  get lastId(): string | undefined {
    return this.events.at(-1)?.id;
  }

  private async read(body: ReadableStream<Uint8Array>): Promise<void> {
    const decoder = new TextDecoder();
    let buffer = '';
    try {
      for await (const chunk of body as unknown as AsyncIterable<Uint8Array>) {
        buffer += decoder.decode(chunk, { stream: true });
        let end: number;
        while ((end = buffer.indexOf('\n\n')) >= 0) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          let id: string | undefined;
          let data = '';
          for (const line of block.split('\n')) {
            if (line.startsWith(':')) this.comments.push(line.slice(1).trim());
            else if (line.startsWith('id: ')) id = line.slice(4);
            else if (line.startsWith('data: ')) data += line.slice(6);
          }
          if (id && data) this.events.push({ id, at: Date.now(), data: JSON.parse(data) as StreamEvent['data'] });
        }
      }
    } catch {
      // aborted by close()
    }
  }
}

describe('POS event stream', () => {
  it('shows a status change within a second, and never another merchant\'s payment', async () => {
    const mine = await platform.onboard('Stream Cafe');
    const other = await platform.onboard('Other Cafe');
    const stream = await new EventStream(mine).open();
    const otherStream = await new EventStream(other).open();

    const otherPayment = await paySucceeded(other);
    const created = await mine.pay({ merchantOrderId: PosClient.orderId('sse'), amount: hkd('880'), paymentCode: PosClient.code('80'), waitSeconds: 0 });
    const paymentId = created.body.paymentId;
    const succeeded = await eventually(() => stream.events.find((e) => e.data.payment.paymentId === paymentId && e.data.type === 'PaymentSucceeded'), 20_000, 20);
    expect(succeeded.data.payment.status).toBe('SUCCEEDED');
    expect(succeeded.at - Date.parse(succeeded.data.payment.updatedAt)).toBeLessThan(1000);
    expect(stream.events.map((e) => e.data.type)).toEqual(expect.arrayContaining(['PaymentCreated', 'PaymentSucceeded']));

    await eventually(() => otherStream.events.find((e) => e.data.payment.paymentId === otherPayment));
    await sleep(500);
    expect(stream.events.every((e) => e.data.payment.merchantId === mine.ids.merchantId && e.data.payment.terminalId === mine.ids.terminalId)).toBe(true);
    expect(stream.events.some((e) => e.data.payment.paymentId === otherPayment)).toBe(false);
    expect(otherStream.events.some((e) => e.data.payment.paymentId === paymentId)).toBe(false);
    // heartbeats keep an idle stream open (every 300 ms in this suite)
    expect(stream.comments.filter((c) => c === 'heartbeat').length).toBeGreaterThanOrEqual(2);
    stream.close();
    otherStream.close();
  });

  it('resumes after a disconnect with Last-Event-ID without losing or repeating an event', async () => {
    const pos = await platform.onboard('Resume Bistro');
    const first = await new EventStream(pos).open();
    const p1 = await paySucceeded(pos);
    await eventually(() => first.events.find((e) => e.data.payment.paymentId === p1 && e.data.type === 'PaymentSucceeded'));
    const lastSeen = first.lastId!;
    first.close();

    // while the POS is away
    const p2 = await paySucceeded(pos);
    const p3 = await paySucceeded(pos);

    const second = await new EventStream(pos).open(lastSeen);
    await eventually(() => second.events.find((e) => e.data.payment.paymentId === p3 && e.data.type === 'PaymentSucceeded'));
    const p4 = await paySucceeded(pos);
    await eventually(() => second.events.find((e) => e.data.payment.paymentId === p4 && e.data.type === 'PaymentSucceeded'));

    const ids = [...first.events, ...second.events].map((e) => BigInt(e.id));
    expect(ids).toEqual([...ids].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)));
    expect(new Set(ids.map(String)).size).toBe(ids.length);
    expect(second.events.some((e) => e.data.payment.paymentId === p1)).toBe(false);
    for (const paymentId of [p2, p3, p4]) {
      expect(second.events.filter((e) => e.data.payment.paymentId === paymentId).map((e) => e.data.type)).toEqual(expect.arrayContaining(['PaymentCreated', 'PaymentSucceeded']));
    }
    second.close();
  });

  it('refuses a stream without a terminal key', async () => {
    const response = await fetch(`${platform.urls.gateway}/v1/terminals/me/events`);
    expect(response.status).toBe(401);
  });
});
