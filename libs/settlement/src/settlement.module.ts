import { DynamicModule, Inject, Injectable, Module, OnApplicationBootstrap, OnModuleDestroy, OnModuleInit } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { TOPICS } from '@upm/contracts';
import { TablePruner } from '@upm/shared-database';
import { KafkaRuntime } from '@upm/shared-kafka';
import { Logger, Metrics } from '@upm/shared-observability';
import { LOGGER, ADMIN_TOKEN, AdminTokenGuard } from '@upm/shared-runtime';
import { FinanceController } from './http/finance.controller';
import { FinanceService } from './http/finance.service';
import { LedgerStore } from './ledger/ledger.store';
import { PaymentEventsHandler, pendingCancelsPruner } from './ledger/payment-events.handler';
import { ReportIngestion } from './reports/report-ingestion';
import { FolderReportSource, ReportSource, SftpReportSource } from './reports/report-sources';
import { SETTLEMENT_OPTIONS, SettlementOptions } from './settlement.options';

/** Looks for new report files every `pollIntervalMs`; any replica may, the ingestion lock keeps them in turn. */
@Injectable()
export class ReportPoller implements OnApplicationBootstrap, OnModuleDestroy {
  private timer?: NodeJS.Timeout;
  private busy?: Promise<void>;
  private readonly runs;

  constructor(
    private readonly ingestion: ReportIngestion,
    @Inject(SETTLEMENT_OPTIONS) private readonly options: SettlementOptions,
    @Inject(LOGGER) private readonly logger: Logger,
    @Inject(Metrics) metrics: Metrics,
  ) {
    this.runs = metrics.counter('settlement_report_polls_total', 'Looks for new report files', ['result']);
  }

  onApplicationBootstrap(): void {
    if (this.options.pollIntervalMs <= 0) return;
    this.timer = setInterval(() => {
      if (this.busy) return;
      this.busy = this.ingestion
        .ingest()
        .then(() => this.runs.inc({ result: 'ok' }))
        .catch((error: unknown) => {
          this.runs.inc({ result: 'failed' });
          this.logger.error({ err: error }, 'report ingestion failed; trying again at the next poll');
        })
        .finally(() => (this.busy = undefined));
    }, this.options.pollIntervalMs);
  }

  async onModuleDestroy(): Promise<void> {
    clearInterval(this.timer);
    await this.busy;
  }
}

/** The ledger kept from payments.v1.events, report ingestion and reconciliation, and the finance API. */
@Module({})
export class SettlementModule implements OnModuleInit, OnApplicationBootstrap, OnModuleDestroy {
  private readonly pruner: TablePruner;

  constructor(
    private readonly kafka: KafkaRuntime,
    private readonly handler: PaymentEventsHandler,
    @Inject(DataSource) dataSource: DataSource,
    @Inject(LOGGER) logger: Logger,
    @Inject(Metrics) metrics: Metrics,
  ) {
    this.pruner = pendingCancelsPruner(dataSource, logger, metrics, kafka.inboxRetentionHours);
  }

  static register(options: SettlementOptions): DynamicModule {
    return {
      module: SettlementModule,
      controllers: [FinanceController],
      providers: [
        { provide: SETTLEMENT_OPTIONS, useValue: options },
        { provide: LedgerStore, useFactory: () => new LedgerStore(options.producer) },
        { provide: PaymentEventsHandler, inject: [LedgerStore], useFactory: (ledger: LedgerStore) => new PaymentEventsHandler(ledger, options) },
        {
          provide: ReportIngestion,
          inject: [DataSource, LedgerStore, LOGGER, Metrics],
          useFactory: (dataSource: DataSource, ledger: LedgerStore, logger: Logger, metrics: Metrics) =>
            new ReportIngestion(dataSource, ledger, reportSources(options, logger), options, options.producer, logger, metrics),
        },
        FinanceService,
        { provide: ADMIN_TOKEN, useValue: options.adminToken },
        AdminTokenGuard,
        ReportPoller,
      ],
      exports: [ReportIngestion],
    };
  }

  onModuleInit(): void {
    this.kafka.consume({
      groupId: 'settlement.ledger',
      topic: TOPICS.paymentEvents.name,
      // a batch's events are applied together, so their payments' states are written with one statement
      handleBatch: (envelopes, manager) => this.handler.applyAll(manager, envelopes),
    });
  }

  onApplicationBootstrap(): void {
    this.pruner.start();
  }

  async onModuleDestroy(): Promise<void> {
    await this.pruner.stop();
  }
}

export function reportSources(options: Pick<SettlementOptions, 'reportDir' | 'sftp'>, logger?: Logger): ReportSource[] {
  const sources: ReportSource[] = [];
  if (options.reportDir) sources.push(new FolderReportSource(options.reportDir));
  if (options.sftp) sources.push(new SftpReportSource(options.sftp, logger));
  return sources;
}
