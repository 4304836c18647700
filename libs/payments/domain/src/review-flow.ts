import type { PaymentReviewResolvedV1 } from '@upm/contracts';
import { iso, sameMoney } from './decision-steps';
import type { Failure, NeedsReviewState, SagaContext, SagaEvent } from './model';
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
 * asked (settlement raises its discrepancy), or "not charged" after Alipay said the money was taken. A payment
 * no longer in review (the saga settled it first, or this is a repeated or revised resolution) is left alone.
 */
export const NOT_CHARGED_PER_REPORT = 'NOT_CHARGED_PER_REPORT';

export function onReviewResolved(state: NeedsReviewState, resolved: PaymentReviewResolvedV1, ctx: SagaContext): SagaEvent[] {
  switch (resolved.resolution) {
    case 'CHARGED': {
      if (!sameMoney(resolved.amount, state.payment.amount)) return [];
      const paid: SagaEvent[] = state.knownPaid ? [] : [{ type: 'FactsRecorded', alipay: {}, payAnswered: false, knownPaid: true }];
      return [...paid, { type: 'PaymentSucceeded', at: iso(ctx.now) }];
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
