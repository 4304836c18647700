import type { EntityManager } from 'typeorm';
import { Envelope, newId, PaymentViewV1 } from '@upm/contracts';
import { prepared } from '@upm/shared-database';

/**
 * What a receiver gets. The event id is the envelope id, stable across retries and re-deliveries. `stream` numbers
 * the deliveries of one stream (a payment's events, or the settlement events about it) to one endpoint 1, 2, 3, …
 * in the order they go out, with no gaps: a receiver that sees a number skipped knows a delivery was dead-lettered.
 */
export interface WebhookPayload {
  id: string;
  type: string;
  createdAt: string;
  merchantId: string;
  stream: { key: string; sequence: number };
  data: unknown;
}

/**
 * Turns payments.v1.events or settlement.v1.events messages into one delivery row per subscribed endpoint of
 * each message's merchant: the endpoints of a whole batch are matched with one statement, their streams numbered
 * with another and the deliveries written with a third. It runs in the consumer's inbox transaction and sends
 * nothing: the worker does, so a slow receiver never holds up the stream, and a crash after commit loses nothing.
 * Answers the ids of the messages that got at least one delivery.
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
  // An endpoint that has the event already (a message consumed again once the inbox forgot it) is not matched, so
  // its stream gets no number that no delivery carries.
  // A disabled endpoint's deliveries are written HELD: they wait, unread by the worker, until it is enabled.
  const matches: Array<{ n: string; endpoint_id: string; held: boolean }> = await manager.query(
    prepared(`SELECT e.n, w.id AS endpoint_id, w.disabled_at IS NOT NULL AS held
       FROM unnest($1::text[], $2::text[], $3::text[]) WITH ORDINALITY AS e(merchant_id, event_type, event_id, n)
       JOIN webhook_endpoints w ON w.merchant_id = e.merchant_id AND w.deleted_at IS NULL AND (w.event_types ? e.event_type OR w.event_types ? '*')
      WHERE NOT EXISTS (SELECT 1 FROM webhook_deliveries x WHERE x.endpoint_id = w.id AND x.event_id = e.event_id)
      ORDER BY e.n, w.id
        FOR KEY SHARE OF w`),
    [targeted.map((t) => t.target.merchantId), targeted.map((t) => t.envelope.type), targeted.map((t) => t.envelope.id)],
  );
  if (!matches.length) return new Set();
  const rows = matches.map((match) => ({ ...targeted[Number(match.n) - 1], endpointId: match.endpoint_id, held: match.held }));
  const numbered = await numberStreams(manager, rows.map((row) => ({ endpointId: row.endpointId, stream: row.target.stream })));
  const bodies = rows.map((row, i) => JSON.stringify(webhookPayload(row.envelope, row.target, numbered[i])));
  // A delivery queued behind one of its stream that waits for a retry is due no earlier than that one: the worker
  // reads every due delivery on each pass, and an endpoint that is down would otherwise have it read all of its backlog.
  await manager.query(
    `INSERT INTO webhook_deliveries (id, endpoint_id, merchant_id, event_id, event_type, payment_id, sequence, stream, stream_sequence, body, status, next_attempt_at, give_up_at)
     SELECT d.id, d.endpoint_id, d.merchant_id, d.event_id, d.event_type, d.payment_id, d.sequence, d.stream, d.stream_sequence, d.body, d.status,
            GREATEST(now(), (SELECT max(e.next_attempt_at) FROM webhook_deliveries e WHERE e.endpoint_id = d.endpoint_id AND e.stream = d.stream AND e.status = 'PENDING')),
            now() + make_interval(secs => $12::double precision / 1000)
       FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::int[], $8::text[], $9::int[], $10::text[], $11::text[])
            AS d(id, endpoint_id, merchant_id, event_id, event_type, payment_id, sequence, stream, stream_sequence, body, status)`,
    [
      rows.map(() => newId('whd')),
      rows.map((row) => row.endpointId),
      rows.map((row) => row.target.merchantId),
      rows.map((row) => row.envelope.id),
      rows.map((row) => row.envelope.type),
      rows.map((row) => row.target.paymentId ?? null),
      rows.map((row) => row.target.sequence),
      rows.map((row) => row.target.stream),
      numbered,
      bodies,
      rows.map((row) => (row.held ? 'HELD' : 'PENDING')),
      horizonMs,
    ],
  );
  return new Set(rows.map((row) => row.envelope.id));
}

/**
 * The next numbers of each endpoint's streams, one per delivery in the order given. A stream's counter row is
 * locked until the transaction ends, so two transactions adding to one stream take turns and neither leaves a gap
 * when the other rolls back; the rows are taken in one order, so two transactions cannot deadlock on them.
 */
async function numberStreams(manager: EntityManager, deliveries: Array<{ endpointId: string; stream: string }>): Promise<number[]> {
  const counts = new Map<string, { endpointId: string; stream: string; count: number }>();
  for (const { endpointId, stream } of deliveries) {
    const key = JSON.stringify([endpointId, stream]);
    counts.set(key, { endpointId, stream, count: (counts.get(key)?.count ?? 0) + 1 });
  }
  const streams = [...counts.values()];
  const reserved: Array<{ endpoint_id: string; stream: string; last_sequence: number }> = await manager.query(
    prepared(`INSERT INTO webhook_streams AS s (endpoint_id, stream, last_sequence)
     SELECT * FROM unnest($1::text[], $2::text[], $3::int[]) ORDER BY 1, 2
     ON CONFLICT (endpoint_id, stream) DO UPDATE SET last_sequence = s.last_sequence + EXCLUDED.last_sequence, used_at = now()
     RETURNING endpoint_id, stream, last_sequence`),
    [streams.map((s) => s.endpointId), streams.map((s) => s.stream), streams.map((s) => s.count)],
  );
  // the first number each stream hands out in this batch
  const next = new Map(reserved.map((r) => [JSON.stringify([r.endpoint_id, r.stream]), r.last_sequence - counts.get(JSON.stringify([r.endpoint_id, r.stream]))!.count + 1]));
  return deliveries.map(({ endpointId, stream }) => {
    const key = JSON.stringify([endpointId, stream]);
    const number = next.get(key)!;
    next.set(key, number + 1);
    return number;
  });
}

function webhookPayload(envelope: Envelope, target: WebhookTarget, streamSequence: number): WebhookPayload {
  return { id: envelope.id, type: envelope.type, createdAt: envelope.occurredAt, merchantId: target.merchantId, stream: { key: target.stream, sequence: streamSequence }, data: envelope.data };
}

interface WebhookTarget {
  merchantId: string;
  /** the payment the event is about, if any: what the delivery log filters by */
  paymentId?: string;
  /** the payment's event sequence (0 for settlement events) */
  sequence: number;
  /** the stream whose deliveries to one endpoint go out one after another, in order */
  stream: string;
}

/**
 * Whose event it is, and the stream it goes in: a payment's events in one stream; the settlement events about a
 * payment (or a transaction) in a stream of their own, so they never wait on the payment's. Events that belong to
 * no merchant (a settlement batch covers a whole Alipay customer) are not sent to merchants.
 */
function webhookTarget(envelope: Envelope): WebhookTarget | undefined {
  const data = envelope.data as { payment?: PaymentViewV1; merchantId?: string; paymentId?: string };
  if (data.payment) return { merchantId: data.payment.merchantId, paymentId: data.payment.paymentId, sequence: data.payment.sequence, stream: data.payment.paymentId };
  if (data.merchantId) return { merchantId: data.merchantId, paymentId: data.paymentId, sequence: 0, stream: `settlement:${envelope.key}` };
  return undefined;
}
