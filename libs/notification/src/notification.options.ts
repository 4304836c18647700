import type { RetryPolicy } from './webhooks/retry-policy';

export const NOTIFICATION_OPTIONS = Symbol('NOTIFICATION_OPTIONS');

export interface NotificationOptions {
  adminToken: string;
  retry: RetryPolicy;
  /** how long one HTTP attempt may take before it counts as failed */
  requestTimeoutMs: number;
  /** deliveries in flight per process, across all endpoints */
  workerConcurrency: number;
  /** deliveries in flight per endpoint from all the replicas together: one receiver never gets more concurrent requests, and one slow receiver holds at most this many workers */
  perEndpointConcurrency: number;
  /** how often the worker looks for due deliveries when nothing woke it */
  pollIntervalMs: number;
  /** how long the previous secret keeps signing after a rotation, unless the request says otherwise */
  secretOverlapMs: number;
  /** AES-256 keys (32 bytes) sealing signing secrets at rest: the first seals, all open; none stores them readable */
  secretKeys: Buffer[];
  /** whether endpoint URLs may reach loopback, private and link-local addresses (local stacks and tests only) */
  allowPrivateAddresses: boolean;
  /** how long settled deliveries stay in the log after their last schedule */
  logRetentionDays: number;
}
