import { createServer, IncomingMessage, Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Metrics } from '@upm/shared-observability';
import { eventually } from '@upm/shared-testing';
import { Admission, admitAtTheDoor } from './admission';

const admission = (shedAfterMs: number, shedAnswerAfterMs = 0) =>
  new Admission({ adminToken: 'x'.repeat(12), rateLimitPerSecond: 20, defaultWaitSeconds: 20, shedAfterMs, shedAnswerAfterMs }, new Metrics('test'));
const request = () => ({}) as IncomingMessage;

describe('Admission', () => {
  beforeEach(() => jest.useFakeTimers({ now: new Date('2026-11-27T10:00:00Z') }));
  afterEach(() => jest.useRealTimers());

  it('refuses new payments while the oldest ticket has waited longer than the limit', () => {
    const gate = admission(2000);
    const old = gate.admit(request())!;
    jest.advanceTimersByTime(1000);
    const recent = gate.admit(request())!;
    jest.advanceTimersByTime(1000);
    expect(gate.admit(request())).toBeDefined(); // exactly at the limit
    jest.advanceTimersByTime(1);
    expect(gate.admit(request())).toBeUndefined();
    expect(gate.oldestWaitMs()).toBe(2001);

    old.release();
    expect(gate.oldestWaitMs()).toBe(1001); // the next oldest
    expect(gate.admit(request())).toBeDefined();
    old.release(); // a ticket ends once
    expect(gate.oldestWaitMs()).toBe(1001);
    recent.release();
    expect(gate.oldestWaitMs()).toBe(1); // the ticket let in at 2,000 ms
  });

  it('refuses new payments while even the fastest first answer of the last second took longer than the limit', () => {
    const gate = admission(0, 3000);
    const slow = Array.from({ length: 6 }, () => gate.admit(request())!);
    for (const ticket of slow) ticket.confirmed();
    jest.advanceTimersByTime(2900);
    const quick = gate.admit(request())!;
    jest.advanceTimersByTime(101);
    for (const ticket of slow.slice(0, 4)) ticket.answered();
    expect(gate.fastestRecentAnswerMs()).toBe(0); // four answers are too few to judge
    expect(gate.admit(request())).toBeDefined();
    slow[4].answered();
    slow[4].answered(); // an answer counts once
    expect(gate.fastestRecentAnswerMs()).toBe(3001);
    expect(gate.admit(request())).toBeUndefined();

    jest.advanceTimersByTime(499);
    slow[5].answered(); // 3,500 ms: still no fast answer in the window
    expect(gate.admit(request())).toBeUndefined();
    quick.answered(); // 600 ms: a payment that was let in later did not queue
    expect(gate.fastestRecentAnswerMs()).toBe(600);
    expect(gate.admit(request())).toBeDefined();
  });

  it('forgets answers after a second, so shedding stops by itself', () => {
    const gate = admission(0, 3000);
    const slow = Array.from({ length: 5 }, () => gate.admit(request())!);
    jest.advanceTimersByTime(5000);
    for (const ticket of slow) ticket.answered();
    expect(gate.admit(request())).toBeUndefined();
    jest.advanceTimersByTime(1000);
    expect(gate.admit(request())).toBeUndefined(); // exactly a second old
    jest.advanceTimersByTime(1);
    expect(gate.fastestRecentAnswerMs()).toBe(0);
    expect(gate.admit(request())).toBeDefined();
  });

  it('counts the wait of a request that ended before its payment was answered, and nothing for an order that existed', () => {
    const gate = admission(0, 3000);
    const existing = Array.from({ length: 5 }, () => gate.admit(request())!);
    jest.advanceTimersByTime(20_000);
    for (const ticket of existing) ticket.release(); // never confirmed: the order existed, or the orchestrator never took it
    expect(gate.fastestRecentAnswerMs()).toBe(0);
    expect(gate.admit(request())).toBeDefined();

    const waited = Array.from({ length: 5 }, () => gate.admit(request())!);
    for (const ticket of waited) ticket.confirmed();
    jest.advanceTimersByTime(20_000);
    for (const ticket of waited) ticket.release(); // answered 202 after the POS's wait: at least 20 s
    for (const ticket of waited) ticket.answered(); // too late to count again
    expect(gate.fastestRecentAnswerMs()).toBe(20_000);
    expect(gate.admit(request())).toBeUndefined();
  });

  it('never refuses when the limit is 0', () => {
    const gate = admission(0);
    for (let i = 0; i < 100; i++) gate.admit(request());
    jest.advanceTimersByTime(60_000);
    expect(gate.admit(request())).toBeDefined();
    expect(gate.oldestWaitMs()).toBe(0);
  });

  it('knows the ticket each request was let in with, and gives others one that does nothing', () => {
    const gate = admission(1000);
    const seen = request();
    gate.admit(seen);
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

  beforeAll(async () => {
    const gate = admission(1000);
    jest.spyOn(gate, 'admit').mockImplementation(() => (behind ? undefined : { confirmed: jest.fn(), answered: jest.fn(), release }));
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
});
