/**
 * kafkajs 2.2.4 (the last release) re-arms a timer after every answer from the broker, whether or not a
 * request waits, and arms it with a negative delay when the broker never throttled the client (Node runs it
 * after 1 ms), so every connection checks an empty queue a thousand times a second for as long as it is
 * open (tulios/kafkajs#1556, #1704). Each service holds several connections: at idle that spin was most of
 * what a service did, and under load it competes with the work. Only requests that could not be sent at
 * once wait in the queue, and the two events that free one (an answer, the end of a throttle) both check
 * it, so the timer is needed only while something waits: this schedules it then, for when the throttle
 * ends or, unthrottled, after kafkajs's 10 ms.
 */

/** The part of kafkajs's per-connection request queue this replaces (it ships no types for it). */
export interface KafkaRequestQueue {
  pending: unknown[];
  throttledUntil: number;
  throttleCheckTimeoutId: NodeJS.Timeout | null;
  checkPendingRequests(): void;
  scheduleCheckPendingRequests(): void;
}

/** kafkajs's interval between checks of requests held back by in-flight limits */
const CHECK_PENDING_MS = 10;

export function scheduleCheckPendingRequests(this: KafkaRequestQueue): void {
  if (this.throttleCheckTimeoutId || this.pending.length === 0) return;
  const untilUnthrottled = this.throttledUntil - Date.now();
  this.throttleCheckTimeoutId = setTimeout(
    () => {
      this.throttleCheckTimeoutId = null;
      this.checkPendingRequests();
    },
    untilUnthrottled > 0 ? untilUnthrottled : CHECK_PENDING_MS,
  );
}

/** kafkajs's RequestQueue class, as loaded by kafkajs itself (same module path, so the same class). */
export function kafkaRequestQueueClass(): { prototype: KafkaRequestQueue } {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return require('kafkajs/src/network/requestQueue');
}

/** Installs the schedule above on kafkajs's request queue; once per process, before any connection. */
export function mendKafkaRequestQueue(): void {
  kafkaRequestQueueClass().prototype.scheduleCheckPendingRequests = scheduleCheckPendingRequests;
}
