import { Inject, Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { TablePruner, TableRetention } from '@upm/shared-database';
import { Logger, Metrics } from '@upm/shared-observability';
import { LOGGER } from '@upm/shared-runtime';
import { GATEWAY_OPTIONS, GatewayOptions } from '../gateway.options';

/**
 * Keeps the terminals' event streams to their replay window: events older than the retention are deleted,
 * so the table grows with the traffic of the window, not with the platform's age. A trigger notes each
 * terminal's newest deleted event (`terminal_event_horizons`): a POS that resumes from before it is answered
 * 410 EVENTS_PRUNED, reconnects without Last-Event-ID and reads its payments' outcomes by GET.
 */
@Injectable()
export class TerminalEventsRetention extends TableRetention {
  protected readonly pruners: [TablePruner];

  constructor(
    @Inject(DataSource) dataSource: DataSource,
    @Inject(LOGGER) logger: Logger,
    @Inject(Metrics) metrics: Metrics,
    @Inject(GATEWAY_OPTIONS) options: GatewayOptions,
  ) {
    super();
    this.pruners = [
      new TablePruner(dataSource, logger, metrics, {
        table: 'terminal_events',
        column: 'created_at',
        retentionHours: options.terminalEventsRetentionHours ?? 72,
        metric: { name: 'upm_gateway_terminal_events_pruned_total', help: 'POS event stream rows deleted after the retention' },
      }),
    ];
  }

  /** Deletes the events older than the retention now; answers how many. */
  prune(): Promise<number> {
    return this.pruners[0].prune();
  }
}
