import { arrivals, orderId, parseMix, pickScenario, rampRates, seededRandom } from './schedule';
import { benchLine, cpuPerPayment, resourceTable, summarizePhase } from './report';
import { percentile, summarize } from './stats';
import { chart, niceMax } from './svg';
import { parseOptions } from './options';
import { categoryOf, profileTable, summarizeProfile } from './profile';
import type { PhaseRun, PaymentRecord } from './load';
import { JsonHttp } from './http';
import { judge, readBook, verify } from './verify';

describe('bench: pure parts', () => {
  it('takes nearest-rank percentiles', () => {
    const values = Array.from({ length: 100 }, (_, i) => i + 1);
    expect(percentile(values, 50)).toBe(50);
    expect(percentile(values, 99)).toBe(99);
    expect(percentile(values, 100)).toBe(100);
    expect(percentile([], 50)).toBeNaN();
    expect(summarize([5, 1, 3])).toEqual({ count: 3, p50: 3, p95: 5, p99: 5, max: 5 });
  });

  it('counts an order refused on every attempt as refused, and one whose fate the POS never learnt as lost', async () => {
    const record = (merchantOrderId: string, errors: string[]): PaymentRecord => ({ phase: 'platform', scenario: '00', terminal: 0, merchantOrderId, dueAt: 0, errors });
    const result = await verify(new JsonHttp('http://127.0.0.1:9'), [
      record('refused', ['503 OVERLOADED', '503 OVERLOADED']),
      record('refused-while-redis-away', ['503 OVERLOADED', '503 IDEMPOTENCY_UNAVAILABLE']),
      record('timed-out-then-refused', ['TIMEOUT', '503 OVERLOADED']),
      record('failed-then-refused', ['500 INTERNAL', '503 OVERLOADED']),
      record('never-answered', []),
    ]);
    expect(result).toMatchObject({ checked: 5, refused: 2, lost: 3, duplicated: 0 });
  });

  it('reads the books again when a lookup fails, and says so when it never could', async () => {
    const answers: Array<Error | { status: number; body: unknown }> = [new Error('ECONNRESET'), { status: 503, body: {} }, { status: 200, body: { status: 'SUCCESS' } }];
    const flaky = { request: jest.fn(async () => {
      const next = answers.shift()!;
      if (next instanceof Error) throw next;
      return { ...next, headers: {} } as never;
    }) };
    expect(await readBook(flaky, 'pay_1')).toEqual({ status: 'SUCCESS' });
    expect(flaky.request).toHaveBeenCalledTimes(3);
    const down = { request: jest.fn(async () => Promise.reject(new Error('ECONNREFUSED'))) };
    expect(await readBook(down, 'pay_2', 2)).toBeUndefined();
    expect(down.request).toHaveBeenCalledTimes(2);
  });

  it('calls a payment lost only when the POS never learnt its fate or the money disagrees', () => {
    const book = (status: string, pay = 1) => ({ status, calls: { pay } });
    expect(judge({ scenario: '00', status: 'SUCCEEDED' }, book('SUCCESS'))).toEqual({});
    expect(judge({ scenario: '00', status: undefined }, book('SUCCESS')).lost).toMatch(/not final/);
    expect(judge({ scenario: '00', status: 'SUCCEEDED' }, undefined).lost).toMatch(/could not be read/);
    expect(judge({ scenario: '00', status: 'SUCCEEDED' }, book('FAIL')).lost).toBe('POS SUCCEEDED, sandbox FAIL');
    expect(judge({ scenario: '85', status: 'FAILED' }, book('SUCCESS')).lost).toBe('POS FAILED, sandbox SUCCESS');
    expect(judge({ scenario: '82', status: 'CANCELLED' }, book('SUCCESS')).lost).toBe('POS CANCELLED, sandbox SUCCESS');
    // a pay that never reached Alipay: failed, nothing charged, told to the POS
    expect(judge({ scenario: '00', status: 'FAILED' }, book('NOT_RECORDED', 0))).toEqual({ unexpected: 'ended FAILED (sandbox NOT_RECORDED), expected SUCCEEDED' });
    expect(judge({ scenario: '85', status: 'FAILED' }, book('CANCELLED'))).toEqual({ unexpected: 'POS FAILED, sandbox CANCELLED' });
    // a pay that hung and never took effect: FAILED for the POS, nothing in the books
    expect(judge({ scenario: '84', status: 'FAILED' }, book('NOT_RECORDED'))).toEqual({});
    expect(judge({ scenario: '84', status: 'FAILED' }, book('SUCCESS')).lost).toBe('POS FAILED, sandbox SUCCESS');
    expect(judge({ scenario: '00', status: 'SUCCEEDED' }, book('SUCCESS', 2))).toEqual({ duplicated: '2 pay calls' });
  });

  it('names orders the POS API accepts, whatever the phase is called', () => {
    for (const phase of ['platform', 'baseline', 'ramp 20/s', 'ramp 150/s', 'warmup']) {
      expect(orderId('Bmwyv4nft', phase, 11999)).toMatch(/^[A-Za-z0-9_-]{1,64}$/);
    }
    expect(orderId('B1', 'ramp 20/s', 3)).toBe('B1-ramp20s-3');
    expect(orderId('B1', 'ramp 20/s', 3)).not.toBe(orderId('B1', 'ramp 30/s', 3));
  });

  it('schedules open arrivals at the target rate, in order, with the mix', () => {
    const mix = parseMix('00=90,85=10');
    const schedule = arrivals(200, 60, mix, 10_000, seededRandom(7));
    expect(Math.abs(schedule.length - 12_000)).toBeLessThan(400);
    expect(schedule.every((a, i) => i === 0 || a.at >= schedule[i - 1].at)).toBe(true);
    expect(schedule.at(-1)!.at).toBeLessThan(60_000);
    const declines = schedule.filter((a) => a.scenario === '85').length / schedule.length;
    expect(declines).toBeGreaterThan(0.08);
    expect(declines).toBeLessThan(0.12);
    expect(arrivals(200, 60, mix, 10_000, seededRandom(7))).toEqual(schedule);
    expect(pickScenario(parseMix('82=1'), Math.random)).toBe('82');
    expect(() => parseMix('99=1')).toThrow(/unknown scenario/);
    expect(rampRates(50, 200, 50)).toEqual([50, 100, 150, 200]);
  });

  it('counts only payments final inside the load window as sustained throughput', () => {
    const run: PhaseRun = {
      name: 'platform', rate: 2, durationS: 2, origin: 0, settledAt: 3000, maxSendLagMs: 0,
      records: [
        { phase: 'platform', scenario: '00', terminal: 0, merchantOrderId: 'a', dueAt: 0, acceptedAt: 0, finalAt: 100, status: 'SUCCEEDED', errors: [] },
        { phase: 'platform', scenario: '00', terminal: 0, merchantOrderId: 'b', dueAt: 1000, acceptedAt: 1150, finalAt: 1200, status: 'SUCCEEDED', errors: ['503 OVERLOADED'] },
        { phase: 'platform', scenario: '82', terminal: 0, merchantOrderId: 'c', dueAt: 1500, finalAt: 2500, status: 'CANCELLED', errors: [] },
        { phase: 'platform', scenario: '00', terminal: 0, merchantOrderId: 'd', dueAt: 1900, errors: ['503 UNAVAILABLE'] },
      ],
    };
    const s = summarizePhase(run);
    expect(s.throughput).toBe(1);
    expect(s.latency.get('00')).toMatchObject({ count: 2, p50: 100, max: 200 });
    expect(s.statuses.get('NOT FINAL')).toBe(1);
    expect(s.errors.get('503 UNAVAILABLE')).toBe(1);
    // from the accepted attempt: 100 ms for a, 50 ms for b (refused once before)
    expect(s.acceptedLatency).toMatchObject({ count: 2, max: 100 });
    expect(s.acceptedLatency!.p50).toBe(50);
    expect(s.retriedBeforeAccepted).toBe(1);
  });

  it('charges the platform\'s CPU and write system calls to the payments final in the window, without the load generator, and apart without the sandbox', () => {
    const window = {
      durationS: 20, machineBusy: 0.8,
      processes: [
        { name: 'payment-orchestrator', cpuAvg: 30, cpuPeak: 40, rssPeakMb: 150, writes: 4000 },
        { name: 'alipay-sandbox', cpuAvg: 10, cpuPeak: 20, rssPeakMb: 100, writes: 800, simulator: true },
        { name: 'postgres', cpuAvg: 20, cpuPeak: 30, rssPeakMb: 500, writes: 6200 },
        { name: 'load generator (this process)', cpuAvg: 50, cpuPeak: 60, rssPeakMb: 120, writes: 900, load: true },
      ],
    };
    // 60 % of a core for 20 s is 12 s of CPU; over 400 payments, 30 ms each, 25 ms without the sandbox
    expect(cpuPerPayment(window, 400)).toBe(30);
    expect(cpuPerPayment(window, 400, { withSimulator: false })).toBe(25);
    const text = resourceTable(window, 400);
    expect(text).toMatch(/payment-orchestrator\s+30\s+40\s+150\s+10\.0\n/);
    expect(text).toMatch(/postgres\s+20\s+30\s+500\s+15\.5\n/);
    expect(text).toMatch(/CPU per final payment .*: 30 ms; without the Alipay sandbox.*: 25 ms$/);
    expect(resourceTable(window)).not.toMatch(/writes/);
  });

  it('charges a CPU profile\'s samples to kinds of work, leaving idle out', () => {
    const frame = (functionName: string, url = '') => ({ functionName, url });
    expect(categoryOf(frame('writev'))).toBe('socket writes (system calls)');
    expect(categoryOf(frame('signOneShot', 'node:internal/crypto/sig'))).toBe('RSA signatures');
    expect(categoryOf(frame('query', 'file:///x/node_modules/pg/lib/client.js'))).toBe('node-postgres');
    expect(categoryOf(frame('startSpan', 'file:///x/node_modules/@opentelemetry/sdk-trace-base/build/src/Tracer.js'))).toBe('OpenTelemetry');
    expect(categoryOf(frame('decide', 'file:///x/dist/libs/payments/domain/src/decide.js'))).toBe('platform code');
    expect(categoryOf(frame('emit', 'node:events'))).toBe('Node.js core');
    expect(categoryOf(frame('(idle)'))).toBeUndefined();
    const profile = {
      nodes: [
        { id: 1, callFrame: frame('(idle)') },
        { id: 2, callFrame: frame('writev') },
        { id: 3, callFrame: frame('fetch', 'file:///x/node_modules/kafkajs/src/consumer/fetcher.js') },
        { id: 4, callFrame: frame('(garbage collector)') },
      ],
      samples: [1, 2, 3, 2, 4, 1],
      timeDeltas: [9000, 1000, 500, 1500, 1000, 7000],
    };
    const summary = summarizeProfile(profile);
    expect(summary.busyMs).toBe(4);
    expect(summary.categories).toEqual([['socket writes (system calls)', 2.5], ['garbage collection', 1], ['kafkajs', 0.5]]);
    const text = profileTable([['settlement', summary]]);
    expect(text).toMatch(/busy CPU s\s+0\.0\n/);
    expect(text).toMatch(/socket writes \(system calls\)\s+63 %\n/);
    expect(text).toMatch(/kafkajs\s+13 %$/);
  });

  it('ends with one machine-readable line', () => {
    expect(benchLine({ rate: 200, platform: 198.43, baseline: 199.5, addedP50: 12.345, addedP99: 40, lost: 0, duplicated: 0 })).toBe(
      'bench: rate=200/s platform=198.4 baseline=199.5 ratio=0.99 added_p50_ms=12.3 added_p99_ms=40.0 lost=0 duplicated=0',
    );
    expect(benchLine({ rate: 50, platform: 10, baseline: Number.NaN, addedP50: Number.NaN, addedP99: Number.NaN, lost: 1, duplicated: 2 })).toMatch(/baseline=n\/a ratio=n\/a .* lost=1 duplicated=2$/);
  });

  it('parses options and draws a chart', () => {
    const o = parseOptions(['--rate', '50', '--duration=10', '--no-baseline', '--ramp']);
    expect(o).toMatchObject({ rate: 50, durationS: 10, baseline: false, ramp: true, stores: 2000, terminalsPerStore: 5 });
    expect(o.partitions).toBeUndefined();
    expect(o).toMatchObject({ warmupS: 60, warmupRate: 15 });
    expect(parseOptions(['--rate', '8']).warmupRate).toBe(8);
    expect(parseOptions(['--ramp', '--ramp-from', '5']).warmupRate).toBe(5);
    expect(parseOptions(['--warmup-rate', '40']).warmupRate).toBe(40);
    expect(parseOptions(['--partitions', '3']).partitions).toBe(3);
    expect(parseOptions(['--profile', '/tmp/p']).profileDir).toBe('/tmp/p');
    expect(() => parseOptions(['--partitions', '0'])).toThrow(/--partitions must be a number ≥ 1/);
    expect(() => parseOptions(['--nope', '1'])).toThrow(/unknown option/);
    expect(niceMax(173)).toBe(200);
    const svg = chart('t', [{ title: 'p', xLabel: 'x', yLabel: 'y', series: [{ name: 's', color: '#000', points: [[1, 2], [2, 4]] }] }]);
    expect(svg).toMatch(/^<svg[\s\S]*<path d="M[\d.]+,[\d.]+ L[\d.]+,[\d.]+"[\s\S]*<\/svg>\n$/);
  });
});
