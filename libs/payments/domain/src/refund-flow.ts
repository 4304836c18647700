import type { RefundAnswer } from './answers';
import { answerDeadlineMs } from './config';
import { cancelled, chain, iso, needsReview, timer } from './decision-steps';
import type { ActiveState, Failure, RefundEntry, SagaContext, SagaEvent } from './model';
import { definedOnly } from './util';

/**
 * Refunds, serialized per payment: merchant refunds of a SUCCEEDED payment, and the CANCEL_FALLBACK
 * refund that reverses a paid payment Alipay would not cancel.
 */

/**
 * Sends the oldest queued refund unless one is in flight, or drops it unsent once Alipay gave the whole payment back;
 * clears the refund timer when nothing is left.
 */
export function startNextRefund(state: ActiveState, ctx: SagaContext): SagaEvent[] {
  if (state.refunds.some((r) => r.status === 'IN_FLIGHT')) return [];
  const next = state.refunds.find((r) => r.status === 'QUEUED');
  const stopped = refundsStopped(state);
  if (next && stopped) return chain(state, [notSent(next, stopped, ctx)], (s) => startNextRefund(s, ctx));
  if (next) return sendRefund(state, next, ctx);
  return state.timer?.name === 'REFUND_INQUIRY' ? [{ type: 'TimerCleared' }] : [];
}

/**
 * Alipay gave the shopper the whole payment back after refunds were asked for: a cancel went through (CANCELLED), or
 * the reports show the charge cancelled after refunds were taken from it (in review, REVERSED_AFTER_REFUND). A refund
 * that has not reached Alipay could then only pay the shopper back again, so it is never sent.
 */
function moneyReturned(state: ActiveState): boolean {
  return state.status === 'CANCELLED' || (state.status === 'NEEDS_REVIEW' && state.review.kind === 'REVERSED_AFTER_REFUND');
}

/**
 * Why a refund that has not reached Alipay is never sent any more, if it is not: Alipay gave the whole payment back
 * (moneyReturned), or it refused a refund of it because the payment itself is closed (CLOSED_AT_ALIPAY), which it
 * would answer again and which only a person can square with the status the platform holds.
 */
function refundsStopped(state: ActiveState): Failure | undefined {
  if (moneyReturned(state)) {
    return { code: 'PAYMENT_CANCELLED', message: 'Alipay gave the whole payment back to the shopper; this refund never reached Alipay and is not sent' };
  }
  if (state.status === 'NEEDS_REVIEW' && state.review.kind === 'CLOSED_AT_ALIPAY') {
    return { code: 'PAYMENT_CLOSED', message: 'Alipay refused a refund of this payment because the payment is closed; this refund never reached Alipay and is not sent' };
  }
  return undefined;
}

function notSent(refund: RefundEntry, failure: Failure, ctx: SagaContext): SagaEvent {
  return { type: 'RefundFailed', refundId: refund.refundId, failure, at: iso(ctx.now) };
}

function sendRefund(state: ActiveState, refund: RefundEntry, ctx: SagaContext): SagaEvent[] {
  const attempt = state.attempts.refund + 1;
  const { paymentId, paymentRequestId } = state.payment;
  // Only entries whose payment has Alipay's paymentId are ever queued (requestRefund, startReversalRefund).
  const alipayPaymentId = state.alipay.paymentId ?? '';
  return [
    {
      type: 'AlipayCommandSent',
      command: {
        type: 'Refund',
        data: {
          paymentId,
          paymentRequestId,
          attempt,
          refundId: refund.refundId,
          refundRequestId: refund.refundRequestId,
          alipayPaymentId,
          amount: refund.amount,
          ...(refund.reason !== undefined ? { reason: refund.reason } : {}),
        },
      },
    },
    timer('REFUND_INQUIRY', attempt + 1, answerDeadlineMs(ctx.config), ctx),
  ];
}

function sendRefundInquiry(state: ActiveState, refund: RefundEntry, ctx: SagaContext): SagaEvent[] {
  const attempt = state.attempts.refund + 1;
  const { paymentId, paymentRequestId } = state.payment;
  const { refundId, refundRequestId } = refund;
  return [
    { type: 'AlipayCommandSent', command: { type: 'InquireRefund', data: { paymentId, paymentRequestId, attempt, refundId, refundRequestId } } },
    timer('REFUND_INQUIRY', attempt + 1, answerDeadlineMs(ctx.config), ctx),
  ];
}

export function onRefundAnswer(state: ActiveState, answer: RefundAnswer, ctx: SagaContext): SagaEvent[] {
  const refund =
    state.refunds.find((r) => r.refundId === answer.refundKey) ?? state.refunds.find((r) => r.refundRequestId === answer.refundKey);
  if (!refund) return [];
  switch (refund.status) {
    case 'QUEUED': // nothing was sent for it yet, so this cannot be its answer
    case 'SUCCEEDED': // duplicates: Alipay's refund outcome is final
    case 'FAILED':
      return [];
    case 'IN_FLIGHT':
    case 'UNKNOWN':
      break;
  }
  const { verdict } = answer;
  const at = iso(ctx.now);
  switch (verdict.kind) {
    // A final answer settles the refund even when it comes late or after the saga gave up on it.
    case 'DONE': {
      const facts = definedOnly({ alipayRefundId: verdict.alipayRefundId, refundTime: verdict.refundTime });
      return chain(state, [{ type: 'RefundSucceeded', refundId: refund.refundId, ...facts, at }], (s) => afterRefund(s, refund, 'SUCCEEDED', ctx));
    }
    case 'FAILED': {
      const failed: SagaEvent = { type: 'RefundFailed', refundId: refund.refundId, failure: verdict.failure, at };
      return chain(state, [failed], (s) => (verdict.paymentClosed ? closedAtAlipay(s, refund, verdict.failure, ctx) : afterRefund(s, refund, 'FAILED', ctx)));
    }
    case 'NOT_FOUND':
    case 'PENDING':
      break;
  }
  if (refund.status !== 'IN_FLIGHT' || answer.attempt !== refund.attempt) return []; // stale or given up
  if (verdict.kind === 'NOT_FOUND') {
    // Never reached Alipay: same ids, safe to re-send — unless refunds of the payment stopped meanwhile.
    const stopped = refundsStopped(state);
    return stopped ? chain(state, [notSent(refund, stopped, ctx)], (s) => afterRefund(s, refund, 'FAILED', ctx)) : sendRefund(state, refund, ctx);
  }
  const delay = ctx.config.refundInquiryDelaysMs[refund.inquiries];
  return delay !== undefined ? [timer('REFUND_INQUIRY', state.attempts.refund + 1, delay, ctx)] : giveUpRefund(state, refund, ctx);
}

/**
 * A refund is final: a merchant refund lets the next one go; the reversal refund ends the payment, unless a
 * cancel ended it first (a cancel answered S late), when a reversal refund that went through too paid twice.
 */
function afterRefund(state: ActiveState, refund: RefundEntry, outcome: 'SUCCEEDED' | 'FAILED', ctx: SagaContext): SagaEvent[] {
  if (refund.origin === 'MERCHANT') return startNextRefund(state, ctx);
  if (state.status === 'CANCELLED') {
    return outcome === 'SUCCEEDED'
      ? [
          needsReview(
            'REVERSAL_REFUND',
            `payment ${state.payment.paymentRequestId} was cancelled and its automatic full refund ${refund.refundRequestId} went through too: the shopper was paid back twice; recover one of them`,
            ctx,
          ),
        ]
      : startNextRefund(state, ctx);
  }
  const reversing = state.status === 'REFUNDING_REVERSAL' || (state.status === 'NEEDS_REVIEW' && state.review.kind === 'REVERSAL_REFUND');
  if (!reversing) return [];
  if (outcome === 'SUCCEEDED') return [cancelled(false, ctx)];
  if (state.status !== 'REFUNDING_REVERSAL') return []; // already with an operator
  const failure = state.refunds.find((r) => r.refundId === refund.refundId)?.failure;
  return [
    needsReview(
      'REVERSAL_REFUND',
      `payment ${state.payment.paymentRequestId} was paid but not cancellable and the automatic full refund ${refund.refundRequestId} failed (${failure?.code ?? 'unknown'}): refund the shopper manually`,
      ctx,
    ),
  ];
}

/**
 * Alipay refused a refund because the payment itself is closed (never paid, or cancelled: its money went back) while
 * the saga holds it paid — SUCCEEDED, or paid but not cancellable and being reversed by this refund. The status would
 * contradict Alipay's, and refunding the shopper by hand could pay them back twice: NEEDS_REVIEW (CLOSED_AT_ALIPAY),
 * and nothing more is sent (a queued refund is dropped, see refundsStopped). A payment a person has already for
 * another reason moves to CLOSED_AT_ALIPAY too: what that review asked for (give back what was charged, refund the
 * shopper by hand) could now pay the shopper back twice, and the kind is what stops the refunds and what the runbook
 * goes by; its reason keeps the earlier one. Anywhere else the refusal is what the saga knows already (CANCELLED, or
 * in review as REVERSED_AFTER_REFUND or CLOSED_AT_ALIPAY, which send nothing more either): a plain failed refund.
 */
function closedAtAlipay(state: ActiveState, refund: RefundEntry, failure: Failure, ctx: SagaContext): SagaEvent[] {
  switch (state.status) {
    case 'SUCCEEDED':
    case 'REFUNDING_REVERSAL':
      return stopRefunds(state, closedReason(state, refund, failure, 'SUCCEEDED'), ctx);
    case 'NEEDS_REVIEW': {
      const { kind, reason } = state.review;
      if (kind === 'REVERSED_AFTER_REFUND' || kind === 'CLOSED_AT_ALIPAY') return afterRefund(state, refund, 'FAILED', ctx);
      // Alipay's answer and what to check first: a reason cut at 512 characters loses only the end of the earlier one.
      return stopRefunds(state, `${closedReason(state, refund, failure, `in review (${kind})`)}; before, the review said: ${reason}`, ctx);
    }
    case 'CREATED':
    case 'PAY_SENT':
    case 'INQUIRING':
    case 'CANCELLING':
    case 'REVERSAL_CHECK':
    case 'FAILED':
    case 'CANCELLED':
      return afterRefund(state, refund, 'FAILED', ctx);
  }
}

function stopRefunds(state: ActiveState, reason: string, ctx: SagaContext): SagaEvent[] {
  return chain(state, [needsReview('CLOSED_AT_ALIPAY', reason, ctx)], (s) => startNextRefund(s, ctx));
}

/** What Alipay answered and what to check, for the refund it refused; `held`: how the platform holds the payment. */
function closedReason(state: ActiveState, refund: RefundEntry, failure: Failure, held: string): string {
  const { paymentRequestId } = state.payment;
  const check = 'check the payment in the Antom Dashboard (or with inquiryPayment) before refunding the shopper anything';
  return refund.origin === 'CANCEL_FALLBACK'
    ? `payment ${paymentRequestId} was paid but not cancellable, and Alipay refused its automatic full refund ${refund.refundRequestId} because the payment is closed (${failure.code}): a cancel may have given the money back after all; ${check}`
    : `Alipay refused refund ${refund.refundRequestId} because payment ${paymentRequestId} is closed (${failure.code}), though the platform holds it ${held}: ${check}`;
}

/** Still unknown after every inquiry: keep its amount reserved, tell an operator, let the queue move on. */
function giveUpRefund(state: ActiveState, refund: RefundEntry, ctx: SagaContext): SagaEvent[] {
  const asked = `refund ${refund.refundRequestId} of ${refund.amount.value} ${refund.amount.currency} minor units is still unknown after ${refund.inquiries} inquiries: check it with inquiryRefund or the next report file`;
  const gaveUp: SagaEvent = { type: 'RefundGaveUp', refundId: refund.refundId };
  if (refund.origin === 'MERCHANT') {
    return chain(state, [gaveUp, { type: 'ReviewFlagged', refundId: refund.refundId, reason: asked, at: iso(ctx.now) }], (s) => startNextRefund(s, ctx));
  }
  if (state.status === 'CANCELLED') {
    // A cancel returned the money already: if this refund went through as well, the shopper was paid back
    // twice. The payment stays CANCELLED (a late answer still settles the refund) but a person must know.
    const twice = `payment ${state.payment.paymentRequestId} was cancelled, and the automatic ${asked}: if it went through, the shopper was paid back twice`;
    return chain(state, [gaveUp, { type: 'ReviewFlagged', refundId: refund.refundId, reason: twice.slice(0, 512), at: iso(ctx.now) }], (s) => startNextRefund(s, ctx));
  }
  return state.status === 'REFUNDING_REVERSAL'
    ? [gaveUp, needsReview('REVERSAL_REFUND', `payment ${state.payment.paymentRequestId} was paid but not cancellable; the automatic ${asked}`, ctx)]
    : [gaveUp];
}


export function refundInquiryDue(state: ActiveState, ctx: SagaContext): SagaEvent[] {
  const refund = state.refunds.find((r) => r.status === 'IN_FLIGHT');
  if (!refund) return [{ type: 'TimerCleared' }];
  return refund.inquiries < ctx.config.refundInquiryDelaysMs.length ? sendRefundInquiry(state, refund, ctx) : giveUpRefund(state, refund, ctx);
}

