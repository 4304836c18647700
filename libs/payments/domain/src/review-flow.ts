import type { PaymentReviewResolvedV1 } from '@upm/contracts';
import { cancelled, iso, needsReview, sameMoney } from './decision-steps';
import type { ActiveState, Failure, NeedsReviewState, SagaContext, SagaEvent, SucceededState } from './model';
import { cancelledInReview, closeUnpaid } from './payment-flow';

/**
 * A payment in NEEDS_REVIEW closed by what Alipay's report files prove (settlement's PaymentReviewResolved),
 * as the answer the saga never got would have closed it:
 * - CHARGED (a PAYMENT row, no CANCEL): SUCCEEDED, so that the merchant can refund it;
 * - REVERSED (a PAYMENT row and the CANCEL netting it): CANCELLED, as a cancel S in review;
 * - NOT_CHARGED (neither row on the payment's day nor the next): closed unpaid, as a definite "not paid" answer
 *   to a cancel would: FAILED with NOT_CHARGED_PER_REPORT when the saga gave up on it, CANCELLED when the POS
 *   or an operator had asked for the cancel.
 * A resolution that contradicts what the saga knows stays with the person: a charge of another amount than
 * asked (settlement raises its discrepancy), or "not charged" after Alipay said the money was taken.
 *
 * A later file may prove more: a cancel filed the day after the charge turns CHARGED into REVERSED. A payment
 * that a CHARGED resolution made SUCCEEDED then follows what happened in the end: with no refund taken from it,
 * CANCELLED (PaymentCancelled, as a cancel would); with refunds taken, NEEDS_REVIEW (REVERSED_AFTER_REFUND), as
 * the cancel and the refunds may have paid the shopper back twice. Any other payment no longer in review (the
 * saga settled it itself, or the resolution is repeated or revises another) is left alone.
 */
export const NOT_CHARGED_PER_REPORT = 'NOT_CHARGED_PER_REPORT';

export function onReviewResolved(state: ActiveState, resolved: PaymentReviewResolvedV1, ctx: SagaContext): SagaEvent[] {
  switch (state.status) {
    case 'NEEDS_REVIEW':
      return inReview(state, resolved, ctx);
    case 'SUCCEEDED':
      return state.byReport && resolved.resolution === 'REVERSED' ? reversedAfterCharged(state, ctx) : [];
    case 'CREATED':
    case 'PAY_SENT':
    case 'INQUIRING':
    case 'CANCELLING':
    case 'REVERSAL_CHECK':
    case 'REFUNDING_REVERSAL':
    case 'FAILED':
    case 'CANCELLED':
      return [];
  }
}

function inReview(state: NeedsReviewState, resolved: PaymentReviewResolvedV1, ctx: SagaContext): SagaEvent[] {
  // Already handed back to a person because the reports changed their mind after refunds: no file settles that.
  if (state.review.kind === 'REVERSED_AFTER_REFUND') return [];
  switch (resolved.resolution) {
    case 'CHARGED': {
      if (!sameMoney(resolved.amount, state.payment.amount)) return [];
      const paid: SagaEvent[] = state.knownPaid ? [] : [{ type: 'FactsRecorded', alipay: {}, payAnswered: false, knownPaid: true }];
      return [...paid, { type: 'PaymentSucceeded', byReport: true, at: iso(ctx.now) }];
    }
    case 'REVERSED':
      return cancelledInReview(state, ctx);
    case 'NOT_CHARGED': {
      // Only a review that began while cancelling can end unpaid; a success reported after the close (LATE_SUCCESS) cannot.
      if (state.knownPaid || state.review.kind === 'LATE_SUCCESS' || !state.cancel) return [];
      const failure: Failure = { code: NOT_CHARGED_PER_REPORT, message: `Alipay's reports list no charge: ${resolved.evidence}`.slice(0, 512) };
      return closeUnpaid(state.cancel, failure, true, ctx);
    }
  }
}

/** SUCCEEDED by a CHARGED resolution, then a later file shows the charge cancelled. */
function reversedAfterCharged(state: SucceededState, ctx: SagaContext): SagaEvent[] {
  // A refund that failed took nothing; any other may have paid out (queued or in flight ones still will be asked for).
  const taken = state.refunds.filter((r) => r.status !== 'FAILED');
  if (!taken.length) return [cancelled(false, ctx)];
  const { paymentRequestId } = state.payment;
  const ids = taken.map((r) => r.refundRequestId).join(', ');
  const reason = `Alipay's reports show payment ${paymentRequestId} cancelled after the reports had shown it charged, and refunds were taken from it (${ids}): the shopper may have been paid back twice; check the refunds with Alipay and recover what was paid back twice`;
  const review = needsReview('REVERSED_AFTER_REFUND', reason, ctx);
  // A refund still being asked for keeps its timer: its answer settles the refund in review too.
  return state.timer ? [review, { type: 'TimerScheduled', timer: state.timer }] : [review];
}
