import { Body, Controller, Get, Header, HttpCode, Param, Post, Query, UseGuards } from '@nestjs/common';
import { z } from 'zod';
import { AdminTokenGuard, ApiError } from '@upm/shared-runtime';
import { ReportIngestion } from '../reports/report-ingestion';
import { FinanceService } from './finance.service';

const day = z.string().regex(/^\d{4}-\d{2}-\d{2}$/, 'a day as YYYY-MM-DD').refine((d) => !Number.isNaN(Date.parse(d)), 'a calendar day');
const id = z.string().regex(/^[A-Za-z0-9_-]{1,64}$/);
const balancesQuery = z.object({
  merchantId: id.optional(),
  currency: z.string().regex(/^[A-Z]{3}$/).optional(),
  at: z.iso.datetime({ offset: true }).optional(),
  status: z.enum(['POSTED', 'ALL']).default('ALL'),
});
const batchesQuery = z.object({ currency: z.string().regex(/^[A-Z]{3}$/).optional(), status: z.enum(['RECONCILED', 'DISCREPANCIES']).optional() });
const discrepanciesQuery = z.object({
  status: z.enum(['OPEN', 'RESOLVED']).optional(),
  type: z.enum(['MISMATCHED', 'MISSING_IN_REPORT', 'MISSING_IN_LEDGER']).optional(),
  paymentId: id.optional(),
});
const resolveBody = z.object({ resolvedBy: z.string().min(1).max(128), note: z.string().min(1).max(2000) }).strict();
const transactionsQuery = z.object({ paymentId: id.optional(), day: day.optional(), batchId: id.optional() });
const exportQuery = z.object({ day: day.optional(), batchId: id.optional() });

function parse<T extends z.ZodType>(schema: T, input: unknown): z.output<T> {
  const result = schema.safeParse(input ?? {});
  if (result.success) return result.data;
  throw new ApiError(400, 'VALIDATION_FAILED', 'the request is not valid', result.error.issues.map((i) => ({ field: i.path.join('.') || '(body)', message: i.message })));
}

/** The finance API: batches, discrepancies, balances, ledger export, and report ingestion on demand. */
@Controller('v1/settlement')
@UseGuards(AdminTokenGuard)
export class FinanceController {
  constructor(
    private readonly finance: FinanceService,
    private readonly ingestion: ReportIngestion,
  ) {}

  @Post('ingest')
  @HttpCode(200)
  async ingest() {
    return { files: await this.ingestion.ingest() };
  }

  @Get('files')
  files() {
    return this.finance.files();
  }

  @Get('batches')
  batches(@Query() query: unknown) {
    return this.finance.batches(parse(batchesQuery, query));
  }

  @Get('batches/:batchId')
  batch(@Param('batchId') batchId: string) {
    return this.finance.batch(parse(id, batchId));
  }

  @Get('discrepancies')
  discrepancies(@Query() query: unknown) {
    return this.finance.discrepancies(parse(discrepanciesQuery, query));
  }

  @Post('discrepancies/:discrepancyId/resolve')
  @HttpCode(200)
  resolve(@Param('discrepancyId') discrepancyId: string, @Body() body: unknown) {
    const { resolvedBy, note } = parse(resolveBody, body);
    return this.finance.resolveDiscrepancy(parse(id, discrepancyId), resolvedBy, note);
  }

  @Get('balances')
  balances(@Query() query: unknown) {
    const q = parse(balancesQuery, query);
    return this.finance.balances({ ...q, at: q.at ? new Date(q.at) : undefined });
  }

  @Get('payments/:paymentId')
  payment(@Param('paymentId') paymentId: string) {
    return this.finance.payment(parse(id, paymentId));
  }

  @Get('transactions')
  transactions(@Query() query: unknown) {
    return this.finance.transactions(parse(transactionsQuery, query));
  }

  @Get('export.csv')
  @Header('content-type', 'text/csv; charset=utf-8')
  export(@Query() query: unknown) {
    return this.finance.exportCsv(parse(exportQuery, query));
  }
}
