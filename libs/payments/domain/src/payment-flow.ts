import type { Money } from '@upm/contracts';
import { closedWhilePaid, type CancelVerdict, type PaymentAnswer, type PaymentVerdict } from './answers';
import { answerDeadlineMs, maxCancels } from './config';
import { chain, cancelled, chargedOtherAmount, facts, needsReview, timer, iso } from './decision-steps';
import { reversalRefundIdOf } from './ids';
import type { ActiveState, CancelInfo, CancellingState, Failure, NeedsReviewState, RefundEntry, ReversalCheckState, SagaContext, SagaEvent, SucceededState } from './model';
import { startNextRefund } from './refund-flow';

type NotPaid = Extract<PaymentVerdict, { kind: 'NOT_PAID' }>;

/**
 * The payment's own path: pay → inquire → cancel → (refund the reversal) — and what each answer from
 * Alipay or each due timer does to it.
 */

// ─── Payment answers: PayResult, InquiryResult, PaymentNotified ─────────────────────────────────────

export function onPaymentAnswer(state: ActiveState, given: PaymentAnswer, ctx: SagaContext): SagaEvent[] {
  const answer = closedWhilePaid(given, state.knownPaid || state.status === 'SUCCEEDED');
  switch (state.status) {
    case 'CREATED':
    case 'PAY_SENT':
    case 'INQUIRING':
      return chain(state, facts(state, answer, false), (s) => whileOpen(s, answer, ctx));
    case 'CANCELLING':
      // Cancel wins: a late success is recorded (it decides between cancel and refund later) but flips nothing.
      // A definite failure with no success before it ends the cancel: nothing was charged, nothing is left to undo.
      // After a success, Alipay holding it CANCELLED says what the cancel's S would: it went through, the money went back.
      return chain(state, facts(state, answer, false), (s) => {
        if (s.status !== 'CANCELLING' || answer.verdict.kind !== 'NOT_PAID') return [];
        if (!s.knownPaid) return closeUnpaid(s.cancel, answer.verdict.failure, true, ctx);
        return answer.verdict.cancelled ? [cancelled(false, ctx)] : [];
      });
    case 'REFUNDING_REVERSAL':
      // CANCELLED: a cancel went through after all and gave the money back, as a cancel S now would say; the
      // reversal refund in flight is still asked about (refund-flow's afterRefund flags it if it paid out too).
      return chain(state, facts(state, answer, false), () => (answer.verdict.kind === 'NOT_PAID' && answer.verdict.cancelled ? [cancelled(false, ctx)] : []));
    case 'REVERSAL_CHECK':
      return chain(state, facts(state, answer, false), (s) => (s.status === 'REVERSAL_CHECK' ? whileChecking(s, answer, ctx) : []));
    case 'FAILED':
    case 'CANCELLED':
      // Closed because a cancel found no order: a success now was reversed by nobody.
      return answer.verdict.kind === 'PAID' && state.lateSuccessIsAnomaly
        ? chain(state, facts(state, answer, true), () => [
            needsReview('LATE_SUCCESS', `Alipay reports payment ${state.payment.paymentRequestId} paid after the platform closed it (the cancel found no order): refund the shopper or reconcile with the report file`, ctx),
          ])
        : facts(state, answer, true);
    case 'NEEDS_REVIEW':
      // The cancel's outcome never came: a definite failure with no success before it settles the review as it
      // would have settled the cancel (nothing was charged, or the cancel gave it back). A success is recorded,
      // so that a failure after it stays the contradiction a person must settle.
      if (state.review.kind === 'CANCEL_UNKNOWN' && state.cancel && answer.verdict.kind === 'NOT_PAID' && !state.knownPaid) {
        const { cancel } = state;
        const { failure } = answer.verdict;
        return chain(state, facts(state, answer, false), () => closeUnpaid(cancel, failure, true, ctx));
      }
      // Alipay holds the payment CANCELLED: any money went back, as a late cancel S or a REVERSED report would say, so
      // the person must not refund it as the review asked (nor a lagging report's CHARGED make it refundable).
      if (answer.verdict.kind === 'NOT_PAID' && answer.verdict.cancelled) {
        const how = `Alipay answers payment ${state.payment.paymentRequestId} cancelled`;
        return chain(state, facts(state, answer, false), (s) => (s.status === 'NEEDS_REVIEW' ? cancelledInReview(s, how, ctx) : []));
      }
      return facts(state, answer, false);
    case 'SUCCEEDED': {
      if (answer.verdict.kind === 'NOT_PAID' && state.byReport && newerThanReport(state, answer)) {
        const { verdict } = answer;
        return chain(state, facts(state, answer, true), (s) => (s.status === 'SUCCEEDED' ? notPaidAfterReportSuccess(s, verdict, ctx) : []));
      }
      // Duplicates (a notification delivered three times, a pay answer after the notification): nothing changes,
      // unless Alipay now reports the success for another amount than the sale. Alipay's own S is final: a "not paid"
      // after it is a stale answer.
      const charged = chargedOtherAmount(state, answer);
      if (!charged) return facts(state, answer, true);
      // A refund still being asked for keeps its timer (evolve): its answer settles the refund in review too.
      return [...facts(state, answer, true), amountMismatch(state, charged, ctx)];
    }
  }
}

/**
 * Whether an answer may speak of the payment after the report that made it SUCCEEDED: a notification, or an answer to
 * an inquiry sent since. An inquiry sent before it (a backlog of the polling) is older than the report, which overrules it.
 */
function newerThanReport(state: SucceededState, answer: PaymentAnswer): boolean {
  if (answer.source === 'NOTIFICATION') return true;
  return answer.source === 'INQUIRY' && state.inquiriesBefore !== undefined && answer.attempt !== null && answer.attempt > state.inquiriesBefore;
}

/**
 * The reports made it SUCCEEDED, and now Alipay itself answers it not paid (the inquiry for its paymentId, a late
 * inquiry or notification), which outranks a report that may be a day behind. CANCELLED (or notified closed): a cancel
 * went through and gave the money back, as a later file showing the cancel would say (returnedAfterSuccess). Any other
 * "not paid" contradicts the report the status rests on: a person looks (CLOSED_AT_ALIPAY), and no refund is sent
 * meanwhile.
 */
function notPaidAfterReportSuccess(state: SucceededState, verdict: NotPaid, ctx: SagaContext): SagaEvent[] {
  const { paymentRequestId } = state.payment;
  if (verdict.cancelled) return returnedAfterSuccess(state, `Alipay answers payment ${paymentRequestId} cancelled after the reports had shown it charged`, ctx);
  return [
    needsReview(
      'CLOSED_AT_ALIPAY',
      `Alipay answers payment ${paymentRequestId} not paid (${verdict.failure.code}), though the reports showed it charged and the platform holds it SUCCEEDED: check the payment in the Antom Dashboard (or with inquiryPayment) before refunding the shopper anything`,
      ctx,
    ),
  ];
}

function amountMismatch(state: ActiveState, charged: Money, ctx: SagaContext): SagaEvent {
  const { paymentRequestId, amount } = state.payment;
  return needsReview(
    'AMOUNT_MISMATCH',
    `Alipay reports payment ${paymentRequestId} paid ${charged.value} ${charged.currency} (minor units), not the ${amount.value} ${amount.currency} asked: check the charge with Alipay (Antom dashboard or the next report file), give the shopper back what was charged through Alipay and ring the sale up again`,
    ctx,
  );
}

/** PAY_SENT / INQUIRING: the first final answer from any source decides; a pending one moves the polling on. */
function whileOpen(state: ActiveState, answer: PaymentAnswer, ctx: SagaContext): SagaEvent[] {
  const { verdict } = answer;
  switch (verdict.kind) {
    case 'PAID': {
      const charged = chargedOtherAmount(state, answer);
      return charged ? [amountMismatch(state, charged, ctx)] : [{ type: 'PaymentSucceeded', byReport: false, at: iso(ctx.now) }];
    }
    case 'NOT_PAID':
      return [{ type: 'PaymentFailed', failure: verdict.failure, lateSuccessIsAnomaly: false, at: iso(ctx.now) }];
    case 'PENDING':
    case 'INQUIRY_REJECTED':
      break;
  }
  if (answer.source === 'PAY') {
    // U at once: inquire now. Already inquiring (the 5 s timer was first): the polling goes on as it is.
    return state.status === 'INQUIRING' ? [] : startInquiring(state, ctx);
  }
  if (state.status !== 'INQUIRING' || answer.attempt !== state.attempts.inquiry) return []; // stale: a newer inquiry is out
  return verdict.kind === 'INQUIRY_REJECTED'
    ? startCancel(state, { reason: 'UNCONFIRMED', voiding: false, cause: verdict.failure }, ctx) // legacy SDK: inquiry F → cancel
    : nextInquiry(state, ctx);
}

/**
 * REVERSAL_CHECK: Alipay refused the cancel; the inquiry says whether money must go back by refund. Unless
 * it reports the payment CANCELLED (an earlier cancel went through after all), no cancel went through, so
 * nothing would reverse a charge reported after the close (a late success then needs a person), and "not
 * paid" against an earlier "paid" is a contradiction only a person can settle.
 */
function whileChecking(state: ReversalCheckState, answer: PaymentAnswer, ctx: SagaContext): SagaEvent[] {
  const { verdict } = answer;
  switch (verdict.kind) {
    case 'PAID': {
      // The full refund would give back the amount asked, not what Alipay charged (as this answer or, when it
      // names no amount, an earlier one said).
      const charged = chargedOtherAmount(state, answer) ?? state.chargedOther;
      return charged ? [amountMismatch(state, charged, ctx)] : startReversalRefund(state, ctx);
    }
    case 'NOT_PAID':
      // CANCELLED after our cancels: one that went unanswered went through after all, and gave any money back.
      if (verdict.cancelled) return [cancelled(false, ctx)];
      if (state.knownPaid) {
        const { paymentRequestId } = state.payment;
        return [
          needsReview(
            'CANCEL_REFUSED',
            `Alipay refused the cancel (${state.check.refusal}) and now reports payment ${paymentRequestId} not paid (${verdict.failure.code}), though an earlier answer said paid: ask Alipay and refund the shopper if it was paid`,
            ctx,
          ),
        ];
      }
      return closeUnpaid(state.cancel, verdict.failure, true, ctx);
    case 'PENDING':
    case 'INQUIRY_REJECTED':
      return answer.source === 'INQUIRY' && answer.attempt === state.attempts.inquiry ? nextCheck(state, ctx) : [];
  }
}

function startInquiring(state: ActiveState, ctx: SagaContext): SagaEvent[] {
  return chain(state, [{ type: 'InquiryStarted', at: iso(ctx.now) }], (s) => sendInquiry(s, ctx));
}

function sendInquiry(state: ActiveState, ctx: SagaContext): SagaEvent[] {
  return [
    inquirePayment(state),
    // If this inquiry is never answered, the next one goes out anyway (the connector may be down).
    timer('INQUIRY', state.attempts.inquiry + 2, answerDeadlineMs(ctx.config), ctx),
  ];
}

/** The next inquiryPayment: the answer to any of them is matched by its attempt. */
export function inquirePayment(state: ActiveState): SagaEvent {
  const { paymentId, paymentRequestId } = state.payment;
  return { type: 'AlipayCommandSent', command: { type: 'InquirePayment', data: { paymentId, paymentRequestId, attempt: state.attempts.inquiry + 1 } } };
}

function nextInquiry(state: ActiveState, ctx: SagaContext): SagaEvent[] {
  const sent = state.attempts.inquiry;
  return sent < ctx.config.maxInquiries ? [timer('INQUIRY', sent + 1, ctx.config.inquiryIntervalMs, ctx)] : inquiriesExhausted(state, ctx);
}

function inquiriesExhausted(state: ActiveState, ctx: SagaContext): SagaEvent[] {
  const cause: Failure = { code: 'PAYMENT_NOT_CONFIRMED', message: `Alipay gave no final answer to ${ctx.config.maxInquiries} inquiries` };
  return startCancel(state, { reason: 'UNCONFIRMED', voiding: false, cause }, ctx);
}

function nextCheck(state: ReversalCheckState, ctx: SagaContext): SagaEvent[] {
  const done = state.attempts.inquiry - state.check.fromInquiry;
  return done < ctx.config.maxInquiries ? [timer('INQUIRY', state.attempts.inquiry + 1, ctx.config.inquiryIntervalMs, ctx)] : checkExhausted(state, ctx);
}

function checkExhausted(state: ReversalCheckState, ctx: SagaContext): SagaEvent[] {
  const { paymentRequestId } = state.payment;
  return [
    needsReview(
      'CANCEL_REFUSED',
      `Alipay refused the cancel (${state.check.refusal}) and payment ${paymentRequestId} is still not final after ${ctx.config.maxInquiries} inquiries: ask Alipay (inquiryPayment) and refund the shopper if it was paid`,
      ctx,
    ),
  ];
}

// ─── Cancel ─────────────────────────────────────────────────────────────────────────────────────────

export function startCancel(state: ActiveState, cancel: CancelInfo, ctx: SagaContext): SagaEvent[] {
  return chain(state, [{ type: 'CancelStarted', cancel }], (s) => sendCancel(s, ctx));
}

function sendCancel(state: ActiveState, ctx: SagaContext): SagaEvent[] {
  const attempt = state.attempts.cancel + 1;
  const { paymentId, paymentRequestId } = state.payment;
  return [
    { type: 'AlipayCommandSent', command: { type: 'CancelPayment', data: { paymentId, paymentRequestId, attempt } } },
    timer('CANCEL_RETRY', attempt + 1, answerDeadlineMs(ctx.config), ctx),
  ];
}

export function onCancelResult(state: ActiveState, attempt: number, verdict: CancelVerdict, ctx: SagaContext): SagaEvent[] {
  switch (state.status) {
    case 'CANCELLING':
      return whileCancelling(state, attempt, verdict, ctx);
    case 'REVERSAL_CHECK':
      // An earlier cancel attempt went through after all: the payment is closed and any money returned.
      return verdict.kind === 'CANCELLED' ? [cancelled(false, ctx)] : [];
    case 'REFUNDING_REVERSAL':
      // The same, with the reversal refund under way: its outcome is still asked for (refund-flow's afterRefund).
      return verdict.kind === 'CANCELLED' ? [cancelled(false, ctx)] : [];
    case 'NEEDS_REVIEW':
      // A cancel went through after all (one left unknown, or one sent before a refusal or a close): the payment
      // is closed and any money returned, so the person must not refund it as the review asked.
      return verdict.kind === 'CANCELLED' ? cancelledInReview(state, lateCancel(state), ctx) : [];
    case 'SUCCEEDED':
      // Only the reports make SUCCEEDED a payment whose cancel was left unknown (review-flow.ts): that cancel went
      // through after all and gave the money back, as a later file showing the charge cancelled would say.
      return verdict.kind === 'CANCELLED' ? returnedAfterSuccess(state, lateCancel(state), ctx) : [];
    case 'FAILED':
    case 'CANCELLED':
      // Closed on "no order", then an earlier cancel went through after all: a success reported later was given back.
      return verdict.kind === 'CANCELLED' && state.lateSuccessIsAnomaly ? [{ type: 'CancelConfirmed' }] : [];
    case 'CREATED':
    case 'PAY_SENT':
    case 'INQUIRING':
      return [];
  }
}

function lateCancel(state: ActiveState): string {
  return `a cancel of payment ${state.payment.paymentRequestId} left unknown went through after all`;
}

/**
 * Alipay gave the whole payment back (`how`: a cancel left unknown answered S late, or a later report file shows the
 * charge cancelled) after the reports had made it SUCCEEDED: with no refund taken from it (a refund Alipay refused
 * took nothing), CANCELLED, as the cancel would have made it; with refunds taken, see reversedAfterRefunds.
 */
export function returnedAfterSuccess(state: SucceededState, how: string, ctx: SagaContext): SagaEvent[] {
  return state.refunds.some((r) => r.status !== 'FAILED') ? reversedAfterRefunds(state, how, ctx) : [cancelled(false, ctx)];
}

/**
 * The payment was given back whole after refunds were taken from it (a refund in flight or unknown may still pay out,
 * and a queued one is never sent now, see refund-flow's moneyReturned): the shopper may have been paid back twice, and
 * only a person can recover it. NEEDS_REVIEW (REVERSED_AFTER_REFUND), the refunds in flight still asked about.
 */
function reversedAfterRefunds(state: SucceededState | NeedsReviewState, how: string, ctx: SagaContext): SagaEvent[] {
  if (state.status === 'NEEDS_REVIEW' && state.review.kind === 'REVERSED_AFTER_REFUND') return []; // already with the person
  const ids = state.refunds.filter((r) => r.status !== 'FAILED').map((r) => r.refundRequestId).join(', ');
  const reason = `${how}, and refunds were taken from it (${ids}): the shopper may have been paid back twice; check the refunds with Alipay and recover what was paid back twice`;
  return [needsReview('REVERSED_AFTER_REFUND', reason, ctx)];
}

/**
 * A payment in review given back whole (`how`, as for returnedAfterSuccess): closed CANCELLED, unless refunds were
 * taken from it: a merchant's refund not FAILED, or the automatic full refund that went through (the review then
 * says the shopper was paid back twice, which the cancel only confirms).
 */
export function cancelledInReview(state: NeedsReviewState, how: string, ctx: SagaContext): SagaEvent[] {
  const taken = (r: RefundEntry) => (r.origin === 'MERCHANT' ? r.status !== 'FAILED' : r.status === 'SUCCEEDED');
  if (state.refunds.some(taken)) return reversedAfterRefunds(state, how, ctx);
  const refund = state.refunds.find((r) => r.origin === 'CANCEL_FALLBACK' && r.status === 'UNKNOWN');
  if (state.review.kind !== 'REVERSAL_REFUND' || !refund) return [cancelled(false, ctx)];
  // The payment is closed and its money returned, and the automatic refund may have gone through as well.
  const twice = `payment ${state.payment.paymentRequestId} was cancelled after all, and its automatic refund ${refund.refundRequestId} is still unknown: if it went through, the shopper was paid back twice`;
  return [cancelled(false, ctx), { type: 'ReviewFlagged', refundId: refund.refundId, reason: twice.slice(0, 512), at: iso(ctx.now) }];
}

function whileCancelling(state: CancellingState, attempt: number, verdict: CancelVerdict, ctx: SagaContext): SagaEvent[] {
  // A success from any attempt is final: Alipay closed the payment (and returned the money if it was paid).
  if (verdict.kind === 'CANCELLED') return [cancelled(false, ctx)];
  if (attempt !== state.attempts.cancel) return []; // stale: a newer cancel is out
  switch (verdict.kind) {
    case 'UNKNOWN':
      return retryCancel(state, ctx);
    case 'NOT_FOUND':
      // Known paid: "no order" contradicts what Alipay told us; let an inquiry settle it.
      if (state.knownPaid) return refuseCancel(state, 'ORDER_NOT_EXIST', ctx);
      // Pay not answered yet: it may still be on its way to Alipay, so "no order" proves nothing.
      if (!state.payAnswered) return retryCancel(state, ctx);
      return closeUnpaid(state.cancel, { code: 'ORDER_NOT_EXIST', message: 'Alipay has no record of the payment; nothing was charged' }, true, ctx);
    case 'REFUSED':
      return refuseCancel(state, verdict.code, ctx);
  }
}

function retryCancel(state: CancellingState, ctx: SagaContext): SagaEvent[] {
  const sent = state.attempts.cancel;
  const delay = ctx.config.cancelRetryDelaysMs[sent - 1];
  return sent < maxCancels(ctx.config) && delay !== undefined ? [timer('CANCEL_RETRY', sent + 1, delay, ctx)] : cancelUnknown(state, ctx);
}

function cancelUnknown(state: CancellingState, ctx: SagaContext): SagaEvent[] {
  const { paymentRequestId } = state.payment;
  return [
    needsReview(
      'CANCEL_UNKNOWN',
      `cancel of payment ${paymentRequestId} still unknown after ${state.attempts.cancel} attempts: ask Alipay (inquiryPayment) or check the next report file, then close the payment or refund the shopper`,
      ctx,
    ),
  ];
}

/** Cancel refused (CANCEL_WINDOW_EXCEED, ORDER_STATUS_INVALID, …): inquire first, then refund if it was paid. */
function refuseCancel(state: CancellingState, refusal: string, ctx: SagaContext): SagaEvent[] {
  return chain(state, [{ type: 'CancelRefused', refusal }], (s) => sendInquiry(s, ctx));
}

/**
 * Nothing was charged. The cashier (or an operator) asked for the cancel → CANCELLED; the saga gave up on
 * an unconfirmed payment and Alipay says it never happened → FAILED with Alipay's reason. `byReport`: the
 * report files said so (review-flow.ts), and a later file may still show the charge.
 */
export function closeUnpaid(cancel: CancelInfo, failure: Failure, lateSuccessIsAnomaly: boolean, ctx: SagaContext, byReport = false): SagaEvent[] {
  const { reason, voiding } = cancel;
  const report = byReport ? { byReport } : {};
  return reason === 'UNCONFIRMED' && !voiding
    ? [{ type: 'PaymentFailed', failure, lateSuccessIsAnomaly, ...report, at: iso(ctx.now) }]
    : [{ type: 'PaymentCancelled', lateSuccessIsAnomaly, ...report, at: iso(ctx.now) }];
}

function startReversalRefund(state: ReversalCheckState, ctx: SagaContext): SagaEvent[] {
  const { payment } = state;
  if (!state.alipay.paymentId) {
    return [
      needsReview(
        'REVERSAL_REFUND',
        `payment ${payment.paymentRequestId} was paid but not cancellable (${state.check.refusal}) and Alipay's paymentId is unknown, so it cannot be refunded automatically: refund the shopper manually`,
        ctx,
      ),
    ];
  }
  const id = reversalRefundIdOf(payment.paymentId, state.refunds.filter((r) => r.origin === 'CANCEL_FALLBACK').length + 1);
  const refund: RefundEntry = {
    refundId: id,
    refundRequestId: id,
    amount: payment.amount,
    reason: `reversal: cancel refused (${state.check.refusal})`,
    origin: 'CANCEL_FALLBACK',
    status: 'QUEUED',
    attempt: 0,
    inquiries: 0,
  };
  return chain(state, [{ type: 'RefundRequested', refund, at: iso(ctx.now) }], (s) => startNextRefund(s, ctx));
}

// ─── Due timers ─────────────────────────────────────────────────────────────────────────────────────

export function inquiryDue(state: ActiveState, ctx: SagaContext): SagaEvent[] {
  switch (state.status) {
    case 'CREATED':
    case 'PAY_SENT':
      return startInquiring(state, ctx); // no pay answer within firstInquiryDelayMs
    case 'INQUIRING':
      // The timer is set for the next attempt; past the last one, the inquiries are exhausted.
      return state.attempts.inquiry < ctx.config.maxInquiries ? sendInquiry(state, ctx) : inquiriesExhausted(state, ctx);
    case 'REVERSAL_CHECK':
      return state.attempts.inquiry - state.check.fromInquiry < ctx.config.maxInquiries ? sendInquiry(state, ctx) : checkExhausted(state, ctx);
    case 'CANCELLING':
    case 'REFUNDING_REVERSAL':
    case 'SUCCEEDED':
    case 'FAILED':
    case 'CANCELLED':
    case 'NEEDS_REVIEW':
      return [{ type: 'TimerCleared' }];
  }
}

export function cancelDue(state: CancellingState, ctx: SagaContext): SagaEvent[] {
  // No answer to the last cancel is as unknown as a U.
  return state.attempts.cancel < maxCancels(ctx.config) ? sendCancel(state, ctx) : cancelUnknown(state, ctx);
}

