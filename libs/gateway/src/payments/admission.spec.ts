import { createServer, IncomingMessage, Server } from 'node:http';
import { AddressInfo, connect } from 'node:net';
import { Metrics } from '@upm/shared-observability';
import { eventually } from '@upm/shared-testing';
import { Admission, admitAtTheDoor, UNANSWERED_LIMIT } from './admission';

const admission = (shedAfterMs: number, answerTargetMs = 0) =>
  new Admission({ adminToken: 'x'.repeat(12), rateLimitPerSecond: 20, defaultWaitSeconds: 20, shedAfterMs, answerTargetMs }, new Metrics('test'));
const request = () => ({}) as IncomingMessage;
/** a request let in whose body has arrived: it counts from now */
const letIn = (gate: Admission) => {
  const ticket = gate.admit(request());
  ticket?.received();
  return ticket;
};
const admitMany = (gate: Admission, n: number) => Array.from({ length: n }, () => letIn(gate)!);

describe('Admission', () => {
  beforeEach(() => jest.useFakeTimers({ now: new Date('2026-11-27T10:00:00Z') }));
  afterEach(() => jest.useRealTimers());

  it('refuses new payments while the oldest ticket has waited longer than the limit', () => {
    const gate = admission(2000);
    const old = letIn(gate)!;
    jest.advanceTimersByTime(1000);
    const recent = letIn(gate)!;
    jest.advanceTimersByTime(1000);
    expect(letIn(gate)).toBeDefined(); // exactly at the limit
    jest.advanceTimersByTime(1);
    expect(gate.admit(request())).toBeUndefined();
    expect(gate.oldestWaitMs()).toBe(2001);

    old.release();
    expect(gate.oldestWaitMs()).toBe(1001); // the next oldest
    expect(letIn(gate)).toBeDefined();
    old.release(); // a ticket ends once
    expect(gate.oldestWaitMs()).toBe(1001);
    recent.release();
    expect(gate.oldestWaitMs()).toBe(1); // the ticket let in at 2,000 ms
  });

  it('refuses new payments while as many wait for their first answer as the limit, and lets one in for each answer', () => {
    const gate = admission(0, 3000);
    const waiting = admitMany(gate, UNANSWERED_LIMIT.initial);
    expect(waiting.every(Boolean)).toBe(true);
    expect(gate.admit(request())).toBeUndefined();
    waiting[0].confirmed();
    expect(gate.admit(request())).toBeUndefined(); // confirmed, but Alipay has not answered
    waiting[0].answered();
    expect(gate.unansweredLimit()).toBe(UNANSWERED_LIMIT.initial + 1); // in time, with the limit in use
    expect(admitMany(gate, 2).every(Boolean)).toBe(true);
    expect(gate.admit(request())).toBeUndefined();
  });

  it('shrinks the limit by a tenth for each answer slower than the target, not below its floor, and grows it by one for each in time while busy', () => {
    const gate = admission(0, 3000);
    const slow = admitMany(gate, 10);
    jest.advanceTimersByTime(3001);
    slow[0].answered();
    slow[0].answered(); // an answer counts once
    expect(gate.unansweredLimit()).toBe(Math.floor(UNANSWERED_LIMIT.initial * UNANSWERED_LIMIT.backoff));
    for (const ticket of slow.slice(1)) ticket.answered();
    expect(gate.unansweredLimit()).toBe(UNANSWERED_LIMIT.min);

    const busy = admitMany(gate, UNANSWERED_LIMIT.min);
    expect(gate.admit(request())).toBeUndefined();
    jest.advanceTimersByTime(3000); // exactly the target is in time
    busy[0].answered();
    busy[1].answered();
    expect(gate.unansweredLimit()).toBe(UNANSWERED_LIMIT.min + 2);
    for (const ticket of busy.slice(2)) ticket.answered();
    // it grew while 20 down to 14 still waited (at least half the limit in use), not for the rest: a quiet
    // replica does not inflate its limit
    expect(gate.unansweredLimit()).toBe(UNANSWERED_LIMIT.min + 7);
  });

  it('counts the wait of a request that ended before its payment was answered, and nothing for an order that existed', () => {
    const gate = admission(0, 3000);
    const existing = admitMany(gate, 10);
    jest.advanceTimersByTime(20_000);
    for (const ticket of existing) ticket.release(); // never confirmed: the order existed, or the orchestrator never took it
    expect(gate.unansweredLimit()).toBe(UNANSWERED_LIMIT.initial);

    const waited = admitMany(gate, 2);
    for (const ticket of waited) ticket.confirmed();
    jest.advanceTimersByTime(20_000);
    waited[0].release(); // answered 202 after the POS's wait: at least 20 s
    waited[0].answered(); // too late to count again
    expect(gate.unansweredLimit()).toBe(Math.floor(UNANSWERED_LIMIT.initial * UNANSWERED_LIMIT.backoff));
    expect(admitMany(gate, UNANSWERED_LIMIT.initial * UNANSWERED_LIMIT.backoff - 1).every(Boolean)).toBe(true); // ended requests freed their places
    expect(gate.admit(request())).toBeUndefined();
  });

  it('counts a request only once its body has arrived, so a POS sending slowly holds no place and ages nothing', () => {
    const gate = admission(1000, 3000);
    const slow = Array.from({ length: UNANSWERED_LIMIT.initial }, () => gate.admit(request())!);
    jest.advanceTimersByTime(5000);
    expect(gate.oldestWaitMs()).toBe(0);
    expect(letIn(gate)).toBeDefined();

    slow[0].received();
    jest.advanceTimersByTime(600);
    expect(gate.oldestWaitMs()).toBe(600); // from its body, not from its request line
    for (const ticket of slow.slice(1)) ticket.release(); // the others never sent their bodies: nothing to learn
    slow[0].release();
    expect(gate.unansweredLimit()).toBe(UNANSWERED_LIMIT.initial);
    slow[1].received(); // a body read after its request ended counts nothing
    expect(gate.oldestWaitMs()).toBe(600); // the ticket let in above, whose body arrived at once
  });

  it('never refuses when the limit is 0', () => {
    const gate = admission(0);
    for (let i = 0; i < 100; i++) letIn(gate);
    jest.advanceTimersByTime(60_000);
    expect(gate.admit(request())).toBeDefined();
    expect(gate.oldestWaitMs()).toBe(0);
  });

  it('knows the ticket each request was let in with, and gives others one that does nothing', () => {
    const gate = admission(1000);
    const seen = request();
    gate.admit(seen)!.received();
    jest.advanceTimersByTime(1500);
    gate.ticketOf(request()).release();
    expect(gate.oldestWaitMs()).toBe(1500);
    gate.ticketOf(seen).release();
    expect(gate.oldestWaitMs()).toBe(0);
  });
});

describe('admitAtTheDoor', () => {
  let server: Server;
  let base: string;
  let behind = false;
  const reachedTheApp: string[] = [];
  const release = jest.fn();
  const received = jest.fn();

  beforeAll(async () => {
    const gate = admission(1000);
    jest.spyOn(gate, 'admit').mockImplementation(() => (behind ? undefined : { received, confirmed: jest.fn(), answered: jest.fn(), release }));
    server = createServer((req, res) => {
      reachedTheApp.push(`${req.method} ${req.url}`);
      res.end('app');
    });
    admitAtTheDoor(server, gate);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve));
  });

  it('answers a refused new payment itself, 503 OVERLOADED with Retry-After, and lets everything else through', async () => {
    behind = true;
    const refused = await fetch(`${base}/v1/payments?x=1`, { method: 'POST', body: '{"merchantOrderId":"o-1"}', headers: { 'content-type': 'application/json' } });
    expect(refused.status).toBe(503);
    expect(refused.headers.get('retry-after')).toBe('1');
    expect(await refused.json()).toEqual({ error: { code: 'OVERLOADED', message: expect.any(String) } });
    for (const [method, path] of [['GET', '/v1/payments/pay_1'], ['POST', '/v1/payments/pay_1/cancel'], ['POST', '/v1/payments/pay_1/refunds']]) {
      expect((await fetch(base + path, { method })).status).toBe(200);
    }
    expect(reachedTheApp).toEqual(['GET /v1/payments/pay_1', 'POST /v1/payments/pay_1/cancel', 'POST /v1/payments/pay_1/refunds']);

    expect(release).not.toHaveBeenCalled();
    behind = false;
    expect(await (await fetch(`${base}/v1/payments`, { method: 'POST', body: '{}' })).text()).toBe('app');
    await eventually(() => (release.mock.calls.length === 1 ? true : undefined), 2000, 10); // the answer ended the request's claim on the queue
  });

  it('refuses a new payment whatever the case of its path, as the router it would reach ignores case', async () => {
    behind = true;
    reachedTheApp.length = 0;
    for (const path of ['/V1/PAYMENTS', '/v1/Payments/', '/V1/payments?x=1']) {
      expect((await fetch(base + path, { method: 'POST', body: '{}' })).status).toBe(503);
    }
    expect(reachedTheApp).toEqual([]);
    behind = false;
  });

  it('refuses a new payment whatever form its request target takes, as the router reads the path of each', async () => {
    behind = true;
    reachedTheApp.length = 0;
    // the absolute form a forward proxy sends, and a fragment the router ignores: both reach POST /v1/payments
    for (const target of [`${base}/v1/payments`, 'HTTP://gateway.local/v1/payments?x=1', '/v1/payments#x']) {
      expect(await rawStatus(target)).toBe(503);
    }
    expect(reachedTheApp).toEqual([]);
    behind = false;
  });

  /** The status of a POST sent with exactly this request target, which fetch would normalise. */
  function rawStatus(target: string): Promise<number> {
    return new Promise((resolve, reject) => {
      const socket = connect(Number(new URL(base).port), '127.0.0.1', () => socket.write(`POST ${target} HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nConnection: close\r\n\r\n`));
      let answer = '';
      socket.on('data', (chunk: Buffer) => (answer += chunk.toString()));
      socket.on('end', () => resolve(Number(answer.split(' ')[1])));
      socket.on('error', reject);
    });
  }
});
