import { Inject, Injectable, OnApplicationBootstrap } from '@nestjs/common';
import { DataSource, EntityManager, IsNull, LessThan } from 'typeorm';
import { newId } from '@upm/contracts';
import type { Logger } from '@upm/shared-observability';
import { ApiError, isId, LOGGER } from '@upm/shared-runtime';
import { NOTIFICATION_OPTIONS, NotificationOptions } from '../notification.options';
import { assertPublicEndpoint, NonPublicEndpoint } from './address-policy';
import { SecretBox, SecretUnreadable } from './secret-box';
import { newWebhookSecret } from './signing';
import { WebhookAttemptRow, WebhookDeliveryRow, WebhookEndpointRow, WebhookSecretRow } from './webhook.entities';

export interface EndpointView {
  endpointId: string;
  merchantId: string;
  url: string;
  eventTypes: string[];
  description?: string;
  /** false while the merchant has it disabled: its deliveries are HELD */
  enabled: boolean;
  /**
   * present while the endpoint is held back after failing again and again (timeouts, connection errors, 5xx): its
   * deliveries wait, and one is sent as a probe from `nextProbeAt` on, until one is answered
   */
  backoff?: { consecutiveFailures: number; nextProbeAt: string };
  createdAt: string;
  secrets: Array<{ createdAt: string; expiresAt?: string }>;
}

/**
 * Merchants' endpoints and secrets. A secret appears in the answer that creates or rotates it, and nowhere
 * else; it is stored sealed (SecretBox) when a key is configured.
 */
@Injectable()
export class WebhookEndpointsService implements OnApplicationBootstrap {
  constructor(
    @Inject(DataSource) private readonly dataSource: DataSource,
    @Inject(NOTIFICATION_OPTIONS) private readonly options: NotificationOptions,
    @Inject(SecretBox) private readonly box: SecretBox,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    if (!this.box.sealing) {
      this.logger.warn('webhook signing secrets are stored readable: set WEBHOOK_SECRET_KEYS to seal them (docs/webhooks.md)');
      return;
    }
    const resealed = await this.resealSecrets();
    if (resealed) this.logger.info({ resealed }, 'webhook signing secrets sealed with the current key');
  }

  /**
   * Seals with the current key every secret stored readable or under an older key. A replica starting at
   * the same time may do it too: each row changes only if it still holds what was read. A secret no listed
   * key opens stays as it is (and its endpoint's deliveries fail until the key is back or the secret rotated):
   * one lost key must not keep the service from starting.
   */
  async resealSecrets(): Promise<number> {
    const rows: Array<{ id: string; endpoint_id: string; secret: string }> = await this.dataSource.query('SELECT id, endpoint_id, secret FROM webhook_secrets');
    let resealed = 0;
    for (const row of rows.filter((r) => this.box.needsResealing(r.secret))) {
      let secret: string;
      try {
        secret = this.box.open(row.secret, row.endpoint_id);
      } catch (error) {
        if (!(error instanceof SecretUnreadable)) throw error;
        this.logger.error({ endpointId: row.endpoint_id, secretId: row.id, err: error }, 'webhook signing secret unreadable; left as it is');
        continue;
      }
      const [, count] = await this.dataSource.query('UPDATE webhook_secrets SET secret = $2 WHERE id = $1 AND secret = $3', [row.id, this.box.seal(secret, row.endpoint_id), row.secret]);
      resealed += count;
    }
    return resealed;
  }

  async create(merchantId: string, input: { url: string; eventTypes: string[]; description?: string }): Promise<EndpointView & { secret: string }> {
    await this.assertAllowedUrl(input.url);
    const id = newId('whe');
    const secret = newWebhookSecret();
    await this.dataSource.transaction(async (manager) => {
      await manager.getRepository(WebhookEndpointRow).insert({ id, merchantId, url: input.url, eventTypes: input.eventTypes, description: input.description ?? null });
      await manager.getRepository(WebhookSecretRow).insert({ id: newId('whs'), endpointId: id, secret: this.box.seal(secret, id), expiresAt: null });
    });
    return { ...(await this.get(merchantId, id)), secret };
  }

  async list(merchantId: string): Promise<EndpointView[]> {
    const rows = await this.dataSource.getRepository(WebhookEndpointRow).find({ where: { merchantId, deletedAt: IsNull() }, order: { createdAt: 'ASC' } });
    return Promise.all(rows.map((row) => this.view(row)));
  }

  async get(merchantId: string, endpointId: string): Promise<EndpointView> {
    return this.view(await this.row(merchantId, endpointId));
  }

  /**
   * Stops the endpoint; deliveries not yet sent are cancelled, the log stays, and its signing secrets are erased:
   * nothing signs for the endpoint again, so nothing keeps them. The row is locked first, so the deletion waits for
   * consumer transactions that matched the endpoint (see enqueueWebhookDeliveries) and cancels the deliveries they
   * wrote too.
   */
  async delete(merchantId: string, endpointId: string): Promise<void> {
    await this.dataSource.transaction(async (manager) => {
      await this.row(merchantId, endpointId, { lockIn: manager });
      await manager.query('UPDATE webhook_endpoints SET deleted_at = now() WHERE id = $1', [endpointId]);
      await manager.query(`UPDATE webhook_deliveries SET status = 'CANCELLED', leased_until = NULL WHERE endpoint_id = $1 AND status IN ('PENDING', 'HELD')`, [endpointId]);
      await manager.query('DELETE FROM webhook_secrets WHERE endpoint_id = $1', [endpointId]);
    });
  }

  /**
   * Changes what is given. A new URL gets what waits for a retry at once. Disabling holds the endpoint's deliveries (PENDING ones become HELD, new ones are written
   * HELD) and sends none; enabling sends what was held, in order, on a fresh retry schedule as a re-delivery would:
   * the time it was disabled does not count towards the horizon. One being sent right now is left to that attempt
   * either way. The row is locked first, so a consumer transaction that matched the endpoint ends before, and its
   * deliveries are held too.
   */
  async update(merchantId: string, endpointId: string, patch: { url?: string; eventTypes?: string[]; description?: string | null; enabled?: boolean }): Promise<EndpointView> {
    if (patch.url !== undefined) await this.assertAllowedUrl(patch.url);
    await this.dataSource.transaction(async (manager) => {
      const row = await this.row(merchantId, endpointId, { lockIn: manager });
      const disabling = patch.enabled === false && row.disabledAt === null;
      const enabling = patch.enabled === true && row.disabledAt !== null;
      await manager.getRepository(WebhookEndpointRow).update(
        { id: endpointId },
        {
          ...(patch.url !== undefined ? { url: patch.url } : {}),
          ...(patch.eventTypes !== undefined ? { eventTypes: patch.eventTypes } : {}),
          ...(patch.description !== undefined ? { description: patch.description } : {}),
          ...(disabling ? { disabledAt: () => 'now()' } : enabling ? { disabledAt: null } : {}),
        },
      );
      // one being sent right now keeps its claim: it still holds one of the endpoint's slots, and is left to that attempt
      // (WebhookWorker records its result on the held row), so enabling again cannot send it a second time meanwhile
      if (disabling) await manager.query(`UPDATE webhook_deliveries SET status = 'HELD' WHERE endpoint_id = $1 AND status = 'PENDING'`, [endpointId]);
      if (enabling) {
        await manager.query(
          `UPDATE webhook_deliveries SET status = 'PENDING', next_attempt_at = now(), give_up_at = now() + make_interval(secs => $2::double precision / 1000),
             redelivered_at_attempt = attempts
           WHERE endpoint_id = $1 AND status = 'HELD'`,
          [endpointId, this.options.retry.horizonMs],
        );
      }
      // the back-off was earned by the old URL: what waits for a retry goes to the new one now, its back-off started
      // again (one being sent right now is left to that attempt), and the endpoint is no longer held back
      if (patch.url !== undefined && patch.url !== row.url) {
        await endBackoff(manager, endpointId);
        await manager.query(
          `UPDATE webhook_deliveries SET next_attempt_at = now(), redelivered_at_attempt = attempts
           WHERE endpoint_id = $1 AND status = 'PENDING' AND next_attempt_at > now() AND (leased_until IS NULL OR leased_until < now())`,
          [endpointId],
        );
      }
    });
    return this.get(merchantId, endpointId);
  }

  /** A new secret signs from now on; the current ones keep signing until the overlap ends. */
  async rotateSecret(merchantId: string, endpointId: string, overlapSeconds?: number): Promise<{ endpointId: string; secret: string; previousSecretsExpireAt: string }> {
    const secret = newWebhookSecret();
    const expiresAt = new Date(Date.now() + (overlapSeconds !== undefined ? overlapSeconds * 1000 : this.options.secretOverlapMs));
    await this.dataSource.transaction(async (manager) => {
      // rotations of one endpoint take turns on its row, so each one sees, and expires, the secret the one before added
      await this.row(merchantId, endpointId, { lockIn: manager });
      await manager.query('UPDATE webhook_secrets SET expires_at = $2 WHERE endpoint_id = $1 AND (expires_at IS NULL OR expires_at > $2)', [endpointId, expiresAt]);
      await manager.getRepository(WebhookSecretRow).insert({ id: newId('whs'), endpointId, secret: this.box.seal(secret, endpointId), expiresAt: null });
    });
    return { endpointId, secret, previousSecretsExpireAt: expiresAt.toISOString() };
  }

  /** Newest first, a page at a time: `before` is the last deliveryId of the page before. */
  async deliveries(merchantId: string, endpointId: string, filter: { status?: string; paymentId?: string; limit: number; before?: string }): Promise<unknown[]> {
    await this.row(merchantId, endpointId, { includeDeleted: true });
    const repository = this.dataSource.getRepository(WebhookDeliveryRow);
    const after = filter.before === undefined ? undefined : await repository.findOneBy({ endpointId, id: filter.before });
    if (filter.before !== undefined && !after) throw new ApiError(404, 'DELIVERY_NOT_FOUND', 'no such delivery to list the deliveries before');
    const rows = await repository.find({
      where: {
        endpointId, ...(filter.status ? { status: filter.status as WebhookDeliveryRow['status'] } : {}), ...(filter.paymentId ? { paymentId: filter.paymentId } : {}),
        ...(after ? { seq: LessThan(after.seq) } : {}),
      },
      order: { seq: 'DESC' },
      take: filter.limit,
    });
    return rows.map(deliveryView);
  }

  async delivery(merchantId: string, endpointId: string, deliveryId: string): Promise<unknown> {
    await this.row(merchantId, endpointId, { includeDeleted: true });
    const row = isId(deliveryId) ? await this.dataSource.getRepository(WebhookDeliveryRow).findOneBy({ endpointId, id: deliveryId }) : null;
    if (!row) throw new ApiError(404, 'DELIVERY_NOT_FOUND', 'no such delivery');
    const attempts = await this.dataSource.getRepository(WebhookAttemptRow).find({ where: { deliveryId }, order: { id: 'ASC' } });
    return {
      ...deliveryView(row),
      attemptLog: attempts.map((a) => ({ attempt: a.attempt, startedAt: a.startedAt.toISOString(), statusCode: a.statusCode ?? undefined, errorCode: a.errorCode ?? undefined, error: a.error ?? undefined, latencyMs: a.latencyMs })),
    };
  }

  /**
   * Sends the event again (same event id) with a fresh retry schedule: back-off from the first delay and a new
   * horizon. The attempt count and log go on, so earlier attempts stay in the history. Works for delivered and
   * dead-lettered ones alike, and for one still waiting for its next retry: it goes now (once the receiver is
   * fixed, nobody should have to wait out an hour's back-off), and so do the deliveries of its stream queued behind
   * it, and the endpoint's back-off ends. One being sent right now is left to that attempt; a disabled endpoint's is
   * held until it is enabled.
   */
  async redeliver(merchantId: string, endpointId: string, deliveryId: string): Promise<unknown> {
    if (!isId(deliveryId)) throw new ApiError(404, 'DELIVERY_NOT_FOUND', 'no such delivery');
    // the endpoint's row is locked, so that a disabling or enabling under way cannot miss this delivery
    const rows = await this.dataSource.transaction(async (manager) => {
      const endpoint = await this.row(merchantId, endpointId, { lockIn: manager });
      const [updated]: [Array<{ stream: string | null; stream_sequence: number | null }>, number] = await manager.query(
        `UPDATE webhook_deliveries SET status = $4, next_attempt_at = now(), give_up_at = now() + make_interval(secs => $3::double precision / 1000),
           redelivered_at_attempt = attempts, leased_until = NULL
         WHERE endpoint_id = $1 AND id = $2
           AND (status NOT IN ('PENDING', 'HELD') OR (status = 'PENDING' AND (leased_until IS NULL OR leased_until < now())))
         RETURNING stream, stream_sequence`,
        [endpointId, deliveryId, this.options.retry.horizonMs, endpoint.disabledAt === null ? 'PENDING' : 'HELD'],
      );
      // whoever asks for it says the receiver is fixed: it goes now, not after the endpoint's back-off
      if (updated.length) await endBackoff(manager, endpointId);
      // those behind it were put off until its next retry (see WebhookWorker): they are due as soon as it is through
      for (const { stream, stream_sequence } of updated) {
        if (stream === null) continue;
        await manager.query(
          `UPDATE webhook_deliveries SET next_attempt_at = now() WHERE endpoint_id = $1 AND stream = $2 AND status = 'PENDING' AND stream_sequence > $3 AND next_attempt_at > now()`,
          [endpointId, stream, stream_sequence],
        );
      }
      return updated;
    });
    if (!rows.length) {
      const exists = await this.dataSource.getRepository(WebhookDeliveryRow).findOneBy({ endpointId, id: deliveryId });
      if (!exists) throw new ApiError(404, 'DELIVERY_NOT_FOUND', 'no such delivery');
    }
    return this.delivery(merchantId, endpointId, deliveryId);
  }

  /**
   * Re-delivers, as `redeliver` does one, every dead-lettered delivery of the endpoint, or those of one payment or
   * created since a time: after an outage longer than the horizon there may be thousands. Answers how many. Each
   * stream still goes out in order.
   */
  async redeliverDeadLetters(merchantId: string, endpointId: string, filter: { paymentId?: string; since?: string }): Promise<number> {
    return this.dataSource.transaction(async (manager) => {
      const endpoint = await this.row(merchantId, endpointId, { lockIn: manager });
      const [, count]: [unknown, number] = await manager.query(
        `UPDATE webhook_deliveries SET status = $5, next_attempt_at = now(), give_up_at = now() + make_interval(secs => $2::double precision / 1000),
           redelivered_at_attempt = attempts, leased_until = NULL
         WHERE endpoint_id = $1 AND status = 'DEAD_LETTER' AND ($3::text IS NULL OR payment_id = $3) AND ($4::timestamptz IS NULL OR created_at >= $4)`,
        [endpointId, this.options.retry.horizonMs, filter.paymentId ?? null, filter.since ?? null, endpoint.disabledAt === null ? 'PENDING' : 'HELD'],
      );
      if (count) await endBackoff(manager, endpointId);
      return count;
    });
  }

  /** Refuses, with 400 WEBHOOK_URL_NOT_PUBLIC, a URL that would make the platform call its own host or networks. */
  private async assertAllowedUrl(url: string): Promise<void> {
    if (this.options.allowPrivateAddresses) return;
    try {
      await assertPublicEndpoint(url);
    } catch (error) {
      if (!(error instanceof NonPublicEndpoint)) throw error;
      throw new ApiError(400, error.code, 'the endpoint URL must reach a public address', [{ field: 'url', code: error.code, message: error.message }]);
    }
  }

  /**
   * Another merchant's endpoint is indistinguishable from one that does not exist, and so is an id no endpoint can
   * have. With `lockIn`, the row is read in that transaction and locked until it ends.
   */
  private async row(merchantId: string, endpointId: string, { includeDeleted = false, lockIn }: { includeDeleted?: boolean; lockIn?: EntityManager } = {}): Promise<WebhookEndpointRow> {
    const row = isId(endpointId)
      ? await (lockIn ?? this.dataSource.manager).getRepository(WebhookEndpointRow).findOne({
        where: { id: endpointId, merchantId, ...(includeDeleted ? {} : { deletedAt: IsNull() }) },
        ...(lockIn ? { lock: { mode: 'pessimistic_write' as const } } : {}),
      })
      : null;
    if (!row) throw new ApiError(404, 'WEBHOOK_NOT_FOUND', 'no such webhook endpoint');
    return row;
  }

  private async view(row: WebhookEndpointRow): Promise<EndpointView> {
    const secrets: Array<{ created_at: Date; expires_at: Date | null }> = await this.dataSource.query(
      'SELECT created_at, expires_at FROM webhook_secrets WHERE endpoint_id = $1 AND (expires_at IS NULL OR expires_at > now()) ORDER BY created_at DESC',
      [row.id],
    );
    return {
      endpointId: row.id, merchantId: row.merchantId, url: row.url, eventTypes: row.eventTypes, ...(row.description ? { description: row.description } : {}),
      enabled: row.disabledAt === null,
      ...(row.backoffUntil ? { backoff: { consecutiveFailures: row.consecutiveFailures, nextProbeAt: row.backoffUntil.toISOString() } } : {}),
      createdAt: row.createdAt.toISOString(),
      secrets: secrets.map((s) => ({ createdAt: s.created_at.toISOString(), ...(s.expires_at ? { expiresAt: s.expires_at.toISOString() } : {}) })),
    };
  }
}

/**
 * Ends the endpoint's back-off and its streak of failures (WebhookWorker): what an operator does, a new URL or a
 * re-delivery, says the receiver is fixed. If it is not, the next failures hold it back again.
 */
async function endBackoff(manager: EntityManager, endpointId: string): Promise<void> {
  await manager.query('UPDATE webhook_endpoints SET consecutive_failures = 0, backoff_until = NULL WHERE id = $1 AND consecutive_failures > 0', [endpointId]);
}

function deliveryView(row: WebhookDeliveryRow) {
  return {
    deliveryId: row.id, endpointId: row.endpointId, eventId: row.eventId, eventType: row.eventType, paymentId: row.paymentId ?? undefined, sequence: row.sequence,
    stream: row.stream !== null && row.streamSequence !== null ? { key: row.stream, sequence: row.streamSequence } : undefined,
    status: row.status, attempts: row.attempts, lastStatusCode: row.lastStatusCode ?? undefined, lastErrorCode: row.lastErrorCode ?? undefined, lastError: row.lastError ?? undefined,
    nextAttemptAt: row.status === 'PENDING' ? row.nextAttemptAt.toISOString() : undefined,
    createdAt: row.createdAt.toISOString(), deliveredAt: row.deliveredAt?.toISOString(),
  };
}
