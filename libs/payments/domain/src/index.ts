/**
 * @upm/payments-domain: the payment saga as a pure workflow (no framework, no I/O, no clock).
 *
 *   initialState() → SagaState
 *   decide(input, state, ctx) → SagaEvent[]       what happened
 *   evolve(state, event) → SagaState              fold one event
 *   handle(state, input, ctx) → { state, events, outputs }   the runner's single call
 */
export * from './model';
export { DEFAULT_SAGA_CONFIG, answerDeadlineMs, maxCancels, sagaConfigProblems, type SagaConfig } from './config';
export { decide } from './decide';
export { evolve, initialState, published } from './evolve';
export { handle, outputsOf } from './payment-saga.workflow';
export { paymentRequestIdOf, reversalRefundIdOf } from './ids';
export { NOT_CHARGED_PER_REPORT } from './review-flow';
export { publicStatus, refundViewOf, refundedAmount, viewOf } from './view';
