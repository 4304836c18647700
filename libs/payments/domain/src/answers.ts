import type {
  CancelResultV1,
  InquireRefundResultV1,
  InquiryResultV1,
  Money,
  PaymentNotifiedV1,
  PayResultV1,
  RefundNotifiedV1,
  RefundResultV1,
} from '@upm/contracts';
import type { AlipayFacts, Failure } from './model';
import { definedOnly } from './util';

/**
 * Alipay's answers reduced to what the saga acts on. Branch on resultStatus, not resultCode (spec §4.4);
 * the few codes that matter are named here and nowhere else.
 */

/** "No such order": on an inquiry it may only mean "not visible yet"; on a cancel, that nothing reached Alipay. */
const NOT_FOUND_CODES: ReadonlySet<string> = new Set(['ORDER_NOT_EXIST', 'PAYMENT_NOT_EXIST']);

/**
 * A pay or refund F that does not prove it failed: the same paymentRequestId / refundRequestId with other
 * content (a changed notify URL, a bug on our side) is refused, while the original request may well have
 * gone through (spec §4.4: inquire, do not assume failure). A refund taken for failed would release its
 * amount and let the merchant refund it a second time.
 */
const F_NOT_FINAL: ReadonlySet<string> = new Set(['REPEAT_REQ_INCONSISTENT']);

/**
 * A refund F saying the payment itself is closed, not the refund wrong (spec §7: "payment not refundable, never
 * succeeded / already cancelled"). ORDER_STATUS_INVALID is not one: the spec leaves its meaning for a refund open.
 */
const PAYMENT_CLOSED_CODES: ReadonlySet<string> = new Set(['ORDER_IS_CLOSED', 'ORDER_IS_CANCELED']);

/**
 * A payment notification F saying Alipay cancelled the payment (any money went back): what an inquiry answering
 * CANCELLED says. ORDER_IS_CLOSED means closed, cancelled *or expired* (spec §4.4: Alipay+ notifies a closed or cancelled
 * payment so), which `closedWhilePaid` tells apart once the saga's state is known.
 */
const PAYMENT_CANCELLED_CODE = 'ORDER_IS_CANCELED';
const PAYMENT_CLOSED_CODE = 'ORDER_IS_CLOSED';

export type PaymentVerdict =
  | { kind: 'PAID' }
  /**
   * `cancelled`: Alipay reports the payment CANCELLED (an inquiry, or a notification ORDER_IS_CANCELED), which a cancel of
   * ours may have done (any money went back)
   */
  | { kind: 'NOT_PAID'; failure: Failure; cancelled?: boolean }
  /** not final yet: PROCESSING, U, an order not (yet) visible */
  | { kind: 'PENDING' }
  /** the inquiry call itself was refused (config, signature…): says nothing about the payment */
  | { kind: 'INQUIRY_REJECTED'; failure: Failure };

export interface PaymentAnswer {
  source: 'PAY' | 'INQUIRY' | 'NOTIFICATION';
  /** the echoed command attempt; null for a notification, which answers no command */
  attempt: number | null;
  verdict: PaymentVerdict;
  alipay: AlipayFacts;
  /** the payment's amount as Alipay reports it (paymentAmount), when the answer carries it */
  amount?: Money;
}

export function payAnswer(result: PayResultV1): PaymentAnswer {
  const verdict: PaymentVerdict =
    result.outcome === 'S'
      ? { kind: 'PAID' }
      : result.outcome === 'F' && !F_NOT_FINAL.has(result.resultCode)
        ? { kind: 'NOT_PAID', failure: { code: result.resultCode, message: result.resultMessage ?? result.resultCode } }
        : { kind: 'PENDING' };
  return { source: 'PAY', attempt: result.attempt, verdict, alipay: factsOf(result), ...definedOnly({ amount: result.amount }) };
}

export function inquiryAnswer(result: InquiryResultV1): PaymentAnswer {
  return { source: 'INQUIRY', attempt: result.attempt, verdict: inquiryVerdict(result), alipay: factsOf(result), ...definedOnly({ amount: result.amount }) };
}

function inquiryVerdict(result: InquiryResultV1): PaymentVerdict {
  switch (result.outcome) {
    case 'U':
      return { kind: 'PENDING' };
    case 'F':
      return NOT_FOUND_CODES.has(result.resultCode)
        ? { kind: 'PENDING' }
        : { kind: 'INQUIRY_REJECTED', failure: { code: result.resultCode, message: `Alipay refused the inquiry: ${result.resultMessage ?? result.resultCode}` } };
    case 'S':
      switch (result.paymentStatus) {
        case 'SUCCESS':
          return { kind: 'PAID' };
        case 'FAIL': {
          const code = result.paymentResultCode ?? 'PAYMENT_FAILED';
          return { kind: 'NOT_PAID', failure: { code, message: `Alipay reports the payment failed (${code})` } };
        }
        case 'CANCELLED': {
          // Before any cancel of ours, Alipay closed it on its own; after one, it may be ours that went through.
          const code = result.paymentResultCode ?? 'ORDER_IS_CLOSED';
          return { kind: 'NOT_PAID', failure: { code, message: `Alipay closed the payment unpaid (${code})` }, cancelled: true };
        }
        case 'PROCESSING':
        case undefined:
          return { kind: 'PENDING' };
      }
  }
}

export function notifiedAnswer(notification: PaymentNotifiedV1): PaymentAnswer {
  return { source: 'NOTIFICATION', attempt: null, verdict: notifiedVerdict(notification), alipay: factsOf(notification), ...definedOnly({ amount: notification.amount }) };
}

function notifiedVerdict(notification: PaymentNotifiedV1): PaymentVerdict {
  const code = notification.resultCode;
  if (notification.outcome === 'S') return { kind: 'PAID' };
  return code === PAYMENT_CANCELLED_CODE
    ? { kind: 'NOT_PAID', failure: { code, message: `Alipay notified that the payment was cancelled (${code})` }, cancelled: true }
    : { kind: 'NOT_PAID', failure: { code, message: `Alipay notified that the payment failed (${code})` } };
}

/**
 * A notification F ORDER_IS_CLOSED for a payment known to be paid (an answer said so, or it is SUCCEEDED): money
 * taken cannot expire, so Alipay closed it by cancelling it and the money went back, as an inquiry answering CANCELLED
 * says. For a payment not known paid both readings leave nothing charged, and it stays the failure it names (an expiry
 * after a refused cancel is not that cancel going through).
 */
export function closedWhilePaid(answer: PaymentAnswer, paid: boolean): PaymentAnswer {
  const { verdict } = answer;
  if (!paid || answer.source !== 'NOTIFICATION' || verdict.kind !== 'NOT_PAID' || verdict.failure.code !== PAYMENT_CLOSED_CODE) return answer;
  return { ...answer, verdict: { ...verdict, cancelled: true } };
}

export type CancelVerdict = { kind: 'CANCELLED' } | { kind: 'UNKNOWN' } | { kind: 'NOT_FOUND' } | { kind: 'REFUSED'; code: string };

export function cancelVerdict(result: CancelResultV1): CancelVerdict {
  switch (result.outcome) {
    case 'S':
      return { kind: 'CANCELLED' };
    case 'U':
      return { kind: 'UNKNOWN' };
    case 'F':
      return NOT_FOUND_CODES.has(result.resultCode) ? { kind: 'NOT_FOUND' } : { kind: 'REFUSED', code: result.resultCode };
  }
}

export type RefundVerdict =
  | { kind: 'DONE'; alipayRefundId?: string; refundTime?: string }
  /** `paymentClosed`: Alipay refused it because the payment itself is closed (never paid, or cancelled) */
  | { kind: 'FAILED'; failure: Failure; paymentClosed: boolean }
  | { kind: 'PENDING' }
  /** inquiryRefund found no such refund: the Refund never reached Alipay and may be re-sent as is */
  | { kind: 'NOT_FOUND' };

export interface RefundAnswer {
  /** matched against refundId first, then refundRequestId (a notification routed before it carried our refundId) */
  refundKey: string;
  attempt: number | null;
  verdict: RefundVerdict;
}

export function refundAnswer(result: RefundResultV1): RefundAnswer {
  const verdict: RefundVerdict =
    result.outcome === 'S'
      ? done(result)
      : result.outcome === 'F' && !F_NOT_FINAL.has(result.resultCode)
        ? refundFailed({ code: result.resultCode, message: result.resultMessage ?? result.resultCode })
        : { kind: 'PENDING' };
  return { refundKey: result.refundId, attempt: result.attempt, verdict };
}

export function inquireRefundAnswer(result: InquireRefundResultV1): RefundAnswer {
  return { refundKey: result.refundId, attempt: result.attempt, verdict: inquireRefundVerdict(result) };
}

function inquireRefundVerdict(result: InquireRefundResultV1): RefundVerdict {
  switch (result.outcome) {
    case 'U':
      return { kind: 'PENDING' };
    case 'F':
      // Any other refusal of the inquiry says nothing about the refund: ask again later.
      return NOT_FOUND_CODES.has(result.resultCode) ? { kind: 'NOT_FOUND' } : { kind: 'PENDING' };
    case 'S':
      switch (result.refundStatus) {
        case 'SUCCESS':
          return done(result);
        case 'FAIL':
          return refundFailed({ code: 'REFUND_FAILED', message: `Alipay reports the refund failed${result.resultMessage ? `: ${result.resultMessage}` : ''}` });
        case 'PROCESSING':
        case undefined:
          return { kind: 'PENDING' };
      }
  }
}

export function refundNotifiedAnswer(notification: RefundNotifiedV1): RefundAnswer {
  const verdict: RefundVerdict =
    notification.outcome === 'S'
      ? { kind: 'DONE', ...definedOnly({ alipayRefundId: notification.alipayRefundId, refundTime: notification.refundTime }) }
      : refundFailed({ code: notification.resultCode, message: `Alipay notified that the refund failed (${notification.resultCode})` });
  return { refundKey: notification.refundId ?? notification.refundRequestId, attempt: null, verdict };
}

function refundFailed(failure: Failure): RefundVerdict {
  return { kind: 'FAILED', failure, paymentClosed: PAYMENT_CLOSED_CODES.has(failure.code) };
}

function done(result: RefundResultV1): RefundVerdict {
  return { kind: 'DONE', ...definedOnly({ alipayRefundId: result.alipayRefundId, refundTime: result.refundTime }) };
}

function factsOf(result: { alipayPaymentId?: string; paymentTime?: string; walletBrandName?: string }): AlipayFacts {
  return definedOnly({ paymentId: result.alipayPaymentId, paymentTime: result.paymentTime, walletBrandName: result.walletBrandName });
}
