import type { CancelPaymentV1, RequestPaymentV1, RequestRefundV1 } from '@upm/contracts';
import { cancelVerdict, inquireRefundAnswer, inquiryAnswer, notifiedAnswer, payAnswer, refundAnswer, refundNotifiedAnswer } from './answers';
import { chain, iso, reject, sameMoney, timer } from './decision-steps';
import { paymentRequestIdOf } from './ids';
import type { ActiveState, RefundEntry, SagaContext, SagaEvent, SagaInput, SagaState, TimerFired } from './model';
import { cancelDue, inquiryDue, onCancelResult, onPaymentAnswer, startCancel } from './payment-flow';
import { onRefundAnswer, refundInquiryDue, startNextRefund } from './refund-flow';
import { onReviewResolved } from './review-flow';
import { standingInWords, sumOf } from './view';

/**
 * The saga's decisions: given the stored state and one input, the facts to record. Pure — time comes
 * from `ctx.now`, ids are the inputs' or derived (ids.ts). `handle()` turns the facts into the new
 * state and the outputs to write.
 */
export function decide(input: SagaInput, state: SagaState, ctx: SagaContext): SagaEvent[] {
  switch (input.type) {
    case 'RequestPayment':
      return requestPayment(input.data, state, ctx);
    case 'CancelPayment':
      return cancelPayment(input.data, state, ctx);
    case 'RequestRefund':
      return requestRefund(input.data, state, ctx);
    case 'PayResult':
      return ours(state, input.data.paymentRequestId) ? onPaymentAnswer(state, payAnswer(input.data), ctx) : [];
    case 'InquiryResult':
      return ours(state, input.data.paymentRequestId) ? onPaymentAnswer(state, inquiryAnswer(input.data), ctx) : [];
    case 'PaymentNotified':
      return ours(state, input.data.paymentRequestId) ? onPaymentAnswer(state, notifiedAnswer(input.data), ctx) : [];
    case 'CancelResult':
      return ours(state, input.data.paymentRequestId) ? onCancelResult(state, input.data.attempt, cancelVerdict(input.data), ctx) : [];
    case 'RefundResult':
      return state.status === 'NEW' ? [] : onRefundAnswer(state, refundAnswer(input.data), ctx);
    case 'InquireRefundResult':
      return state.status === 'NEW' ? [] : onRefundAnswer(state, inquireRefundAnswer(input.data), ctx);
    case 'RefundNotified':
      return state.status === 'NEW' ? [] : onRefundAnswer(state, refundNotifiedAnswer(input.data), ctx);
    case 'TimerFired':
      return onTimer(state, input.data, ctx);
    case 'PaymentReviewResolved':
      return state.status === 'NEW' ? [] : onReviewResolved(state, input.data, ctx);
  }
}

/** An answer about another paymentRequestId (or for a payment we never created) is not ours to act on. */
function ours(state: SagaState, paymentRequestId: string): state is ActiveState {
  return state.status !== 'NEW' && state.payment.paymentRequestId === paymentRequestId;
}

// ─── POS commands ───────────────────────────────────────────────────────────────────────────────────

function requestPayment(command: RequestPaymentV1, state: SagaState, ctx: SagaContext): SagaEvent[] {
  if (state.status !== 'NEW') {
    // Redelivered or re-sent by the gateway: the same payment is a no-op, another one under this id a conflict.
    const same = state.payment.merchantOrderId === command.merchantOrderId && sameMoney(state.payment.amount, command.amount);
    return same ? [] : [reject('IDEMPOTENCY_CONFLICT', `payment ${command.paymentId} already exists with another order or amount`)];
  }
  const paymentRequestId = paymentRequestIdOf(command.paymentId);
  const { merchant } = command;
  return [
    {
      type: 'PaymentCreated',
      at: iso(ctx.now),
      payment: {
        paymentId: command.paymentId,
        paymentRequestId,
        merchantOrderId: command.merchantOrderId,
        merchantId: merchant.merchantId,
        storeId: merchant.storeId,
        terminalId: merchant.terminalId,
        amount: command.amount,
        ...(command.description !== undefined ? { description: command.description } : {}),
        createdAt: command.requestedAt,
      },
    },
    {
      type: 'AlipayCommandSent',
      command: {
        type: 'Pay',
        data: {
          paymentId: command.paymentId,
          paymentRequestId,
          attempt: 0,
          amount: command.amount,
          paymentCode: command.paymentCode,
          merchantOrderId: command.merchantOrderId,
          ...(command.description !== undefined ? { description: command.description } : {}),
          merchant,
          terminalRequestTime: command.requestedAt,
        },
      },
    },
    // "No response and no notification within 5 s after pay → start inquiring" (spec §10.1).
    timer('INQUIRY', 1, ctx.config.firstInquiryDelayMs, ctx),
  ];
}

function cancelPayment(command: CancelPaymentV1, state: SagaState, ctx: SagaContext): SagaEvent[] {
  switch (state.status) {
    case 'NEW':
      return [reject('PAYMENT_NOT_FOUND', `payment ${command.paymentId} does not exist`)];
    case 'CREATED':
    case 'PAY_SENT':
    case 'INQUIRING':
      return startCancel(state, { reason: command.reason, voiding: false }, ctx);
    case 'SUCCEEDED':
      // A void reverses the whole amount; once part of it went back, or may still go back, through a refund only
      // refunds may go on. A refund Alipay refused gave nothing back and blocks nothing.
      return state.refunds.some((r) => r.status !== 'FAILED')
        ? [reject('PAYMENT_NOT_CANCELLABLE', 'the payment has refunds; refund the rest instead of cancelling')]
        : startCancel(state, { reason: command.reason, voiding: true }, ctx);
    case 'CANCELLING':
    case 'REVERSAL_CHECK':
    case 'REFUNDING_REVERSAL':
    // Already being cancelled, or final without money taken (FAILED, CANCELLED), or in an operator's hands
    // (NEEDS_REVIEW): the cashier's intent holds or is owned by someone else; a POS retry must not error.
    case 'FAILED':
    case 'CANCELLED':
    case 'NEEDS_REVIEW':
      return [];
  }
}

function requestRefund(command: RequestRefundV1, state: SagaState, ctx: SagaContext): SagaEvent[] {
  if (state.status === 'NEW') return [reject('PAYMENT_NOT_FOUND', `payment ${command.paymentId} does not exist`)];
  const existing = state.refunds.find((r) => r.origin === 'MERCHANT' && (r.refundRequestId === command.refundRequestId || r.refundId === command.refundId));
  if (existing) {
    const same = existing.refundRequestId === command.refundRequestId && existing.refundId === command.refundId && sameMoney(existing.amount, command.amount);
    return same ? [] : [reject('IDEMPOTENCY_CONFLICT', `refund ${command.refundRequestId} already exists with another id or amount`)];
  }
  if (state.status !== 'SUCCEEDED') return [reject('PAYMENT_NOT_REFUNDABLE', `only a SUCCEEDED payment can be refunded: ${standingInWords(state)}`)];
  const paid = state.payment.amount;
  if (command.amount.currency !== paid.currency) {
    return [reject('REFUND_CURRENCY_MISMATCH', `refund in ${command.amount.currency}, payment in ${paid.currency}`)];
  }
  if (BigInt(command.amount.value) <= 0n) return [reject('REFUND_AMOUNT_INVALID', 'a refund must be more than zero')];
  // Count what is in flight, queued or unresolved too: a refund we lost track of may still have paid out.
  const reserved = sumOf(state.refunds, ['QUEUED', 'IN_FLIGHT', 'UNKNOWN', 'SUCCEEDED']);
  if (reserved + BigInt(command.amount.value) > BigInt(paid.value)) {
    return [reject('REFUND_EXCEEDS_PAID', `refunds would total ${reserved + BigInt(command.amount.value)} of ${paid.value} ${paid.currency} paid`)];
  }
  if (!state.alipay.paymentId) return [reject('PAYMENT_NOT_REFUNDABLE', "Alipay's paymentId for this payment is unknown")];
  const refund: RefundEntry = {
    refundId: command.refundId,
    refundRequestId: command.refundRequestId,
    amount: command.amount,
    ...(command.reason !== undefined ? { reason: command.reason } : {}),
    origin: 'MERCHANT',
    status: 'QUEUED',
    attempt: 0,
    inquiries: 0,
  };
  // Serialized per payment: it waits in the queue while another refund is in flight.
  return chain(state, [{ type: 'RefundRequested', refund, at: iso(ctx.now) }], (s) => startNextRefund(s, ctx));
}

// ─── Timers ─────────────────────────────────────────────────────────────────────────────────────────

function onTimer(state: SagaState, fired: TimerFired, ctx: SagaContext): SagaEvent[] {
  // Only the one pending timer counts: an old firing (replaced, or for a past attempt) is ignored.
  if (state.status === 'NEW' || state.timer?.name !== fired.timer || state.timer.attempt !== fired.attempt) return [];
  switch (fired.timer) {
    case 'INQUIRY':
      return inquiryDue(state, ctx);
    case 'CANCEL_RETRY':
      return state.status === 'CANCELLING' ? cancelDue(state, ctx) : [{ type: 'TimerCleared' }];
    case 'REFUND_INQUIRY':
      return refundInquiryDue(state, ctx);
  }
}

