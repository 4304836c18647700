import { formatAmsTime } from '@upm/alipay';
import type {
  AmsCallResult,
  AmsNotification,
  CancelResponse,
  InquiryPaymentResponse,
  InquiryRefundResponse,
  PaymentNotification,
  PayResponse,
  RefundNotification,
  RefundResponse,
  UpmPayInput,
} from '@upm/alipay';
import { moneySchema, type Money, type PayCommandV1, type RefundCommandV1 } from '@upm/contracts';
import { maskCodesInText } from '@upm/shared-observability';

/**
 * Pure mapping between our alipay.v1 messages and AMS bodies. Whatever Alipay answers is fitted to our
 * contracts (lengths, timestamp format) here, so an odd answer can never make a result unreadable downstream.
 */
export function payInput(command: PayCommandV1, notifyUrl: string | undefined): UpmPayInput {
  const m = command.merchant;
  return {
    paymentRequestId: command.paymentRequestId,
    paymentCode: command.paymentCode,
    amount: command.amount,
    referenceOrderId: command.merchantOrderId,
    // AMS requires these and reads blank as missing: a blank one is named by its id, as a missing description is
    orderDescription: shownOr(command.description, command.merchantOrderId),
    merchant: {
      referenceMerchantId: m.merchantId,
      merchantName: shownOr(m.merchantName, m.merchantId),
      merchantMCC: m.merchantMcc,
      store: { referenceStoreId: m.storeId, storeName: shownOr(m.storeName, m.storeId), storeMCC: m.storeMcc },
    },
    // AMS's timestamp form (spec §2.8); derived from the command alone, so a re-sent pay is the same request
    env: { storeTerminalId: m.terminalId, storeTerminalRequestTime: formatAmsTime(new Date(command.terminalRequestTime)) },
    ...(notifyUrl ? { paymentNotifyUrl: notifyUrl } : {}),
  };
}

/** Alipay's refundRequestId is unique across all payments: our refund id; the merchant's own id rides along. */
export function refundRequest(command: RefundCommandV1, notifyUrl: string | undefined) {
  return {
    refundRequestId: command.refundId,
    paymentId: command.alipayPaymentId,
    refundAmount: command.amount,
    referenceRefundId: command.refundRequestId,
    ...(command.reason ? { refundReason: command.reason } : {}),
    ...(notifyUrl ? { refundNotifyUrl: notifyUrl } : {}),
  };
}

interface Ref {
  paymentId: string;
  paymentRequestId: string;
  attempt: number;
}

function base(ref: Ref, result: AmsCallResult<unknown>) {
  return {
    paymentId: ref.paymentId,
    paymentRequestId: ref.paymentRequestId,
    attempt: ref.attempt,
    outcome: result.outcome,
    resultCode: clip(currentCode(result.resultCode), 64) || 'UNKNOWN',
    // Alipay may quote the request back, payment code included
    resultMessage: clip(maskCodesInText(result.resultMessage ?? ''), 512),
  };
}

function paymentFacts(body: PayResponse | InquiryPaymentResponse | undefined) {
  return definedOnly({
    alipayPaymentId: optionalId(body?.paymentId),
    paymentTime: iso(body?.paymentTime),
    walletBrandName: clip(body?.pspCustomerInfo?.pspName, 64) || undefined,
  });
}

/**
 * The payment's amount as Alipay reports it (paymentAmount, in a pay or inquiry answer or a payment notification), for
 * the saga to compare with the amount asked; one that is not minor units of a currency we know is dropped, as an odd
 * timestamp is, so the message stays readable.
 */
function answeredAmount(body: { paymentAmount?: unknown } | undefined): { amount?: Money } {
  return readableAmount(body?.paymentAmount);
}

/** An amount Alipay reports, when it is minor units of a currency we know; otherwise nothing. */
function readableAmount(amount: unknown): { amount?: Money } {
  const parsed = moneySchema.safeParse(amount);
  return parsed.success ? { amount: parsed.data } : {};
}

export function payResult(ref: Ref, result: AmsCallResult<PayResponse>) {
  return { ...base(ref, result), ...paymentFacts(result.body), ...answeredAmount(result.body) };
}

export function inquiryResult(ref: Ref, result: AmsCallResult<InquiryPaymentResponse>) {
  const status = result.outcome === 'S' ? result.body?.paymentStatus : undefined;
  return {
    ...base(ref, result),
    ...paymentFacts(result.body),
    ...answeredAmount(result.body),
    ...definedOnly({
      paymentStatus: stillProcessingUnlessKnown(status, PAYMENT_STATUSES),
      paymentResultCode: clip(currentCode(result.body?.paymentResultCode), 64) || undefined,
    }),
  };
}

export function cancelResult(ref: Ref, result: AmsCallResult<CancelResponse>) {
  return { ...base(ref, result), ...definedOnly({ cancelTime: iso(result.body?.cancelTime) }) };
}

export function refundResult(command: RefundCommandV1, result: AmsCallResult<RefundResponse>) {
  return {
    ...base(command, result),
    refundId: command.refundId,
    refundRequestId: command.refundRequestId,
    ...definedOnly({ alipayRefundId: optionalId(result.body?.refundId), refundTime: iso(result.body?.refundTime) }),
  };
}

export function inquireRefundResult(command: Ref & { refundId: string; refundRequestId: string }, result: AmsCallResult<InquiryRefundResponse>) {
  return {
    ...base(command, result),
    refundId: command.refundId,
    refundRequestId: command.refundRequestId,
    ...definedOnly({
      alipayRefundId: optionalId(result.body?.refundId),
      refundTime: iso(result.body?.refundTime),
      refundStatus: stillProcessingUnlessKnown(result.outcome === 'S' ? result.body?.refundStatus : undefined, REFUND_STATUSES),
    }),
  };
}

/**
 * A verified notification as the message the saga reads, or undefined when it is no answer the saga can act
 * on. A refund notification names only Alipay's refundRequestId (our refund id): `refundRoute` is the
 * payment and merchant request id it belongs to.
 */
export function notificationMessage(
  notification: AmsNotification,
  refundRoute: { paymentId: string; refundRequestId: string } | undefined,
): { type: 'PaymentNotified' | 'RefundNotified'; key: string; data: Record<string, unknown> } | undefined {
  if (notification.notifyType === 'PAYMENT_RESULT') {
    const notified = paymentOutcome(notification);
    if (!notified) return undefined;
    return {
      type: 'PaymentNotified',
      key: notification.paymentRequestId,
      data: {
        paymentId: notification.paymentRequestId,
        paymentRequestId: notification.paymentRequestId,
        outcome: notified,
        resultCode: clip(currentCode(notification.result.resultCode), 64),
        ...answeredAmount(notification),
        ...paymentFacts(notification),
      },
    };
  }
  const target = refundRoute;
  const notified = refundOutcome(notification);
  if (!target || !notified) return undefined;
  return {
    type: 'RefundNotified',
    key: target.paymentId,
    data: {
      paymentId: target.paymentId,
      refundId: notification.refundRequestId,
      refundRequestId: target.refundRequestId,
      outcome: notified,
      resultCode: clip(currentCode(notification.result.resultCode), 64),
      // dropped, as a payment notification's is, when it is not minor units of a currency we know
      ...readableAmount(notification.refundAmount),
      ...definedOnly({ alipayRefundId: optionalId(notification.refundId), refundTime: iso(notification.refundTime) }),
    },
  };
}

/**
 * A payment notification's outcome. In-store notifications carry the payment's result in `result` and no
 * paymentStatus (spec §9); the legacy SDK reads a missing one as SUCCESS when the result is S, which makes
 * a paymentStatus that is there the payment's state. So one that is not final (PROCESSING, PENDING, one we
 * do not know) or that contradicts the result answers nothing: the saga's own inquiries settle the payment.
 */
function paymentOutcome(notification: PaymentNotification): 'S' | 'F' | undefined {
  const status: string | undefined = notification.paymentStatus;
  if (notification.result.resultStatus === 'S') return status === undefined || status === 'SUCCESS' ? 'S' : undefined;
  return status === undefined || status === 'FAIL' || status === 'CANCELLED' ? 'F' : undefined;
}

/**
 * A refund notification's outcome: its refundStatus (spec §9: SUCCESS or FAIL) when there is one, else its
 * result. A success needs both to say so; a status not final or not known answers nothing (the saga's
 * inquiryRefund settles the refund).
 */
function refundOutcome(notification: RefundNotification): 'S' | 'F' | undefined {
  const status: string | undefined = notification.refundStatus;
  if (status === 'FAIL') return 'F';
  if (status === undefined) return notification.result.resultStatus === 'S' ? 'S' : 'F';
  return status === 'SUCCESS' && notification.result.resultStatus === 'S' ? 'S' : undefined;
}

const PAYMENT_STATUSES = ['SUCCESS', 'FAIL', 'PROCESSING', 'CANCELLED'] as const;
const REFUND_STATUSES = ['SUCCESS', 'FAIL', 'PROCESSING'] as const;

/**
 * A status Alipay reported, as the saga reads it: one our contract names, or else PROCESSING, so a status
 * we do not know (PENDING, an online-payments state, or anything newer) is never taken for a final one.
 */
function stillProcessingUnlessKnown<S extends string>(status: string | undefined, known: readonly S[]): S | 'PROCESSING' | undefined {
  if (status === undefined) return undefined;
  return (known as readonly string[]).includes(status) ? (status as S) : 'PROCESSING';
}

/** Alipay's legacy result codes and the names it gives them now (spec §4.4), so a POS reads one code for one cause. */
const CURRENT_CODES: Readonly<Record<string, string>> = {
  INVALID_CODE: 'INVALID_PAYMENT_CODE',
  SIGNATURE_INVALID: 'INVALID_SIGNATURE',
};

function currentCode(code: string | undefined): string | undefined {
  return code !== undefined && Object.hasOwn(CURRENT_CODES, code) ? CURRENT_CODES[code] : code;
}

/** The text, when it has something to show (not only white space); the fallback otherwise. */
function shownOr(text: string | undefined, fallback: string): string {
  return text?.trim() ? text : fallback;
}

function clip(text: string | undefined, max: number): string {
  return (text ?? '').slice(0, max);
}

function optionalId(id: string | undefined): string | undefined {
  return id && id.length <= 64 ? id : undefined;
}

/** Alipay's timestamps as ISO-8601 with an offset, or nothing when they do not parse. */
function iso(time: string | undefined): string | undefined {
  if (!time) return undefined;
  const parsed = new Date(time);
  return Number.isNaN(parsed.getTime()) ? undefined : parsed.toISOString();
}

function definedOnly<T extends Record<string, unknown>>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}
