import type { EntityManager } from 'typeorm';
import { Envelope, newId, PaymentViewV1 } from '@upm/contracts';
import { prepared } from '@upm/shared-database';

/** What a receiver gets: the event id is the envelope id, stable across retries and re-deliveries. */
export interface WebhookPayload {
  id: string;
  type: string;
  createdAt: string;
  merchantId: string;
  data: unknown;
}

/**
 * Turns payments.v1.events or settlement.v1.events messages into one delivery row per subscribed endpoint of
 * each message's merchant: the endpoints of a whole batch are matched with one statement and its deliveries
 * written with another. It runs in the consumer's inbox transaction and sends nothing: the worker does, so a
 * slow receiver never holds up the stream, and a crash after commit loses nothing. Answers the ids of the
 * messages that got at least one delivery.
 */
export async function enqueueWebhookDeliveries(manager: EntityManager, envelopes: Envelope[], horizonMs: number): Promise<Set<string>> {
  const targeted = envelopes.flatMap((envelope) => {
    const target = webhookTarget(envelope);
    return target ? [{ envelope, target }] : [];
  });
  if (!targeted.length) return new Set();
  // The endpoints matched are held (FOR KEY SHARE, as a foreign key check would) until this transaction ends: a
  // deletion waits for it and then cancels what it wrote, and one under way makes this match wait and skip the
  // endpoint. Without it, deliveries committed just after a deletion stayed PENDING for an endpoint that is gone.
  const matches: Array<{ n: string; endpoint_id: string }> = await manager.query(
    prepared(`SELECT e.n, w.id AS endpoint_id
       FROM unnest($1::text[], $2::text[]) WITH ORDINALITY AS e(merchant_id, event_type, n)
       JOIN webhook_endpoints w ON w.merchant_id = e.merchant_id AND w.deleted_at IS NULL AND (w.event_types ? e.event_type OR w.event_types ? '*')
      ORDER BY e.n, w.id
        FOR KEY SHARE OF w`),
    [targeted.map((t) => t.target.merchantId), targeted.map((t) => t.envelope.type)],
  );
  if (!matches.length) return new Set();
  const rows = matches.map((match) => ({ ...targeted[Number(match.n) - 1], endpointId: match.endpoint_id }));
  const bodies = new Map(targeted.map(({ envelope, target }) => [envelope.id, JSON.stringify(webhookPayload(envelope, target.merchantId))]));
  // A delivery queued behind one of its payment that waits for a retry is due no earlier than that one: the worker
  // reads every due delivery on each pass, and an endpoint that is down would otherwise have it read all of its backlog.
  await manager.query(
    `INSERT INTO webhook_deliveries (id, endpoint_id, merchant_id, event_id, event_type, payment_id, sequence, body, status, next_attempt_at, give_up_at)
     SELECT d.id, d.endpoint_id, d.merchant_id, d.event_id, d.event_type, d.payment_id, d.sequence, d.body, 'PENDING',
            GREATEST(now(), (SELECT max(e.next_attempt_at) FROM webhook_deliveries e WHERE e.endpoint_id = d.endpoint_id AND e.payment_id = d.payment_id AND e.status = 'PENDING')),
            now() + make_interval(secs => $9::double precision / 1000)
       FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::int[], $8::text[])
            AS d(id, endpoint_id, merchant_id, event_id, event_type, payment_id, sequence, body)
     ON CONFLICT ON CONSTRAINT "UQ_webhook_deliveries_endpoint_event" DO NOTHING`,
    [
      rows.map(() => newId('whd')),
      rows.map((row) => row.endpointId),
      rows.map((row) => row.target.merchantId),
      rows.map((row) => row.envelope.id),
      rows.map((row) => row.envelope.type),
      rows.map((row) => row.target.orderKey),
      rows.map((row) => row.target.sequence),
      rows.map((row) => bodies.get(row.envelope.id)!),
      horizonMs,
    ],
  );
  return new Set(rows.map((row) => row.envelope.id));
}

function webhookPayload(envelope: Envelope, merchantId: string): WebhookPayload {
  return { id: envelope.id, type: envelope.type, createdAt: envelope.occurredAt, merchantId, data: envelope.data };
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
