import { Inject, Injectable, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { DataSource, EntityManager } from 'typeorm';
import { Logger, Metrics } from '@upm/shared-observability';
import { LOGGER } from '@upm/shared-runtime';
import { NOTIFICATION_OPTIONS, NotificationOptions } from '../notification.options';
import { BACKOFF_AFTER_FAILURES, backoffUntil, endpointHealth } from './endpoint-backoff';
import { nextAttemptAt } from './retry-policy';
import { SecretBox, SecretUnreadable } from './secret-box';
import { signatureHeader, WEBHOOK_HEADERS } from './signing';
import type { DeliveryStatus } from './webhook.entities';
import { postWebhook, WebhookAnswer } from './webhook-request';

interface Claimed {
  id: string;
  endpoint_id: string;
  /** null for a delivery the previous version wrote during a rollout: nothing orders it */
  stream: string | null;
  stream_sequence: number | null;
  event_id: string;
  event_type: string;
  body: string;
  attempts: number;
  redelivered_at_attempt: number;
  give_up_at: Date;
  url: string;
}

type Outcome = 'delivered' | 'failed' | 'dead_letter';

/** How much longer than one HTTP attempt a claim lasts, so a live worker always records its result first. */
const LEASE_MARGIN_MS = 5000;

/**
 * How many deliveries may be in flight to the endpoint `w` (its claims that have not lapsed are taken from this):
 * `per` while nothing failed; while it fails, no more than would bring its failures to `threshold` if all of them
 * failed too, so that once its streak and the requests under way reach the threshold nothing more starts before
 * they decide whether it is held back; and one, the probe, while it is held back.
 */
const ENDPOINT_SLOTS = (w: string, per: string, threshold: string) =>
  `(CASE WHEN ${w}.backoff_until IS NOT NULL THEN 1 WHEN ${w}.consecutive_failures = 0 THEN ${per}
         ELSE GREATEST(1, LEAST(${per}, ${threshold} - ${w}.consecutive_failures)) END)`;

/**
 * Sends due delivery rows. A pool of `workerConcurrency` sends per process, each bounded by `requestTimeoutMs`,
 * and at most `perEndpointConcurrency` in flight to one endpoint from all the replicas together: a slow or dead
 * receiver ties up only its own slots, never another merchant's, and a small merchant server never gets more
 * concurrent requests than the setting says however many replicas run. The deliveries in flight to an endpoint
 * are its rows whose claim has not lapsed: a claim is taken with the endpoint's row locked, after counting them,
 * and given back when the attempt is recorded; the claims of a replica that died lapse as its sends would have
 * timed out. A delivery is taken only when no earlier one of its stream (a payment's events,
 * or the settlement events about it) is still pending for that endpoint, so a receiver sees a stream in order. Claims are leases in the row:
 * after a crash they lapse and the delivery is sent again (at least once; receivers dedupe by event id).
 *
 * An endpoint that fails again and again (endpoint-backoff.ts) is held back: nothing goes to it until its
 * `backoff_until`, and then one delivery at a time, the probe, until one is answered. So an endpoint that is down
 * costs at most one slot, however many replicas run, and its deliveries wait. Before that, from its first failure,
 * it gets no more requests than would take it to the hold were they all to fail (ENDPOINT_SLOTS): an endpoint that
 * starts to hang ties up the slots of the requests already under way for one timeout, and no new ones meanwhile.
 * Once it answers, all that waited for
 * it is due at once, each stream still in order. A delivery whose horizon passes while it waits is dead-lettered
 * without a request (deadLetterHeldBack), as it would have been had it been tried.
 */
@Injectable()
export class WebhookWorker implements OnApplicationBootstrap, OnModuleDestroy {
  private running = false;
  private loop?: Promise<void>;
  private wakeUp?: () => void;
  private woken = false;
  private readonly sends = new Set<Promise<void>>();
  /** when the worker next looks for deliveries whose horizon passed while their endpoint was held back */
  private heldBackSweepAt = 0;
  private readonly outcomes;
  private readonly failures;
  private readonly latency;

  constructor(
    @Inject(DataSource) private readonly dataSource: DataSource,
    @Inject(NOTIFICATION_OPTIONS) private readonly options: NotificationOptions,
    @Inject(LOGGER) private readonly logger: Logger,
    @Inject(SecretBox) private readonly box: SecretBox,
    @Inject(Metrics) metrics: Metrics,
  ) {
    this.outcomes = metrics.counter(
      'upm_webhook_deliveries_total',
      'Webhook delivery outcomes: each attempt recorded on its delivery (delivered; failed, to be retried; dead_letter, no retry left), and each delivery ' +
        'dead-lettered unsent as its horizon passed while its endpoint was held back. An attempt whose claim was taken over, or whose delivery was settled meanwhile, is only logged',
      ['outcome'],
    );
    this.failures = metrics.counter('upm_webhook_attempt_failures_total', 'Failed webhook attempts by why they failed (docs/webhooks.md)', ['code']);
    this.latency = metrics.histogram('upm_webhook_delivery_seconds', 'Duration of one webhook HTTP attempt', ['outcome']);
    // read from the endpoints' rows at each scrape, as every replica holds the endpoints back together: each one reports
    // the same count, and an endpoint leaves it as soon as its hold ends (an answer, a new URL, a re-delivery) or it is
    // deleted or disabled (nothing is sent to it then, held back or not), not at its next probe
    const backingOff = metrics.gauge('upm_webhook_endpoints_backing_off', 'Webhook endpoints held back after failing again and again (docs/webhooks.md)', [], async () => {
      try {
        const [{ count }]: Array<{ count: number }> = await this.dataSource.query(
          'SELECT count(*)::int AS count FROM webhook_endpoints WHERE backoff_until IS NOT NULL AND deleted_at IS NULL AND disabled_at IS NULL',
        );
        backingOff.set(count);
      } catch (error) {
        this.logger.warn({ err: error }, 'counting the webhook endpoints held back failed; the gauge keeps its last value');
      }
    });
  }

  onApplicationBootstrap(): void {
    this.running = true;
    this.loop = this.run();
  }

  async onModuleDestroy(): Promise<void> {
    this.running = false;
    this.wake();
    await this.loop;
    // sends still running either record their result or, if cut off, their lease lapses and they go again
    await Promise.race([Promise.allSettled([...this.sends]), new Promise((resolve) => setTimeout(resolve, Math.min(this.options.requestTimeoutMs, 5000)))]);
  }

  /** Looks for due deliveries now instead of at the next poll (new rows were just committed). */
  wake(): void {
    this.woken = true;
    this.wakeUp?.();
  }

  /** Claims what is due and free to send and starts sending it; answers how many started. */
  async dispatch(): Promise<number> {
    // once per poll interval at most, as a horizon is hours long: not on each of the passes a busy worker makes
    if (Date.now() >= this.heldBackSweepAt) {
      this.heldBackSweepAt = Date.now() + this.options.pollIntervalMs;
      await this.deadLetterHeldBack();
    }
    const free = this.options.workerConcurrency - this.sends.size;
    if (free <= 0) return 0;
    const per = this.options.perEndpointConcurrency;
    // each endpoint's next deliveries, as many as it has free slots on all the replicas (its claims that have not
    // lapsed): fewer while it is failing, none while it is held back before its back-off ends, and then one, for the probe
    const candidates: Array<{ id: string; endpoint_id: string }> = await this.dataSource.query(
      `SELECT id, endpoint_id FROM (
         SELECT d.id, d.endpoint_id, d.next_attempt_at, d.seq, ${ENDPOINT_SLOTS('w', '$1::int', '$3::int')} AS slots,
                row_number() OVER (PARTITION BY d.endpoint_id ORDER BY d.next_attempt_at, d.seq) AS rn
         FROM webhook_deliveries d JOIN webhook_endpoints w ON w.id = d.endpoint_id AND w.deleted_at IS NULL AND w.disabled_at IS NULL
           AND (w.backoff_until IS NULL OR w.backoff_until <= now())
         WHERE d.status = 'PENDING' AND d.next_attempt_at <= now() AND (d.leased_until IS NULL OR d.leased_until < now())
           AND NOT EXISTS (SELECT 1 FROM webhook_deliveries e WHERE e.endpoint_id = d.endpoint_id AND e.stream = d.stream
                           AND e.status = 'PENDING' AND e.stream_sequence < d.stream_sequence)
       ) c WHERE rn <= slots - (SELECT count(*) FROM webhook_deliveries l WHERE l.endpoint_id = c.endpoint_id AND l.leased_until >= now())
       ORDER BY next_attempt_at, seq LIMIT $2`,
      [per, free, BACKOFF_AFTER_FAILURES],
    );
    if (!candidates.length) return 0;
    const claimed = await this.dataSource.transaction(async (manager): Promise<Claimed[]> => {
      // one replica at a time counts an endpoint's claims and adds to them: two replicas that both saw a free
      // slot take it once between them. The endpoints are locked in one order, so two claims never deadlock.
      await manager.query('SELECT id FROM webhook_endpoints WHERE id = ANY($1) ORDER BY id FOR NO KEY UPDATE', [[...new Set(candidates.map((c) => c.endpoint_id))]]);
      // the WHERE is checked again, now that this statement sees every claim committed before the locks were
      // taken, and the slots are counted again: two replicas never both take one delivery, nor one endpoint's last slot
      const [rows]: [Claimed[], number] = await manager.query(
        `WITH wanted AS (
           SELECT d.id, row_number() OVER (PARTITION BY d.endpoint_id ORDER BY d.next_attempt_at, d.seq) AS rn,
                  (SELECT count(*) FROM webhook_deliveries l WHERE l.endpoint_id = d.endpoint_id AND l.leased_until >= now()) AS busy
             FROM webhook_deliveries d
            WHERE d.id = ANY($1) AND d.status = 'PENDING' AND d.next_attempt_at <= now() AND (d.leased_until IS NULL OR d.leased_until < now()))
         UPDATE webhook_deliveries d SET leased_until = now() + make_interval(secs => $2::double precision / 1000), attempts = d.attempts + 1
         FROM webhook_endpoints w, wanted x
         WHERE d.id = x.id AND x.rn <= ${ENDPOINT_SLOTS('w', '$3::int', '$4::int')} - x.busy
           AND w.id = d.endpoint_id AND w.deleted_at IS NULL AND w.disabled_at IS NULL AND (w.backoff_until IS NULL OR w.backoff_until <= now())
           AND d.status = 'PENDING' AND d.next_attempt_at <= now() AND (d.leased_until IS NULL OR d.leased_until < now())
         RETURNING d.id, d.endpoint_id, d.stream, d.stream_sequence, d.event_id, d.event_type, d.body, d.attempts, d.redelivered_at_attempt, d.give_up_at, w.url`,
        [candidates.map((c) => c.id), this.options.requestTimeoutMs + LEASE_MARGIN_MS, per, BACKOFF_AFTER_FAILURES],
      );
      return rows;
    });
    for (const delivery of claimed) {
      const send: Promise<void> = this.send(delivery)
        .catch((error: unknown) => this.logger.error({ err: error, deliveryId: delivery.id }, 'recording a webhook attempt failed; its lease will lapse and it goes again'))
        .finally(() => {
          this.sends.delete(send);
          this.wake();
        });
      this.sends.add(send);
    }
    return claimed.length;
  }

  private async send(delivery: Claimed): Promise<void> {
    const secrets: Array<{ secret: string }> = await this.dataSource.query(
      'SELECT secret FROM webhook_secrets WHERE endpoint_id = $1 AND (expires_at IS NULL OR expires_at > now()) ORDER BY created_at DESC',
      [delivery.endpoint_id],
    );
    const timestamp = Math.floor(Date.now() / 1000);
    const startedAt = new Date();
    let answer: WebhookAnswer;
    try {
      // a secret no configured key opens, or none at all (the endpoint was deleted while this was claimed), fails the
      // attempt (logged, retried) rather than letting it go out unsigned
      if (!secrets.length) throw new SecretUnreadable(`endpoint ${delivery.endpoint_id} has no active signing secret`);
      const signature = signatureHeader(secrets.map((s) => this.box.open(s.secret, delivery.endpoint_id)), timestamp, delivery.body);
      answer = await postWebhook({
        url: delivery.url,
        headers: {
          'content-type': 'application/json',
          'user-agent': 'UPM-Webhooks/1',
          [WEBHOOK_HEADERS.eventId]: delivery.event_id,
          [WEBHOOK_HEADERS.eventType]: delivery.event_type,
          [WEBHOOK_HEADERS.deliveryId]: delivery.id,
          [WEBHOOK_HEADERS.attempt]: String(delivery.attempts),
          [WEBHOOK_HEADERS.timestamp]: String(timestamp),
          [WEBHOOK_HEADERS.signature]: signature,
        },
        body: delivery.body,
        timeoutMs: this.options.requestTimeoutMs,
        // the address is checked as the connection is made, as the name may resolve elsewhere now: a refused one fails the attempt
        publicOnly: !this.options.allowPrivateAddresses,
      });
    } catch (caught) {
      if (!(caught instanceof SecretUnreadable)) throw caught;
      answer = { failure: { code: 'SIGNING_SECRET_UNREADABLE', detail: caught.message } };
    }
    const { statusCode, failure } = answer;
    const latencyMs = Date.now() - startedAt.getTime();
    const retryAt = failure ? nextAttemptAt(this.options.retry, delivery.attempts - delivery.redelivered_at_attempt, Date.now(), new Date(delivery.give_up_at).getTime()) : undefined;
    const outcome: Outcome = !failure ? 'delivered' : retryAt ? 'failed' : 'dead_letter';
    // the attempt goes into the log in any case (the receiver got it); the delivery changes only while this
    // attempt's claim is the latest: every claim counts one more attempt (the count never goes back), so a worker
    // whose lease lapsed and was taken over finds a higher count and leaves the row to the one holding it now.
    // One held meanwhile (its endpoint was disabled during the attempt) is delivered by an answer, and stays held
    // after a failure: it goes again, on a fresh schedule, once the endpoint is enabled. One whose schedule was started
    // afresh meanwhile (its endpoint was disabled and enabled again: a new horizon, counted from the attempt then made,
    // `redelivered_at_attempt`) keeps that schedule after a failure: `retryAt` and the dead letter were worked out on the
    // one it replaced, so it is due as the enabling made it, as had it failed a moment before
    const recorded = await this.dataSource.transaction(async (manager): Promise<{ status: DeliveryStatus; restarted: boolean } | undefined> => {
      // the endpoint's row first, as a claim locks it before its deliveries: the two never wait for each other in turn.
      // Any attempt tells how the endpoint is, one whose claim was taken over as well
      const health = endpointHealth(answer);
      if (health) await this.recordEndpointHealth(manager, delivery.endpoint_id, health);
      await manager.query(
        'INSERT INTO webhook_attempts (delivery_id, attempt, started_at, status_code, error_code, error, latency_ms) VALUES ($1, $2, $3, $4, $5, $6, $7)',
        [delivery.id, delivery.attempts, startedAt, statusCode ?? null, failure?.code ?? null, failure?.detail ?? null, latencyMs],
      );
      const [[row]]: [Array<{ status: DeliveryStatus; restarted: boolean }>, number] = await manager.query(
        `UPDATE webhook_deliveries SET status = CASE WHEN $2 = 'DELIVERED' THEN $2 WHEN status = 'HELD' THEN 'HELD'
                                                     WHEN redelivered_at_attempt <> $8 THEN 'PENDING' ELSE $2 END,
           next_attempt_at = CASE WHEN status = 'HELD' OR redelivered_at_attempt <> $8 THEN next_attempt_at ELSE coalesce($3, next_attempt_at) END,
           delivered_at = CASE WHEN $2 = 'DELIVERED' THEN now() ELSE delivered_at END,
           last_status_code = $4, last_error_code = $5, last_error = $6, leased_until = NULL
         WHERE id = $1 AND status IN ('PENDING', 'HELD') AND attempts = $7
         RETURNING status, redelivered_at_attempt <> $8 AS restarted`,
        [
          delivery.id,
          outcome === 'delivered' ? 'DELIVERED' : outcome === 'failed' ? 'PENDING' : 'DEAD_LETTER',
          retryAt ?? null,
          statusCode ?? null,
          failure?.code ?? null,
          failure?.detail ?? null,
          delivery.attempts,
          delivery.redelivered_at_attempt,
        ],
      );
      // the deliveries of the stream queued behind this one cannot go before it: they are due when it is again
      // (without this, every pass of every replica reads them while an endpoint is down, its whole backlog)
      if (row?.status === 'PENDING' && !row.restarted && retryAt) {
        await manager.query(
          `UPDATE webhook_deliveries SET next_attempt_at = $4 WHERE endpoint_id = $1 AND stream = $2 AND status = 'PENDING'
             AND stream_sequence > $3 AND next_attempt_at < $4`,
          [delivery.endpoint_id, delivery.stream, delivery.stream_sequence, retryAt],
        );
      }
      return row;
    });
    const log = { deliveryId: delivery.id, endpointId: delivery.endpoint_id, eventId: delivery.event_id, attempt: delivery.attempts, statusCode, errorCode: failure?.code, error: failure?.detail, retryAt };
    if (!recorded) {
      this.logger.warn(log, 'webhook attempt ended after its claim was taken over or the delivery settled; logged only');
      return;
    }
    // a held one that failed is neither retried at `retryAt` nor dead-lettered: it goes again once its endpoint is
    // enabled; nor is one whose schedule was started afresh during the attempt: it goes on that schedule
    const ownSchedule = recorded.status !== 'HELD' && !recorded.restarted;
    const counted: Outcome = failure && !ownSchedule ? 'failed' : outcome;
    this.outcomes.inc({ outcome: counted });
    if (failure) this.failures.inc({ code: failure.code });
    this.latency.observe({ outcome: counted }, latencyMs / 1000);
    if (recorded.status === 'HELD') this.logger.warn({ ...log, retryAt: undefined }, 'webhook attempt failed; held until its endpoint is enabled');
    else if (failure && !ownSchedule) this.logger.warn({ ...log, retryAt: undefined }, 'webhook attempt failed; its endpoint was enabled again meanwhile, so it goes again on the fresh schedule');
    else if (outcome === 'dead_letter') this.logger.error(log, 'webhook dead-lettered after its retry horizon');
    else if (outcome === 'failed') this.logger.warn(log, 'webhook attempt failed; retrying');
  }

  /**
   * Dead-letters the deliveries whose retry horizon has passed while their endpoint is held back: they are not tried
   * meanwhile, and without this they would wait past it, the backlog of an endpoint down for days growing without
   * bound and all of it sent, stale, once it is back. They end as any delivery at its horizon (counted, logged,
   * re-deliverable), but without a request, their log saying why (ENDPOINT_HELD_BACK; their earlier attempts, if any,
   * stay in the attempt log). A stream keeps its order: a delivery goes only once no earlier one of its stream is
   * still pending, unless that one goes too (as when it is tried: a dead letter frees those behind it). The one being
   * sent as the probe is left to its attempt.
   */
  private async deadLetterHeldBack(): Promise<void> {
    // pending past its horizon, and not being sent right now
    const expired = (t: string) => `${t}.status = 'PENDING' AND ${t}.give_up_at <= now() AND (${t}.leased_until IS NULL OR ${t}.leased_until < now())`;
    // the endpoint's row is locked first, as a claim does, so no replica claims one of these meanwhile
    const dead: Array<{ id: string; endpoint_id: string; event_id: string; consecutive_failures: number }> = await this.dataSource.transaction(async (manager) => {
      const held: Array<{ id: string }> = await manager.query(
        'SELECT id FROM webhook_endpoints WHERE backoff_until IS NOT NULL AND deleted_at IS NULL AND disabled_at IS NULL ORDER BY id FOR NO KEY UPDATE',
      );
      if (!held.length) return [];
      const [rows]: [Array<{ id: string; endpoint_id: string; event_id: string; consecutive_failures: number }>, number] = await manager.query(
        `UPDATE webhook_deliveries d SET status = 'DEAD_LETTER', leased_until = NULL, last_status_code = NULL, last_error_code = 'ENDPOINT_HELD_BACK',
           last_error = 'retry horizon passed while the endpoint was held back after ' || w.consecutive_failures || ' failed attempts in a row; not sent again'
         FROM webhook_endpoints w
         WHERE w.id = d.endpoint_id AND w.id = ANY($1) AND w.backoff_until IS NOT NULL AND ${expired('d')}
           AND NOT EXISTS (SELECT 1 FROM webhook_deliveries e WHERE e.endpoint_id = d.endpoint_id AND e.stream = d.stream AND e.status = 'PENDING'
                           AND e.stream_sequence < d.stream_sequence AND NOT (${expired('e')}))
         RETURNING d.id, d.endpoint_id, d.event_id, w.consecutive_failures`,
        [held.map((h) => h.id)],
      );
      return rows;
    });
    for (const delivery of dead) {
      this.outcomes.inc({ outcome: 'dead_letter' });
      this.logger.error(
        { deliveryId: delivery.id, endpointId: delivery.endpoint_id, eventId: delivery.event_id, errorCode: 'ENDPOINT_HELD_BACK', consecutiveFailures: delivery.consecutive_failures },
        'webhook dead-lettered after its retry horizon, which passed while its endpoint was held back',
      );
    }
  }

  /**
   * Counts a failure of the endpoint, and holds it back from its BACKOFF_AFTER_FAILURES-th in a row, for longer after
   * each; or, when it answered, ends its streak, and a back-off with it: what waited for it is due now (its
   * deliveries' own retries were earned while it was down). The row is written only when something changes, so the
   * attempts to a healthy endpoint do not take turns on it.
   */
  private async recordEndpointHealth(manager: EntityManager, endpointId: string, health: 'up' | 'down'): Promise<void> {
    if (health === 'up') {
      const [recovered]: [Array<{ held: boolean }>, number] = await manager.query(
        `UPDATE webhook_endpoints w SET consecutive_failures = 0, backoff_until = NULL
           FROM (SELECT id, backoff_until IS NOT NULL AS held FROM webhook_endpoints WHERE id = $1 AND consecutive_failures > 0 FOR NO KEY UPDATE) before
          WHERE w.id = before.id
          RETURNING before.held`,
        [endpointId],
      );
      if (!recovered[0]?.held) return;
      await manager.query(
        `UPDATE webhook_deliveries SET next_attempt_at = now()
          WHERE endpoint_id = $1 AND status = 'PENDING' AND next_attempt_at > now() AND (leased_until IS NULL OR leased_until < now())`,
        [endpointId],
      );
      this.logger.info({ endpointId }, 'webhook endpoint answers again; its deliveries go out');
      return;
    }
    const [[failed]]: [Array<{ consecutive_failures: number; backoff_until: Date | null }>, number] = await manager.query(
      'UPDATE webhook_endpoints SET consecutive_failures = consecutive_failures + 1 WHERE id = $1 RETURNING consecutive_failures, backoff_until',
      [endpointId],
    );
    const until = failed && backoffUntil(this.options.retry, failed.consecutive_failures, Date.now());
    if (!until) return;
    await manager.query('UPDATE webhook_endpoints SET backoff_until = $2 WHERE id = $1', [endpointId, until]);
    if (!failed.backoff_until) this.logger.warn({ endpointId, consecutiveFailures: failed.consecutive_failures, backoffUntil: until }, 'webhook endpoint keeps failing; held back, one probe at a time');
  }

  private async run(): Promise<void> {
    while (this.running) {
      this.woken = false;
      try {
        if ((await this.dispatch()) > 0) continue;
      } catch (error) {
        this.logger.error({ err: error }, 'dispatching webhooks failed; retrying');
      }
      if (this.woken) continue;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(done, this.options.pollIntervalMs);
        function done(): void {
          clearTimeout(timer);
          resolve();
        }
        this.wakeUp = done;
      });
      this.wakeUp = undefined;
    }
  }
}
