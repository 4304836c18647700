import type { PaymentAnswer } from './answers';
import { evolve } from './evolve';
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
 * New facts from an answer (Alipay's ids and times, "pay answered", "known paid"); none when it teaches
 * nothing, so that a duplicate yields no event at all. After a final status only missing ids are filled.
 */
export function facts(state: ActiveState, answer: PaymentAnswer, final: boolean): SagaEvent[] {
  const newFacts = Object.fromEntries(Object.entries(answer.alipay).filter(([key]) => state.alipay[key as keyof typeof state.alipay] === undefined));
  const payAnswered = !final && answer.source === 'PAY' && !state.payAnswered;
  const knownPaid = !final && answer.verdict.kind === 'PAID' && !state.knownPaid;
  return Object.keys(newFacts).length > 0 || payAnswered || knownPaid ? [{ type: 'FactsRecorded', alipay: newFacts, payAnswered, knownPaid }] : [];
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

