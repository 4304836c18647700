import type { DataSource } from 'typeorm';
import type { Logger, Metrics } from '@upm/shared-observability';

export interface InboxPrunerOptions {
  /** how long a processed message id is remembered; keep it longer than the topics' retention */
  retentionHours: number;
  /** how often old rows are deleted (default hourly) */
  intervalMs?: number;
  /** rows per delete statement, so no statement holds many locks or runs long (default 5,000) */
  batchSize?: number;
}

/**
 * Forgets inbox rows older than the retention. The inbox only has to recognise a message Kafka can still
 * deliver, so rows older than the topics' retention guard nothing and would grow the table without bound.
 * Deletes run in small batches that skip rows another replica's pruner holds.
 */
export class InboxPruner {
  private first?: NodeJS.Timeout;
  private timer?: NodeJS.Timeout;
  private running?: Promise<unknown>;
  private readonly pruned;

  constructor(
    private readonly dataSource: DataSource,
    private readonly logger: Logger,
    metrics: Metrics,
    private readonly options: InboxPrunerOptions,
  ) {
    this.pruned = metrics.counter('kafka_inbox_pruned_total', 'Inbox rows deleted after the retention');
  }

  /** Prunes a minute after start (so short-lived replicas prune too), then every interval. */
  start(): void {
    const interval = this.options.intervalMs ?? 3_600_000;
    const tick = () => {
      this.running ??= this.prune()
        .catch((error: unknown) => this.logger.warn({ err: error }, 'inbox pruning failed; trying again at the next interval'))
        .finally(() => (this.running = undefined));
    };
    this.first = setTimeout(tick, Math.min(60_000, interval));
    this.timer = setInterval(tick, interval);
    this.first.unref();
    this.timer.unref();
  }

  async stop(): Promise<void> {
    clearTimeout(this.first);
    clearInterval(this.timer);
    this.first = this.timer = undefined;
    await this.running;
  }

  /** Deletes every row older than the retention; answers how many. */
  async prune(): Promise<number> {
    const batchSize = this.options.batchSize ?? 5000;
    let total = 0;
    for (;;) {
      const [, deleted]: [unknown, number] = await this.dataSource.query(
        `DELETE FROM inbox WHERE ctid = ANY(ARRAY(
           SELECT ctid FROM inbox WHERE processed_at < now() - make_interval(hours => $1) LIMIT $2 FOR UPDATE SKIP LOCKED))`,
        [this.options.retentionHours, batchSize],
      );
      total += deleted;
      this.pruned.inc(deleted);
      if (deleted < batchSize) break;
    }
    if (total) this.logger.info({ rows: total, retentionHours: this.options.retentionHours }, 'inbox pruned');
    return total;
  }
}
