import { nextAttemptAt, RetryPolicy } from './retry-policy';

describe('webhook retry policy', () => {
  const policy: RetryPolicy = { baseDelayMs: 1000, maxDelayMs: 60_000, horizonMs: 86_400_000 };
  const now = 1_000_000;
  const far = now + policy.horizonMs;

  it('doubles the delay after each failure, jittered between half and all of it', () => {
    expect(nextAttemptAt(policy, 1, now, far, () => 0)!.getTime() - now).toBe(500);
    expect(nextAttemptAt(policy, 1, now, far, () => 1)!.getTime() - now).toBe(1000);
    expect(nextAttemptAt(policy, 3, now, far, () => 1)!.getTime() - now).toBe(4000);
    expect(nextAttemptAt(policy, 4, now, far, () => 0.5)!.getTime() - now).toBe(6000);
  });

  it('never waits longer than the maximum delay', () => {
    expect(nextAttemptAt(policy, 40, now, far, () => 1)!.getTime() - now).toBe(60_000);
  });

  it('makes the last attempt at the horizon rather than giving up one delay short of it', () => {
    // with the maximum delay of an hour and a 24 h horizon, an attempt failing 30 minutes before the horizon is
    // tried once more, at the horizon: a receiver back within the horizon gets the event
    const hourly: RetryPolicy = { baseDelayMs: 3_600_000, maxDelayMs: 3_600_000, horizonMs: 86_400_000 };
    expect(nextAttemptAt(hourly, 30, now, now + 1_800_000, () => 1)).toEqual(new Date(now + 1_800_000));
    expect(nextAttemptAt(policy, 2, now, now + 1999, () => 1)).toEqual(new Date(now + 1999));
    expect(nextAttemptAt(policy, 2, now, now + 2000, () => 1)).toEqual(new Date(now + 2000));
  });

  it('gives up once the horizon has come', () => {
    expect(nextAttemptAt(policy, 2, now, now, () => 1)).toBeUndefined();
    expect(nextAttemptAt(policy, 2, now, now - 1, () => 0)).toBeUndefined();
  });
});
