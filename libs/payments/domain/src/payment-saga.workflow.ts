import type { PaymentViewV1, RefundViewV1 } from '@upm/contracts';
import { decide } from './decide';
import { evolve, published, type PublishedEventType } from './evolve';
import type { ActiveState, PaymentEventMessage, PendingTimer, SagaContext, SagaEvent, SagaInput, SagaOutput, SagaState, SagaStep } from './model';
import { refundViewOf, viewOf } from './view';

/**
 * The runner's one call: load the saga row, `handle(state, input, ctx)`, then store `state` and write
 * `outputs` in the same transaction — alipay commands and payment events to the outbox, timers to the
 * timers table, or a rejection back to the caller. Nothing else in here touches I/O.
 */
export function handle(state: SagaState, input: SagaInput, ctx: SagaContext): SagaStep {
  const events = decide(input, state, ctx);
  let current = state;
  const outputs: SagaOutput[] = [];
  for (const event of events) {
    current = evolve(current, event);
    outputs.push(...outputsOf(event, current));
  }
  return { state: current, events, outputs: [...outputs, ...timerOutputs(state, current)] };
}

/** What one saga event asks the runner to write, given the state right after it. */
export function outputsOf(event: SagaEvent, after: SagaState): SagaOutput[] {
  switch (event.type) {
    case 'AlipayCommandSent':
      return [{ kind: 'SendAlipayCommand', command: event.command }];
    case 'CommandRejected':
      return [{ kind: 'Reject', code: event.code, message: event.message }];
    case 'PaymentCreated':
    case 'TimerScheduled':
    case 'TimerCleared':
    case 'FactsRecorded':
    case 'InquiryStarted':
    case 'PaymentSucceeded':
    case 'PaymentFailed':
    case 'CancelStarted':
    case 'CancelRefused':
    case 'CancelConfirmed':
    case 'PaymentCancelled':
    case 'PaymentNeedsReview':
    case 'ReviewFlagged':
    case 'RefundRequested':
    case 'RefundSucceeded':
    case 'RefundFailed':
    case 'RefundGaveUp': {
      const publication = published(event);
      return publication && after.status !== 'NEW' ? [{ kind: 'PublishPaymentEvent', event: message(publication.type, event, after) }] : [];
    }
  }
}

function message(type: PublishedEventType, event: SagaEvent, state: ActiveState): PaymentEventMessage {
  const payment: PaymentViewV1 = viewOf(state);
  switch (type) {
    case 'PaymentCreated':
    case 'PaymentProcessing':
    case 'PaymentSucceeded':
    case 'PaymentFailed':
    case 'PaymentCancelled':
      return { type, data: { payment } };
    case 'PaymentNeedsReview':
      // About the payment (its review kind), or about one of its refunds handed to a person (REFUND, with that refund).
      if (event.type === 'ReviewFlagged') return { type, data: { payment, reason: event.reason, kind: 'REFUND', refund: refundView(state, event, event.refundId) } };
      if (event.type === 'PaymentNeedsReview') return { type, data: { payment, reason: event.reason, kind: event.kind } };
      throw new Error(`saga bug: ${event.type} published as PaymentNeedsReview`);
    case 'RefundRequested':
    case 'RefundSucceeded':
    case 'RefundFailed': {
      const refundId = event.type === 'RefundRequested' ? event.refund.refundId : 'refundId' in event ? event.refundId : '';
      return { type, data: { payment, refund: refundView(state, event, refundId) } };
    }
  }
}

function refundView(state: ActiveState, event: SagaEvent, refundId: string): RefundViewV1 {
  const refund = state.refunds.find((r) => r.refundId === refundId);
  if (!refund) throw new Error(`saga bug: ${event.type} for unknown refund ${refundId}`);
  return refundViewOf(state, refund);
}

/**
 * The saga keeps at most one pending timer (state.timer). The runner's timers table follows it: cancel the
 * old name when it went away or changed name, upsert the new one when it changed. A runner may equally
 * make its table equal to `state.timer` after every step.
 */
function timerOutputs(before: SagaState, after: SagaState): SagaOutput[] {
  const old = before.status === 'NEW' ? null : before.timer;
  const next = after.status === 'NEW' ? null : after.timer;
  if (sameTimer(old, next)) return [];
  const outputs: SagaOutput[] = [];
  if (old && old.name !== next?.name) outputs.push({ kind: 'CancelTimers', names: [old.name] });
  if (next) outputs.push({ kind: 'ScheduleTimer', timer: next });
  return outputs;
}

function sameTimer(a: PendingTimer | null, b: PendingTimer | null): boolean {
  return a === b || (a !== null && b !== null && a.name === b.name && a.attempt === b.attempt && a.dueAt === b.dueAt);
}
