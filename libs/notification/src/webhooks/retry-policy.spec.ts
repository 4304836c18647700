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

  it('gives up when the next attempt would fall after the horizon', () => {
    expect(nextAttemptAt(policy, 2, now, now + 1999, () => 1)).toBeUndefined();
    expect(nextAttemptAt(policy, 2, now, now + 2000, () => 1)).toEqual(new Date(now + 2000));
  });
});
