import type { DataSource } from 'typeorm';
import { TablePruner } from '@upm/shared-database';
import type { Logger, Metrics } from '@upm/shared-observability';

/**
 * Forgets inbox rows older than the retention. The inbox only has to recognise a message Kafka can still
 * deliver, so rows older than the topics' retention guard nothing and would grow the table without bound.
 */
export function inboxPruner(dataSource: DataSource, logger: Logger, metrics: Metrics, options: { retentionHours: number; batchSize?: number }): TablePruner {
  return new TablePruner(dataSource, logger, metrics, {
    table: 'inbox',
    column: 'processed_at',
    metric: { name: 'kafka_inbox_pruned_total', help: 'Inbox rows deleted after the retention' },
    ...options,
  });
}
