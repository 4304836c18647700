import { checkPaymentCode, currencyExponent, isMinorUnits, Money, PaymentCodeProblem } from '@upm/contracts';
import type { Env, Merchant, PayRequest, RefundRequest } from './models';

/** A request the client refuses to send because it is malformed: a bug in the caller, not a payment outcome. */
export class AmsRequestError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid AMS request: ${problems.join('; ')}`);
    this.name = 'AmsRequestError';
  }
}

/** What the caller knows about a User-Presented Mode payment; the fixed UPM fields are added by `buildPayRequest`. */
export interface UpmPayInput {
  paymentRequestId: string;
  /** the scanned code; never logged */
  paymentCode: string;
  amount: Money;
  referenceOrderId: string;
  orderDescription: string;
  merchant: Merchant;
  env: Env;
  paymentNotifyUrl?: string;
  paymentExpiryTime?: string;
  settlementCurrency?: string;
  merchantAccountId?: string;
}

const REQUEST_ID = /^[A-Za-z0-9_-]{1,64}$/;

export type BuiltPayRequest = { ok: true; request: PayRequest } | { ok: false; problem: PaymentCodeProblem };

/**
 * The UPM pay body. A code that fails the local format check (spec §11.2) is answered without calling
 * Alipay; any other malformed field throws AmsRequestError.
 */
export function buildPayRequest(input: UpmPayInput): BuiltPayRequest {
  const problems = [
    ...requestIdProblems('paymentRequestId', input.paymentRequestId),
    ...amountProblems('amount', input.amount),
    ...requiredProblems({
      referenceOrderId: input.referenceOrderId,
      orderDescription: input.orderDescription,
      'merchant.referenceMerchantId': input.merchant?.referenceMerchantId,
      'merchant.merchantMCC': input.merchant?.merchantMCC,
      'merchant.merchantName': input.merchant?.merchantName,
      'merchant.store.referenceStoreId': input.merchant?.store?.referenceStoreId,
      'merchant.store.storeName': input.merchant?.store?.storeName,
      'merchant.store.storeMCC': input.merchant?.store?.storeMCC,
      'env.storeTerminalId': input.env?.storeTerminalId,
      'env.storeTerminalRequestTime': input.env?.storeTerminalRequestTime,
    }),
  ];
  if (problems.length > 0) throw new AmsRequestError(problems);
  const code = checkPaymentCode(input.paymentCode ?? '');
  if (!code.ok) return { ok: false, problem: code.problem };

  const amount = { currency: input.amount.currency, value: input.amount.value };
  const request: PayRequest = {
    productCode: 'IN_STORE_PAYMENT',
    paymentRequestId: input.paymentRequestId,
    order: {
      referenceOrderId: input.referenceOrderId,
      orderDescription: input.orderDescription,
      orderAmount: amount,
      merchant: input.merchant,
      env: { storeTerminalId: input.env.storeTerminalId, storeTerminalRequestTime: input.env.storeTerminalRequestTime },
    },
    paymentAmount: amount,
    paymentMethod: { paymentMethodType: 'CONNECT_WALLET', paymentMethodId: code.code },
    paymentFactor: { inStorePaymentScenario: 'PaymentCode' },
    ...(input.paymentNotifyUrl ? { paymentNotifyUrl: input.paymentNotifyUrl } : {}),
    ...(input.paymentExpiryTime ? { paymentExpiryTime: input.paymentExpiryTime } : {}),
    ...(input.settlementCurrency ? { settlementStrategy: { settlementCurrency: input.settlementCurrency } } : {}),
    ...(input.merchantAccountId ? { merchantAccountId: input.merchantAccountId } : {}),
  };
  return { ok: true, request };
}

export function validateRefundRequest(request: RefundRequest): void {
  const problems = [
    ...requestIdProblems('refundRequestId', request.refundRequestId),
    ...requiredProblems({ paymentId: request.paymentId }),
    ...amountProblems('refundAmount', request.refundAmount),
  ];
  if (problems.length > 0) throw new AmsRequestError(problems);
}

/** inquiryPayment / cancel / inquiryRefund name their target by one of two ids. */
export function requireOneOf(request: object, names: readonly string[]): void {
  const values = request as Record<string, unknown>;
  if (!names.some((name) => typeof values[name] === 'string' && values[name] !== '')) {
    throw new AmsRequestError([`one of ${names.join(', ')} is required`]);
  }
}

function requestIdProblems(name: string, value: string | undefined): string[] {
  return typeof value === 'string' && REQUEST_ID.test(value) ? [] : [`${name}: 1–64 letters, digits, '_' or '-'`];
}

function amountProblems(name: string, amount: Money | undefined): string[] {
  if (!amount || typeof amount.currency !== 'string' || typeof amount.value !== 'string') return [`${name}: {currency, value} required`];
  const problems: string[] = [];
  if (currencyExponent(amount.currency) === undefined) problems.push(`${name}.currency: unsupported "${amount.currency}"`);
  if (!isMinorUnits(amount.value) || amount.value === '0') problems.push(`${name}.value: a positive integer of minor units`);
  return problems;
}

function requiredProblems(fields: Record<string, string | undefined>): string[] {
  return Object.entries(fields)
    .filter(([, value]) => typeof value !== 'string' || value.trim() === '')
    .map(([name]) => `${name}: required`);
}
