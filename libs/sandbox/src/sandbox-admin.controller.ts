import { Body, Controller, Get, Header, HttpCode, Inject, Param, Post, Query } from '@nestjs/common';
import { z } from 'zod';
import { formatAmsTime, KeyFormatError, publicKeyBase64 } from '@upm/alipay';
import { ApiError, parseRequest } from '@upm/shared-runtime';
import { isValidDay } from './business-time';
import { isHttpUrl } from './request-validation';
import { PaymentView, ReportDayNotClosedError, ReportListing, Sandbox } from './sandbox';

const clientSchema = z.object({
  clientId: z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/),
  publicKey: z.string().min(1),
  keyVersion: z.string().regex(/^[0-9]{1,8}$/).optional(),
  customerId: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/).optional(),
  notifyUrl: z.string().max(2048).refine(isHttpUrl, 'an http(s) URL').optional(),
});
const reportSchema = z.object({ date: z.string().refine(isValidDay, 'a calendar date YYYY-MM-DD') });
const clockSchema = z.union([
  z.object({ advanceMs: z.number().int() }),
  z.object({ now: z.string().refine((v) => !Number.isNaN(Date.parse(v)), 'an ISO-8601 instant') }),
  z.object({ reset: z.literal(true) }),
]);

/** The sandbox's own endpoints (CONTRACTS.md §2): keys, client registration, what it holds, report files, its clock. */
@Controller('sandbox')
export class SandboxAdminController {
  constructor(@Inject(Sandbox) private readonly sandbox: Sandbox) {}

  @Get('alipay-public-key')
  @Header('content-type', 'text/plain; charset=utf-8')
  publicKey(@Query('format') format?: string): string {
    const pem = this.sandbox.publicKeyPem();
    return format === 'base64' ? publicKeyBase64(pem) : pem;
  }

  @Post('clients')
  registerClient(@Body() body: unknown): { clientId: string; customerId: string; keyVersion: string; notifyUrl?: string } {
    const registration = parseRequest(clientSchema, body);
    try {
      const client = this.sandbox.registerClient(registration);
      return { clientId: client.clientId, customerId: client.customerId, keyVersion: client.latestKeyVersion, ...(client.notifyUrl ? { notifyUrl: client.notifyUrl } : {}) };
    } catch (error) {
      if (error instanceof KeyFormatError) throw new ApiError(400, 'VALIDATION_FAILED', error.message);
      throw error;
    }
  }

  @Get('payments/:paymentRequestId')
  payment(@Param('paymentRequestId') paymentRequestId: string, @Query('clientId') clientId?: string): PaymentView {
    const view = this.sandbox.paymentView(paymentRequestId, clientId);
    if (!view) throw new ApiError(404, 'NOT_FOUND', 'the sandbox has received nothing for this paymentRequestId');
    return view;
  }

  @Post('reports')
  @HttpCode(200)
  async reports(@Body() body: unknown): Promise<ReportListing> {
    const { date } = parseRequest(reportSchema, body);
    try {
      return await this.sandbox.writeReports(date);
    } catch (error) {
      if (error instanceof ReportDayNotClosedError) {
        const retryAfterSeconds = Math.ceil((error.closesAt.getTime() - error.now.getTime()) / 1000);
        throw new ApiError(409, 'SANDBOX.REPORT_DAY_NOT_CLOSED', error.message, undefined, retryAfterSeconds);
      }
      throw error;
    }
  }

  @Get('clock')
  clock(): { now: string; offsetMs: number } {
    return this.clockView();
  }

  @Post('clock')
  @HttpCode(200)
  moveClock(@Body() body: unknown): { now: string; offsetMs: number } {
    const move = parseRequest(clockSchema, body);
    if ('advanceMs' in move) this.sandbox.clock.advance(move.advanceMs);
    else if ('now' in move) this.sandbox.clock.set(new Date(move.now));
    else this.sandbox.clock.reset();
    return this.clockView();
  }

  private clockView(): { now: string; offsetMs: number } {
    return { now: formatAmsTime(this.sandbox.clock.now()), offsetMs: this.sandbox.clock.offset };
  }
}
