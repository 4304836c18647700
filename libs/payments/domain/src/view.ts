import type { Money, PaymentStatus, PaymentViewV1, RefundViewV1 } from '@upm/contracts';
import type { ActiveState, Failure, RefundEntry } from './model';
import { definedOnly } from './util';

/**
 * The status the POS and every consumer see. Internal phases collapse onto it: anything still being
 * worked out is PROCESSING, except that voiding a paid sale keeps it SUCCEEDED until the cancel (or
 * the refund that replaces it) has actually returned the money.
 */
export function publicStatus(state: ActiveState): PaymentStatus {
  switch (state.status) {
    case 'CREATED':
    case 'PAY_SENT':
    case 'INQUIRING':
      return 'PROCESSING';
    case 'CANCELLING':
    case 'REVERSAL_CHECK':
    case 'REFUNDING_REVERSAL':
      return state.cancel.voiding ? 'SUCCEEDED' : 'PROCESSING';
    case 'SUCCEEDED':
      return 'SUCCEEDED';
    case 'FAILED':
      return 'FAILED';
    case 'CANCELLED':
      return 'CANCELLED';
    case 'NEEDS_REVIEW':
      return 'NEEDS_REVIEW';
  }
}

/**
 * Where the payment stands, in the POS API's words: refusals reach the POS (GET refund, the event stream, merchant
 * webhooks), so they never name an internal phase.
 */
export function standingInWords(state: ActiveState): string {
  switch (state.status) {
    case 'CANCELLING':
    case 'REVERSAL_CHECK':
    case 'REFUNDING_REVERSAL':
      return `the payment is ${publicStatus(state)} and a cancel is under way`;
    case 'CREATED':
    case 'PAY_SENT':
    case 'INQUIRING':
    case 'SUCCEEDED':
    case 'FAILED':
    case 'CANCELLED':
    case 'NEEDS_REVIEW':
      return `the payment is ${publicStatus(state)}`;
  }
}

function viewFailure(state: ActiveState): Failure | undefined {
  switch (state.status) {
    case 'FAILED':
      return state.failure;
    case 'CANCELLED':
      return state.failure;
    case 'NEEDS_REVIEW':
      // The GET of a payment then tells the operator what to do, not only the event.
      return { code: state.review.kind, message: state.review.reason.slice(0, 512) };
    case 'CREATED':
    case 'PAY_SENT':
    case 'INQUIRING':
    case 'CANCELLING':
    case 'REVERSAL_CHECK':
    case 'REFUNDING_REVERSAL':
    case 'SUCCEEDED':
      return undefined;
  }
}

/** The full payments.v1 view after the change; every published event carries it. */
export function viewOf(state: ActiveState): PaymentViewV1 {
  const { payment, alipay } = state;
  const failure = viewFailure(state);
  return {
    paymentId: payment.paymentId,
    merchantOrderId: payment.merchantOrderId,
    merchantId: payment.merchantId,
    storeId: payment.storeId,
    terminalId: payment.terminalId,
    amount: payment.amount,
    status: publicStatus(state),
    ...(failure ? { failure } : {}),
    alipay: { paymentRequestId: payment.paymentRequestId, ...definedOnly(alipay) },
    refundedAmount: refundedAmount(state),
    sequence: state.sequence,
    createdAt: payment.createdAt,
    updatedAt: state.updatedAt,
  };
}

export function refundViewOf(state: ActiveState, refund: RefundEntry): RefundViewV1 {
  return {
    paymentId: state.payment.paymentId,
    refundId: refund.refundId,
    refundRequestId: refund.refundRequestId,
    amount: refund.amount,
    // QUEUED, IN_FLIGHT and UNKNOWN are all "not final yet" for the outside world.
    status: refund.status === 'SUCCEEDED' ? 'SUCCEEDED' : refund.status === 'FAILED' ? 'FAILED' : 'PROCESSING',
    ...definedOnly({ failure: refund.failure, alipayRefundId: refund.alipayRefundId, refundTime: refund.refundTime }),
    origin: refund.origin,
  };
}

/** Money that actually went back to the shopper through refunds (a cancel is not a refund). */
export function refundedAmount(state: ActiveState): Money {
  return { currency: state.payment.amount.currency, value: sumOf(state.refunds, ['SUCCEEDED']).toString() };
}

/** Sum of the refunds in the given statuses, in minor units. */
export function sumOf(refunds: readonly RefundEntry[], statuses: readonly RefundEntry['status'][]): bigint {
  return refunds.filter((r) => statuses.includes(r.status)).reduce((total, r) => total + BigInt(r.amount.value), 0n);
}
