import type { OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import type { DataSource } from 'typeorm';
import type { Logger, Metrics } from '@upm/shared-observability';

export interface TablePrunerOptions {
  /** the table, and the timestamp column that dates its rows (both fixed names from code, never input) */
  table: string;
  column: string;
  /** a further condition a row must meet to be deleted (SQL written in code, never input), e.g. that it is settled */
  where?: string;
  /** rows older than this are deleted */
  retentionHours: number;
  /** the counter of deleted rows, e.g. `kafka_inbox_pruned_total` */
  metric: { name: string; help: string };
  /** how often old rows are deleted (default hourly) */
  intervalMs?: number;
  /** rows per delete statement, so no statement holds many locks or runs long (default 5,000) */
  batchSize?: number;
}

const IDENTIFIER = /^[a-z_][a-z0-9_]*$/;

/**
 * Deletes a table's rows once they are older than a retention: for tables that only have to remember the
 * recent past (an inbox, a stream's replay window) and would otherwise grow without bound. Deletes run in
 * small batches that skip rows another replica's pruner holds.
 */
export class TablePruner {
  private first?: NodeJS.Timeout;
  private timer?: NodeJS.Timeout;
  private running?: Promise<unknown>;
  private readonly pruned;

  constructor(
    private readonly dataSource: DataSource,
    private readonly logger: Logger,
    metrics: Metrics,
    private readonly options: TablePrunerOptions,
  ) {
    for (const name of [options.table, options.column]) {
      if (!IDENTIFIER.test(name)) throw new Error(`not a plain SQL identifier: ${name}`);
    }
    this.pruned = metrics.counter(options.metric.name, options.metric.help);
  }

  /** Prunes a minute after start (so short-lived replicas prune too), then every interval. */
  start(): void {
    const interval = this.options.intervalMs ?? 3_600_000;
    const tick = () => {
      this.running ??= this.prune()
        .catch((error: unknown) => this.logger.warn({ err: error, table: this.options.table }, 'pruning failed; trying again at the next interval'))
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
    const { table, column, retentionHours, where } = this.options;
    const batchSize = this.options.batchSize ?? 5000;
    let total = 0;
    for (;;) {
      const [, deleted]: [unknown, number] = await this.dataSource.query(
        `DELETE FROM ${table} WHERE ctid = ANY(ARRAY(
           SELECT ctid FROM ${table} WHERE ${column} < now() - make_interval(hours => $1)${where ? ` AND (${where})` : ''} LIMIT $2 FOR UPDATE SKIP LOCKED))`,
        [retentionHours, batchSize],
      );
      total += deleted;
      this.pruned.inc(deleted);
      if (deleted < batchSize) break;
    }
    if (total) this.logger.info({ table, rows: total, retentionHours }, 'old rows pruned');
    return total;
  }
}

/**
 * A service that keeps its tables to their retention while the application runs: its pruners start once the
 * application is up and stop (a pass under way finishing) as it shuts down.
 */
export abstract class TableRetention implements OnApplicationBootstrap, OnModuleDestroy {
  protected abstract readonly pruners: readonly TablePruner[];

  onApplicationBootstrap(): void {
    for (const pruner of this.pruners) pruner.start();
  }

  async onModuleDestroy(): Promise<void> {
    await Promise.all(this.pruners.map((pruner) => pruner.stop()));
  }
}
