import { createHash } from 'node:crypto';
import { Inject, Injectable, Optional } from '@nestjs/common';
import { DataSource, EntityManager } from 'typeorm';
import { headerValue, NOTIFICATION_REJECTIONS, notificationAck, parseNotification, parseReplayedNotification } from '@upm/alipay';
import type { HeaderBag, KeyInput, NotificationAnswer, NotificationRejection, ParsedNotification } from '@upm/alipay';
import { createEnvelope, TOPICS } from '@upm/contracts';
import { appendToOutbox } from '@upm/shared-kafka';
import { Logger, Metrics } from '@upm/shared-observability';
import { LOGGER } from '@upm/shared-runtime';
import { notificationMessage } from './ams-translation';

export const ALIPAY_PUBLIC_KEYS = Symbol('ALIPAY_PUBLIC_KEYS');

/** Alipay's public keys retired by a rotation (ALIPAY_RETIRED_PUBLIC_KEYS): a replay verifies with them, a post never. */
export const ALIPAY_RETIRED_PUBLIC_KEYS = Symbol('ALIPAY_RETIRED_PUBLIC_KEYS');

/** What a kept notification needs to be posted again and verify: the signature covers client-id, request-time and the body. */
const REPLAY_HEADERS = ['client-id', 'request-time', 'signature', 'content-type'] as const;

/** A notification as it reached the connector: the path its signature covers, its headers and its exact bytes. */
export interface ReceivedNotification {
  path: string;
  headers: HeaderBag;
  rawBody: Buffer;
}

/**
 * Who hands a notification to the intake: Alipay posting it (verified with the current key, kept if unread), or an
 * operator replaying a kept one (its kept signature verified again, with the current key or a retired one: Alipay's
 * key may have been rotated since it was kept, and nothing in the connector's database vouches for it).
 */
export type NotificationSource = { from: 'alipay' } | { from: 'replay' };

/** Every type and result the notification counters can show: each one shows from start-up, at 0 until it happens. */
const KNOWN_OUTCOMES: ReadonlyArray<{ type: string; result: string }> = [
  ...NOTIFICATION_REJECTIONS.map((result) => ({ type: 'unknown', result })),
  { type: 'PaymentNotified', result: 'accepted' },
  { type: 'RefundNotified', result: 'accepted' },
  { type: 'PAYMENT_RESULT', result: 'ignored' },
  { type: 'REFUND_RESULT', result: 'ignored' },
];

/** The answer for Alipay, and whether the notification was taken, refused unverified, or refused unread. */
export type IntakeResult =
  | { outcome: 'taken'; answer: NotificationAnswer }
  | { outcome: 'refused'; reason: NotificationRejection; problem: string; answer: NotificationAnswer };

/**
 * What the connector does with a notifyPayment / notifyRefund, whether Alipay posted it or an operator replays a
 * kept one. The signature is checked over the exact bytes; what it says is written to the outbox before the
 * acknowledgement, so an acknowledged notification is never lost. Anything that does not verify is refused and
 * changes nothing (Alipay retries a genuine one). One that verifies but cannot be read is refused all the same,
 * and kept as received when Alipay posted it, for an operator to see and replay.
 */
@Injectable()
export class NotificationIntake {
  private readonly received;
  private readonly replayed;
  private readonly kept;

  constructor(
    @Inject(DataSource) private readonly dataSource: DataSource,
    @Inject(ALIPAY_PUBLIC_KEYS) private readonly keys: ReadonlyMap<string, KeyInput>,
    @Optional() @Inject(ALIPAY_RETIRED_PUBLIC_KEYS) private readonly retiredKeys: readonly KeyInput[] = [],
    @Inject(LOGGER) private readonly logger: Logger,
    @Inject(Metrics) metrics: Metrics,
  ) {
    this.received = metrics.counter('upm_alipay_notifications_total', 'Notifications posted by Alipay', ['type', 'result']);
    this.replayed = metrics.counter('upm_alipay_notification_replays_total', 'Kept notifications replayed by an operator', ['type', 'result']);
    this.kept = metrics.counter('upm_alipay_unparsable_notifications_total', 'Notifications signed by Alipay that could not be read, kept for an operator');
    for (const outcome of KNOWN_OUTCOMES) {
      this.received.inc(outcome, 0);
      this.replayed.inc(outcome, 0);
    }
  }

  /**
   * Verifies, reads and records one notification; answers what Alipay is to be told. A replay is counted apart from
   * Alipay's posts, and never kept again: its row is already kept, and an operator's attempt is not one of Alipay's.
   */
  async receive(notification: ReceivedNotification, source: NotificationSource): Promise<IntakeResult> {
    const parsed = this.parse(notification, source);
    const counter = source.from === 'alipay' ? this.received : this.replayed;
    if (!parsed.ok) {
      counter.inc({ type: 'unknown', result: parsed.reason });
      // only a verified body reaches the shape check: what is kept here is Alipay's, never a stranger's
      if (parsed.reason === 'MALFORMED_BODY' && source.from === 'alipay') await this.keepUnread(notification, parsed.message);
      this.logger.warn({ reason: parsed.reason, clientId: headerValue(notification.headers, 'client-id') }, `notification refused: ${parsed.message}`);
      const unread = parsed.reason === 'MALFORMED_BODY';
      const body = { result: { resultCode: unread ? 'PARAM_ILLEGAL' : 'INVALID_SIGNATURE', resultStatus: 'F', resultMessage: parsed.message } };
      return { outcome: 'refused', reason: parsed.reason, problem: parsed.message, answer: { status: unread ? 400 : 401, headers: {}, body: JSON.stringify(body) } };
    }
    // one INSERT into the outbox, atomic on its own: no transaction around it (the route lookup only reads)
    const manager = this.dataSource.manager;
    const { notification: read } = parsed;
    const route = read.notifyType === 'REFUND_RESULT' ? await this.refundRoute(manager, read.refundRequestId) : undefined;
    const routed = notificationMessage(read, route);
    if (routed) {
      await appendToOutbox(manager, TOPICS.alipayResults.name, createEnvelope({ type: routed.type, key: routed.key, data: routed.data, producer: 'alipay-connector', correlationId: routed.key }));
      counter.inc({ type: routed.type, result: 'accepted' });
    } else if (read.notifyType === 'REFUND_RESULT' && !route) {
      this.logger.warn({ notifyType: read.notifyType }, 'notification for a refund this platform did not send; acknowledged and ignored');
    } else {
      // signed by Alipay, so sending it again would change nothing: acknowledged, and the saga's inquiries decide
      counter.inc({ type: read.notifyType, result: 'ignored' });
      const status = read.notifyType === 'PAYMENT_RESULT' ? read.paymentStatus : read.refundStatus;
      this.logger.warn({ notifyType: read.notifyType, status, resultStatus: read.result.resultStatus }, 'notification whose status is not final or contradicts its result; acknowledged and ignored');
    }
    return { outcome: 'taken', answer: notificationAck(parsed.clientId) };
  }

  /** Both are verified: a post with Alipay's current key only, a replay also with the retired keys listed. */
  private parse(notification: ReceivedNotification, source: NotificationSource): ParsedNotification {
    const key = (clientId: string): KeyInput | undefined => this.keys.get(clientId);
    return source.from === 'replay' ? parseReplayedNotification(notification, key, this.retiredKeys) : parseNotification(notification, key);
  }

  /**
   * Stores a notification whose signature has verified but which cannot be read, as received, with when it
   * verified (shown to an operator; a replay verifies the kept signature again all the same). Alipay sends the same
   * body again with a new request-time and signature: one row per body, with the latest headers (any of them
   * verifies) and how often it came. A failure to store answers 500, which Alipay also retries.
   */
  private async keepUnread({ path, headers, rawBody }: ReceivedNotification, problem: string): Promise<void> {
    const kept: Record<string, string> = {};
    for (const name of REPLAY_HEADERS) {
      const value = headerValue(headers, name);
      if (value !== undefined) kept[name] = value;
    }
    const rows: Array<{ id: string; attempts: number }> = await this.dataSource.query(
      `INSERT INTO unparsable_notifications (body_sha256, client_id, path, headers, body, problem, verified_at) VALUES ($1, $2, $3, $4, $5, $6, now())
       ON CONFLICT (body_sha256) DO UPDATE SET headers = EXCLUDED.headers, attempts = unparsable_notifications.attempts + 1, last_received_at = now(), verified_at = now()
       RETURNING id, attempts`,
      [createHash('sha256').update(rawBody).digest('hex'), kept['client-id'] ?? '', path, kept, rawBody, problem],
    );
    this.kept.inc();
    this.logger.error({ unparsableNotificationId: rows[0]?.id, attempts: rows[0]?.attempts, clientId: kept['client-id'] }, `signed notification kept unread: ${problem}`);
  }

  private async refundRoute(manager: EntityManager, refundId: string): Promise<{ paymentId: string; refundRequestId: string } | undefined> {
    const rows: Array<{ payment_id: string; refund_request_id: string }> = await manager.query(
      'SELECT payment_id, refund_request_id FROM refund_routes WHERE refund_id = $1',
      [refundId],
    );
    return rows[0] ? { paymentId: rows[0].payment_id, refundRequestId: rows[0].refund_request_id } : undefined;
  }
}
