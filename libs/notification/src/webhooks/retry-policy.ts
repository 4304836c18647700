export interface RetryPolicy {
  /** the delay before the second attempt; each later one doubles */
  baseDelayMs: number;
  maxDelayMs: number;
  /** how long after the event retries go on before the delivery is dead-lettered */
  horizonMs: number;
}

/**
 * When to try again after `attempts` failed attempts: exponential back-off with "equal jitter" (half fixed,
 * half random), so a receiver that comes back is not hit by every delivery at once. An attempt that would fall
 * after `giveUpAt` is made at `giveUpAt` instead, so retries go on for the whole horizon rather than stopping up to
 * one delay short of it; `undefined` once `giveUpAt` has come: the delivery goes to the dead letter.
 */
export function nextAttemptAt(policy: RetryPolicy, attempts: number, now: number, giveUpAt: number, random: () => number = Math.random): Date | undefined {
  if (now >= giveUpAt) return undefined;
  const exponential = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** Math.max(0, Math.min(attempts - 1, 30)));
  const delay = exponential / 2 + random() * (exponential / 2);
  return new Date(Math.min(now + Math.round(delay), giveUpAt));
}
