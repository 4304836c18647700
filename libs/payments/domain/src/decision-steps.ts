import type { PaymentAnswer } from './answers';
import { evolve } from './evolve';
import type { Money } from '@upm/contracts';
import type { ActiveState, RejectionCode, ReviewKind, SagaContext, SagaEvent, SagaState, TimerName } from './model';

/** Building blocks shared by the decision functions: folding, facts, and the common events. */

/**
 * Decisions that take several steps see the state after the earlier ones (e.g. the attempt number a
 * command gets after a phase change), by folding the first events with evolve.
 */
export function chain(state: ActiveState, first: SagaEvent[], then: (next: ActiveState) => SagaEvent[]): SagaEvent[] {
  const next = first.reduce<SagaState>(evolve, state);
  return next.status === 'NEW' ? first : [...first, ...then(next)];
}

/**
 * New facts from an answer (Alipay's ids and times, "pay answered", "known paid", the other amount it was paid
 * for); none when it teaches nothing, so that a duplicate yields no event at all. After a final status only
 * missing ids and that amount are filled.
 */
export function facts(state: ActiveState, answer: PaymentAnswer, final: boolean): SagaEvent[] {
  const newFacts = Object.fromEntries(Object.entries(answer.alipay).filter(([key]) => state.alipay[key as keyof typeof state.alipay] === undefined));
  const payAnswered = !final && answer.source === 'PAY' && !state.payAnswered;
  const knownPaid = !final && answer.verdict.kind === 'PAID' && !state.knownPaid;
  const chargedOther = state.chargedOther ? undefined : chargedOtherAmount(state, answer);
  return Object.keys(newFacts).length > 0 || payAnswered || knownPaid || chargedOther
    ? [{ type: 'FactsRecorded', alipay: newFacts, payAnswered, knownPaid, ...(chargedOther ? { chargedOther } : {}) }]
    : [];
}

/**
 * What Alipay reports it charged, when a success names another amount or currency than the payment asked (its
 * paymentAmount): the sale is then not what the POS rang up, so it is never taken for paid as asked. An answer
 * without an amount says nothing about it.
 */
export function chargedOtherAmount(state: ActiveState, answer: PaymentAnswer): Money | undefined {
  return answer.verdict.kind === 'PAID' && answer.amount && !sameMoney(answer.amount, state.payment.amount) ? answer.amount : undefined;
}

export function needsReview(kind: ReviewKind, reason: string, ctx: SagaContext): SagaEvent {
  return { type: 'PaymentNeedsReview', kind, reason: reason.slice(0, 512), at: iso(ctx.now) };
}

export function timer(name: TimerName, attempt: number, inMs: number, ctx: SagaContext): SagaEvent {
  return { type: 'TimerScheduled', timer: { name, attempt, dueAt: new Date(ctx.now.getTime() + inMs).toISOString() } };
}

export function reject(code: RejectionCode, message: string): SagaEvent {
  return { type: 'CommandRejected', code, message };
}

export function sameMoney(a: { currency: string; value: string }, b: { currency: string; value: string }): boolean {
  return a.currency === b.currency && BigInt(a.value) === BigInt(b.value);
}

export function iso(date: Date): string {
  return date.toISOString();
}

/** The payment is closed: by a cancel, or as unpaid after the POS asked for one. */
export function cancelled(lateSuccessIsAnomaly: boolean, ctx: SagaContext): SagaEvent {
  return { type: 'PaymentCancelled', lateSuccessIsAnomaly, at: iso(ctx.now) };
}

