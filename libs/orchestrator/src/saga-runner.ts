import { Inject, Injectable } from '@nestjs/common';
import type { DataSource, EntityManager, QueryRunner } from 'typeorm';
import { createEnvelope, Envelope, RefundViewV1, RequestRefundV1, TOPICS } from '@upm/contracts';
import { handle, SagaConfig, SagaInput, SagaOutput, SagaState, viewOf } from '@upm/payments-domain';
import { appendToOutbox } from '@upm/shared-kafka';
import { Logger, Metrics } from '@upm/shared-observability';
import { LOGGER } from '@upm/shared-runtime';
import { SagaBatch } from './saga-batch';

export const SAGA_CONFIG = Symbol('SAGA_CONFIG');
const PRODUCER = 'payment-orchestrator';

/**
 * Runs the pure workflow over a payment's saga in the caller's transaction: one input, one atomic step.
 * Inside `inBatch` the sagas of the whole batch are locked and loaded with one statement and stored with
 * one at its end; the step's outbox messages go through `appendToOutbox` (collected per batch by the consumer).
 * What a step counts in metrics and the alert it raises are emitted once its transaction commits (see `afterCommit`).
 */
@Injectable()
export class SagaRunner {
  private readonly finals;
  private readonly reviews;
  private readonly inquiries;
  private readonly cancels;
  private readonly duration;
  private readonly resolutions;
  /** the batch open in each transaction */
  private readonly batches = new WeakMap<EntityManager, SagaBatch>();
  /** what the steps of each open transaction observed (metrics, review logs), emitted once it commits */
  private readonly uncommitted = new WeakMap<QueryRunner, Array<() => void>>();
  /** the DataSources told to report their transactions' ends to this runner */
  private readonly watched = new WeakSet<DataSource>();

  constructor(
    @Inject(SAGA_CONFIG) private readonly config: SagaConfig,
    @Inject(LOGGER) private readonly logger: Logger,
    @Inject(Metrics) metrics: Metrics,
  ) {
    this.finals = metrics.counter('upm_payments_final_total', 'Payments that reached a final status', ['status', 'failure_code']);
    this.reviews = metrics.counter('upm_payments_needs_review_total', 'Payments and refunds handed to an operator', ['kind']);
    this.inquiries = metrics.histogram('upm_saga_inquiries_per_payment', 'inquiryPayment calls a payment needed', [], [0, 1, 2, 3, 5, 10, 15, 20]);
    this.cancels = metrics.histogram('upm_saga_cancels_per_payment', 'cancel calls a payment needed', [], [0, 1, 2, 3, 4, 5, 6]);
    this.resolutions = metrics.counter('upm_payments_review_resolutions_total', 'Resolutions of reviews by Alipay\'s report files: applied, or ignored (not in review, or contradicting the saga)', ['resolution', 'outcome']);
    this.duration = metrics.histogram('upm_saga_step_seconds', 'Time from a payment\'s creation to a status', ['status'], [0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 120]);
  }

  /**
   * Runs `work` (the steps of one transaction) with the sagas of `paymentIds` locked and loaded at once,
   * then stores every saga and timer the steps changed. With `skipLocked`, a saga another transaction
   * holds is not waited for: `work` does not run and the answer is undefined.
   */
  async inBatch<T>(manager: EntityManager, paymentIds: string[], work: () => Promise<T>): Promise<T>;
  async inBatch<T>(manager: EntityManager, paymentIds: string[], work: () => Promise<T>, options: { skipLocked: true }): Promise<T | undefined>;
  async inBatch<T>(manager: EntityManager, paymentIds: string[], work: () => Promise<T>, options: { skipLocked?: boolean } = {}): Promise<T | undefined> {
    if (this.batches.has(manager)) throw new Error('a saga batch is already open in this transaction');
    const batch = await SagaBatch.lock(manager, paymentIds, options.skipLocked ?? false);
    if (!batch) return undefined;
    this.batches.set(manager, batch);
    try {
      const result = await work();
      await batch.store(manager);
      return result;
    } finally {
      this.batches.delete(manager);
    }
  }

  /** Applies one input; `cause` is the message that carried it (absent for a timer). Outside `inBatch`, a batch of its own. */
  async run(manager: EntityManager, paymentId: string, input: SagaInput, cause?: Envelope): Promise<SagaState> {
    const batch = this.batches.get(manager);
    if (!batch) return this.inBatch(manager, [paymentId], () => this.run(manager, paymentId, input, cause));
    const before = batch.state(paymentId);
    const now = new Date();
    const step = handle(before, input, { now, config: this.config });
    if (input.type === 'PaymentReviewResolved') this.reviewResolved(manager, paymentId, input.data.resolution, before, step.state);
    if (!step.events.length) return before;
    batch.update(paymentId, step.state, now);
    const tally = { final: reachedFinal(before) };
    for (const output of step.outputs) await this.write(manager, batch, paymentId, output, input, step.state, now, tally, cause);
    return step.state;
  }

  /** `tally.final`: the payment's final status is counted already (before this step, or by an earlier output of it). */
  private async write(
    manager: EntityManager, batch: SagaBatch, paymentId: string, output: SagaOutput, input: SagaInput, state: SagaState, now: Date, tally: { final: boolean }, cause?: Envelope,
  ): Promise<void> {
    const envelope = (type: string, data: unknown) => createEnvelope({ type, key: paymentId, data, producer: PRODUCER, cause, correlationId: paymentId });
    switch (output.kind) {
      case 'SendAlipayCommand':
        await appendToOutbox(manager, TOPICS.alipayCommands.name, envelope(output.command.type, output.command.data));
        return;
      case 'PublishPaymentEvent':
        await appendToOutbox(manager, TOPICS.paymentEvents.name, envelope(output.event.type, output.event.data));
        this.logger.info({ paymentId, event: output.event.type, status: output.event.data.payment.status, sequence: output.event.data.payment.sequence }, 'payment event');
        this.observe(manager, output.event.type, output.event.data.payment, output.event.type === 'PaymentNeedsReview' ? output.event.data : undefined, state, tally);
        return;
      case 'ScheduleTimer':
        batch.schedule(paymentId, output.timer, now);
        return;
      case 'CancelTimers':
        batch.cancel(paymentId, output.names);
        return;
      case 'Reject':
        this.logger.warn({ paymentId, code: output.code, input: input.type }, `command refused: ${output.message}`);
        // A refused refund or cancel is answered on the stream the gateway reads, so the POS learns why; the
        // event's causationId is the refused command's id. A payment the saga does not know has no view to send.
        if (input.type === 'RequestRefund' && state.status !== 'NEW') {
          const refund = refusedRefund(input.data, output.code, output.message);
          await appendToOutbox(manager, TOPICS.paymentEvents.name, envelope('RefundFailed', { payment: viewOf(state), refund }));
        }
        if (input.type === 'CancelPayment' && state.status !== 'NEW') {
          const failure = { code: output.code, message: output.message.slice(0, 512) };
          await appendToOutbox(manager, TOPICS.paymentEvents.name, envelope('PaymentCancelRefused', { payment: viewOf(state), failure }));
        }
        return;
    }
  }

  /**
   * A resolution of a review by Alipay's reports: applied (the payment left NEEDS_REVIEW, or a later file moved one
   * the reports had settled as charged), or ignored and said why.
   */
  private reviewResolved(manager: EntityManager, paymentId: string, resolution: string, before: SagaState, after: SagaState): void {
    const applied = before.status !== after.status;
    this.afterCommit(manager, () => {
      this.resolutions.inc({ resolution, outcome: applied ? 'applied' : 'ignored' });
      if (applied) this.logger.info({ paymentId, resolution, status: after.status }, 'payment review resolved by Alipay\'s report');
      else this.logger.warn({ paymentId, resolution, status: before.status }, 'review resolution ignored: the payment is not in review (nor settled by an earlier resolution), or the resolution contradicts what the saga knows');
    });
  }

  /**
   * A payment is counted final once, by the first final status it reaches. One that leaves it later is not counted
   * again: a void of a SUCCEEDED sale, a success for another amount (AMOUNT_MISMATCH), a late success after the
   * close, a refund flagged for review, a review settled by an answer or by the reports (those are counted apart, see
   * reviewResolved).
   */
  private observe(
    manager: EntityManager,
    type: string,
    payment: { status: string; failure?: { code: string }; createdAt: string; paymentId: string },
    review: { kind?: string; refund?: RefundViewV1 } | undefined,
    state: SagaState,
    tally: { final: boolean },
  ): void {
    if (state.status === 'NEW') return;
    const seconds = (Date.now() - new Date(payment.createdAt).getTime()) / 1000;
    if (!tally.final && (type === 'PaymentSucceeded' || type === 'PaymentFailed' || type === 'PaymentCancelled' || type === 'PaymentNeedsReview')) {
      tally.final = true;
      const { inquiry, cancel } = state.attempts;
      this.afterCommit(manager, () => {
        this.finals.inc({ status: payment.status, failure_code: payment.failure?.code ?? '' });
        this.duration.observe({ status: payment.status }, seconds);
        this.inquiries.observe(inquiry);
        this.cancels.observe(cancel);
      });
    }
    if (type === 'PaymentNeedsReview') {
      const kind = review?.kind ?? 'REFUND';
      const refund = review?.refund ? { refundId: review.refund.refundId, refundRequestId: review.refund.refundRequestId } : {};
      const alipayPaymentRequestId = state.payment.paymentRequestId;
      this.afterCommit(manager, () => {
        this.reviews.inc({ kind });
        this.logger.error(
          { paymentId: payment.paymentId, alipayPaymentRequestId, kind, ...refund, failure: payment.failure },
          'payment needs review: Alipay has not confirmed its outcome, or its answers or reports contradict the payment (kind and failure say which). Check the payment in the Antom dashboard or the next transaction report (settlement matches it automatically), then resolve it; see docs/runbooks/needs-review.md',
        );
      });
    }
  }

  /**
   * Runs `emit` once the transaction of `manager` commits (at once outside a transaction), never if it rolls back.
   * A step's metrics and review logs go this way, so each is emitted once: a consumer batch that rolls back
   * (another of its messages failed) is applied again message by message, and a message or timer fire whose
   * transaction failed is tried again, running the same steps a second time.
   */
  private afterCommit(manager: EntityManager, emit: () => void): void {
    const queryRunner = manager.queryRunner;
    if (!queryRunner?.isTransactionActive) return emit();
    this.watch(queryRunner.connection);
    const pending = this.uncommitted.get(queryRunner);
    if (pending) pending.push(emit);
    else this.uncommitted.set(queryRunner, [emit]);
  }

  /**
   * Has `dataSource` tell this runner when a transaction ends (a TypeORM subscriber), whoever opened it: the
   * consumer, the timer poller. A savepoint's end (a nested transaction) is not the end: its outer one is awaited.
   */
  private watch(dataSource: DataSource): void {
    if (this.watched.has(dataSource)) return;
    this.watched.add(dataSource);
    dataSource.subscribers.push({
      afterTransactionCommit: ({ queryRunner }) => {
        if (queryRunner.isTransactionActive) return;
        const pending = this.uncommitted.get(queryRunner) ?? [];
        this.uncommitted.delete(queryRunner);
        // the transaction is committed: a failure here must not make its caller take it for failed and apply it again
        try {
          for (const emit of pending) emit();
        } catch (error) {
          this.logger.error({ err: error }, 'emitting the metrics of committed saga steps failed');
        }
      },
      afterTransactionRollback: ({ queryRunner }) => {
        if (!queryRunner.isTransactionActive) this.uncommitted.delete(queryRunner);
      },
    });
  }
}

/** Whether the payment had reached a final status: it is in one, or a void of the SUCCEEDED sale is under way. */
function reachedFinal(state: SagaState): boolean {
  switch (state.status) {
    case 'SUCCEEDED':
    case 'FAILED':
    case 'CANCELLED':
    case 'NEEDS_REVIEW':
      return true;
    case 'CANCELLING':
    case 'REVERSAL_CHECK':
    case 'REFUNDING_REVERSAL':
      return state.cancel.voiding;
    case 'NEW':
    case 'CREATED':
    case 'PAY_SENT':
    case 'INQUIRING':
      return false;
  }
}

function refusedRefund(request: RequestRefundV1, code: string, message: string): RefundViewV1 {
  return {
    paymentId: request.paymentId, refundId: request.refundId, refundRequestId: request.refundRequestId, amount: request.amount,
    status: 'FAILED', failure: { code, message: message.slice(0, 512) }, origin: 'MERCHANT',
  };
}
