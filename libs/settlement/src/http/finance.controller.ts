import { Body, Controller, Get, Header, HttpCode, Inject, Param, Post, Query, UseGuards } from '@nestjs/common';
import { AdminTokenGuard, parseRequest } from '@upm/shared-runtime';
import { ReportIngestion } from '../reports/report-ingestion';
import { SETTLEMENT_OPTIONS } from '../settlement.options';
import type { SettlementOptions } from '../settlement.options';
import { feeScheduleView } from './fee-schedule';
import { FinanceService } from './finance.service';
import { balancesQuery, batchesQuery, discrepanciesQuery, exportQuery, filesQuery, id, resolveBody, transactionsQuery } from './schemas';

/** The finance API: batches, discrepancies, balances, ledger export, the fee schedule in force, and report ingestion on demand. */
@Controller('v1/settlement')
@UseGuards(AdminTokenGuard)
export class FinanceController {
  constructor(
    private readonly finance: FinanceService,
    private readonly ingestion: ReportIngestion,
    @Inject(SETTLEMENT_OPTIONS) private readonly options: Pick<SettlementOptions, 'feeMinor' | 'feeRateBps' | 'feeMinorByCurrency'>,
  ) {}

  @Get('fee-schedule')
  feeSchedule() {
    return feeScheduleView(this.options);
  }

  @Post('ingest')
  @HttpCode(200)
  async ingest() {
    return { files: await this.ingestion.ingest() };
  }

  @Get('files')
  files(@Query() query: unknown) {
    return this.finance.files(parseRequest(filesQuery, query));
  }

  @Get('batches')
  batches(@Query() query: unknown) {
    return this.finance.batches(parseRequest(batchesQuery, query));
  }

  @Get('batches/:batchId')
  batch(@Param('batchId') batchId: string) {
    return this.finance.batch(parseRequest(id, batchId));
  }

  @Get('discrepancies')
  discrepancies(@Query() query: unknown) {
    return this.finance.discrepancies(parseRequest(discrepanciesQuery, query));
  }

  @Post('discrepancies/:discrepancyId/resolve')
  @HttpCode(200)
  resolve(@Param('discrepancyId') discrepancyId: string, @Body() body: unknown) {
    return this.finance.resolveDiscrepancy(parseRequest(id, discrepancyId), parseRequest(resolveBody, body));
  }

  @Get('balances')
  balances(@Query() query: unknown) {
    const q = parseRequest(balancesQuery, query);
    return this.finance.balances({ ...q, at: q.at ? new Date(q.at) : undefined });
  }

  @Get('payments/:paymentId')
  payment(@Param('paymentId') paymentId: string) {
    return this.finance.payment(parseRequest(id, paymentId));
  }

  @Get('transactions')
  transactions(@Query() query: unknown) {
    return this.finance.transactions(parseRequest(transactionsQuery, query));
  }

  @Get('export.csv')
  @Header('content-type', 'text/csv; charset=utf-8')
  export(@Query() query: unknown) {
    return this.finance.exportCsv(parseRequest(exportQuery, query));
  }
}
