import type { PaymentEventType } from '@upm/contracts';
import type { ActiveState, AlipayCommand, PendingTimer, RefundEntry, SagaCore, SagaEvent, SagaState } from './model';
import { definedOnly } from './util';

export function initialState(): SagaState {
  return { status: 'NEW' };
}

/**
 * The payments.v1.events a saga event publishes: every type but PaymentCancelRefused, the runner's answer to a
 * refused cancel, which changes nothing and so moves no `sequence`.
 */
export type PublishedEventType = Exclude<PaymentEventType, 'PaymentCancelRefused'>;

/**
 * Which saga events become a payments.v1.events message. Each one bumps the view's `sequence` by one
 * (PaymentCreated starts it at 0); every other event is internal bookkeeping and publishes nothing.
 */
export function published(event: SagaEvent): { type: PublishedEventType; at: string } | null {
  switch (event.type) {
    case 'PaymentCreated':
      return { type: 'PaymentCreated', at: event.at };
    case 'InquiryStarted':
      return { type: 'PaymentProcessing', at: event.at };
    case 'PaymentSucceeded':
      return { type: 'PaymentSucceeded', at: event.at };
    case 'PaymentFailed':
      return { type: 'PaymentFailed', at: event.at };
    case 'PaymentCancelled':
      return { type: 'PaymentCancelled', at: event.at };
    case 'PaymentNeedsReview':
    case 'ReviewFlagged':
      return { type: 'PaymentNeedsReview', at: event.at };
    case 'RefundRequested':
      return { type: 'RefundRequested', at: event.at };
    case 'RefundSucceeded':
      return { type: 'RefundSucceeded', at: event.at };
    case 'RefundFailed':
      return { type: 'RefundFailed', at: event.at };
    case 'AlipayCommandSent':
    case 'TimerScheduled':
    case 'TimerCleared':
    case 'FactsRecorded':
    case 'CancelStarted':
    case 'CancelRefused':
    case 'CancelConfirmed':
    case 'RefundGaveUp':
    case 'CommandRejected':
      return null;
  }
}

/** Folds one saga event into the state. Total: an event that does not fit the state changes nothing. */
export function evolve(state: SagaState, event: SagaEvent): SagaState {
  if (state.status === 'NEW') {
    return event.type === 'PaymentCreated' ? created(event) : state;
  }
  const next = apply(state, event);
  const publication = published(event);
  return publication && event.type !== 'PaymentCreated' ? { ...next, sequence: next.sequence + 1, updatedAt: publication.at } : next;
}

function created(event: Extract<SagaEvent, { type: 'PaymentCreated' }>): SagaState {
  return {
    status: 'CREATED',
    payment: event.payment,
    alipay: {},
    payAnswered: false,
    knownPaid: false,
    attempts: { inquiry: 0, cancel: 0, refund: 0 },
    refunds: [],
    timer: null,
    sequence: 0,
    updatedAt: event.at,
  };
}

function apply(state: ActiveState, event: SagaEvent): ActiveState {
  switch (event.type) {
    case 'PaymentCreated':
    case 'CommandRejected':
      return state;
    case 'AlipayCommandSent':
      return commandSent(state, event.command);
    case 'TimerScheduled':
      return { ...state, timer: event.timer };
    case 'TimerCleared':
      return { ...state, timer: null };
    case 'FactsRecorded':
      return {
        ...state,
        alipay: { ...event.alipay, ...definedOnly(state.alipay) },
        payAnswered: state.payAnswered || event.payAnswered,
        knownPaid: state.knownPaid || event.knownPaid,
        ...(state.chargedOther || !event.chargedOther ? {} : { chargedOther: event.chargedOther }),
      };
    case 'InquiryStarted':
      return { ...core(state), status: 'INQUIRING' };
    case 'PaymentSucceeded':
      return {
        ...core(state),
        status: 'SUCCEEDED',
        timer: refundTimer(state),
        ...(event.byReport ? { byReport: true as const, inquiriesBefore: state.attempts.inquiry } : {}),
      };
    case 'PaymentFailed':
      return {
        ...core(state),
        status: 'FAILED',
        timer: refundTimer(state),
        failure: event.failure,
        lateSuccessIsAnomaly: event.lateSuccessIsAnomaly,
        ...(event.byReport ? { byReport: true as const } : {}),
      };
    case 'CancelStarted':
      return { ...core(state), status: 'CANCELLING', cancel: event.cancel };
    case 'CancelRefused':
      return state.status === 'CANCELLING'
        ? { ...core(state), status: 'REVERSAL_CHECK', cancel: state.cancel, check: { refusal: event.refusal, fromInquiry: state.attempts.inquiry } }
        : state;
    case 'CancelConfirmed':
      return state.status === 'FAILED' || state.status === 'CANCELLED' ? { ...state, lateSuccessIsAnomaly: false } : state;
    case 'PaymentCancelled': {
      const cause = 'cancel' in state ? state.cancel?.cause : undefined;
      return {
        ...core(state),
        status: 'CANCELLED',
        timer: refundTimer(state),
        ...(cause ? { failure: cause } : {}),
        lateSuccessIsAnomaly: event.lateSuccessIsAnomaly,
        ...(event.byReport ? { byReport: true as const } : {}),
      };
    }
    case 'PaymentNeedsReview': {
      const cancel = 'cancel' in state ? state.cancel : undefined;
      const afterCancel = state.status === 'CANCELLED' || (state.status === 'NEEDS_REVIEW' && state.afterCancel === true);
      return {
        ...core(state), status: 'NEEDS_REVIEW', timer: refundTimer(state), review: { kind: event.kind, reason: event.reason }, ...(cancel ? { cancel } : {}), ...(afterCancel ? { afterCancel } : {}),
      };
    }
    case 'ReviewFlagged':
      return state;
    case 'RefundRequested': {
      const withRefund = { ...state, refunds: [...state.refunds, event.refund] };
      // The reversal refund is what moves a refused cancel on; a merchant refund leaves the phase alone.
      return event.refund.origin === 'CANCEL_FALLBACK' && withRefund.status === 'REVERSAL_CHECK'
        ? { ...core(withRefund), status: 'REFUNDING_REVERSAL', cancel: withRefund.cancel }
        : withRefund;
    }
    case 'RefundSucceeded':
      return updateRefund(state, event.refundId, (r) => ({
        ...r,
        status: 'SUCCEEDED',
        ...(event.alipayRefundId ? { alipayRefundId: event.alipayRefundId } : {}),
        ...(event.refundTime ? { refundTime: event.refundTime } : {}),
      }));
    case 'RefundFailed':
      return updateRefund(state, event.refundId, (r) => ({ ...r, status: 'FAILED', failure: event.failure }));
    case 'RefundGaveUp':
      return updateRefund(state, event.refundId, (r) => ({ ...r, status: 'UNKNOWN' }));
  }
}

function commandSent(state: ActiveState, command: AlipayCommand): ActiveState {
  switch (command.type) {
    case 'Pay':
      return state.status === 'CREATED' ? { ...core(state), status: 'PAY_SENT' } : state;
    case 'InquirePayment':
      return { ...state, attempts: { ...state.attempts, inquiry: command.data.attempt } };
    case 'CancelPayment':
      return { ...state, attempts: { ...state.attempts, cancel: command.data.attempt } };
    case 'Refund':
    case 'InquireRefund': {
      const { attempt, refundId } = command.data;
      const inquiry = command.type === 'InquireRefund' ? 1 : 0;
      const withAttempt = { ...state, attempts: { ...state.attempts, refund: attempt } };
      return updateRefund(withAttempt, refundId, (r) => ({ ...r, status: 'IN_FLIGHT', attempt, inquiries: r.inquiries + inquiry }));
    }
  }
}

function updateRefund<S extends ActiveState>(state: S, refundId: string, change: (refund: RefundEntry) => RefundEntry): S {
  return { ...state, refunds: state.refunds.map((r) => (r.refundId === refundId ? change(r) : r)) };
}

/**
 * The timer a new status keeps: the payment's own timers (inquiry, cancel retry) end with the phase that set them,
 * but a refund in flight is asked about until Alipay answers it, whatever the payment's status became meanwhile.
 */
function refundTimer(state: ActiveState): PendingTimer | null {
  return state.timer?.name === 'REFUND_INQUIRY' && state.refunds.some((r) => r.status === 'IN_FLIGHT') ? state.timer : null;
}

/** The fields every phase shares; a transition rebuilds the phase-specific ones on top. */
function core(state: ActiveState): SagaCore {
  const { payment, alipay, payAnswered, knownPaid, chargedOther, attempts, refunds, timer, sequence, updatedAt } = state;
  return { payment, alipay, payAnswered, knownPaid, ...(chargedOther ? { chargedOther } : {}), attempts, refunds, timer, sequence, updatedAt };
}
