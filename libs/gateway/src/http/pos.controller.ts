import { Body, Controller, Get, HttpCode, Param, Post, Query, Req, Res, UseGuards, Inject } from '@nestjs/common';
import type { Request, Response } from 'express';
import type { PaymentViewV1, RefundViewV1 } from '@upm/contracts';
import { GATEWAY_OPTIONS, GatewayOptions } from '../gateway.options';
import { Admission } from '../payments/admission';
import { isFinal, PaymentsService, refundRefusal } from '../payments/payments.service';
import type { TerminalContext } from '../registry/registry.service';
import { JsonBodyGuard } from '@upm/shared-runtime';
import { Terminal, TerminalGuard, TerminalRateLimitGuard } from './auth.guards';
import { cancelBody, createPaymentBody, createRefundBody, findByOrderQuery, getPaymentQuery, getRefundQuery, parse } from './schemas';

/**
 * The POS API (CONTRACTS.md §1). The request that creates a payment is answered 201 when it is final by the end of
 * the wait, 202 while it is still PROCESSING; a replay of that request (the same merchantOrderId and body) is
 * answered 200 with the same payment, final or not: the body's status says whether the POS keeps polling.
 */
@Controller('v1/payments')
@UseGuards(TerminalGuard, TerminalRateLimitGuard, JsonBodyGuard)
export class PosController {
  constructor(
    private readonly payments: PaymentsService,
    private readonly admission: Admission,
    @Inject(GATEWAY_OPTIONS) private readonly options: GatewayOptions,
  ) {}

  @Post()
  async create(@Terminal() terminal: TerminalContext, @Body() raw: unknown, @Req() req: Request, @Res() res: Response): Promise<void> {
    const body = parse(createPaymentBody, raw);
    const ticket = this.admission.ticketOf(req);
    const { payment, created } = await this.payments.create(terminal, body);
    if (!created) ticket.release(); // the order exists: nothing new for the orchestrator
    const waitSeconds = body.waitSeconds ?? this.options.defaultWaitSeconds;
    const view = created ? await this.payments.waitForNew(terminal, payment.paymentId, waitSeconds, ticket) : await this.payments.waitForChange(terminal, payment.paymentId, waitSeconds);
    res.status(!created ? 200 : isFinal(view.status) ? 201 : 202).json(view);
  }

  @Get()
  async findByOrder(@Terminal() terminal: TerminalContext, @Query() rawQuery: unknown): Promise<PaymentViewV1> {
    return this.payments.findByOrder(terminal, parse(findByOrderQuery, rawQuery).merchantOrderId);
  }

  @Get(':paymentId')
  async get(@Terminal() terminal: TerminalContext, @Param('paymentId') paymentId: string, @Query() rawQuery: unknown): Promise<PaymentViewV1> {
    const query = parse(getPaymentQuery, rawQuery);
    if (!query.waitSeconds) return this.payments.get(terminal, paymentId);
    return this.payments.waitForChange(terminal, paymentId, query.waitSeconds, query.ifStatus);
  }

  @Post(':paymentId/cancel')
  async cancel(@Terminal() terminal: TerminalContext, @Param('paymentId') paymentId: string, @Body() raw: unknown, @Res() res: Response): Promise<void> {
    const body = parse(cancelBody, raw);
    const { commandId } = await this.payments.cancel(terminal, paymentId);
    const view = await this.payments.waitForCancel(terminal, paymentId, body.waitSeconds ?? this.options.defaultWaitSeconds, commandId);
    res.status(view.status === 'PROCESSING' || view.status === 'SUCCEEDED' ? 202 : 200).json(view);
  }

  @Post(':paymentId/refunds')
  async refund(@Terminal() terminal: TerminalContext, @Param('paymentId') paymentId: string, @Body() raw: unknown, @Res() res: Response): Promise<void> {
    const body = parse(createRefundBody, raw);
    const { refund, created } = await this.payments.refund(terminal, paymentId, body);
    const view = await this.payments.waitForRefund(terminal, paymentId, refund.refundId, body.waitSeconds ?? this.options.defaultWaitSeconds);
    const refusal = refundRefusal(view);
    if (refusal) throw refusal;
    res.status(view.status === 'PROCESSING' ? 202 : created ? 201 : 200).json(view);
  }

  /** One refund; with `?waitSeconds=N`, long-polls until it is no longer PROCESSING. */
  @Get(':paymentId/refunds/:refundId')
  @HttpCode(200)
  async getRefund(@Terminal() terminal: TerminalContext, @Param('paymentId') paymentId: string, @Param('refundId') refundId: string, @Query() rawQuery: unknown): Promise<RefundViewV1> {
    const query = parse(getRefundQuery, rawQuery);
    if (!query.waitSeconds) return this.payments.getRefund(terminal, paymentId, refundId);
    return this.payments.waitForRefund(terminal, paymentId, refundId, query.waitSeconds);
  }
}
