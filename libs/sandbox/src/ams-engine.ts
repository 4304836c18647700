import { checkPaymentCode, Money } from '@upm/contracts';
import {
  AmsApi,
  AmsResult,
  CancelResponse,
  formatAmsTime,
  InquiryPaymentResponse,
  InquiryRefundResponse,
  PaymentNotification,
  PayRequest,
  PayResponse,
  PspCustomerInfo,
  RefundNotification,
  RefundRequest,
  RefundResponse,
  ResultStatus,
} from '@upm/alipay';
import { cancelDeadline, DAY_IN_MS } from './business-time';
import { quote } from './fx';
import type { Notifier } from './notifier';
import type { PaymentBook, PaymentRecord, RefundRecord } from './payment-book';
import { validatePay, validatePaymentReference, validateRefund, validateRefundReference } from './request-validation';
import type { SandboxClient } from './client-registry';
import type { SandboxClock } from './sandbox-clock';
import { scaled, SandboxSettings } from './sandbox-settings';
import { Failure, FAILURES, INVALID_CODE_SCENARIO, Scenario, scenarioOf } from './scenarios';
import type { TimerSet } from './timer-set';

/** What an AMS call gets: a JSON result (signed by the gateway) or a bare HTTP error, maybe held back first. */
export type EngineAnswer = { kind: 'result'; body: object } | { kind: 'http-error'; status: number; body: object };

export interface EngineReply {
  answer: EngineAnswer;
  /** extra time before answering (already shortened by the time factor) */
  holdMs: number;
  /** must complete before the answer leaves (scenario 91) */
  before?: Promise<void>;
}

export interface EngineDependencies {
  book: PaymentBook;
  clock: SandboxClock;
  timers: TimerSet;
  notifier: Notifier;
  settings: SandboxSettings;
}

const PSP_CUSTOMER: PspCustomerInfo = { pspName: 'ALIPAYCN', pspCustomerId: '2088000000000001', displayCustomerId: 'san***@mock.com' };
/** the currency of the ALIPAYCN wallet that pays */
const WALLET_CURRENCY = 'CNY';

/** Alipay's side of pay, inquiryPayment, cancel, refund and inquiryRefund, over the in-memory book. */
export class AmsEngine {
  constructor(private readonly deps: EngineDependencies) {}

  handle(api: AmsApi, client: SandboxClient, body: unknown): EngineReply {
    switch (api) {
      case 'pay':
        return this.pay(client, body);
      case 'inquiryPayment':
        return answer(this.inquiryPayment(client, body));
      case 'cancel':
        return answer(this.cancel(client, body));
      case 'refund':
        return answer(this.refund(client, body));
      case 'inquiryRefund':
        return answer(this.inquiryRefund(client, body));
    }
  }

  private pay(client: SandboxClient, body: unknown): EngineReply {
    const paymentRequestId = (body as { paymentRequestId?: unknown }).paymentRequestId;
    if (typeof paymentRequestId === 'string') this.deps.book.countCall(client.clientId, paymentRequestId, 'pay');
    const validated = validatePay(body);
    if (!validated.ok) return answer({ result: validated.result });
    const request = validated.request;
    const fingerprint = canonicalJson(request);

    const existing = this.deps.book.payment(client.clientId, { paymentRequestId: request.paymentRequestId });
    if (existing) {
      if (existing.fingerprint !== fingerprint) return answer({ result: failed('REPEAT_REQ_INCONSISTENT', 'The paymentRequestId was used with different content.') });
      this.expireIfDue(existing);
      return answer(payAnswer(existing));
    }
    // a cancel that found nothing closed this id: the pay arrived late and can no longer succeed (spec §5, §6)
    if (this.deps.book.closedBeforeArrivalAt(client.clientId, request.paymentRequestId)) return answer({ result: CLOSED_BY_CANCEL });
    const settlement = this.settlementCurrencyOf(request);
    if (!settlement.ok) return answer({ result: settlement.result });

    const scenario = this.scenarioFor(request.paymentMethod.paymentMethodId);
    const hold = scenario.transport === 'HANG' ? scaled(this.deps.settings, this.deps.settings.hangMs) : 0;
    if (scenario.records === 'NOTHING') {
      return { answer: { kind: 'result', body: { result: unknownResult('UNKNOWN_EXCEPTION') } }, holdMs: hold };
    }
    // the wallet has taken the code only once a payment is recorded: a pay that reached nothing leaves it unused
    this.deps.book.useCode(request.paymentMethod.paymentMethodId);
    const payment = this.createPayment(client, request, fingerprint, scenario, settlement.currency);
    const firstNotification = this.startPayment(payment);
    if (scenario.transport === 'HTTP_500') {
      return { answer: { kind: 'http-error', status: 500, body: { result: unknownResult('UNKNOWN_EXCEPTION') } }, holdMs: 0 };
    }
    return { answer: { kind: 'result', body: payAnswer(payment) }, holdMs: hold, ...(scenario.notifyBeforeAnswer ? { before: firstNotification } : {}) };
  }

  private scenarioFor(code: string): Scenario {
    const checked = checkPaymentCode(code);
    if (!checked.ok || checked.code !== code) return INVALID_CODE_SCENARIO;
    if (this.deps.settings.singleUseCodes && this.deps.book.isCodeUsed(code)) return { name: 'reused-code', records: 'FAIL', failure: FAILURES.expired };
    return scenarioOf(code);
  }

  /**
   * The currency the payment settles in (spec §3.6, §12): the one its settlementStrategy names, which must be
   * one of the contract's (SETTLE_CONTRACT_NOT_MATCH), and must be named when the contract has several
   * (PARAM_ILLEGAL); else the contract's one. A contract that names none settles each payment in its own
   * currency, so only that one may be named. Undefined: its own currency.
   */
  private settlementCurrencyOf(request: PayRequest): { ok: true; currency?: string } | { ok: false; result: AmsResult } {
    const contract = this.deps.settings.settlementCurrencies;
    const named = request.settlementStrategy?.settlementCurrency;
    if (named === undefined) {
      if (contract.length > 1) return { ok: false, result: failed('PARAM_ILLEGAL', `settlementStrategy.settlementCurrency is required: the contract settles in ${contract.join(', ')}`) };
      return { ok: true, currency: contract[0] };
    }
    const allowed = contract.length > 0 ? contract : [request.paymentAmount.currency];
    if (!allowed.includes(named)) return { ok: false, result: failed('SETTLE_CONTRACT_NOT_MATCH', `The contract does not settle in ${named}.`) };
    return { ok: true, currency: contract.length > 0 ? named : undefined };
  }

  private createPayment(client: SandboxClient, request: PayRequest, fingerprint: string, scenario: Scenario, settlementCurrency: string | undefined): PaymentRecord {
    const now = this.deps.clock.now();
    const payment: PaymentRecord = {
      clientId: client.clientId,
      customerId: client.customerId,
      paymentRequestId: request.paymentRequestId,
      paymentId: this.deps.book.nextId('payment', now),
      fingerprint,
      request,
      amount: { ...request.paymentAmount },
      ...notifyUrlOf(request.paymentNotifyUrl, client),
      ...(settlementCurrency ? { settlementCurrency } : {}),
      scenario,
      status: 'PROCESSING',
      createdAt: now,
      reversed: false,
      refunds: [],
      notifications: [],
    };
    this.deps.book.addPayment(payment);
    return payment;
  }

  /** Applies the scenario's first state; answers the first notification attempt (resolved when none is sent). */
  private startPayment(payment: PaymentRecord): Promise<void> {
    const { scenario } = payment;
    if (scenario.records !== 'FAIL' && this.hasExpired(payment)) return this.fail(payment, FAILURES.expiredPayment);
    switch (scenario.records) {
      case 'SUCCESS':
        return this.succeed(payment);
      case 'FAIL':
        return this.fail(payment, scenario.failure ?? FAILURES.invalidCode);
      case 'PROCESSING':
        payment.pendingResult = unknownResult(scenario.pendingCode ?? 'PAYMENT_IN_PROCESS');
        if (scenario.afterPin) this.deps.timers.after(scaled(this.deps.settings, this.deps.settings.pinDelayMs), () => this.afterPin(payment));
        this.closeAtExpiry(payment);
        return Promise.resolve();
      case 'NOTHING':
        return Promise.resolve();
    }
  }

  private afterPin(payment: PaymentRecord): void {
    this.expireIfDue(payment);
    // a cancel (or the expiry) that came first wins: the user can no longer pay
    if (payment.status !== 'PROCESSING') return;
    void (payment.scenario.afterPin === 'SUCCESS' ? this.succeed(payment) : this.fail(payment, payment.scenario.failure ?? FAILURES.userDeclined));
  }

  /** spec §4.1: after its paymentExpiryTime a payment can no longer succeed */
  private hasExpired(payment: PaymentRecord): boolean {
    const expiry = payment.request.paymentExpiryTime;
    return expiry !== undefined && this.deps.clock.now().getTime() > Date.parse(expiry);
  }

  /** A payment still processing at its paymentExpiryTime is closed: FAIL ORDER_IS_CLOSED, notified like any failure. */
  private expireIfDue(payment: PaymentRecord): void {
    if (payment.status === 'PROCESSING' && this.hasExpired(payment)) void this.fail(payment, FAILURES.expiredPayment);
  }

  /** Closes the payment when its expiry comes on the clock as it runs now; moving the clock is caught at the next look. */
  private closeAtExpiry(payment: PaymentRecord): void {
    const expiry = payment.request.paymentExpiryTime;
    if (expiry === undefined) return;
    const delay = Date.parse(expiry) - this.deps.clock.now().getTime() + 1;
    if (delay <= MAX_TIMER_MS) this.deps.timers.after(delay, () => this.expireIfDue(payment));
  }

  private succeed(payment: PaymentRecord): Promise<void> {
    payment.status = 'SUCCESS';
    payment.paidAt = this.deps.clock.now();
    const { request } = payment;
    this.deps.book.record({
      type: 'PAYMENT',
      customerId: payment.customerId,
      at: payment.paidAt,
      amount: payment.amount,
      settlementCurrency: payment.settlementCurrency,
      transactionId: payment.paymentId,
      originalTransactionId: '',
      transactionRequestId: payment.paymentRequestId,
      originalTransactionRequestId: '',
      referenceTransactionId: request.order.referenceOrderId,
      ...merchantOf(request),
    });
    return this.notifyPayment(payment);
  }

  private fail(payment: PaymentRecord, failure: Failure): Promise<void> {
    payment.status = 'FAIL';
    payment.failure = failure;
    return this.deps.settings.notifyFailures ? this.notifyPayment(payment) : Promise.resolve();
  }

  private notifyPayment(payment: PaymentRecord): Promise<void> {
    const url = payment.notifyUrl;
    if (!url) return Promise.resolve();
    const succeeded = payment.status === 'SUCCESS';
    const notification: PaymentNotification = {
      notifyType: 'PAYMENT_RESULT',
      result: succeeded ? SUCCESS : failed(payment.failure?.code ?? 'PROCESS_FAIL', payment.failure?.message ?? 'failed'),
      paymentRequestId: payment.paymentRequestId,
      paymentId: payment.paymentId,
      paymentAmount: payment.amount,
      paymentCreateTime: formatAmsTime(payment.createdAt),
      ...(succeeded && payment.paidAt ? { paymentTime: formatAmsTime(payment.paidAt), ...walletSide(payment.amount) } : {}),
    };
    const log = { notifyType: notification.notifyType, url, copies: payment.scenario.notifyCopies ?? 1, attempts: 0, acknowledged: 0 };
    payment.notifications.push(log);
    const send = () => this.deps.notifier.send({ url, clientId: payment.clientId, body: JSON.stringify(notification), copies: log.copies, log });
    if (!payment.scenario.notifyAfterHang) return send();
    this.deps.timers.after(scaled(this.deps.settings, this.deps.settings.hangMs), () => void send());
    return Promise.resolve();
  }

  private inquiryPayment(client: SandboxClient, body: unknown): object {
    const validated = validatePaymentReference(body);
    if (!validated.ok) return { result: validated.result };
    const payment = this.findPayment(client, validated.request, 'inquiryPayment');
    if (!payment) return { result: NO_SUCH_PAYMENT };
    const paid = payment.status === 'SUCCESS' && payment.paidAt !== undefined;
    const response: InquiryPaymentResponse = {
      result: SUCCESS,
      paymentRequestId: payment.paymentRequestId,
      paymentId: payment.paymentId,
      paymentStatus: payment.status,
      ...paymentResultOf(payment),
      paymentAmount: payment.amount,
      paymentCreateTime: formatAmsTime(payment.createdAt),
      ...(paid && payment.paidAt ? { paymentTime: formatAmsTime(payment.paidAt), ...walletSide(payment.amount) } : {}),
    };
    return response;
  }

  private cancel(client: SandboxClient, body: unknown): object {
    const validated = validatePaymentReference(body);
    if (!validated.ok) return { result: validated.result };
    const payment = this.findPayment(client, validated.request, 'cancel');
    if (!payment) {
      // nothing arrived (yet): the cancel still closes any pay of this paymentRequestId that arrives later
      const { paymentId, paymentRequestId } = validated.request;
      if (paymentId === undefined && paymentRequestId !== undefined) this.deps.book.closeBeforeArrival(client.clientId, paymentRequestId, this.deps.clock.now());
      return { result: NO_SUCH_PAYMENT };
    }
    const refusal = this.cancelRefusal(payment);
    if (refusal) return { result: refusal };
    if (payment.status !== 'CANCELLED') this.close(payment);
    const response: CancelResponse = {
      result: SUCCESS,
      paymentId: payment.paymentId,
      paymentRequestId: payment.paymentRequestId,
      cancelTime: formatAmsTime(payment.cancelledAt ?? this.deps.clock.now()),
    };
    return response;
  }

  private cancelRefusal(payment: PaymentRecord): AmsResult | undefined {
    if (payment.scenario.cancel === 'UNKNOWN_FOREVER') return unknownResult('UNKNOWN_EXCEPTION');
    const windowClosed = failed('CANCEL_WINDOW_EXCEED', 'The cancellation window has passed; refund instead.');
    if (payment.scenario.cancel === 'WINDOW_EXCEEDED') return windowClosed;
    if (payment.status === 'CANCELLED') return undefined;
    if (this.deps.clock.now() > cancelDeadline(payment.createdAt)) return windowClosed;
    if (payment.refunds.some((refund) => refund.status === 'SUCCESS')) return failed('ORDER_STATUS_INVALID', 'The payment is partly refunded; refund the rest instead.');
    return undefined;
  }

  /** Cancels; a payment that had succeeded is reversed in full. */
  private close(payment: PaymentRecord): void {
    const now = this.deps.clock.now();
    if (payment.status === 'SUCCESS') {
      payment.reversed = true;
      this.deps.book.record({
        type: 'CANCEL',
        customerId: payment.customerId,
        at: now,
        amount: payment.amount,
        settlementCurrency: payment.settlementCurrency,
        transactionId: payment.paymentId,
        originalTransactionId: payment.paymentId,
        transactionRequestId: payment.paymentRequestId,
        originalTransactionRequestId: payment.paymentRequestId,
        referenceTransactionId: payment.request.order.referenceOrderId,
        ...merchantOf(payment.request),
      });
    }
    payment.status = 'CANCELLED';
    payment.cancelledAt = now;
  }

  private refund(client: SandboxClient, body: unknown): object {
    const validated = validateRefund(body);
    if (!validated.ok) return { result: validated.result };
    const request = validated.request;
    const payment = this.findPayment(client, { paymentId: request.paymentId }, 'refund');
    const fingerprint = canonicalJson(request);
    const existing = this.deps.book.refund(client.clientId, { refundRequestId: request.refundRequestId });
    if (existing) {
      return existing.fingerprint === fingerprint ? existing.answer : { result: failed('REPEAT_REQ_INCONSISTENT', 'The refundRequestId was used with different content.') };
    }
    const refusal = payment ? this.refundRefusal(payment, request) : NO_SUCH_PAYMENT;
    const record: RefundRecord =
      payment && !refusal
        ? this.refundNow(client, request, fingerprint, payment)
        : { clientId: client.clientId, refundRequestId: request.refundRequestId, fingerprint, request, payment, status: 'FAIL', ...refusedWith(refusal ?? NO_SUCH_PAYMENT) };
    this.deps.book.addRefund(record);
    if (record.status === 'SUCCESS') this.notifyRefund(record);
    return record.answer;
  }

  private refundRefusal(payment: PaymentRecord, request: RefundRequest): AmsResult | undefined {
    switch (payment.status) {
      case 'CANCELLED':
        return failed('ORDER_IS_CANCELED', 'The payment was cancelled.');
      case 'FAIL':
        return failed('ORDER_IS_CLOSED', 'The payment did not succeed.');
      case 'PROCESSING':
        return failed('ORDER_STATUS_INVALID', 'The payment is still processing.');
      case 'SUCCESS':
        break;
    }
    if (request.refundAmount.currency !== payment.amount.currency) return failed('PARAM_ILLEGAL', 'refundAmount.currency differs from the payment currency.');
    const windowEnd = (payment.paidAt ?? payment.createdAt).getTime() + this.deps.settings.refundWindowDays * DAY_IN_MS;
    if (this.deps.clock.now().getTime() > windowEnd) return failed('REFUND_WINDOW_EXCEED', 'The refund window has passed.');
    const refunded = payment.refunds.filter((r) => r.status === 'SUCCESS').reduce((sum, r) => sum + BigInt(r.request.refundAmount.value), 0n);
    if (refunded + BigInt(request.refundAmount.value) > BigInt(payment.amount.value)) return failed('REFUND_AMOUNT_EXCEED', 'The total refund amount exceeds the payment amount.');
    return undefined;
  }

  private refundNow(client: SandboxClient, request: RefundRequest, fingerprint: string, payment: PaymentRecord): RefundRecord {
    const now = this.deps.clock.now();
    const refundId = this.deps.book.nextId('refund', now);
    const answer: RefundResponse = {
      result: SUCCESS,
      refundRequestId: request.refundRequestId,
      refundId,
      paymentId: payment.paymentId,
      refundAmount: request.refundAmount,
      refundTime: formatAmsTime(now),
    };
    this.deps.book.record({
      type: 'REFUND',
      customerId: payment.customerId,
      at: now,
      amount: request.refundAmount,
      settlementCurrency: payment.settlementCurrency,
      transactionId: refundId,
      originalTransactionId: payment.paymentId,
      transactionRequestId: request.refundRequestId,
      originalTransactionRequestId: payment.paymentRequestId,
      referenceTransactionId: request.referenceRefundId ?? '',
      ...merchantOf(payment.request),
    });
    return {
      clientId: client.clientId,
      refundRequestId: request.refundRequestId,
      fingerprint,
      request,
      payment,
      ...notifyUrlOf(request.refundNotifyUrl, client),
      status: 'SUCCESS',
      refundId,
      refundTime: now,
      answer,
    };
  }

  private notifyRefund(refund: RefundRecord): void {
    const url = refund.notifyUrl;
    if (!url || !refund.payment) return;
    const notification: RefundNotification = {
      notifyType: 'REFUND_RESULT',
      result: SUCCESS,
      refundStatus: 'SUCCESS',
      refundRequestId: refund.refundRequestId,
      refundId: refund.refundId,
      paymentId: refund.payment.paymentId,
      refundAmount: refund.request.refundAmount,
      refundTime: refund.refundTime ? formatAmsTime(refund.refundTime) : undefined,
    };
    const log = { notifyType: notification.notifyType, url, copies: 1, attempts: 0, acknowledged: 0 };
    refund.payment.notifications.push(log);
    void this.deps.notifier.send({ url, clientId: refund.clientId, body: JSON.stringify(notification), copies: 1, log });
  }

  private inquiryRefund(client: SandboxClient, body: unknown): object {
    const validated = validateRefundReference(body);
    if (!validated.ok) return { result: validated.result };
    const refund = this.deps.book.refund(client.clientId, validated.request);
    if (refund?.payment) this.deps.book.countCall(client.clientId, refund.payment.paymentRequestId, 'inquiryRefund');
    if (!refund) return { result: failed('ORDER_NOT_EXIST', 'The refund does not exist.') };
    const response: InquiryRefundResponse = {
      result: SUCCESS,
      refundRequestId: refund.refundRequestId,
      refundAmount: refund.request.refundAmount,
      refundStatus: refund.status,
      ...(refund.refundId ? { refundId: refund.refundId } : {}),
      ...(refund.refundTime ? { refundTime: formatAmsTime(refund.refundTime) } : {}),
    };
    return response;
  }

  private findPayment(client: SandboxClient, ref: { paymentId?: string; paymentRequestId?: string }, api: AmsApi): PaymentRecord | undefined {
    const payment = this.deps.book.payment(client.clientId, ref);
    if (payment) this.expireIfDue(payment);
    const paymentRequestId = payment?.paymentRequestId ?? (ref.paymentId === undefined ? ref.paymentRequestId : undefined);
    if (paymentRequestId !== undefined) this.deps.book.countCall(client.clientId, paymentRequestId, api);
    return payment;
  }
}

const SUCCESS: AmsResult = { resultCode: 'SUCCESS', resultStatus: 'S', resultMessage: 'success.' };

/** setTimeout's longest delay; a later expiry is found when the payment is next looked at */
const MAX_TIMER_MS = 2 ** 31 - 1;

const UNKNOWN_MESSAGES: Record<string, string> = {
  PAYMENT_IN_PROCESS: 'The payment is being processed.',
  UNKNOWN_EXCEPTION: 'API failed due to unknown reason.',
};

const CLOSED_BY_CANCEL: AmsResult = { resultCode: 'ORDER_IS_CLOSED', resultStatus: 'F', resultMessage: 'The payment was closed.' };

const NO_SUCH_PAYMENT: AmsResult = { resultCode: 'ORDER_NOT_EXIST', resultStatus: 'F', resultMessage: 'The payment does not exist.' };

function refusedWith(refusal: AmsResult): { failure: Failure; answer: RefundResponse } {
  return { failure: { code: refusal.resultCode, message: refusal.resultMessage }, answer: { result: refusal } };
}

function result(resultStatus: ResultStatus, resultCode: string, resultMessage: string): AmsResult {
  return { resultCode, resultStatus, resultMessage };
}

function failed(code: string, message: string): AmsResult {
  return result('F', code, message);
}

function unknownResult(code: string): AmsResult {
  return result('U', code, UNKNOWN_MESSAGES[code] ?? 'unknown');
}

function answer(body: object): EngineReply {
  return { answer: { kind: 'result', body }, holdMs: 0 };
}

/** The pay answer for the payment's state now: the first answer and every replay of the same request. */
function payAnswer(payment: PaymentRecord): PayResponse {
  switch (payment.status) {
    case 'PROCESSING': {
      const pending = payment.pendingResult ?? unknownResult('PAYMENT_IN_PROCESS');
      if (pending.resultCode !== 'PAYMENT_IN_PROCESS') return { result: pending };
      return { result: pending, paymentRequestId: payment.paymentRequestId, paymentId: payment.paymentId, paymentCreateTime: formatAmsTime(payment.createdAt) };
    }
    case 'SUCCESS':
      return {
        result: SUCCESS,
        paymentRequestId: payment.paymentRequestId,
        paymentId: payment.paymentId,
        paymentAmount: payment.amount,
        paymentCreateTime: formatAmsTime(payment.createdAt),
        paymentTime: formatAmsTime(payment.paidAt ?? payment.createdAt),
        ...walletSide(payment.amount),
      };
    case 'FAIL':
      return { result: failed(payment.failure?.code ?? 'PROCESS_FAIL', payment.failure?.message ?? 'failed') };
    case 'CANCELLED':
      return { result: CLOSED_BY_CANCEL };
  }
}

function paymentResultOf(payment: PaymentRecord): { paymentResultCode: string; paymentResultMessage: string } {
  switch (payment.status) {
    case 'SUCCESS':
      return { paymentResultCode: 'SUCCESS', paymentResultMessage: 'success.' };
    case 'PROCESSING':
      return { paymentResultCode: 'PAYMENT_IN_PROCESS', paymentResultMessage: UNKNOWN_MESSAGES.PAYMENT_IN_PROCESS };
    case 'FAIL':
      return { paymentResultCode: payment.failure?.code ?? 'PROCESS_FAIL', paymentResultMessage: payment.failure?.message ?? 'failed' };
    case 'CANCELLED':
      return { paymentResultCode: 'ORDER_IS_CLOSED', paymentResultMessage: 'The payment was cancelled.' };
  }
}

/**
 * The wallet's side of a successful payment: who paid, and, when the wallet's currency differs from the
 * payment's, what the user paid in it at the sandbox's fixed quote (spec §4.2 actualPaymentAmount and
 * paymentQuote). A currency the sandbox has no rate for gets no quote.
 */
function walletSide(amount: Money): Pick<PayResponse, 'pspCustomerInfo' | 'actualPaymentAmount' | 'paymentQuote'> {
  const q = amount.currency === WALLET_CURRENCY ? undefined : quote(amount.currency, WALLET_CURRENCY);
  if (!q) return { pspCustomerInfo: PSP_CUSTOMER };
  return {
    actualPaymentAmount: { currency: WALLET_CURRENCY, value: q.convert(BigInt(amount.value)).toString() },
    paymentQuote: { quoteCurrencyPair: q.pair, quotePrice: Number(q.price), guaranteed: false },
    pspCustomerInfo: PSP_CUSTOMER,
  };
}

/** The request's notify URL wins over the one set for the client in the Dashboard (spec §2.1). */
function notifyUrlOf(requested: string | undefined, client: SandboxClient): { notifyUrl?: string } {
  const url = requested ?? client.notifyUrl;
  return url ? { notifyUrl: url } : {};
}

function merchantOf(request: PayRequest): { referenceMerchantId: string; referenceStoreId: string; orderDescription: string } {
  return {
    referenceMerchantId: request.order.merchant.referenceMerchantId,
    referenceStoreId: request.order.merchant.store.referenceStoreId,
    orderDescription: request.order.orderDescription,
  };
}

/** JSON with sorted keys: two bodies with the same content compare equal whatever their key order or spacing. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}
