import { createHash } from 'node:crypto';
import { Controller, HttpCode, Inject, Post, Req, Res } from '@nestjs/common';
import type { RawBodyRequest } from '@nestjs/common';
import type { Request, Response } from 'express';
import { DataSource, EntityManager } from 'typeorm';
import { headerValue, notificationAck, parseNotification } from '@upm/alipay';
import type { HeaderBag, KeyInput } from '@upm/alipay';
import { createEnvelope, TOPICS } from '@upm/contracts';
import { appendToOutbox } from '@upm/shared-kafka';
import { Logger, Metrics } from '@upm/shared-observability';
import { LOGGER } from '@upm/shared-runtime';
import { notificationMessage } from './ams-translation';
import { CONNECTOR_OPTIONS, ConnectorOptions } from './connector.options';

export const ALIPAY_PUBLIC_KEYS = Symbol('ALIPAY_PUBLIC_KEYS');

/** What a kept notification needs to be posted again and verify: the signature covers client-id, request-time and the body. */
const REPLAY_HEADERS = ['client-id', 'request-time', 'signature', 'content-type'] as const;

/**
 * notifyPayment / notifyRefund from Alipay. The signature is checked over the exact bytes received; what it
 * says is written to the outbox before the acknowledgement, so an acknowledged notification is never lost.
 * Anything that does not verify is refused and changes nothing (Alipay retries a genuine one). One that verifies
 * but cannot be read is kept as received, for an operator to see and post again, and refused all the same.
 */
@Controller()
export class NotifyController {
  private readonly received;
  private readonly kept;

  constructor(
    @Inject(DataSource) private readonly dataSource: DataSource,
    @Inject(ALIPAY_PUBLIC_KEYS) private readonly keys: ReadonlyMap<string, KeyInput>,
    @Inject(CONNECTOR_OPTIONS) private readonly options: ConnectorOptions,
    @Inject(LOGGER) private readonly logger: Logger,
    @Inject(Metrics) metrics: Metrics,
  ) {
    this.received = metrics.counter('upm_alipay_notifications_total', 'Notifications from Alipay', ['type', 'result']);
    this.kept = metrics.counter('upm_alipay_unparsable_notifications_total', 'Notifications signed by Alipay that could not be read, kept for an operator');
  }

  @Post('alipay/notify')
  @HttpCode(200)
  async notify(@Req() req: RawBodyRequest<Request>, @Res() res: Response): Promise<void> {
    const parsed = parseNotification(
      { path: this.options.notifyPath, headers: req.headers, rawBody: req.rawBody ?? Buffer.alloc(0) },
      (clientId) => this.keys.get(clientId),
    );
    if (!parsed.ok) {
      this.received.inc({ type: 'unknown', result: parsed.reason });
      // only a verified body reaches the shape check: what is kept here is Alipay's, never a stranger's
      if (parsed.reason === 'MALFORMED_BODY') await this.keepUnparsable(req.headers, req.rawBody ?? Buffer.alloc(0), parsed.message);
      this.logger.warn({ reason: parsed.reason, clientId: req.headers['client-id'] }, `notification refused: ${parsed.message}`);
      res.status(parsed.reason === 'MALFORMED_BODY' ? 400 : 401).json({ result: { resultCode: parsed.reason === 'MALFORMED_BODY' ? 'PARAM_ILLEGAL' : 'INVALID_SIGNATURE', resultStatus: 'F', resultMessage: parsed.message } });
      return;
    }
    // one INSERT into the outbox, atomic on its own: no transaction around it (the route lookup only reads)
    const manager = this.dataSource.manager;
    const { notification } = parsed;
    const route = notification.notifyType === 'REFUND_RESULT' ? await this.refundRoute(manager, notification.refundRequestId) : undefined;
    const routed = notificationMessage(notification, route);
    if (routed) {
      await appendToOutbox(manager, TOPICS.alipayResults.name, createEnvelope({ type: routed.type, key: routed.key, data: routed.data, producer: 'alipay-connector', correlationId: routed.key }));
      this.received.inc({ type: routed.type, result: 'accepted' });
    } else if (notification.notifyType === 'REFUND_RESULT' && !route) {
      this.logger.warn({ notifyType: notification.notifyType }, 'notification for a refund this platform did not send; acknowledged and ignored');
    } else {
      // signed by Alipay, so sending it again would change nothing: acknowledged, and the saga's inquiries decide
      this.received.inc({ type: notification.notifyType, result: 'ignored' });
      const status = notification.notifyType === 'PAYMENT_RESULT' ? notification.paymentStatus : notification.refundStatus;
      this.logger.warn({ notifyType: notification.notifyType, status, resultStatus: notification.result.resultStatus }, 'notification whose status is not final or contradicts its result; acknowledged and ignored');
    }
    const ack = notificationAck(parsed.clientId);
    res.set(ack.headers).status(ack.status).type('application/json').send(ack.body);
  }

  /**
   * Stores the notification as received. Alipay sends the same body again with a new request-time and
   * signature: one row per body, with the latest headers (any of them verifies) and how often it came.
   * A failure to store answers 500, which Alipay also retries.
   */
  private async keepUnparsable(headers: HeaderBag, rawBody: Buffer, problem: string): Promise<void> {
    const kept: Record<string, string> = {};
    for (const name of REPLAY_HEADERS) {
      const value = headerValue(headers, name);
      if (value !== undefined) kept[name] = value;
    }
    const rows: Array<{ id: string; attempts: number }> = await this.dataSource.query(
      `INSERT INTO unparsable_notifications (body_sha256, client_id, path, headers, body, problem) VALUES ($1, $2, $3, $4, $5, $6)
       ON CONFLICT (body_sha256) DO UPDATE SET headers = EXCLUDED.headers, attempts = unparsable_notifications.attempts + 1, last_received_at = now()
       RETURNING id, attempts`,
      [createHash('sha256').update(rawBody).digest('hex'), kept['client-id'] ?? '', this.options.notifyPath, kept, rawBody, problem],
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
