import type { KeyObject } from 'node:crypto';
import { formatAmsTime, isNotificationAck, signedRequestHeaders } from '@upm/alipay';
import type { Logger } from '@upm/shared-observability';
import type { NotificationLog } from './payment-book';
import type { SandboxClock } from './sandbox-clock';
import type { TimerSet } from './timer-set';

/** Alipay's re-send intervals until the exact SUCCESS acknowledgement (spec §9): 8 attempts within ~24 h. */
export const NOTIFY_RETRY_INTERVALS_MS = [0, 2 * 60_000, 10 * 60_000, 10 * 60_000, 3600_000, 2 * 3600_000, 6 * 3600_000, 15 * 3600_000];

/** Pause between the duplicate deliveries of scenario 92, before the time factor. */
export const DUPLICATE_GAP_MS = 1000;

export interface NotificationJob {
  url: string;
  clientId: string;
  body: string;
  /** how many times the notification is delivered (acknowledged) in all */
  copies: number;
  log: NotificationLog;
}

export interface NotifierDependencies {
  privateKey: KeyObject;
  clock: SandboxClock;
  timers: TimerSet;
  /** shortens a simulated delay by the time factor */
  scale: (ms: number) => number;
  timeoutMs: number;
  logger: Logger;
}

/** Sends notifyPayment / notifyRefund signed like Alipay, re-sending on Alipay's schedule until acknowledged. */
export class Notifier {
  constructor(private readonly deps: NotifierDependencies) {}

  /** Starts the deliveries; resolves once the first attempt is over, whatever its result. */
  send(job: NotificationJob): Promise<void> {
    let firstAttemptOver: () => void = () => undefined;
    const firstAttempt = new Promise<void>((resolve) => (firstAttemptOver = resolve));
    void this.deliverAll(job, () => firstAttemptOver())
      .catch((error: unknown) => this.deps.logger.error({ err: error, notifyType: job.log.notifyType }, 'notification delivery crashed'))
      .finally(() => firstAttemptOver());
    return firstAttempt;
  }

  private async deliverAll(job: NotificationJob, afterFirstAttempt: () => void): Promise<void> {
    for (let copy = 0; copy < job.copies; copy += 1) {
      if (copy > 0 && !(await this.deps.timers.sleep(this.deps.scale(DUPLICATE_GAP_MS)))) return;
      if (!(await this.deliverOnce(job, afterFirstAttempt))) return;
    }
  }

  /** One delivery with its retries; false when it was abandoned (schedule exhausted or sandbox closed). */
  private async deliverOnce(job: NotificationJob, afterAttempt: () => void): Promise<boolean> {
    for (const interval of NOTIFY_RETRY_INTERVALS_MS) {
      if (!(await this.deps.timers.sleep(this.deps.scale(interval)))) return false;
      const acknowledged = await this.attempt(job);
      afterAttempt();
      if (acknowledged) return true;
    }
    this.deps.logger.warn({ notifyType: job.log.notifyType, attempts: job.log.attempts }, 'notification abandoned after the last retry');
    return false;
  }

  private async attempt(job: NotificationJob): Promise<boolean> {
    const url = new URL(job.url);
    const headers = signedRequestHeaders({
      path: `${url.pathname}${url.search}`,
      clientId: job.clientId,
      time: formatAmsTime(this.deps.clock.now()),
      body: job.body,
      privateKey: this.deps.privateKey,
    });
    job.log.attempts += 1;
    try {
      // a redirect is an answer other than 200, so not delivered (spec §9): it is not followed
      const response = await fetch(url, { method: 'POST', headers, body: job.body, redirect: 'manual', signal: AbortSignal.timeout(this.deps.timeoutMs) });
      const text = await response.text();
      job.log.lastAnswer = String(response.status);
      const acknowledged = isNotificationAck(response.status, text);
      if (acknowledged) job.log.acknowledged += 1;
      return acknowledged;
    } catch (error) {
      job.log.lastAnswer = error instanceof Error && error.name === 'TimeoutError' ? 'TIMEOUT' : 'NETWORK_ERROR';
      return false;
    }
  }
}
