import type { DeliveryFailureCode } from './delivery-failure';
import { nextAttemptAt, RetryPolicy } from './retry-policy';
import type { WebhookAnswer } from './webhook-request';

/**
 * Consecutive failed attempts after which an endpoint is held back: below the per-endpoint concurrency (4), so an
 * endpoint that stops answering is held once its first round of requests has failed, not after a second one. The
 * requests under way count towards it: once an endpoint has failed, it gets no more at a time than would bring its
 * failures to this number (WebhookWorker), so none starts after the first round before the hold decides.
 */
export const BACKOFF_AFTER_FAILURES = 3;

/** Failures that say the receiver itself is down or unreachable, whatever was sent to it. */
const ENDPOINT_DOWN: ReadonlySet<DeliveryFailureCode> = new Set<DeliveryFailureCode>([
  'ENDPOINT_TIMEOUT', 'ENDPOINT_UNREACHABLE', 'ENDPOINT_CONNECTION_CLOSED', 'ENDPOINT_DNS_ERROR', 'ENDPOINT_TLS_ERROR', 'ENDPOINT_INVALID_RESPONSE',
]);

/**
 * What an attempt says about the endpoint as a whole: `down` after a timeout, a connection error or a 5xx; `up`
 * when it answered anything else (a 4xx or a redirect is about that delivery: the receiver is there); nothing when
 * nothing was sent (an address no longer public, a secret the platform cannot open).
 */
export function endpointHealth(answer: WebhookAnswer): 'up' | 'down' | undefined {
  if (answer.statusCode !== undefined) return answer.statusCode >= 500 ? 'down' : 'up';
  return ENDPOINT_DOWN.has(answer.failure.code) ? 'down' : undefined;
}

/**
 * Until when an endpoint that failed `consecutiveFailures` times in a row gets no delivery, or undefined while it
 * is not held back. The hold grows as the retries of one delivery do (the same back-off, counted from the attempt
 * that started it), so an endpoint held back is probed as often as a single failing delivery would be retried.
 */
export function backoffUntil(policy: RetryPolicy, consecutiveFailures: number, now: number, random: () => number = Math.random): Date | undefined {
  if (consecutiveFailures < BACKOFF_AFTER_FAILURES) return undefined;
  return nextAttemptAt(policy, consecutiveFailures - BACKOFF_AFTER_FAILURES + 1, now, Number.POSITIVE_INFINITY, random);
}
