import { get, IncomingMessage, OutgoingHttpHeaders, Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { INestApplication, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { Redis } from 'ioredis';
import { DataSource } from 'typeorm';
import { createEnvelope, Envelope, newId, parseMessage, PaymentViewV1, TOPICS } from '@upm/contracts';
import { RuntimeModule } from '@upm/shared-runtime';
import { eventually, freshDatabase, sleep, testLogger } from '@upm/shared-testing';
import { GATEWAY_DATABASE } from '../database';
import { GATEWAY_OPTIONS, GatewayOptions } from '../gateway.options';
import { PaymentsService } from '../payments/payments.service';
import { TerminalRateLimiter } from '../payments/rate-limiter';
import { RegistryService } from '../registry/registry.service';
import { TerminalEventsRetention } from '../terminal-events/retention';
import { TerminalEventsHub } from '../terminal-events/terminal-events';
import { TerminalGuard } from './auth.guards';
import { TerminalEventsController } from './terminal-events.controller';

/** The terminal event stream served by the real controller, hub, PostgreSQL and Redis, to POS clients over HTTP. */
let dataSource: DataSource;
let redis: Redis;
let app: INestApplication;
let port: number;
/** the gateway's end of each connection, by the client's port */
const serverSockets = new Map<number, Socket>();

const options: GatewayOptions = { adminToken: 'x', rateLimitPerSecond: 1000, defaultWaitSeconds: 0, sseHeartbeatMs: 200 };

beforeAll(async () => {
  ({ dataSource } = await freshDatabase('upm_test_gateway_terminal_streams', GATEWAY_DATABASE));
  redis = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379/0');

  @Module({
    imports: [RuntimeModule.forRoot({ service: 'terminal-gateway', logLevel: process.env.TEST_LOG_LEVEL ?? 'silent' })],
    controllers: [TerminalEventsController],
    providers: [
      { provide: DataSource, useValue: dataSource }, { provide: Redis, useValue: redis }, { provide: GATEWAY_OPTIONS, useValue: options },
      RegistryService, TerminalGuard, TerminalRateLimiter, TerminalEventsHub, TerminalEventsRetention,
    ],
  })
  class TerminalStreamsModule {}

  app = await NestFactory.create(TerminalStreamsModule, { logger: false });
  const server = app.getHttpServer() as Server;
  server.on('connection', (socket: Socket) => serverSockets.set(socket.remotePort!, socket));
  await app.listen(0, '127.0.0.1');
  port = (server.address() as AddressInfo).port;
});

afterAll(async () => {
  await app.close();
  await redis.quit();
  await dataSource.destroy();
});

interface PosTerminal { terminalId: string; merchantId: string; key: string }

async function newTerminal(): Promise<PosTerminal> {
  const registry = app.get(RegistryService);
  const merchant = await registry.createMerchant({ name: 'Streams', mcc: '5411' });
  const store = await registry.createStore(merchant.id, { name: 'Streams store', mcc: '5411' });
  const { terminal, key } = await registry.createTerminal(store.id, {});
  return { terminalId: terminal.id, merchantId: merchant.id, key };
}

/** Opens the terminal's stream; answers the response without reading its body. */
function openStream(terminal: PosTerminal, headers: OutgoingHttpHeaders = {}, query = ''): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    get({ host: '127.0.0.1', port, path: `/v1/terminals/me/events${query}`, agent: false, headers: { authorization: `Bearer ${terminal.key}`, accept: 'text/event-stream', ...headers } }, resolve)
      .on('error', reject);
  });
}

/** What a POS read of its stream, as an SSE client parses it: whole events and comment lines. */
class Received {
  private text = '';
  /** whether the gateway ended the stream, or the connection broke */
  ended = false;

  constructor(private readonly response: IncomingMessage) {
    response.setEncoding('utf8');
    response.on('data', (chunk: string) => (this.text += chunk));
    response.on('error', () => undefined);
    response.on('close', () => (this.ended = true));
  }

  static async open(terminal: PosTerminal, headers?: OutgoingHttpHeaders): Promise<Received> {
    const received = new Received(await openStream(terminal, headers));
    // the opening comment: the stream is registered and reading
    await eventually(() => (received.comments.length ? true : undefined));
    return received;
  }

  private get blocks(): string[][] {
    return this.text.split('\n\n').slice(0, -1).map((block) => block.split('\n'));
  }

  get events(): Array<{ id: string; data: unknown }> {
    return this.blocks.flatMap((lines) => {
      const id = lines.find((line) => line.startsWith('id: '))?.slice(4);
      const data = lines.find((line) => line.startsWith('data: '))?.slice(6);
      return id && data ? [{ id, data: JSON.parse(data) as unknown }] : [];
    });
  }

  /** the reconnection times the gateway set, in ms, in the order it set them */
  get retries(): number[] {
    return this.blocks.flat().filter((line) => line.startsWith('retry: ')).map((line) => Number(line.slice(7)));
  }

  get comments(): string[] {
    return this.blocks.flat().filter((line) => line.startsWith(': ')).map((line) => line.slice(2));
  }

  close(): void {
    this.response.destroy();
  }
}

/**
 * Appends `count` events to a terminal's stream, as the read model does, each padded with `padding` bytes and
 * dated `ageHours` ago; answers their ids.
 */
async function appendEvents(terminal: PosTerminal, count: number, padding = 0, ageHours = 0): Promise<string[]> {
  const rows: Array<{ id: string }> = await dataSource.query(
    `INSERT INTO terminal_events (terminal_id, merchant_id, payment_id, event_id, type, data, created_at)
     SELECT $1, $2, 'pay_' || i, 'evt_' || i, 'PaymentCreated', jsonb_build_object('payment', jsonb_build_object('paymentId', 'pay_' || i, 'padding', repeat('x', $4::int))),
            now() - make_interval(hours => $5::int)
       FROM generate_series(1, $3::int) i
     RETURNING id`,
    [terminal.terminalId, terminal.merchantId, count, padding, ageHours],
  );
  await app.get(TerminalEventsHub).publish(terminal.terminalId);
  return rows.map((row) => String(row.id));
}

/** What the gateway answers a stream it refuses: the status and the error body (none when it serves the stream). */
async function refusal(response: IncomingMessage): Promise<{ status: number; body?: { error: { code: string; message: string; details?: unknown[] } } }> {
  if (response.statusCode === 200) {
    response.destroy();
    return { status: 200 };
  }
  let text = '';
  response.setEncoding('utf8');
  for await (const chunk of response) text += chunk as string;
  return { status: response.statusCode!, body: JSON.parse(text) as { error: { code: string; message: string; details?: unknown[] } } };
}

describe('GET /v1/terminals/me/events', () => {
  it('leaves no listener in the hub when the stream cannot read where to start', async () => {
    const terminal = await newTerminal();
    await dataSource.query('ALTER TABLE terminal_events RENAME TO terminal_events_away');
    try {
      const response = await openStream(terminal);
      response.resume();
      expect(response.statusCode).toBe(500);
    } finally {
      await dataSource.query('ALTER TABLE terminal_events_away RENAME TO terminal_events');
    }
    expect(app.get(TerminalEventsHub).streamCount(terminal.terminalId)).toBe(0);
  });

  it('closes a terminal\'s oldest stream when it opens a fourth, and serves the new one', async () => {
    const hub = app.get(TerminalEventsHub);
    const terminal = await newTerminal();
    const neighbour = await newTerminal();
    const theirs = await Received.open(neighbour);
    const [oldest, ...others] = [await Received.open(terminal), await Received.open(terminal), await Received.open(terminal)];
    expect(hub.streamCount(terminal.terminalId)).toBe(3);

    const newest = await Received.open(terminal);
    await eventually(() => oldest.ended || undefined, 5000);
    expect(oldest.comments).toContainEqual(expect.stringMatching(/^STREAM_REPLACED /));
    // a replaced stream that is still read (a POS that leaks streams) waits before it comes back and replaces
    // another, rather than the terminal's streams replacing each other every second
    expect(oldest.retries.at(-1)).toBeGreaterThanOrEqual(30_000);
    expect(hub.streamCount(terminal.terminalId)).toBe(3);
    expect(hub.streamCount(neighbour.terminalId)).toBe(1);

    await appendEvents(terminal, 1);
    for (const stream of [...others, newest]) await eventually(() => (stream.events.length === 1 ? true : undefined));
    for (const stream of [theirs, ...others, newest]) stream.close();
  });

  it('ends the stream of a terminal whose key is revoked or rotated, and sends it nothing more', async () => {
    const registry = app.get(RegistryService);
    for (const retire of [(terminalId: string) => registry.revoke(terminalId), (terminalId: string) => registry.rotateKey(terminalId)]) {
      const terminal = await newTerminal();
      const stream = await Received.open(terminal);
      await appendEvents(terminal, 1);
      await eventually(() => (stream.events.length === 1 ? true : undefined));

      await retire(terminal.terminalId);
      // within a few heartbeats: the key that opened the stream no longer opens anything
      await eventually(() => stream.ended || undefined, 3000);
      expect(stream.comments).toContainEqual(expect.stringMatching(/^KEY_REVOKED /));
      await appendEvents(terminal, 1);
      await sleep(300);
      expect(stream.events).toHaveLength(1);
      expect(app.get(TerminalEventsHub).streamCount(terminal.terminalId)).toBe(0);
      const again = await openStream(terminal);
      again.resume();
      expect(again.statusCode).toBe(401);
    }
  });

  it('checks the keys of all open streams with one statement per heartbeat, ends only the revoked ones, and checks nothing while none is open', async () => {
    const hub = app.get(TerminalEventsHub);
    const [revoked, ...kept] = [await newTerminal(), await newTerminal(), await newTerminal(), await newTerminal()];
    const streams = new Map<PosTerminal, Received[]>();
    for (const terminal of [revoked, ...kept]) streams.set(terminal, [await Received.open(terminal), await Received.open(terminal)]);
    // every statement about terminals this replica sends, with its parameters
    const checks: unknown[][] = [];
    const send = dataSource.query.bind(dataSource);
    const query = jest.spyOn(dataSource, 'query').mockImplementation((text, parameters, queryRunner) => {
      if (/\bFROM terminals\b/.test(text)) checks.push(parameters ?? []);
      return send(text, parameters, queryRunner);
    });
    try {
      // five heartbeat periods with eight streams of four terminals open: one statement each, not one per stream
      await sleep(5 * options.sseHeartbeatMs!);
      expect(checks.length).toBeGreaterThanOrEqual(2);
      expect(checks.length).toBeLessThanOrEqual(6);
      for (const [terminalIds] of checks) expect(terminalIds).toEqual(expect.arrayContaining([revoked, ...kept].map((t) => t.terminalId)));

      await app.get(RegistryService).revoke(revoked.terminalId);
      for (const stream of streams.get(revoked)!) {
        await eventually(() => stream.ended || undefined, 3000);
        expect(stream.comments).toContainEqual(expect.stringMatching(/^KEY_REVOKED /));
      }
      await sleep(2 * options.sseHeartbeatMs!);
      for (const terminal of kept) {
        expect(hub.streamCount(terminal.terminalId)).toBe(2);
        await appendEvents(terminal, 1);
        for (const stream of streams.get(terminal)!) {
          await eventually(() => (stream.events.length === 1 ? true : undefined));
          expect(stream.ended).toBe(false);
          expect(stream.comments).not.toContainEqual(expect.stringMatching(/^KEY_REVOKED /));
        }
      }

      for (const stream of [...streams.values()].flat()) stream.close();
      await eventually(() => (hub.streamCount() === 0 ? true : undefined));
      checks.length = 0;
      await sleep(3 * options.sseHeartbeatMs!);
      expect(checks).toHaveLength(0);
    } finally {
      query.mockRestore();
    }
  });

  it('starts now for an empty Last-Event-ID, as for none', async () => {
    const terminal = await newTerminal();
    await appendEvents(terminal, 2);
    const streams: Received[] = [];
    for (const response of [await openStream(terminal, { 'last-event-id': '' }), await openStream(terminal, {}, '?lastEventId=')]) {
      expect(response.statusCode).toBe(200);
      const stream = new Received(response);
      await eventually(() => (stream.comments.length ? true : undefined));
      streams.push(stream);
    }
    await appendEvents(terminal, 1);
    const [latest]: Array<{ id: string }> = await dataSource.query('SELECT max(id) AS id FROM terminal_events WHERE terminal_id = $1', [terminal.terminalId]);
    for (const stream of streams) {
      await eventually(() => (stream.events.length ? true : undefined));
      await sleep(300);
      expect(stream.events.map((e) => e.id)).toEqual([String(latest.id)]);
      stream.close();
    }
  });

  it('pushes a cancel the orchestrator refused to the stream of the payment\'s terminal, once, numbered and replayed as its other events', async () => {
    // the read model applies payments.v1.events, and the consumer then wakes the terminal's streams
    const payments = new PaymentsService(dataSource, undefined as never, undefined as never, undefined as never, testLogger());
    const apply = async (envelope: Envelope, terminal: PosTerminal) => {
      await dataSource.transaction((manager) => payments.applyEvent(manager, envelope));
      await app.get(TerminalEventsHub).publish(terminal.terminalId);
    };
    const terminal = await newTerminal();
    const neighbour = await newTerminal();
    const paymentId = newId('pay');
    const succeeded: PaymentViewV1 = {
      paymentId, merchantOrderId: `order-${paymentId}`, merchantId: terminal.merchantId, storeId: 'sto_streams', terminalId: terminal.terminalId,
      amount: { currency: 'HKD', value: '1250' }, status: 'SUCCEEDED', refundedAmount: { currency: 'HKD', value: '0' }, sequence: 1,
      createdAt: '2026-11-27T10:00:00.000Z', updatedAt: '2026-11-27T10:00:01.000Z',
    };
    const stream = await Received.open(terminal);
    const theirs = await Received.open(neighbour);
    await apply(createEnvelope({ type: 'PaymentSucceeded', key: paymentId, data: { payment: succeeded }, producer: 'payment-orchestrator', correlationId: paymentId }), terminal);
    await eventually(() => (stream.events.length === 1 ? true : undefined));

    const failure = { code: 'PAYMENT_NOT_CANCELLABLE', message: 'the payment\'s reversal is still unknown; it cannot be cancelled now' };
    const refusal = () => createEnvelope({ type: 'PaymentCancelRefused', key: paymentId, data: { payment: succeeded, failure }, producer: 'payment-orchestrator', cause: { id: 'cmd-void-stream', correlationId: paymentId } });
    // as the consumer reads it from payments.v1.events
    const refused = parseMessage(TOPICS.paymentEvents.name, JSON.parse(JSON.stringify(refusal())));
    await apply(refused, terminal);
    await apply(refusal(), terminal); // the same refusal again, under a new envelope
    await eventually(() => (stream.events.length === 2 ? true : undefined));
    await sleep(300);
    const [success, refusalEvent] = stream.events;
    expect(stream.events).toHaveLength(2);
    expect(refusalEvent.data).toEqual({ eventId: refused.id, type: 'PaymentCancelRefused', payment: succeeded, failure });
    expect(BigInt(refusalEvent.id)).toBeGreaterThan(BigInt(success.id));
    expect(theirs.events).toHaveLength(0);

    // a POS that resumes after the success gets the refusal replayed; one that saw the refusal gets nothing again
    const resumed = await Received.open(terminal, { 'last-event-id': success.id });
    await eventually(() => (resumed.events.length ? true : undefined));
    const caughtUp = await Received.open(terminal, { 'last-event-id': refusalEvent.id });
    await sleep(300);
    expect(resumed.events).toEqual([refusalEvent]);
    expect(caughtUp.events).toEqual([]);
    for (const open of [stream, theirs, resumed, caughtUp]) open.close();
  });

  it('stops writing to a POS that takes nothing, drops it, and replays to it what it missed', async () => {
    const terminal = await newTerminal();
    // 16 MB of events: about four times what the kernel buffers both ends of a loopback connection with
    await appendEvents(terminal, 1000, 16_000);
    const response = await openStream(terminal, { 'last-event-id': '0' });
    const gatewaySide = serverSockets.get(response.socket.localPort!)!;
    let mostBuffered = 0;
    const sampling = setInterval(() => (mostBuffered = Math.max(mostBuffered, gatewaySide.writableLength)), 5);
    for (const deadline = Date.now() + 10_000; !gatewaySide.destroyed && Date.now() < deadline; ) await sleep(20);
    clearInterval(sampling);
    expect(mostBuffered).toBeLessThan(1_000_000);
    expect(gatewaySide.destroyed).toBe(true);
    expect(app.get(TerminalEventsHub).streamCount(terminal.terminalId)).toBe(0);

    // the POS reads again, finds its stream ended and resumes from the last event it got whole
    const dropped = new Received(response);
    await eventually(() => dropped.ended || undefined);
    const resumed = await Received.open(terminal, { 'last-event-id': dropped.events.at(-1)?.id ?? '0' });
    const all: Array<{ id: string }> = await dataSource.query('SELECT id FROM terminal_events WHERE terminal_id = $1 ORDER BY id', [terminal.terminalId]);
    await eventually(() => dropped.events.length + resumed.events.length >= all.length || undefined, 20_000);
    expect([...dropped.events, ...resumed.events].map((e) => e.id)).toEqual(all.map((row) => String(row.id)));
    resumed.close();
  });

  it('refuses to resume after an event whose successors were pruned (410 EVENTS_PRUNED), and resumes after the pruned ones', async () => {
    const terminal = await newTerminal();
    const neighbour = await newTerminal();
    const [seen, ...missed] = await appendEvents(terminal, 3, 0, 100);
    await appendEvents(neighbour, 2, 0, 100);
    const [kept] = await appendEvents(terminal, 1);
    expect(await app.get(TerminalEventsRetention).prune()).toBeGreaterThanOrEqual(5);

    // the POS saw the first event, then was offline past the retention: the two after it are gone
    const gone = await refusal(await openStream(terminal, { 'last-event-id': seen }));
    expect(gone).toEqual({ status: 410, body: { error: { code: 'EVENTS_PRUNED', message: expect.stringMatching(/GET \/v1\/payments/), details: [{ lastEventId: seen, prunedThrough: missed[1] }] } } });
    expect((await refusal(await openStream(terminal, {}, `?lastEventId=${missed[0]}`))).status).toBe(410);
    expect(app.get(TerminalEventsHub).streamCount(terminal.terminalId)).toBe(0);

    // one that had read up to the last pruned event missed nothing: it gets what is kept after it
    const resumed = await Received.open(terminal, { 'last-event-id': missed[1] });
    await eventually(() => (resumed.events.length ? true : undefined));
    expect(resumed.events.map((e) => e.id)).toEqual([kept]);
    resumed.close();

    // a neighbour's pruned events say nothing about this terminal's, nor a fresh start about anything
    const [later] = await appendEvents(terminal, 1);
    const fresh = await Received.open(neighbour);
    const fromKept = await Received.open(terminal, { 'last-event-id': kept });
    await eventually(() => (fromKept.events.length ? true : undefined));
    expect(fromKept.events.map((e) => e.id)).toEqual([later]);
    for (const stream of [fresh, fromKept]) stream.close();
  });

  it('starts now, not with EVENTS_PRUNED, for a POS without Last-Event-ID whose terminal\'s events were all pruned', async () => {
    const terminal = await newTerminal();
    await appendEvents(terminal, 2, 0, 100);
    await app.get(TerminalEventsRetention).prune();
    const stream = await Received.open(terminal);
    const opening = stream.comments[0];
    const start = /from event (\d+)/.exec(opening)![1];
    stream.close();
    // where the stream started is an id the POS can resume from
    const again = await Received.open(terminal, { 'last-event-id': start });
    const [next] = await appendEvents(terminal, 1);
    await eventually(() => (again.events.length ? true : undefined));
    expect(again.events.map((e) => e.id)).toEqual([next]);
    again.close();
  });

  it('ends a replay that the retention overtakes with EVENTS_PRUNED, rather than skipping what it deleted', async () => {
    const terminal = await newTerminal();
    const [first] = await appendEvents(terminal, 1);
    const old = await appendEvents(terminal, 250, 0, 100);
    // the pruner deletes the old events while the stream sends its first batch of them
    const retention = app.get(TerminalEventsRetention);
    const send = dataSource.query.bind(dataSource);
    let batches = 0;
    const query = jest.spyOn(dataSource, 'query').mockImplementation(async (text, parameters, queryRunner) => {
      const answer: unknown = await send(text, parameters, queryRunner);
      if (/FROM terminal_events\b/.test(text) && parameters?.[0] === terminal.terminalId && /LIMIT/.test(text) && ++batches === 1) await retention.prune();
      return answer;
    });
    try {
      // the first event is not old: resuming from it is allowed
      await dataSource.query('UPDATE terminal_events SET created_at = now() WHERE id = $1', [first]);
      const stream = await Received.open(terminal, { 'last-event-id': first });
      await eventually(() => stream.ended || undefined, 5000);
      expect(stream.events.map((e) => e.id)).toEqual(old.slice(0, 200));
      expect(stream.comments).toContainEqual(expect.stringMatching(/^EVENTS_PRUNED /));
      const again = await refusal(await openStream(terminal, { 'last-event-id': old[199] }));
      expect(again.body?.error.code).toBe('EVENTS_PRUNED');
    } finally {
      query.mockRestore();
    }
  });

  it('refuses a Last-Event-ID that this gateway never sent (400 INVALID_LAST_EVENT_ID), rather than staying silent until ids reach it', async () => {
    const terminal = await newTerminal();
    const [newest] = await appendEvents(terminal, 1);
    const ahead = String(BigInt(newest) + 1000n);
    const refused = await refusal(await openStream(terminal, { 'last-event-id': ahead }));
    expect(refused).toMatchObject({ status: 400, body: { error: { code: 'INVALID_LAST_EVENT_ID', message: expect.stringMatching(/ever sent/) } } });
    expect(app.get(TerminalEventsHub).streamCount(terminal.terminalId)).toBe(0);
    // an id another terminal's event took is one this gateway sent: the stream serves what follows it
    const stream = await Received.open(terminal, { 'last-event-id': newest });
    const [next] = await appendEvents(terminal, 1);
    await eventually(() => (stream.events.length ? true : undefined));
    expect(stream.events.map((e) => e.id)).toEqual([next]);
    stream.close();
  });

  it('closes none of a terminal\'s open streams for an open it refuses', async () => {
    const hub = app.get(TerminalEventsHub);
    const terminal = await newTerminal();
    const [pruned] = await appendEvents(terminal, 2, 0, 100);
    await app.get(TerminalEventsRetention).prune();
    const open = [await Received.open(terminal), await Received.open(terminal), await Received.open(terminal)];
    // a POS retrying a refused Last-Event-ID in a loop must not knock its own working streams off one by one
    for (const lastEventId of [pruned, '999999999999999999', 'x']) {
      expect((await refusal(await openStream(terminal, { 'last-event-id': lastEventId }))).status).toBeGreaterThanOrEqual(400);
    }
    await sleep(100);
    expect(open.map((stream) => stream.ended)).toEqual([false, false, false]);
    expect(hub.streamCount(terminal.terminalId)).toBe(3);
    for (const stream of open) stream.close();
  });

  it('leaves no stream in the hub for a POS that hung up while the stream was being set up', async () => {
    const terminal = await newTerminal();
    const send = dataSource.query.bind(dataSource);
    // where the stream starts takes a while to read, as on a loaded database; the POS gives up meanwhile
    const query = jest.spyOn(dataSource, 'query').mockImplementation(async (text, parameters, queryRunner) => {
      if (/\bmax\(id\) FROM terminal_events\b/.test(text) && parameters?.[0] === terminal.terminalId) await sleep(300);
      return send(text, parameters, queryRunner);
    });
    try {
      const request = get({ host: '127.0.0.1', port, path: '/v1/terminals/me/events', agent: false, headers: { authorization: `Bearer ${terminal.key}` } });
      request.on('error', () => undefined);
      await sleep(100);
      request.destroy();
      await sleep(1000);
      expect(app.get(TerminalEventsHub).streamCount(terminal.terminalId)).toBe(0);
    } finally {
      query.mockRestore();
    }
  });
});

describe('GET /v1/terminals/me/events while the database fails', () => {
  it('ends the streams it cannot read, each with its own reconnection time, so their POS do not all come back at once', async () => {
    const hub = app.get(TerminalEventsHub);
    const terminals = [await newTerminal(), await newTerminal(), await newTerminal(), await newTerminal(), await newTerminal()];
    const streams: Received[] = [];
    for (const terminal of terminals) streams.push(await Received.open(terminal), await Received.open(terminal));
    await dataSource.query('ALTER TABLE terminal_events RENAME TO terminal_events_away');
    try {
      for (const terminal of terminals) await hub.publish(terminal.terminalId);
      for (const stream of streams) await eventually(() => stream.ended || undefined, 3000);
    } finally {
      await dataSource.query('ALTER TABLE terminal_events_away RENAME TO terminal_events');
    }
    const delays = streams.map((stream) => stream.retries.at(-1)!);
    for (const delay of delays) expect(delay).toBeGreaterThanOrEqual(1000);
    expect(Math.max(...delays) - Math.min(...delays)).toBeGreaterThan(1000);
    expect(streams.every((stream) => stream.comments.some((comment) => comment.startsWith('UNAVAILABLE ')))).toBe(true);
  });
});

describe('GET /v1/terminals/me/events, idle', () => {
  it('looks for events it was not woken for with one statement for all open streams, and delivers one whose wake-up was lost', async () => {
    const terminals = [await newTerminal(), await newTerminal(), await newTerminal(), await newTerminal()];
    const streams: Received[] = [];
    for (const terminal of terminals) streams.push(await Received.open(terminal), await Received.open(terminal));
    const reads: unknown[][] = [];
    const send = dataSource.query.bind(dataSource);
    const query = jest.spyOn(dataSource, 'query').mockImplementation((text, parameters, queryRunner) => {
      if (/\bFROM terminal_events\b/.test(text)) reads.push(parameters ?? []);
      return send(text, parameters, queryRunner);
    });
    try {
      // three recheck periods, eight idle streams: a statement or so per period, not one per stream
      await sleep(6000);
      expect(reads.length).toBeGreaterThanOrEqual(2);
      expect(reads.length).toBeLessThanOrEqual(5);
    } finally {
      query.mockRestore();
    }
    // written without the Redis message that wakes the streams, as when it is lost
    const [{ id }]: Array<{ id: string }> = await dataSource.query(
      `INSERT INTO terminal_events (terminal_id, merchant_id, payment_id, event_id, type, data)
       VALUES ($1, $2, 'pay_lost', 'evt_lost', 'PaymentSucceeded', '{"payment":{"paymentId":"pay_lost"}}') RETURNING id`,
      [terminals[0].terminalId, terminals[0].merchantId],
    );
    for (const stream of streams.slice(0, 2)) await eventually(() => (stream.events.length ? true : undefined), 5000);
    expect(streams.slice(0, 2).map((stream) => stream.events.map((e) => e.id))).toEqual([[String(id)], [String(id)]]);
    for (const stream of streams) stream.close();
  }, 20_000);
});

// last: the hub stops, and serves no stream after it
describe('GET /v1/terminals/me/events on a replica that stops', () => {
  it('spreads the reconnects of the streams it ends over seconds, and ends at once one opened meanwhile', async () => {
    const hub = app.get(TerminalEventsHub);
    const streams: Received[] = [];
    for (let i = 0; i < 10; i++) {
      const terminal = await newTerminal();
      streams.push(await Received.open(terminal), await Received.open(terminal));
    }
    void hub.beforeApplicationShutdown();
    for (const stream of streams) await eventually(() => stream.ended || undefined, 3000);
    // every POS of the replica reconnecting in the same second would land on the others as one burst
    const delays = streams.map((stream) => stream.retries.at(-1)!);
    for (const delay of delays) expect(delay).toBeGreaterThanOrEqual(1000);
    expect(Math.max(...delays) - Math.min(...delays)).toBeGreaterThan(1000);
    expect(streams.every((stream) => stream.comments.some((comment) => comment.startsWith('SHUTDOWN ')))).toBe(true);

    // a request on a kept-alive connection still reaches a stopping replica: its stream must not hold it up
    const late = await Received.open(await newTerminal());
    await eventually(() => late.ended || undefined, 3000);
    expect(late.retries.at(-1)).toBeGreaterThanOrEqual(1000);
    expect(hub.streamCount()).toBe(0);
  });
});
