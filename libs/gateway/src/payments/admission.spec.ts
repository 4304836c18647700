import { createServer, IncomingMessage, Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Metrics } from '@upm/shared-observability';
import { eventually } from '@upm/shared-testing';
import { Admission, admitAtTheDoor } from './admission';

const admission = (shedAfterMs: number) => new Admission({ adminToken: 'x'.repeat(12), rateLimitPerSecond: 20, defaultWaitSeconds: 20, shedAfterMs }, new Metrics('test'));
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
    jest.spyOn(gate, 'admit').mockImplementation(() => (behind ? undefined : { release }));
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
