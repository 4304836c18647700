import type { EntityManager } from 'typeorm';
import { Envelope, newId, PaymentViewV1 } from '@upm/contracts';

/** What a receiver gets: the event id is the envelope id, stable across retries and re-deliveries. */
export interface WebhookPayload {
  id: string;
  type: string;
  createdAt: string;
  merchantId: string;
  data: unknown;
}

/**
 * Turns one payments.v1.events or settlement.v1.events message into one delivery row per subscribed endpoint of
 * its merchant. It runs in the consumer's inbox transaction and sends nothing: the worker does, so a slow
 * receiver never holds up the stream, and a crash after commit loses nothing.
 */
export async function enqueueWebhookDeliveries(manager: EntityManager, envelope: Envelope, horizonMs: number): Promise<number> {
  const target = webhookTarget(envelope);
  if (!target) return 0;
  const payload: WebhookPayload = { id: envelope.id, type: envelope.type, createdAt: envelope.occurredAt, merchantId: target.merchantId, data: envelope.data };
  const endpoints: Array<{ id: string }> = await manager.query(
    `SELECT id FROM webhook_endpoints WHERE merchant_id = $1 AND deleted_at IS NULL AND (event_types ? $2 OR event_types ? '*')`,
    [target.merchantId, envelope.type],
  );
  const body = JSON.stringify(payload);
  for (const endpoint of endpoints) {
    await manager.query(
      `INSERT INTO webhook_deliveries (id, endpoint_id, merchant_id, event_id, event_type, payment_id, sequence, body, status, next_attempt_at, give_up_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'PENDING', now(), now() + make_interval(secs => $9::double precision / 1000))
       ON CONFLICT ON CONSTRAINT "UQ_webhook_deliveries_endpoint_event" DO NOTHING`,
      [newId('whd'), endpoint.id, target.merchantId, envelope.id, envelope.type, target.orderKey, target.sequence, body, horizonMs],
    );
  }
  return endpoints.length;
}

/**
 * Whose event it is, and the order it keeps: a payment's events in their sequence; a merchant's settlement
 * events in the order they arrived, in a lane of their own so they never wait on a payment's. Events that
 * belong to no merchant (a settlement batch covers a whole Alipay customer) are not sent to merchants.
 */
function webhookTarget(envelope: Envelope): { merchantId: string; orderKey: string; sequence: number } | undefined {
  const data = envelope.data as { payment?: PaymentViewV1; merchantId?: string };
  if (data.payment) return { merchantId: data.payment.merchantId, orderKey: data.payment.paymentId, sequence: data.payment.sequence };
  if (data.merchantId) return { merchantId: data.merchantId, orderKey: `settlement:${envelope.key}`, sequence: 0 };
  return undefined;
}
