import { randomInt } from 'node:crypto';
import type { Money } from '@upm/contracts';
import type { AmsApi, AmsResult, PayRequest, RefundRequest, RefundResponse } from '@upm/alipay';
import type { Failure, Scenario } from './scenarios';

export type SandboxPaymentStatus = 'PROCESSING' | 'SUCCESS' | 'FAIL' | 'CANCELLED';

export interface NotificationLog {
  notifyType: 'PAYMENT_RESULT' | 'REFUND_RESULT';
  url: string;
  copies: number;
  attempts: number;
  /** deliveries the receiver acknowledged */
  acknowledged: number;
  /** HTTP status, or TIMEOUT / NETWORK_ERROR, of the latest attempt */
  lastAnswer?: string;
}

export interface PaymentRecord {
  clientId: string;
  customerId: string;
  paymentRequestId: string;
  paymentId: string;
  /** canonical form of the pay body, for REPEAT_REQ_INCONSISTENT */
  fingerprint: string;
  request: PayRequest;
  amount: Money;
  /** where its notification goes: the request's paymentNotifyUrl, else the client's Dashboard URL */
  notifyUrl?: string;
  /** the contract currency it settles in, chosen at pay; undefined: its own currency */
  settlementCurrency?: string;
  scenario: Scenario;
  status: SandboxPaymentStatus;
  failure?: Failure;
  /** the U result answered while processing */
  pendingResult?: AmsResult;
  createdAt: Date;
  paidAt?: Date;
  cancelledAt?: Date;
  /** cancelled after it had succeeded: the money went back in full */
  reversed: boolean;
  refunds: RefundRecord[];
  notifications: NotificationLog[];
}

export interface RefundRecord {
  clientId: string;
  refundRequestId: string;
  fingerprint: string;
  request: RefundRequest;
  /** the payment it refers to, when it exists */
  payment?: PaymentRecord;
  /** where its notification goes: the request's refundNotifyUrl, else the client's Dashboard URL */
  notifyUrl?: string;
  status: 'SUCCESS' | 'FAIL';
  refundId?: string;
  refundTime?: Date;
  failure?: Failure;
  /** the answer replayed for the same request */
  answer: RefundResponse;
}

export type CallCounts = Record<AmsApi, number>;

/** One money movement, the material of the report files. */
export interface LedgerEntry {
  type: 'PAYMENT' | 'REFUND' | 'CANCEL';
  customerId: string;
  at: Date;
  /** positive; the report applies the sign */
  amount: Money;
  /** the currency its payment settles in (refunds and cancels follow their payment); undefined: its own */
  settlementCurrency?: string;
  transactionId: string;
  originalTransactionId: string;
  transactionRequestId: string;
  originalTransactionRequestId: string;
  referenceTransactionId: string;
  referenceMerchantId: string;
  referenceStoreId: string;
  orderDescription: string;
}

const key = (clientId: string, requestId: string) => `${clientId}\n${requestId}`;

/** The sandbox's memory: payments, refunds, call counts and the ledger, all in Maps (no I/O). */
export class PaymentBook {
  private readonly payments = new Map<string, PaymentRecord>();
  private readonly paymentsById = new Map<string, PaymentRecord>();
  private readonly latestByRequestId = new Map<string, PaymentRecord>();
  private readonly refunds = new Map<string, RefundRecord>();
  private readonly refundsById = new Map<string, RefundRecord>();
  private readonly calls = new Map<string, CallCounts>();
  private readonly usedCodes = new Set<string>();
  /** request ids cancelled before any pay of theirs arrived: a late pay is closed (spec §5, §6) */
  private readonly closedBeforeArrival = new Map<string, Date>();
  readonly ledger: LedgerEntry[] = [];
  private sequence = 0;
  /**
   * This book's own digits in every id it gives. The memory goes with a restart while the platform keeps the
   * ids it was given: a sequence starting over would hand an old payment's id to a new one, and a refund of
   * the old payment would take the new one's money.
   */
  private readonly instance = String(randomInt(100_000_000)).padStart(8, '0');

  /** Alipay-looking ids (35 characters): date, a fixed part and the kind, this book's digits, the kind letter, a sequence. */
  nextId(kind: 'payment' | 'refund', at: Date): string {
    this.sequence += 1;
    const day = at.toISOString().slice(0, 10).replace(/-/g, '');
    const [kindDigits, letter] = kind === 'payment' ? ['19401001', 'I'] : ['19401013', 'R'];
    return `${day}${kindDigits}${this.instance}${letter}${String(this.sequence).padStart(10, '0')}`;
  }

  addPayment(record: PaymentRecord): void {
    this.payments.set(key(record.clientId, record.paymentRequestId), record);
    this.paymentsById.set(record.paymentId, record);
    this.latestByRequestId.set(record.paymentRequestId, record);
  }

  payment(clientId: string, ref: { paymentId?: string; paymentRequestId?: string }): PaymentRecord | undefined {
    if (ref.paymentId !== undefined) {
      const byId = this.paymentsById.get(ref.paymentId);
      return byId?.clientId === clientId ? byId : undefined;
    }
    return ref.paymentRequestId === undefined ? undefined : this.payments.get(key(clientId, ref.paymentRequestId));
  }

  /** For the sandbox's own view: a client's payment, or the latest one with that request id. */
  findPayment(paymentRequestId: string, clientId?: string): PaymentRecord | undefined {
    return clientId ? this.payments.get(key(clientId, paymentRequestId)) : this.latestByRequestId.get(paymentRequestId);
  }

  addRefund(record: RefundRecord): void {
    this.refunds.set(key(record.clientId, record.refundRequestId), record);
    if (record.refundId) this.refundsById.set(record.refundId, record);
    record.payment?.refunds.push(record);
  }

  refund(clientId: string, ref: { refundId?: string; refundRequestId?: string }): RefundRecord | undefined {
    if (ref.refundId !== undefined) {
      const byId = this.refundsById.get(ref.refundId);
      return byId?.clientId === clientId ? byId : undefined;
    }
    return ref.refundRequestId === undefined ? undefined : this.refunds.get(key(clientId, ref.refundRequestId));
  }

  countCall(clientId: string, paymentRequestId: string, api: AmsApi): void {
    const counts = this.callsFor(clientId, paymentRequestId) ?? { pay: 0, inquiryPayment: 0, cancel: 0, refund: 0, inquiryRefund: 0 };
    counts[api] += 1;
    this.calls.set(key(clientId, paymentRequestId), counts);
  }

  callsFor(clientId: string, paymentRequestId: string): CallCounts | undefined {
    return this.calls.get(key(clientId, paymentRequestId));
  }

  /** Client ids that sent calls for this request id, most recent last. */
  clientsWithCalls(paymentRequestId: string): string[] {
    return [...this.calls.keys()].filter((k) => k.endsWith(`\n${paymentRequestId}`)).map((k) => k.split('\n')[0]);
  }

  /** Remembers a cancel of a paymentRequestId the sandbox has no payment for; the first cancel's time stays. */
  closeBeforeArrival(clientId: string, paymentRequestId: string, at: Date): void {
    const k = key(clientId, paymentRequestId);
    if (!this.closedBeforeArrival.has(k)) this.closedBeforeArrival.set(k, at);
  }

  /** When a cancel closed this paymentRequestId before any pay of it arrived, if one did. */
  closedBeforeArrivalAt(clientId: string, paymentRequestId: string): Date | undefined {
    return this.closedBeforeArrival.get(key(clientId, paymentRequestId));
  }

  /** Remembers a payment code that a recorded payment has taken. */
  useCode(code: string): void {
    this.usedCodes.add(code);
  }

  /** Whether a recorded payment has taken this code already. */
  isCodeUsed(code: string): boolean {
    return this.usedCodes.has(code);
  }

  record(entry: LedgerEntry): void {
    this.ledger.push(entry);
  }
}
