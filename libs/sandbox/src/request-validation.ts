import { z } from 'zod';
import { currencyExponent, isChargeableAmount, isMinorUnits } from '@upm/contracts';
import type { AmsResult, CancelRequest, InquiryPaymentRequest, InquiryRefundRequest, PayRequest, RefundRequest } from '@upm/alipay';

/**
 * Field checks of spec §3–§8 (checklist §15.3): a missing or malformed field is PARAM_ILLEGAL, another
 * product ACCESS_DENIED, an unknown currency CURRENCY_NOT_SUPPORT. Every scalar must be a JSON string.
 */
export type Validated<T> = { ok: true; request: T } | { ok: false; result: AmsResult };

const text = (max: number) => z.string().min(1).max(max);
const requestId = z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'letters, digits, _ and - only, at most 64');
const httpUrl = (max: number) => z.string().max(max).refine(isHttpUrl, 'an http(s) URL');
/** spec §4.1, §5–§8: one client id serving several accounts names the account */
const merchantAccountId = text(32).optional();
/** spec §2.8: ISO-8601 to the second, with an offset (UTC may be `Z`) */
const amsTime = z.string().regex(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(Z|[+-]\d{2}:\d{2})$/, 'ISO-8601 with an offset, e.g. 2020-06-11T13:35:02+08:00');
/** spec §3.4: a 4-digit ISO 18245 merchant category code */
const mcc = z.string().regex(/^[0-9]{4}$/, 'a 4-digit ISO 18245 MCC');
/** spec §3.4: Alipay+'s Address model, its region (ISO 3166 alpha-2) required */
const address = z.object({
  region: z.string().regex(/^[A-Z]{2}$/, 'ISO 3166 alpha-2'),
  state: text(8).optional(),
  city: text(32).optional(),
  address1: text(256).optional(),
  address2: text(256).optional(),
  zipCode: text(32).optional(),
});
const amount = z.object({ currency: z.string().regex(/^[A-Z]{3}$/), value: z.string() });
/** spec §2.8: an optional field the spec gives no length for is still a string, and omitted rather than empty */
const present = z.string().min(1);

const paySchema = z.object({
  productCode: z.literal('IN_STORE_PAYMENT'),
  paymentRequestId: requestId,
  order: z.object({
    referenceOrderId: text(64),
    orderDescription: text(256),
    orderAmount: amount,
    merchant: z.object({
      referenceMerchantId: text(64),
      merchantMCC: mcc,
      merchantName: text(256),
      merchantDisplayName: text(64).optional(),
      merchantAddress: address.optional(),
      merchantRegisterDate: amsTime.optional(),
      store: z.object({
        referenceStoreId: text(64),
        storeName: text(256),
        storeMCC: mcc,
        storeDisplayName: present.optional(),
        storeTerminalId: present.optional(),
        storeOperatorId: present.optional(),
        storeAddress: address.optional(),
        storePhoneNo: present.optional(),
      }),
    }),
    env: z.object({
      storeTerminalId: text(64),
      storeTerminalRequestTime: amsTime,
      terminalType: present.optional(),
      osType: present.optional(),
      userAgent: present.optional(),
      clientIp: text(64).optional(),
      deviceTokenId: text(64).optional(),
      extendInfo: text(2048).optional(),
    }),
  }),
  paymentAmount: amount,
  paymentMethod: z.object({ paymentMethodType: z.literal('CONNECT_WALLET'), paymentMethodId: text(512) }),
  paymentFactor: z.object({ inStorePaymentScenario: z.literal('PaymentCode') }),
  paymentNotifyUrl: httpUrl(2048).optional(),
  paymentExpiryTime: amsTime.optional(),
  settlementStrategy: z.object({ settlementCurrency: z.string().regex(/^[A-Z]{3}$/) }).optional(),
  merchantRegion: z.string().regex(/^[A-Z]{2}$/, 'ISO 3166 alpha-2').optional(),
  merchantAccountId,
  extendInfo: present.optional(),
});

const refundSchema = z.object({
  refundRequestId: requestId,
  paymentId: text(64),
  refundAmount: amount,
  referenceRefundId: text(64).optional(),
  refundReason: text(256).optional(),
  refundNotifyUrl: httpUrl(1024).optional(),
  refundRequestTime: amsTime.optional(),
  merchantAccountId,
  extendInfo: present.optional(),
});

const paymentRef = z
  .object({ paymentId: text(64).optional(), paymentRequestId: text(64).optional(), merchantAccountId })
  .refine((r) => r.paymentId !== undefined || r.paymentRequestId !== undefined, 'paymentId or paymentRequestId is required');
const refundRef = z
  .object({ refundId: text(64).optional(), refundRequestId: text(64).optional(), merchantAccountId })
  .refine((r) => r.refundId !== undefined || r.refundRequestId !== undefined, 'refundId or refundRequestId is required');

export function validatePay(body: unknown): Validated<PayRequest> {
  const productCode = (body as { productCode?: unknown }).productCode;
  if (typeof productCode === 'string' && productCode !== 'IN_STORE_PAYMENT') return refused('ACCESS_DENIED', `product ${productCode} is not open to this client`);
  const parsed = paySchema.safeParse(body);
  if (!parsed.success) return paramIllegal(parsed.error);
  const request = body as PayRequest;
  return (
    amountProblem('paymentAmount', request.paymentAmount) ??
    amountProblem('order.orderAmount', request.order.orderAmount) ??
    (request.order.orderAmount.currency !== request.paymentAmount.currency ? refused('PARAM_ILLEGAL', 'order.orderAmount and paymentAmount differ in currency') : undefined) ?? {
      ok: true,
      request,
    }
  );
}

export function validateRefund(body: unknown): Validated<RefundRequest> {
  const parsed = refundSchema.safeParse(body);
  if (!parsed.success) return paramIllegal(parsed.error);
  const request = body as RefundRequest;
  return amountProblem('refundAmount', request.refundAmount) ?? { ok: true, request };
}

export function validatePaymentReference(body: unknown): Validated<InquiryPaymentRequest & CancelRequest> {
  const parsed = paymentRef.safeParse(body);
  return parsed.success ? { ok: true, request: parsed.data } : paramIllegal(parsed.error);
}

export function validateRefundReference(body: unknown): Validated<InquiryRefundRequest> {
  const parsed = refundRef.safeParse(body);
  return parsed.success ? { ok: true, request: parsed.data } : paramIllegal(parsed.error);
}

function amountProblem(name: string, value: { currency: string; value: string }): Validated<never> | undefined {
  if (currencyExponent(value.currency) === undefined) return refused('CURRENCY_NOT_SUPPORT', `${name}.currency ${value.currency} is not supported`);
  if (!isMinorUnits(value.value) || value.value === '0') return refused('PARAM_ILLEGAL', `${name}.value must be a positive integer of minor units`);
  if (!isChargeableAmount(value.currency, value.value)) return refused('PARAM_ILLEGAL', `${name}.value: ${value.currency} amounts end in 00`);
  return undefined;
}

function paramIllegal(error: z.ZodError): Validated<never> {
  const problems = error.issues.slice(0, 3).map((issue) => `${issue.path.join('.') || 'body'}: ${issue.message}`);
  return refused('PARAM_ILLEGAL', `illegal parameters: ${problems.join('; ')}`);
}

/** resultMessage is String(256) (spec §3.2); a message quoting the request is cut to fit */
const MAX_RESULT_MESSAGE = 256;

function refused(resultCode: string, resultMessage: string): Validated<never> {
  const message = resultMessage.length > MAX_RESULT_MESSAGE ? `${resultMessage.slice(0, MAX_RESULT_MESSAGE - 1)}…` : resultMessage;
  return { ok: false, result: { resultCode, resultStatus: 'F', resultMessage: message } };
}

export function isHttpUrl(value: string): boolean {
  try {
    const url = new URL(value);
    return url.protocol === 'http:' || url.protocol === 'https:';
  } catch {
    return false;
  }
}
