import { Controller, HttpCode, Inject, Post, Req, Res } from '@nestjs/common';
import type { RawBodyRequest } from '@nestjs/common';
import type { Request, Response } from 'express';
import { DataSource, EntityManager } from 'typeorm';
import { notificationAck, parseNotification } from '@upm/alipay';
import type { KeyInput } from '@upm/alipay';
import { createEnvelope, TOPICS } from '@upm/contracts';
import { appendToOutbox } from '@upm/shared-kafka';
import { Logger, Metrics } from '@upm/shared-observability';
import { LOGGER } from '@upm/shared-runtime';
import { notificationMessage } from './ams-translation';
import { CONNECTOR_OPTIONS, ConnectorOptions } from './connector.options';

export const ALIPAY_PUBLIC_KEYS = Symbol('ALIPAY_PUBLIC_KEYS');

/**
 * notifyPayment / notifyRefund from Alipay. The signature is checked over the exact bytes received; what it
 * says is written to the outbox before the acknowledgement, so an acknowledged notification is never lost.
 * Anything that does not verify is refused and changes nothing (Alipay retries a genuine one).
 */
@Controller()
export class NotifyController {
  private readonly received;

  constructor(
    @Inject(DataSource) private readonly dataSource: DataSource,
    @Inject(ALIPAY_PUBLIC_KEYS) private readonly keys: ReadonlyMap<string, KeyInput>,
    @Inject(CONNECTOR_OPTIONS) private readonly options: ConnectorOptions,
    @Inject(LOGGER) private readonly logger: Logger,
    @Inject(Metrics) metrics: Metrics,
  ) {
    this.received = metrics.counter('upm_alipay_notifications_total', 'Notifications from Alipay', ['type', 'result']);
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

  private async refundRoute(manager: EntityManager, refundId: string): Promise<{ paymentId: string; refundRequestId: string } | undefined> {
    const rows: Array<{ payment_id: string; refund_request_id: string }> = await manager.query(
      'SELECT payment_id, refund_request_id FROM refund_routes WHERE refund_id = $1',
      [refundId],
    );
    return rows[0] ? { paymentId: rows[0].payment_id, refundRequestId: rows[0].refund_request_id } : undefined;
  }
}
