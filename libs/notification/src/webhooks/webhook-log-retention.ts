import { Inject, Injectable, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { TablePruner } from '@upm/shared-database';
import { Logger, Metrics } from '@upm/shared-observability';
import { LOGGER } from '@upm/shared-runtime';
import { NOTIFICATION_OPTIONS, NotificationOptions } from '../notification.options';

/**
 * Keeps the delivery log to a retention, so the notification database grows with the traffic of that window, not
 * with the platform's age (every event of every merchant with an endpoint is a row with its body). A delivery goes
 * once it is settled (delivered, dead-lettered or cancelled) and its last schedule (`give_up_at`, which a
 * re-delivery moves) is older than the retention; its attempts go with it. Pending and held ones stay whatever
 * their age. The streams' counters stay: a later event of a stream must not start its numbers again at 1.
 */
@Injectable()
export class WebhookLogRetention implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly pruners: TablePruner[];

  constructor(
    @Inject(DataSource) dataSource: DataSource,
    @Inject(LOGGER) logger: Logger,
    @Inject(Metrics) metrics: Metrics,
    @Inject(NOTIFICATION_OPTIONS) options: NotificationOptions,
  ) {
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
    ];
  }

  onApplicationBootstrap(): void {
    for (const pruner of this.pruners) pruner.start();
  }

  async onModuleDestroy(): Promise<void> {
    await Promise.all(this.pruners.map((pruner) => pruner.stop()));
  }

  /** Deletes what is past the retention now, deliveries first; answers how many deliveries and attempts. */
  async prune(): Promise<{ deliveries: number; attempts: number }> {
    const [deliveries, attempts] = [await this.pruners[0].prune(), await this.pruners[1].prune()];
    return { deliveries, attempts };
  }
}
