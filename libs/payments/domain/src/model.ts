import type {
  CancelPaymentV1,
  CancelResultV1,
  InquireRefundResultV1,
  InquiryResultV1,
  Money,
  PayCommandV1,
  PaymentEventData,
  PaymentEventType,
  PaymentNotifiedV1,
  PaymentReviewResolvedV1,
  PayResultV1,
  RefundCommandV1,
  RefundNotifiedV1,
  RefundResultV1,
  RequestPaymentV1,
  RequestRefundV1,
} from '@upm/contracts';
import type { SagaConfig } from './config';

// ─── Inputs ─────────────────────────────────────────────────────────────────────────────────────────
// `{ type, data }` is the envelope's own shape, so the runner passes a consumed message through as is.

export type TimerName = 'INQUIRY' | 'CANCEL_RETRY' | 'REFUND_INQUIRY';

/** A due timer row, handed back by the runner. `attempt` is the attempt the timer was set for. */
export interface TimerFired {
  timer: TimerName;
  attempt: number;
}

export type SagaInput =
  | { type: 'RequestPayment'; data: RequestPaymentV1 }
  | { type: 'CancelPayment'; data: CancelPaymentV1 }
  | { type: 'RequestRefund'; data: RequestRefundV1 }
  | { type: 'PayResult'; data: PayResultV1 }
  | { type: 'InquiryResult'; data: InquiryResultV1 }
  | { type: 'CancelResult'; data: CancelResultV1 }
  | { type: 'RefundResult'; data: RefundResultV1 }
  | { type: 'InquireRefundResult'; data: InquireRefundResultV1 }
  | { type: 'PaymentNotified'; data: PaymentNotifiedV1 }
  | { type: 'RefundNotified'; data: RefundNotifiedV1 }
  /** settlement.v1: Alipay's report files settled a payment in review (see review-flow.ts) */
  | { type: 'PaymentReviewResolved'; data: PaymentReviewResolvedV1 }
  | { type: 'TimerFired'; data: TimerFired };

export interface SagaContext {
  /** the runner's clock when the input is handled; the only source of time */
  now: Date;
  config: SagaConfig;
}

// ─── Outputs ────────────────────────────────────────────────────────────────────────────────────────

/** The alipay.v1 commands without a type export in @upm/contracts, derived from the ones that have one. */
export type PaymentRefCommand = Pick<PayCommandV1, 'paymentId' | 'paymentRequestId' | 'attempt'>;
export type InquireRefundCommand = Pick<RefundCommandV1, 'paymentId' | 'paymentRequestId' | 'attempt' | 'refundId' | 'refundRequestId'>;

/** An alipay.v1.commands message, `{ type, data }` as in the envelope. */
export type AlipayCommand =
  | { type: 'Pay'; data: PayCommandV1 }
  | { type: 'InquirePayment'; data: PaymentRefCommand }
  | { type: 'CancelPayment'; data: PaymentRefCommand }
  | { type: 'Refund'; data: RefundCommandV1 }
  | { type: 'InquireRefund'; data: InquireRefundCommand };

/** A payments.v1.events message, `{ type, data }` as in the envelope. */
export type PaymentEventMessage = { [T in PaymentEventType]: { type: T; data: PaymentEventData<T> } }[PaymentEventType];

export interface PendingTimer {
  name: TimerName;
  attempt: number;
  /** ISO-8601 */
  dueAt: string;
}

export type RejectionCode =
  | 'PAYMENT_NOT_FOUND'
  | 'IDEMPOTENCY_CONFLICT'
  | 'PAYMENT_NOT_CANCELLABLE'
  | 'PAYMENT_NOT_REFUNDABLE'
  | 'REFUND_EXCEEDS_PAID'
  | 'REFUND_CURRENCY_MISMATCH'
  | 'REFUND_AMOUNT_INVALID';

/** Everything the runner writes in one transaction, in this order. */
export type SagaOutput =
  /** an outbox row on alipay.v1.commands */
  | { kind: 'SendAlipayCommand'; command: AlipayCommand }
  /** an outbox row on payments.v1.events */
  | { kind: 'PublishPaymentEvent'; event: PaymentEventMessage }
  /** upsert the payment's timer row of that name */
  | { kind: 'ScheduleTimer'; timer: PendingTimer }
  /** delete the payment's timer rows of these names */
  | { kind: 'CancelTimers'; names: TimerName[] }
  /** the input command is refused; nothing else happens (the gateway maps the code to HTTP 404/409/422) */
  | { kind: 'Reject'; code: RejectionCode; message: string };

// ─── State ──────────────────────────────────────────────────────────────────────────────────────────
// Plain JSON (strings, numbers, booleans, arrays, null): the runner stores it as one jsonb column.

export interface Failure {
  code: string;
  message: string;
}

/** What the saga knows from the RequestPayment, minus the payment code (it only travels in Pay). */
export interface PaymentFacts {
  paymentId: string;
  paymentRequestId: string;
  merchantOrderId: string;
  merchantId: string;
  storeId: string;
  terminalId: string;
  amount: Money;
  description?: string;
  createdAt: string;
}

/** What Alipay told us about the payment; filled as answers arrive, never overwritten. */
export interface AlipayFacts {
  paymentId?: string;
  paymentTime?: string;
  walletBrandName?: string;
}

/**
 * QUEUED: waiting for the refund before it (refunds are serialized per payment);
 * IN_FLIGHT: a Refund or InquireRefund is out; UNKNOWN: gave up asking, an operator must look —
 * its amount stays reserved so that no later refund can exceed what was paid.
 */
export type RefundStatus = 'QUEUED' | 'IN_FLIGHT' | 'SUCCEEDED' | 'FAILED' | 'UNKNOWN';

export interface RefundEntry {
  refundId: string;
  refundRequestId: string;
  amount: Money;
  reason?: string;
  origin: 'MERCHANT' | 'CANCEL_FALLBACK';
  status: RefundStatus;
  /** attempt of the last Refund/InquireRefund sent for it (0 before the first) */
  attempt: number;
  /** InquireRefunds sent so far: the back-off budget */
  inquiries: number;
  failure?: Failure;
  alipayRefundId?: string;
  refundTime?: string;
}

/** Why the saga is cancelling, and whether it is voiding a payment that had already SUCCEEDED. */
export interface CancelInfo {
  reason: 'POS_ABORT' | 'OPERATOR' | 'UNCONFIRMED';
  voiding: boolean;
  /** shown as the view's failure when a saga-initiated cancel ends the payment */
  cause?: Failure;
}

/**
 * REVERSED_AFTER_REFUND: Alipay gave the whole payment back (a report showing the cancel, a late cancel S, an answer of
 * CANCELLED) after refunds were taken from it, its automatic full refund included: the shopper may be paid back twice.
 * AMOUNT_MISMATCH: Alipay (an answer or a report) showed the payment paid for another amount or currency than it asked.
 * CHARGED_AFTER_CANCEL: a report showed charged a payment the POS or an operator had cancelled and the reports had shown not charged.
 * CLOSED_AT_ALIPAY: Alipay answered the payment closed while the saga held it paid: it refused a refund because the payment
 * itself is closed (never paid, or cancelled) of one SUCCEEDED, being reversed by refund or in another review (whose
 * reason it keeps), or answered one the reports had made SUCCEEDED not paid.
 */
export type ReviewKind =
  | 'CANCEL_UNKNOWN'
  | 'CANCEL_REFUSED'
  | 'REVERSAL_REFUND'
  | 'LATE_SUCCESS'
  | 'REVERSED_AFTER_REFUND'
  | 'AMOUNT_MISMATCH'
  | 'CHARGED_AFTER_CANCEL'
  | 'CLOSED_AT_ALIPAY';

/** Fields every state after NEW carries. */
export interface SagaCore {
  payment: PaymentFacts;
  alipay: AlipayFacts;
  /** the PayResult came back (any outcome): until then a cancel's ORDER_NOT_EXIST proves nothing */
  payAnswered: boolean;
  /** some answer said the money was taken (kept while cancelling: cancel wins, but the facts matter) */
  knownPaid: boolean;
  /**
   * the first answer that said paid for another amount or currency than asked named this one: what was charged,
   * even when a later answer names no amount
   */
  chargedOther?: Money;
  /** last attempt number sent per command family; answers for any other attempt are stale */
  attempts: { inquiry: number; cancel: number; refund: number };
  refunds: RefundEntry[];
  /** at most one timer is pending at any time; mirrored by ScheduleTimer / CancelTimers outputs */
  timer: PendingTimer | null;
  /** sequence of the last published payments.v1 event (PaymentCreated is 0) */
  sequence: number;
  updatedAt: string;
}

type Phase<S extends string, Extra = unknown> = SagaCore & { status: S } & Extra;

export type NewState = { status: 'NEW' };
/** PaymentCreated recorded, Pay not yet: only ever seen between two events of one decision. */
export type CreatedState = Phase<'CREATED'>;
/** Pay sent, no answer yet; the first inquiry is due firstInquiryDelayMs later. */
export type PaySentState = Phase<'PAY_SENT'>;
/** Outcome unknown (U, timeout): polling inquiryPayment. */
export type InquiringState = Phase<'INQUIRING'>;
/** Sending cancel (POS abort, operator, or inquiries exhausted); cancel wins over any late success. */
export type CancellingState = Phase<'CANCELLING', { cancel: CancelInfo }>;
/** Alipay refused the cancel (CANCEL_WINDOW_EXCEED, ORDER_STATUS_INVALID, …): inquiring to learn whether it was paid. */
export type ReversalCheckState = Phase<'REVERSAL_CHECK', { cancel: CancelInfo; check: { refusal: string; fromInquiry: number } }>;
/** It was paid and could not be cancelled: refunding the full amount (origin CANCEL_FALLBACK). */
export type RefundingReversalState = Phase<'REFUNDING_REVERSAL', { cancel: CancelInfo }>;
/**
 * `byReport`: a report resolution (CHARGED) closed it, not an answer from Alipay; a later file may still show it reversed.
 * `inquiriesBefore`: the inquiries sent before that resolution, whose answers are older than the report.
 */
export type SucceededState = Phase<'SUCCEEDED', { byReport?: true; inquiriesBefore?: number }>;
/**
 * `lateSuccessIsAnomaly`: the payment was closed because a cancel found no order (ORDER_NOT_EXIST), so a
 * success reported later was not reversed by any cancel and needs a person.
 */
export type FailedState = Phase<'FAILED', { failure: Failure; lateSuccessIsAnomaly: boolean; byReport?: true }>;
/** `byReport` (FAILED too): a report resolution (NOT_CHARGED) closed it; a later file may still show the charge. */
export type CancelledState = Phase<'CANCELLED', { failure?: Failure; lateSuccessIsAnomaly: boolean; byReport?: true }>;
/**
 * `afterCancel`: the payment was CANCELLED (the POS or an operator had called the sale off) when the review began, so a
 * charge the reports prove is never the sale.
 */
export type NeedsReviewState = Phase<'NEEDS_REVIEW', { review: { kind: ReviewKind; reason: string }; cancel?: CancelInfo; afterCancel?: true }>;

export type ActiveState =
  | CreatedState
  | PaySentState
  | InquiringState
  | CancellingState
  | ReversalCheckState
  | RefundingReversalState
  | SucceededState
  | FailedState
  | CancelledState
  | NeedsReviewState;

export type SagaState = NewState | ActiveState;
export type SagaStatus = SagaState['status'];

// ─── Events ─────────────────────────────────────────────────────────────────────────────────────────
// The saga's own facts, produced by decide and folded by evolve. `published()` says which of them
// become a payments.v1.events message; the rest are bookkeeping the runner never sees as such.

export type SagaEvent =
  | { type: 'PaymentCreated'; payment: PaymentFacts; at: string }
  | { type: 'AlipayCommandSent'; command: AlipayCommand }
  | { type: 'TimerScheduled'; timer: PendingTimer }
  | { type: 'TimerCleared' }
  | { type: 'FactsRecorded'; alipay: AlipayFacts; payAnswered: boolean; knownPaid: boolean; chargedOther?: Money }
  /** the outcome is not immediate (U or no answer): published as PaymentProcessing */
  | { type: 'InquiryStarted'; at: string }
  /** `byReport`: settled by Alipay's report files (review-flow.ts), not by an answer */
  | { type: 'PaymentSucceeded'; byReport: boolean; at: string }
  /** `byReport`: closed by Alipay's report files (NOT_CHARGED), not by an answer */
  | { type: 'PaymentFailed'; failure: Failure; lateSuccessIsAnomaly: boolean; byReport?: boolean; at: string }
  | { type: 'CancelStarted'; cancel: CancelInfo }
  | { type: 'CancelRefused'; refusal: string }
  /** a cancel answered S after the payment was closed: a success reported later was given back by it */
  | { type: 'CancelConfirmed' }
  | { type: 'PaymentCancelled'; lateSuccessIsAnomaly: boolean; byReport?: boolean; at: string }
  | { type: 'PaymentNeedsReview'; kind: ReviewKind; reason: string; at: string }
  /** a refund is stuck but the payment's status stays: published as PaymentNeedsReview (kind REFUND) with the reason and that refund */
  | { type: 'ReviewFlagged'; refundId: string; reason: string; at: string }
  | { type: 'RefundRequested'; refund: RefundEntry; at: string }
  | { type: 'RefundSucceeded'; refundId: string; alipayRefundId?: string; refundTime?: string; at: string }
  | { type: 'RefundFailed'; refundId: string; failure: Failure; at: string }
  | { type: 'RefundGaveUp'; refundId: string }
  | { type: 'CommandRejected'; code: RejectionCode; message: string };

/** One call of the runner: the state to store and what to write with it. */
export interface SagaStep {
  state: SagaState;
  events: SagaEvent[];
  outputs: SagaOutput[];
}
