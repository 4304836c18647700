import type { PaymentReviewResolvedV1 } from '@upm/contracts';
import { iso, needsReview, sameMoney } from './decision-steps';
import type { ActiveState, CancelledState, FailedState, Failure, NeedsReviewState, SagaContext, SagaEvent } from './model';
import { cancelledInReview, closeUnpaid, inquirePayment, returnedAfterSuccess } from './payment-flow';

/**
 * A payment in NEEDS_REVIEW closed by what Alipay's report files prove (settlement's PaymentReviewResolved),
 * as the answer the saga never got would have closed it:
 * - CHARGED (a PAYMENT row, no CANCEL): SUCCEEDED, so that the merchant can refund it;
 * - REVERSED (a PAYMENT row and the CANCEL netting it): CANCELLED, as a cancel S in review;
 * - NOT_CHARGED (neither row on the payment's day nor the next): closed unpaid, as a definite "not paid" answer
 *   to a cancel would: FAILED with NOT_CHARGED_PER_REPORT when the saga gave up on it, CANCELLED when the POS
 *   or an operator had asked for the cancel.
 * A resolution that contradicts what the saga knows stays with the person: a charge of another amount than
 * asked (settlement raises its discrepancy), "not charged" after Alipay said the money was taken, or a charge of a
 * payment Alipay answered closed when asked to refund it (CLOSED_AT_ALIPAY). A payment the
 * POS or an operator had cancelled (it was CANCELLED when Alipay reported a success, LATE_SUCCESS) is never made a
 * sale by CHARGED: it goes on in review as CHARGED_AFTER_CANCEL, as when a later file charges a CANCELLED one.
 *
 * A later file may prove more: a cancel filed the day after the charge turns CHARGED into REVERSED. A payment
 * that a CHARGED resolution made SUCCEEDED then follows what happened in the end: with no refund taken from it,
 * CANCELLED (PaymentCancelled, as a cancel would); with refunds taken, NEEDS_REVIEW (REVERSED_AFTER_REFUND), as
 * the cancel and the refunds may have paid the shopper back twice. The same holds for NOT_CHARGED: a charge a later
 * file lists (NOT_CHARGED → CHARGED) makes a payment it FAILED SUCCEEDED, as CHARGED would have in review, unless
 * the charge is of another amount than asked (NEEDS_REVIEW, AMOUNT_MISMATCH) or the POS or an operator had
 * cancelled it (NEEDS_REVIEW, CHARGED_AFTER_CANCEL: the sale was called off, and nothing gives the money back). Any
 * other payment no longer in review (the saga settled it itself, or the resolution is repeated or revises another
 * in a way that moves no money) is left alone.
 */
export const NOT_CHARGED_PER_REPORT = 'NOT_CHARGED_PER_REPORT';

export function onReviewResolved(state: ActiveState, resolved: PaymentReviewResolvedV1, ctx: SagaContext): SagaEvent[] {
  switch (state.status) {
    case 'NEEDS_REVIEW':
      return inReview(state, resolved, ctx);
    case 'SUCCEEDED': {
      const how = `Alipay's reports show payment ${state.payment.paymentRequestId} cancelled after the reports had shown it charged`;
      return state.byReport && resolved.resolution === 'REVERSED' ? returnedAfterSuccess(state, how, ctx) : [];
    }
    case 'FAILED':
    case 'CANCELLED':
      return state.byReport && resolved.resolution === 'CHARGED' ? chargedAfterNotCharged(state, resolved, ctx) : [];
    case 'CREATED':
    case 'PAY_SENT':
    case 'INQUIRING':
    case 'CANCELLING':
    case 'REVERSAL_CHECK':
    case 'REFUNDING_REVERSAL':
      return [];
  }
}

function inReview(state: NeedsReviewState, resolved: PaymentReviewResolvedV1, ctx: SagaContext): SagaEvent[] {
  // Already handed back to a person because the reports changed their mind after refunds: no file settles that.
  if (state.review.kind === 'REVERSED_AFTER_REFUND') return [];
  switch (resolved.resolution) {
    case 'CHARGED': {
      // A sale the POS had called off is not made a sale by a charge it never wanted; nor does a charge without its
      // cancel (which a later file may still list) overrule Alipay's own answer that the payment is closed.
      if (!sameMoney(resolved.amount, state.payment.amount) || state.review.kind === 'CHARGED_AFTER_CANCEL' || state.review.kind === 'CLOSED_AT_ALIPAY') return [];
      if (state.afterCancel) return [...paidFact(state), chargedAfterCancel(state, resolved, 'Alipay reported the success after the cancel found no order', ctx)];
      return [...paidFact(state), ...succeededByReport(state, ctx)];
    }
    case 'REVERSED':
      return cancelledInReview(state, `Alipay's reports show payment ${state.payment.paymentRequestId} cancelled`, ctx);
    case 'NOT_CHARGED': {
      // Only a review that began while cancelling can end unpaid; a success reported after the close (LATE_SUCCESS) cannot.
      if (state.knownPaid || state.review.kind === 'LATE_SUCCESS' || !state.cancel) return [];
      const failure: Failure = { code: NOT_CHARGED_PER_REPORT, message: `Alipay's reports list no charge: ${resolved.evidence}`.slice(0, 512) };
      return closeUnpaid(state.cancel, failure, true, ctx, true);
    }
  }
}

/** FAILED or CANCELLED by a NOT_CHARGED resolution, then a later file lists the charge. */
function chargedAfterNotCharged(state: FailedState | CancelledState, resolved: PaymentReviewResolvedV1, ctx: SagaContext): SagaEvent[] {
  const { paymentRequestId, amount } = state.payment;
  const charged = `${resolved.amount.value} ${resolved.amount.currency} (minor units)`;
  if (state.status === 'CANCELLED') return [...paidFact(state), chargedAfterCancel(state, resolved, 'earlier reports showed no charge', ctx)];
  if (!sameMoney(resolved.amount, amount)) {
    const reason = `Alipay's reports show payment ${paymentRequestId} charged ${charged}, not the ${amount.value} ${amount.currency} asked, after earlier reports showed no charge: check the charge in the Antom Dashboard and refund the shopper what was charged through Alipay`;
    return [...paidFact(state), needsReview('AMOUNT_MISMATCH', reason, ctx)];
  }
  return [...paidFact(state), ...succeededByReport(state, ctx)];
}

/**
 * SUCCEEDED by the reports. A refund of it needs Alipay's paymentId, which no answer may have named (a pay that timed
 * out, inquiries never answered): one inquiry asks for it, and its answer fills it in as any answer after a final
 * status does. Unanswered, a refund is refused as before and the person refunds in the Antom Dashboard.
 */
function succeededByReport(state: ActiveState, ctx: SagaContext): SagaEvent[] {
  const succeeded: SagaEvent = { type: 'PaymentSucceeded', byReport: true, at: iso(ctx.now) };
  return state.alipay.paymentId ? [succeeded] : [succeeded, inquirePayment(state)];
}

/** The reports prove a payment the POS or an operator had cancelled charged: the shopper must be paid back by a person. */
function chargedAfterCancel(state: ActiveState, resolved: PaymentReviewResolvedV1, before: string, ctx: SagaContext): SagaEvent {
  const charged = `${resolved.amount.value} ${resolved.amount.currency} (minor units)`;
  const reason = `Alipay's reports show payment ${state.payment.paymentRequestId} charged ${charged} after the POS or an operator cancelled it and ${before}: nothing gives the money back; refund the shopper what was charged through Alipay (Antom Dashboard)`;
  return needsReview('CHARGED_AFTER_CANCEL', reason, ctx);
}

/** The reports prove the money was taken: recorded, so that a later "not charged" is the contradiction it is. */
function paidFact(state: ActiveState): SagaEvent[] {
  return state.knownPaid ? [] : [{ type: 'FactsRecorded', alipay: {}, payAnswered: false, knownPaid: true }];
}
