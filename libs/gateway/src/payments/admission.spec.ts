import { Metrics } from '@upm/shared-observability';
import { ApiError } from '@upm/shared-runtime';
import { Admission } from './admission';

const admission = (shedAfterMs: number) => new Admission({ adminToken: 'x'.repeat(12), rateLimitPerSecond: 20, defaultWaitSeconds: 20, shedAfterMs }, new Metrics('test'));

describe('Admission', () => {
  beforeEach(() => jest.useFakeTimers({ now: new Date('2026-11-27T10:00:00Z') }));
  afterEach(() => jest.useRealTimers());

  it('refuses new payments only while the oldest unconfirmed one has waited longer than the limit', () => {
    const gate = admission(2000);
    expect(gate.admits()).toBe(true);
    const confirmOld = gate.accepted('pay_old');
    jest.advanceTimersByTime(1000);
    const confirmNew = gate.accepted('pay_new');
    jest.advanceTimersByTime(1000);
    expect(gate.admits()).toBe(true); // exactly at the limit
    jest.advanceTimersByTime(1);
    expect(gate.admits()).toBe(false);
    expect(gate.oldestWaitMs()).toBe(2001);

    confirmOld();
    expect(gate.admits()).toBe(true); // the next oldest has waited 1,001 ms
    expect(gate.oldestWaitMs()).toBe(1001);
    confirmOld(); // repeating a confirmation changes nothing
    confirmNew();
    expect(gate.oldestWaitMs()).toBe(0);
  });

  it('answers a refusal as 503 OVERLOADED with a Retry-After', () => {
    const refusal = admission(2000).refusal();
    expect(refusal).toBeInstanceOf(ApiError);
    expect(refusal).toMatchObject({ status: 503, code: 'OVERLOADED', retryAfterSeconds: 1 });
  });

  it('never refuses when the limit is 0', () => {
    const gate = admission(0);
    gate.accepted('pay_1');
    jest.advanceTimersByTime(60_000);
    expect(gate.admits()).toBe(true);
    expect(gate.oldestWaitMs()).toBe(0);
  });
});
