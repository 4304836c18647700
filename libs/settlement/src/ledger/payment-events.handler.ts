import type { DataSource, EntityManager } from 'typeorm';
import { expectedFee } from '@upm/contracts';
import type { Envelope, FeeTerms, PaymentEventType, PaymentViewV1, RefundViewV1 } from '@upm/contracts';
import { prepared, TablePruner } from '@upm/shared-database';
import type { Logger, Metrics } from '@upm/shared-observability';
import { cancelPostings, paymentPostings, refundPostings } from '../domain/ledger';
import { FINAL_REFUND_STATUSES, netToNothing, RefundStatus, refundStatusAfter, rowKey } from '../domain/matching';
import { businessDayOf } from '../domain/report-files';
import { LedgerStore, LedgerTransactionDraft } from './ledger.store';

interface PaymentEventData {
  payment: PaymentViewV1;
  refund?: RefundViewV1;
}

interface EventSource {
  eventId: string;
  eventType: string;
  sequence: number;
}

/**
 * payments.v1.events → the ledger. A payment success, a refund success and the cancel of a paid payment each
 * become one EXPECTED transaction, keyed by the fact (`PAYMENT:<paymentId>` …), so the same event replayed
 * under a new envelope id changes nothing. The payment's latest state is kept for matching (by `sequence`),
 * written once per batch of events. One payment's events may come out of order (one of them went through the
 * retry topic): a cancel that comes before the charge it reverses waits for it in `pending_cancels`, so the
 * ledger ends the same whichever of the two comes first.
 */
export class PaymentEventsHandler {
  constructor(
    private readonly ledger: LedgerStore,
    /** Alipay's fee schedule: each transaction is booked with the fee of its gross and currency */
    private readonly fees: FeeTerms,
  ) {}

  /**
   * Applies events in order: each one's ledger transaction, then the payments' latest states in one statement,
   * then the reviews the reports decided before their events came. A report ingestion in progress is waited for:
   * it may be writing the same transactions from the report.
   */
  async applyAll(manager: EntityManager, envelopes: Envelope[]): Promise<void> {
    await this.ledger.lockForEvents(manager);
    for (const envelope of envelopes) await this.record(manager, envelope);
    await this.track(manager, envelopes.map((envelope) => envelope.data as PaymentEventData));
    for (const envelope of envelopes) {
      if (envelope.type === 'PaymentNeedsReview') await this.reviewListed(manager, (envelope.data as PaymentEventData).payment, envelope);
    }
  }

  apply(manager: EntityManager, envelope: Envelope): Promise<void> {
    return this.applyAll(manager, [envelope]);
  }

  private async record(manager: EntityManager, envelope: Envelope): Promise<void> {
    const type = envelope.type as PaymentEventType;
    const { payment, refund } = envelope.data as PaymentEventData;
    const source: EventSource = { eventId: envelope.id, eventType: type, sequence: payment.sequence };
    switch (type) {
      case 'PaymentSucceeded':
        await this.recordPayment(manager, payment, envelope.occurredAt, source);
        return;
      case 'RefundSucceeded': {
        if (!refund) return;
        // A refund Alipay accepted proves the payment was charged, even when the saga never saw the success
        // itself (a pay that timed out, then could not be cancelled and was refunded instead).
        await this.recordPayment(manager, payment, envelope.occurredAt, source);
        // a refund is charged a fee of its own gross, as a payment is
        const fee = expectedFee(this.fees, refund.amount.currency, BigInt(refund.amount.value));
        await this.book(manager, {
          sourceKey: `REFUND:${refund.refundId}`,
          kind: 'REFUND',
          status: 'EXPECTED',
          merchantId: payment.merchantId,
          currency: refund.amount.currency,
          paymentId: payment.paymentId,
          refundId: refund.refundId,
          requestId: refund.refundId,
          alipayTransactionId: refund.alipayRefundId ?? null,
          amount: BigInt(refund.amount.value),
          fee,
          businessDay: businessDayOf(refund.refundTime ?? envelope.occurredAt),
          origin: 'EVENT',
          occurredAt: new Date(envelope.occurredAt),
          source,
          postings: refundPostings({ merchantId: payment.merchantId, currency: refund.amount.currency, amount: BigInt(refund.amount.value), fee }),
        });
        return;
      }
      case 'PaymentCancelled': {
        // Only a cancel that reversed a charge moves money; a cancel after refunds came through the refunds.
        if (payment.refundedAmount.value !== '0') return;
        const [charged]: Array<{ fee: string }> = await manager.query("SELECT fee::text AS fee FROM ledger_transactions WHERE source_key = $1", [`PAYMENT:${payment.paymentId}`]);
        if (charged) {
          await this.recordCancel(manager, payment, envelope.occurredAt, source, BigInt(charged.fee));
          return;
        }
        if (await this.writeReportedPair(manager, payment, source)) return;
        // No charge yet: either there was none, or its event is still on its way; the cancel waits for it.
        await manager.query(
          `INSERT INTO pending_cancels (payment_id, event_id, sequence, occurred_at, payment) VALUES ($1, $2, $3, $4, $5::jsonb)
           ON CONFLICT (payment_id) DO NOTHING`,
          [payment.paymentId, envelope.id, payment.sequence, envelope.occurredAt, JSON.stringify(payment)],
        );
        return;
      }
      case 'PaymentCreated':
      case 'PaymentProcessing':
      case 'PaymentFailed':
      case 'PaymentNeedsReview':
      case 'RefundRequested':
      case 'RefundFailed':
      case 'PaymentCancelRefused':
        return;
    }
  }

  /**
   * A pay that timed out and was cancelled, whose charge and cancel Alipay's reports listed before this event came
   * (settlement did not know the payment yet, or knew it still in doubt, and could not explain the two rows then):
   * both are written from what the reports said, as when the event comes first, and the discrepancies they raised
   * close as a lagging event's would. Answers whether it found the two, netting to nothing.
   */
  private async writeReportedPair(manager: EntityManager, payment: PaymentViewV1, source: EventSource): Promise<boolean> {
    const listed = await this.ledger.listedOnTheirOwn(manager, [payment.paymentId]);
    const charge = listed.get(rowKey('PAYMENT', payment.paymentId));
    const cancel = listed.get(rowKey('CANCEL', payment.paymentId));
    if (!charge || !cancel || !netToNothing(charge, cancel)) return false;
    for (const row of [charge, cancel]) {
      const { id, draft } = await this.ledger.writeReported(manager, payment, { ...row, requestId: payment.paymentId, fee: expectedFee(this.fees, row.currency, row.amount) }, { status: 'EXPECTED' });
      await this.ledger.closeMissingInLedger(manager, id, draft, `written from Alipay's report with ${source.eventType} ${source.eventId}, the charge and its cancel netting to nothing`);
    }
    return true;
  }

  /**
   * A payment whose review began after Alipay's reports listed its charge (settlement did not know it yet, or knew
   * it still in doubt): the reports decide it as they would have had the review come first. The charge is written
   * from them, with its cancel when one nets it to nothing, their discrepancies close as a lagging event's would,
   * and the review is resolved CHARGED or REVERSED (see `LedgerStore.resolveReview`).
   */
  private async reviewListed(manager: EntityManager, payment: PaymentViewV1, envelope: Envelope): Promise<void> {
    const listed = await this.ledger.listedOnTheirOwn(manager, [payment.paymentId]);
    const charge = listed.get(rowKey('PAYMENT', payment.paymentId));
    if (!charge) return;
    const cancel = listed.get(rowKey('CANCEL', payment.paymentId));
    const reversal = cancel && netToNothing(charge, cancel) ? cancel : undefined;
    const how = `written from Alipay's report with ${envelope.type} ${envelope.id}`;
    for (const row of reversal ? [charge, reversal] : [charge]) {
      const { id, draft } = await this.ledger.writeReported(manager, payment, { ...row, requestId: payment.paymentId, fee: expectedFee(this.fees, row.currency, row.amount) }, { status: 'EXPECTED' });
      await this.ledger.closeMissingInLedger(manager, id, draft, how);
    }
    await this.ledger.resolveReview(manager, {
      paymentId: payment.paymentId, merchantId: payment.merchantId, resolution: reversal ? 'REVERSED' : 'CHARGED',
      amount: { currency: charge.currency, value: reversal ? '0' : charge.amount.toString() },
      evidence: reversal ? 'Alipay reports the payment and its cancel' : 'Alipay reports the payment and no cancel', reportFile: (reversal ?? charge).reportFile,
    });
  }

  /** The charge, then the cancel that came before it, if one did (it is booked once, with the charge). */
  private async recordPayment(manager: EntityManager, payment: PaymentViewV1, occurredAt: string, source: EventSource): Promise<void> {
    const fee = expectedFee(this.fees, payment.amount.currency, BigInt(payment.amount.value));
    const { created } = await this.recordCharge(manager, payment, occurredAt, source, 'PAYMENT', payment.alipay?.paymentTime ?? occurredAt, paymentPostings, fee);
    if (!created) return;
    const [[pending]] = (await manager.query(prepared('DELETE FROM pending_cancels WHERE payment_id = $1 RETURNING event_id, sequence, occurred_at, payment'), [payment.paymentId])) as [
      Array<{ event_id: string; sequence: number; occurred_at: Date; payment: PaymentViewV1 }>,
      number,
    ];
    if (!pending) return;
    await this.recordCancel(manager, pending.payment, pending.occurred_at.toISOString(), { eventId: pending.event_id, eventType: 'PaymentCancelled', sequence: pending.sequence }, fee);
  }

  /** A cancel gives back the fee its payment was charged (`chargeFee`), whatever the fee schedule says now. */
  private recordCancel(manager: EntityManager, payment: PaymentViewV1, occurredAt: string, source: EventSource, chargeFee: bigint): Promise<{ created: boolean }> {
    return this.recordCharge(manager, payment, occurredAt, source, 'CANCEL', occurredAt, cancelPostings, chargeFee);
  }

  /** The full amount of a payment moving one way or the other: its charge, or the cancel that reversed it. */
  private recordCharge(
    manager: EntityManager,
    payment: PaymentViewV1,
    occurredAt: string,
    source: EventSource,
    kind: 'PAYMENT' | 'CANCEL',
    businessTime: string,
    postingsFor: typeof paymentPostings,
    fee: bigint,
  ): Promise<{ created: boolean }> {
    const amount = BigInt(payment.amount.value);
    return this.book(manager, {
      sourceKey: `${kind}:${payment.paymentId}`,
      kind,
      status: 'EXPECTED',
      merchantId: payment.merchantId,
      currency: payment.amount.currency,
      paymentId: payment.paymentId,
      requestId: payment.alipay?.paymentRequestId ?? payment.paymentId,
      alipayTransactionId: payment.alipay?.paymentId ?? null,
      amount,
      fee,
      businessDay: businessDayOf(businessTime),
      origin: 'EVENT',
      occurredAt: new Date(occurredAt),
      source,
      postings: postingsFor({ merchantId: payment.merchantId, currency: payment.amount.currency, amount, fee }),
    });
  }

  /**
   * Writes an event's transaction; one the report listed before it closes the report's MISSING_IN_LEDGER, and one
   * whose day's transaction file is in without it is MISSING_IN_REPORT, as if it had come before the file.
   */
  private async book(manager: EntityManager, draft: LedgerTransactionDraft & { source: EventSource }): Promise<{ created: boolean }> {
    const written = await this.ledger.write(manager, draft);
    if (!written.created) return written;
    await this.ledger.closeMissingInLedger(manager, written.id, draft, `written from ${draft.source.eventType} ${draft.source.eventId}`);
    await this.ledger.checkBookedAfterReport(manager, written.id, draft.businessDay);
    return written;
  }

  /**
   * Keeps each payment's newest view (the first event with its highest sequence, as one upsert per event
   * would) and the last status of each of its refunds (merged in event order; a final status stays, see
   * `refundStatusAfter`), for every payment of the events with one statement.
   */
  private async track(manager: EntityManager, events: PaymentEventData[]): Promise<void> {
    const byPayment = new Map<string, { first: PaymentViewV1; newest: PaymentViewV1; refunds: Record<string, RefundStatus> }>();
    for (const { payment, refund } of events) {
      const tracked = byPayment.get(payment.paymentId) ?? { first: payment, newest: payment, refunds: {} };
      if (payment.sequence > tracked.newest.sequence) tracked.newest = payment;
      if (refund) tracked.refunds[refund.refundId] = refundStatusAfter(tracked.refunds[refund.refundId], refund.status);
      byPayment.set(payment.paymentId, tracked);
    }
    const rows = [...byPayment.values()];
    if (!rows.length) return;
    await manager.query(
      prepared(`INSERT INTO tracked_payments (payment_id, merchant_id, status, currency, amount, sequence, business_day, refunds, view, updated_at)
       SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::bigint[], $6::int[], $7::date[], $8::jsonb[], $9::jsonb[], $10::timestamptz[])
       ON CONFLICT (payment_id) DO UPDATE SET
         status = CASE WHEN EXCLUDED.sequence > tracked_payments.sequence THEN EXCLUDED.status ELSE tracked_payments.status END,
         view = CASE WHEN EXCLUDED.sequence > tracked_payments.sequence THEN EXCLUDED.view ELSE tracked_payments.view END,
         updated_at = CASE WHEN EXCLUDED.sequence > tracked_payments.sequence THEN EXCLUDED.updated_at ELSE tracked_payments.updated_at END,
         sequence = GREATEST(EXCLUDED.sequence, tracked_payments.sequence),
         refunds = tracked_payments.refunds || EXCLUDED.refunds
           || (SELECT COALESCE(jsonb_object_agg(key, value), '{}'::jsonb) FROM jsonb_each(tracked_payments.refunds) WHERE value #>> '{}' = ANY($11::text[]))`),
      [
        rows.map((r) => r.first.paymentId), rows.map((r) => r.first.merchantId), rows.map((r) => r.newest.status), rows.map((r) => r.first.amount.currency),
        rows.map((r) => r.first.amount.value), rows.map((r) => r.newest.sequence), rows.map((r) => businessDayOf(r.first.createdAt)),
        rows.map((r) => JSON.stringify(r.refunds)), rows.map((r) => JSON.stringify(r.newest)), rows.map((r) => r.newest.updatedAt), FINAL_REFUND_STATUSES,
      ],
    );
  }
}

/**
 * Forgets cancels that waited longer than Kafka can still deliver the charge they wait for (the inbox's
 * retention): mostly cancels of payments never charged, which no charge ever comes for.
 */
export function pendingCancelsPruner(dataSource: DataSource, logger: Logger, metrics: Metrics, retentionHours: number): TablePruner {
  return new TablePruner(dataSource, logger, metrics, {
    table: 'pending_cancels',
    column: 'created_at',
    retentionHours,
    metric: { name: 'upm_settlement_pending_cancels_pruned_total', help: 'Cancels that waited for their charge past the retention, deleted' },
  });
}
