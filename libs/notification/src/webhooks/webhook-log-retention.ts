import { Inject, Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { TablePruner, TableRetention } from '@upm/shared-database';
import { Logger, Metrics } from '@upm/shared-observability';
import { LOGGER } from '@upm/shared-runtime';
import { NOTIFICATION_OPTIONS, NotificationOptions } from '../notification.options';

/**
 * Keeps the delivery log to a retention, so the notification database grows with the traffic of that window, not
 * with the platform's age (every event of every merchant with an endpoint is a row with its body). A delivery goes
 * once it is settled (delivered, dead-lettered or cancelled) and its last schedule (`give_up_at`, which a
 * re-delivery moves) is older than the retention; its attempts go with it. Pending and held ones stay whatever
 * their age. A stream's counter stays as long as an event of its payment may still come (a refund within the
 * refund window, a year, and its settlement after): only then could its numbers start again at 1.
 */
/** Longer than Alipay's refund window (365 days) and the settlement that follows a refund. */
export const STREAM_IDLE_DAYS = 400;

@Injectable()
export class WebhookLogRetention extends TableRetention {
  protected readonly pruners: [TablePruner, TablePruner, TablePruner];

  constructor(
    @Inject(DataSource) dataSource: DataSource,
    @Inject(LOGGER) logger: Logger,
    @Inject(Metrics) metrics: Metrics,
    @Inject(NOTIFICATION_OPTIONS) options: NotificationOptions,
  ) {
    super();
    const retentionHours = options.logRetentionDays * 24;
    this.pruners = [
      new TablePruner(dataSource, logger, metrics, {
        table: 'webhook_deliveries',
        column: 'give_up_at',
        where: `status IN ('DELIVERED', 'DEAD_LETTER', 'CANCELLED')`,
        retentionHours,
        metric: { name: 'upm_webhook_deliveries_pruned_total', help: 'Webhook deliveries deleted from the log after the retention' },
      }),
      // an attempt goes once its delivery has gone (and it is past the retention itself): the log never shows a delivery without its attempts
      new TablePruner(dataSource, logger, metrics, {
        table: 'webhook_attempts',
        column: 'started_at',
        where: 'NOT EXISTS (SELECT 1 FROM webhook_deliveries d WHERE d.id = webhook_attempts.delivery_id)',
        retentionHours,
        metric: { name: 'upm_webhook_attempts_pruned_total', help: 'Webhook attempts deleted from the log with their delivery' },
      }),
      new TablePruner(dataSource, logger, metrics, {
        table: 'webhook_streams',
        column: 'used_at',
        retentionHours: Math.max(STREAM_IDLE_DAYS, options.logRetentionDays) * 24,
        metric: { name: 'upm_webhook_streams_pruned_total', help: 'Webhook stream counters deleted after a long idle time' },
      }),
    ];
  }

  /** Deletes what is past the retention now, deliveries first; answers how many deliveries, attempts and stream counters. */
  async prune(): Promise<{ deliveries: number; attempts: number; streams: number }> {
    const [deliveries, attempts, streams] = [await this.pruners[0].prune(), await this.pruners[1].prune(), await this.pruners[2].prune()];
    return { deliveries, attempts, streams };
  }
}
