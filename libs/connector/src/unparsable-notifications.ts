import { Inject, Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { z } from 'zod';
import { TablePruner, TableRetention } from '@upm/shared-database';
import { Logger, Metrics } from '@upm/shared-observability';
import { ApiError, LOGGER } from '@upm/shared-runtime';
import { CONNECTOR_OPTIONS, ConnectorOptions } from './connector.options';
import { NotificationIntake } from './notification-intake';

/** How long a kept notification stays when the connector's options do not say. */
export const UNPARSABLE_RETENTION_DAYS = 30;

const ID = /^[1-9][0-9]{0,17}$/;

export const listQuery = z
  .object({
    limit: z.coerce.number().int().min(1).max(500).default(50),
    /** the last id of the previous page: the listing goes on with older ones */
    before: z.string().regex(ID, 'a notification id').optional(),
  })
  .strict();

export interface KeptNotification {
  id: string;
  clientId: string;
  path: string;
  problem: string;
  attempts: number;
  firstReceivedAt: string;
  lastReceivedAt: string;
  replayedAt: string | null;
  /** when its signature last verified on receipt (null: kept before this was recorded); for information, a replay verifies it again */
  verifiedAt: string | null;
  headers: Record<string, string>;
  /** the exact bytes as UTF-8 text (Alipay sends JSON) */
  body: string;
}

interface Row {
  id: string;
  client_id: string;
  path: string;
  problem: string;
  attempts: number;
  first_received_at: Date;
  last_received_at: Date;
  replayed_at: Date | null;
  verified_at: Date | null;
  headers: Record<string, string>;
  body: Buffer;
}

const COLUMNS = 'id, client_id, path, problem, attempts, first_received_at, last_received_at, replayed_at, verified_at, headers, body';

const kept = (row: Row): KeptNotification => ({
  id: row.id,
  clientId: row.client_id,
  path: row.path,
  problem: row.problem,
  attempts: row.attempts,
  firstReceivedAt: row.first_received_at.toISOString(),
  lastReceivedAt: row.last_received_at.toISOString(),
  replayedAt: row.replayed_at?.toISOString() ?? null,
  verifiedAt: row.verified_at?.toISOString() ?? null,
  headers: row.headers,
  body: row.body.toString('utf8'),
});

/**
 * The notifications signed by Alipay that the connector could not read (kept by NotificationIntake): listed for
 * an operator, and replayed once a connector that reads them is deployed.
 */
@Injectable()
export class UnparsableNotifications {
  constructor(
    @Inject(DataSource) private readonly dataSource: DataSource,
    @Inject(NotificationIntake) private readonly intake: NotificationIntake,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  /** Newest first (by when Alipay first sent it); a page goes on from the last id of the one before. */
  async list({ limit, before }: z.output<typeof listQuery>): Promise<KeptNotification[]> {
    const rows: Row[] = await this.dataSource.query(
      `SELECT ${COLUMNS} FROM unparsable_notifications WHERE ($1::bigint IS NULL OR id < $1::bigint) ORDER BY id DESC LIMIT $2`,
      [before ?? null, limit],
    );
    return rows.map(kept);
  }

  /**
   * Processes the kept headers and bytes as the webhook does a post from Alipay, and answers what the webhook would
   * have answered. The kept signature is always verified again, over the path Alipay signed: nothing else in the
   * row vouches for it, since whoever could change the row could change any record of a past verification too. It
   * verifies with Alipay's current key or, so that a replay still works after a rotation, with a retired key that
   * is listed (ALIPAY_RETIRED_PUBLIC_KEYS). Once taken, the row is marked replayed rather than deleted: it stays,
   * with when, as the record of what Alipay said until the retention deletes it. One still unread, or that does
   * not verify, is refused and its row stays as it was.
   */
  async replay(id: string): Promise<{ notification: KeptNotification; answer: unknown }> {
    const row = ID.test(id) ? ((await this.dataSource.query(`SELECT ${COLUMNS} FROM unparsable_notifications WHERE id = $1`, [id])) as Row[])[0] : undefined;
    if (!row) throw new ApiError(404, 'NOTIFICATION_NOT_FOUND', 'no kept notification has this id');
    const result = await this.intake.receive({ path: row.path, headers: row.headers, rawBody: row.body }, { from: 'replay' });
    if (result.outcome === 'refused') {
      this.logger.warn({ unparsableNotificationId: id, reason: result.reason }, `replayed notification refused: ${result.problem}`);
      if (result.reason === 'MALFORMED_BODY') throw new ApiError(422, 'NOTIFICATION_UNPARSABLE', `the connector still cannot read it: ${result.problem}`);
      throw new ApiError(422, 'NOTIFICATION_NOT_VERIFIED', `its signature does not verify with Alipay's current or retired keys: ${result.problem}`);
    }
    // an UPDATE answers its rows and their count
    const [[marked]]: [Row[], number] = await this.dataSource.query(`UPDATE unparsable_notifications SET replayed_at = now() WHERE id = $1 RETURNING ${COLUMNS}`, [id]);
    this.logger.info({ unparsableNotificationId: id }, 'kept notification replayed and taken');
    // a row the retention deleted meanwhile was still taken: the answer says so with the row as read
    return { notification: kept(marked ?? row), answer: JSON.parse(result.answer.body) as unknown };
  }
}

/** Deletes kept notifications Alipay last sent longer ago than the retention, replayed or not: the table stays small. */
@Injectable()
export class UnparsableNotificationsRetention extends TableRetention {
  protected readonly pruners: [TablePruner];

  constructor(
    @Inject(DataSource) dataSource: DataSource,
    @Inject(LOGGER) logger: Logger,
    @Inject(Metrics) metrics: Metrics,
    @Inject(CONNECTOR_OPTIONS) options: ConnectorOptions,
  ) {
    super();
    this.pruners = [
      new TablePruner(dataSource, logger, metrics, {
        table: 'unparsable_notifications',
        column: 'last_received_at',
        retentionHours: (options.unparsableRetentionDays ?? UNPARSABLE_RETENTION_DAYS) * 24,
        metric: { name: 'upm_alipay_unparsable_notifications_pruned_total', help: 'Kept unread notifications deleted after the retention' },
      }),
    ];
  }

  /** Deletes the kept notifications older than the retention now; answers how many. */
  prune(): Promise<number> {
    return this.pruners[0].prune();
  }
}
