import type { EntityManager } from 'typeorm';
import { createEnvelope, fromMajorUnits, newId, toMajorUnits, TOPICS } from '@upm/contracts';
import type { DiscrepancyDetectedV1, LedgerEntriesPostedV1, PaymentReviewResolvedV1, TransactionReconciledV1 } from '@upm/contracts';
import { prepared } from '@upm/shared-database';
import { appendToOutbox } from '@upm/shared-kafka';
import { accountCode, adjustmentPostings, assertBalanced, Posting, transactionPostings } from '../domain/ledger';
import {
  compareReported, missingInReport, PaidOutItem, ReportedFact, ReportedRow, ReportedTransaction, revisesReview, ReviewResolution, rowKey, signedAmount,
} from '../domain/matching';
import type { TransactionType } from '../domain/report-files';

export type LedgerKind = 'PAYMENT' | 'REFUND' | 'CANCEL' | 'SETTLEMENT' | 'ADJUSTMENT';

export interface LedgerTransactionDraft {
  sourceKey: string;
  kind: LedgerKind;
  status: 'EXPECTED' | 'POSTED';
  merchantId: string;
  currency: string;
  paymentId?: string | null;
  refundId?: string | null;
  requestId?: string | null;
  alipayTransactionId?: string | null;
  amount: bigint;
  fee: bigint;
  businessDay: string;
  /** RESOLUTION: an adjustment finance booked when resolving a discrepancy */
  origin: 'EVENT' | 'REPORT' | 'SETTLEMENT' | 'RESOLUTION';
  occurredAt: Date;
  source?: { eventId: string; eventType: string; sequence: number };
  settlementBatchId?: string | null;
  reconciliation?: string | null;
  postings: Posting[];
}

export interface LedgerTransactionRecord {
  id: string;
  kind: LedgerKind;
  status: 'EXPECTED' | 'POSTED';
  merchant_id: string;
  currency: string;
  payment_id: string | null;
  refund_id: string | null;
  request_id: string | null;
  alipay_transaction_id: string | null;
  amount: string;
  fee: string;
  business_day: string;
  settlement_batch_id: string | null;
  reconciliation: string | null;
  /** finance wrote it off as never made (its MISSING_IN_REPORT discrepancy was resolved with an adjustment), and that stands (not reversed) */
  written_off: boolean;
  /**
   * the settlement batch that paid it out first: the one it is posted in, or else the first to come whose item names
   * it (one that paid it out with other facts than the ledger's, or paid out a written-off transaction) or paid it
   * out before the ledger had it (an item naming no transaction yet: its payment event disagreed with it), if any
   * did; a batch that came later and pays it out again is a repeated payout (`DiscrepancyFinding.repeatedIn`)
   */
  paid_out_in: string | null;
}

/** A disagreement between a report row and the ledger, as `LedgerStore.recordDiscrepancy` records it. */
export interface DiscrepancyFinding {
  type: DiscrepancyDetectedV1['type'];
  kind: DiscrepancyDetectedV1['kind'];
  fields: string[];
  transactionRequestId: string;
  paymentId: string | null;
  refundId: string | null;
  merchantId: string | null;
  ledgerTransactionId: string | null;
  expected: Record<string, string> | null;
  actual: Record<string, string> | null;
  reportFile: string;
  businessDay: string;
  /** found by a settlement batch */
  settled: boolean;
  /**
   * the batch that paid the transaction out again, when the finding is that repeat: a discrepancy of its own, one per
   * repeating batch, whatever became of the transaction's other discrepancies
   */
  repeatedIn?: string;
}

const COLUMNS = `id, kind, status, merchant_id, currency, payment_id, refund_id, request_id, alipay_transaction_id, amount::text AS amount,
  fee::text AS fee, to_char(business_day, 'YYYY-MM-DD') AS business_day, settlement_batch_id, reconciliation,
  EXISTS (SELECT 1 FROM discrepancies d WHERE d.ledger_transaction_id = ledger_transactions.id AND d.type = 'MISSING_IN_REPORT'
    AND d.adjustment_transaction_id IS NOT NULL
    AND NOT EXISTS (SELECT 1 FROM ledger_transactions r WHERE r.source_key = 'REVERSAL:' || d.adjustment_transaction_id)) AS written_off,
  COALESCE(settlement_batch_id, (SELECT i.batch_id FROM settlement_batch_items i JOIN settlement_batches b ON b.batch_id = i.batch_id
    WHERE i.kind = ledger_transactions.kind AND i.transaction_request_id = ledger_transactions.request_id
      AND (i.ledger_transaction_id = ledger_transactions.id OR i.ledger_transaction_id IS NULL)
    ORDER BY b.written_by, b.created_at, b.batch_id LIMIT 1)) AS paid_out_in`;

/** The advisory lock that keeps report ingestion and payment events apart (see `LedgerStore.lockForReport`). */
const LEDGER_LOCK = 7_346_112_955;

/** The transaction file of a business day read last, if any: asked for every transaction a payment event books. */
export const DAY_FILE_QUERY =
  `SELECT path FROM report_files WHERE kind = 'transactionItems' AND status = 'INGESTED' AND business_day = $1 ORDER BY created_at DESC, path DESC LIMIT 1`;

/**
 * Writes the ledger. A transaction is written once per source fact (its `source_key`), balanced in every
 * currency, with its entries, and announced on settlement.v1.events in the same database transaction.
 */
export class LedgerStore {
  constructor(private readonly producer: string) {}

  /**
   * Report ingestion reads the ledger, then writes it from what it read (a transaction from the report, a
   * discrepancy for one it lacks), and so does a resolution that books what a batch settled: each holds the
   * ledger alone until its database transaction ends, one at a time across replicas, with no payment event
   * written in between.
   */
  async lockForReport(manager: EntityManager): Promise<void> {
    await manager.query('SELECT pg_advisory_xact_lock($1)', [LEDGER_LOCK]);
  }

  /** Payment events share the ledger with each other (each writes its own facts), never with a report ingestion. */
  async lockForEvents(manager: EntityManager): Promise<void> {
    await manager.query(prepared('SELECT pg_advisory_xact_lock_shared($1)'), [LEDGER_LOCK]);
  }

  /** Writes the transaction unless its source fact is already in the ledger; answers whether it did. */
  async write(manager: EntityManager, draft: LedgerTransactionDraft): Promise<{ id: string; created: boolean }> {
    assertBalanced(draft.postings);
    const id = newId('ltx');
    const now = new Date();
    const values: unknown[] = [
      id, draft.sourceKey, draft.kind, draft.status, draft.merchantId, draft.currency, draft.paymentId ?? null, draft.refundId ?? null,
      draft.requestId ?? null, draft.alipayTransactionId ?? null, draft.amount.toString(), draft.fee.toString(), draft.businessDay, draft.origin,
      draft.source?.eventId ?? null, draft.source?.eventType ?? null, draft.source?.sequence ?? null, draft.settlementBatchId ?? null,
      draft.reconciliation ?? null, draft.occurredAt, draft.status === 'POSTED' ? now : null,
    ];
    const postings = draft.postings.map((p, i) => {
      const o = values.length;
      values.push(accountCode(p.accountType, p.merchantId, p.currency), p.accountType, p.merchantId, p.currency, p.direction, p.amount.toString());
      return `(${i}, $${o + 1}, $${o + 2}, $${o + 3}, $${o + 4}, $${o + 5}, $${o + 6})`;
    });
    // One statement: the transaction, its accounts and its entries, or nothing at all when the source fact is
    // already in the ledger (every later part reads the first one's RETURNING row).
    const written: Array<{ id: string }> = await manager.query(
      prepared(`WITH tx AS (
         INSERT INTO ledger_transactions (id, source_key, kind, status, merchant_id, currency, payment_id, refund_id, request_id, alipay_transaction_id,
           amount, fee, business_day, origin, source_event_id, source_event_type, source_sequence, settlement_batch_id, reconciliation, occurred_at, posted_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21)
         ON CONFLICT (source_key) DO NOTHING RETURNING id
       ), postings AS (
         SELECT * FROM (VALUES ${postings.join(', ')}) AS v(n, account_code, account_type, merchant_id, currency, direction, amount)
       ), accounts AS (
         INSERT INTO ledger_accounts (code, type, merchant_id, currency)
         SELECT DISTINCT account_code, account_type, merchant_id, currency FROM postings WHERE EXISTS (SELECT 1 FROM tx)
         ON CONFLICT (code) DO NOTHING
       )
       INSERT INTO ledger_entries (transaction_id, account_code, account_type, merchant_id, currency, direction, amount)
       SELECT tx.id, account_code, account_type, merchant_id, currency, direction, amount::bigint FROM tx, postings ORDER BY n
       RETURNING transaction_id AS id`),
      values,
    );
    if (!written.length) {
      const [existing] = await manager.query('SELECT id FROM ledger_transactions WHERE source_key = $1', [draft.sourceKey]);
      return { id: existing.id, created: false };
    }
    await this.announce(manager, { id, ...draft }, draft.postings, now);
    return { id, created: true };
  }

  /**
   * EXPECTED → POSTED once Alipay's settlement confirms it (or, without a batch, once finance writes it off as
   * never made, with the adjustment that reverses it); a posted transaction stays as it is.
   */
  async post(manager: EntityManager, id: string, batchId: string | null): Promise<boolean> {
    const now = new Date();
    const [rows] = (await manager.query(
      `UPDATE ledger_transactions SET status = 'POSTED', posted_at = $3, settlement_batch_id = $2
       WHERE id = $1 AND status = 'EXPECTED' RETURNING ${COLUMNS}`,
      [id, batchId, now],
    )) as [LedgerTransactionRecord[], number];
    if (!rows.length) return false;
    const t = rows[0];
    const entries: Array<{ account_type: Posting['accountType']; merchant_id: string; currency: string; direction: Posting['direction']; amount: string }> =
      await manager.query('SELECT account_type, merchant_id, currency, direction, amount::text AS amount FROM ledger_entries WHERE transaction_id = $1 ORDER BY id', [id]);
    const postings = entries.map((e): Posting => ({ accountType: e.account_type, merchantId: e.merchant_id, currency: e.currency, direction: e.direction, amount: BigInt(e.amount) }));
    await this.announce(manager, { id, kind: t.kind, status: 'POSTED', merchantId: t.merchant_id, currency: t.currency, paymentId: t.payment_id, refundId: t.refund_id, settlementBatchId: batchId }, postings, now);
    return true;
  }

  async find(manager: EntityManager, id: string): Promise<LedgerTransactionRecord | undefined> {
    const [row]: LedgerTransactionRecord[] = await manager.query(`SELECT ${COLUMNS} FROM ledger_transactions WHERE id = $1`, [id]);
    return row;
  }

  async findByRequest(manager: EntityManager, keys: ReadonlyArray<{ kind: string; requestId: string }>): Promise<Map<string, LedgerTransactionRecord>> {
    if (!keys.length) return new Map();
    const rows: LedgerTransactionRecord[] = await manager.query(
      `SELECT ${COLUMNS} FROM ledger_transactions WHERE (kind, request_id) IN (SELECT * FROM unnest($1::text[], $2::text[]))`,
      [keys.map((k) => k.kind), keys.map((k) => k.requestId)],
    );
    return new Map(rows.map((r) => [`${r.kind}:${r.request_id}`, r]));
  }

  async findByDay(manager: EntityManager, day: string): Promise<LedgerTransactionRecord[]> {
    return manager.query(`SELECT ${COLUMNS} FROM ledger_transactions WHERE business_day = $1 AND kind NOT IN ('SETTLEMENT', 'ADJUSTMENT') ORDER BY created_at`, [day]);
  }

  /**
   * Flags `MISSING_IN_REPORT` (announced with DiscrepancyDetected, naming `reportFile`) the transactions of `day`
   * that no transaction file read so far lists, of any day: Alipay files a transaction under the day of its own
   * clock, so a cancel it made just before midnight that the saga heard of just after is in the day before's file,
   * and missing from none. One a settlement batch already posted is missing from no report: the payout proves
   * Alipay made it, whether the batch came before the file or after.
   */
  async flagMissingInReport(manager: EntityManager, transactions: readonly LedgerTransactionRecord[], day: string, reportFile: string): Promise<void> {
    const unsettled = transactions.filter((t) => t.settlement_batch_id === null);
    if (!unsettled.length) return;
    const listedRows: Array<{ kind: TransactionType; id: string }> = await manager.query(
      `SELECT r.kind, r.transaction_request_id AS id FROM reconciliations r JOIN report_files f ON f.id = r.file_id
       WHERE f.kind = 'transactionItems' AND f.status = 'INGESTED' AND (r.kind, r.transaction_request_id) IN (SELECT * FROM unnest($1::text[], $2::text[]))`,
      [unsettled.map((t) => t.kind), unsettled.map((t) => t.request_id)],
    );
    const listed = new Set(listedRows.map((r) => rowKey(r.kind, r.id)));
    for (const t of missingInReport(unsettled, listed, (t) => ({ kind: t.kind, requestId: t.request_id }))) {
      await this.setReconciliation(manager, t.id, 'MISSING_IN_REPORT');
      await this.recordDiscrepancy(manager, {
        type: 'MISSING_IN_REPORT', kind: t.kind as TransactionType, fields: [], transactionRequestId: t.request_id!, paymentId: t.payment_id, refundId: t.refund_id,
        merchantId: t.merchant_id, ledgerTransactionId: t.id, expected: { amount: toMajorUnits(t.amount, t.currency), currency: t.currency }, actual: null,
        reportFile, businessDay: day, settled: false,
      });
    }
  }

  /**
   * A transaction written after a transaction file of its day went in (its payment event lagged behind the file,
   * came back from the retry or dead-letter topic, or a review closed late) is checked as the day's check would
   * have checked it had it been there (`flagMissingInReport`), naming the day's last file read. Payment events and
   * report ingestion hold the ledger one after the other, so a transaction is checked either here or by the day's
   * check, whichever comes second; a part of the day that comes later and lists it closes the discrepancy, as for
   * any other.
   */
  async checkBookedAfterReport(manager: EntityManager, id: string, day: string): Promise<void> {
    const [file]: Array<{ path: string }> = await manager.query(prepared(DAY_FILE_QUERY), [day]);
    if (!file) return;
    const t = await this.find(manager, id);
    if (t) await this.flagMissingInReport(manager, [t], day, file.path);
  }

  /**
   * A transaction an earlier transaction file of its day did not list, listed now (a part of the day, `_001`…,
   * that came after the others, or a file filed late), or paid out by a settlement batch as the ledger expects
   * it (the payout proves Alipay made it), whether the batch found it in the ledger or finance posted it there
   * once its payment event came after the batch (`FinanceService.bookPaidOut`): it is missing no more, so that discrepancy closes,
   * resolved by `settlement` with a note naming the file or the batch.
   */
  async missingNoMore(manager: EntityManager, id: string, proof: { listedBy: string } | { paidOutIn: string }): Promise<void> {
    await manager.query(
      `UPDATE discrepancies SET status = 'RESOLVED', resolved_by = 'settlement', resolution_note = $2, resolved_at = now()
       WHERE ledger_transaction_id = $1 AND type = 'MISSING_IN_REPORT' AND status = 'OPEN'`,
      [id, 'listedBy' in proof ? `listed by ${proof.listedBy}` : `paid out in settlement batch ${proof.paidOutIn}`],
    );
  }

  /** Records the latest verdict; a later file that agrees does not hide a disagreement that is still open. */
  async setReconciliation(manager: EntityManager, id: string, verdict: string, alipayTransactionId?: string): Promise<void> {
    await manager.query(
      `UPDATE ledger_transactions SET alipay_transaction_id = COALESCE(alipay_transaction_id, $3),
         reconciliation = CASE WHEN $2 = 'MATCHED' AND EXISTS (SELECT 1 FROM discrepancies d WHERE d.ledger_transaction_id = $1 AND d.status = 'OPEN')
                          THEN reconciliation ELSE $2 END
       WHERE id = $1`,
      [id, verdict, alipayTransactionId ?? null],
    );
  }

  /**
   * A transaction written after the report listed it (its payment event lagged behind the report) closes the
   * discrepancies the report raised for want of it (a MISSING_IN_LEDGER, or a status difference while the saga
   * was still in doubt: both name no ledger transaction), when it agrees with what the report said: resolved by
   * `settlement` with `how` as the note, naming the transaction, which is then MATCHED and announced with
   * TransactionReconciled (the row's amount, and the payout's fee when a batch paid it out). One a settlement batch
   * paid out already must agree with the batch's item too, and is then posted in that batch as if it had been
   * there (see `settleLate`). When any of them disagrees, all stay open for finance (`compareReported`). One
   * finance resolved as a note before the event came counts too: it keeps its resolution, and names the transaction.
   */
  async closeMissingInLedger(manager: EntityManager, id: string, draft: LedgerTransactionDraft, how: string): Promise<void> {
    if (!draft.requestId || draft.kind === 'SETTLEMENT' || draft.kind === 'ADJUSTMENT') return;
    const kind: TransactionType = draft.kind;
    const requestId = draft.requestId;
    // also one finance resolved as a note before the event came (not ours, it seemed): the event proves it is
    const missing: Array<{ id: string; merchant_id: string | null; actual: ReportedTransaction['actual']; report_file: string }> = await manager.query(
      prepared(`SELECT id, merchant_id, actual, report_file FROM discrepancies
        WHERE kind = $1 AND transaction_request_id = $2 AND ledger_transaction_id IS NULL AND (status = 'OPEN' OR adjustment_transaction_id IS NULL)
        ORDER BY id FOR UPDATE`),
      [kind, requestId],
    );
    if (!missing.length) return;
    const paidOut = await this.paidOut(manager, kind, requestId);
    const ledger = { ledgerTransactionId: id, kind, merchantId: draft.merchantId, currency: draft.currency, amount: draft.amount, fee: draft.fee, alipayTransactionId: draft.alipayTransactionId };
    const agrees = (d: (typeof missing)[number]) => compareReported({ kind, transactionRequestId: requestId, merchantId: d.merchant_id, actual: d.actual, paidOut }, ledger).result === 'MATCHED';
    if (!missing.every(agrees)) return;
    const [payout] = paidOut;
    await manager.query(
      `UPDATE discrepancies SET ledger_transaction_id = $3,
         status = 'RESOLVED', resolved_by = CASE WHEN status = 'OPEN' THEN 'settlement' ELSE resolved_by END,
         resolution_note = CASE WHEN status = 'OPEN' THEN $2 ELSE resolution_note END, resolved_at = CASE WHEN status = 'OPEN' THEN now() ELSE resolved_at END
       WHERE id = ANY($1)`,
      [missing.map((d) => d.id), payout ? `${how}; paid out in settlement batch ${payout.settlementBatchId}` : how, id],
    );
    await this.setReconciliation(manager, id, 'MATCHED', missing[0].actual.transactionId);
    if (payout) await this.settleLate(manager, id, payout);
    // the report's row matched after all: announced as it is when the transaction is in the ledger before the report
    const { actual, report_file: reportFile } = missing[0];
    await this.announceReconciled(
      manager, { id, kind, paymentId: draft.paymentId ?? requestId, refundId: draft.refundId ?? null, merchantId: draft.merchantId },
      { transactionId: actual.transactionId, currency: actual.currency, amount: fromMajorUnits(actual.amount, actual.currency), fee: payout && { currency: payout.settlementCurrency, value: payout.fee } },
      reportFile, draft.origin === 'REPORT',
    );
  }

  /**
   * TransactionReconciled: a report row and its ledger transaction agree. `row` is what the report says: Alipay's
   * id, the signed amount in the transaction currency and, for a settlement item, its fee in the batch's currency.
   * `fromReport`: the transaction was written from the report, a known payment state explaining it.
   */
  async announceReconciled(
    manager: EntityManager,
    t: { id: string; kind: TransactionType; paymentId: string; refundId: string | null; merchantId: string },
    row: { transactionId: string; currency: string; amount: bigint; fee?: { currency: string; value: bigint } },
    reportFile: string,
    fromReport = false,
  ): Promise<void> {
    const data: TransactionReconciledV1 = {
      ledgerTransactionId: t.id, kind: t.kind, paymentId: t.paymentId, ...(t.refundId ? { refundId: t.refundId } : {}), merchantId: t.merchantId,
      alipayTransactionId: row.transactionId, amount: { currency: row.currency, value: row.amount.toString() },
      ...(row.fee ? { fee: { currency: row.fee.currency, value: row.fee.value.toString() } } : {}), reportFile, ...(fromReport ? { fromReport } : {}),
    };
    await appendToOutbox(manager, TOPICS.settlementEvents.name, createEnvelope({ type: 'TransactionReconciled', key: t.paymentId, data, producer: this.producer }));
  }

  /**
   * The charges and cancels of these payments that a report listed while the ledger had no transaction for them
   * (the MISSING_IN_LEDGER or status discrepancy each raised, still open), by `rowKey`: a charge and its cancel
   * that net to nothing are written together once the payment's state explains them.
   */
  async listedOnTheirOwn(manager: EntityManager, paymentIds: readonly string[]): Promise<Map<string, ReportedRow>> {
    if (!paymentIds.length) return new Map();
    const found: Array<{ kind: TransactionType; request_id: string; business_day: string; actual: Record<string, string>; report_file: string }> = await manager.query(
      `SELECT kind, transaction_request_id AS request_id, to_char(business_day, 'YYYY-MM-DD') AS business_day, actual, report_file FROM discrepancies
       WHERE (type = 'MISSING_IN_LEDGER' OR (type = 'MISMATCHED' AND fields ? 'status')) AND status = 'OPEN' AND ledger_transaction_id IS NULL
         AND kind IN ('PAYMENT', 'CANCEL') AND transaction_request_id = ANY($1)`,
      [[...new Set(paymentIds)]],
    );
    return new Map(found.map((d) => [rowKey(d.kind, d.request_id), {
      kind: d.kind, transactionId: d.actual.transactionId, currency: d.actual.currency, amount: fromMajorUnits(d.actual.amount, d.actual.currency),
      businessDay: d.business_day, time: d.actual.paymentTime ?? `${d.business_day}T00:00:00+08:00`, reportFile: d.report_file,
    }]));
  }

  /** Writes a transaction of a known payment as Alipay's report has it (origin REPORT); answers it and its draft. */
  async writeReported(
    manager: EntityManager,
    payment: { paymentId: string; merchantId: string },
    fact: ReportedFact,
    state: Pick<LedgerTransactionDraft, 'status' | 'settlementBatchId' | 'reconciliation'>,
  ): Promise<{ id: string; draft: LedgerTransactionDraft }> {
    const amount = signedAmount(fact.kind, fact.amount);
    const refundId = fact.kind === 'REFUND' ? fact.requestId : null;
    const draft: LedgerTransactionDraft = {
      sourceKey: `${fact.kind}:${refundId ?? payment.paymentId}`, kind: fact.kind, merchantId: payment.merchantId, currency: fact.currency, paymentId: payment.paymentId, refundId,
      requestId: fact.requestId, alipayTransactionId: fact.transactionId, amount, fee: fact.fee, businessDay: fact.businessDay, origin: 'REPORT', occurredAt: new Date(fact.time),
      postings: transactionPostings(fact.kind, { merchantId: payment.merchantId, currency: fact.currency, amount, fee: fact.fee }), ...state,
    };
    const { id } = await this.write(manager, draft);
    return { id, draft };
  }

  /**
   * Records what a report proved about a payment in review, and announces it; a later file that proves more (a
   * cancel filed the day after the charge, a charge filed late) resolves it again, and is announced again.
   */
  async resolveReview(manager: EntityManager, r: PaymentReviewResolvedV1): Promise<void> {
    const [tracked]: Array<{ resolution: ReviewResolution | null }> = await manager.query(
      'SELECT review_resolution AS resolution FROM tracked_payments WHERE payment_id = $1 FOR UPDATE',
      [r.paymentId],
    );
    if (!tracked || !revisesReview(tracked.resolution, r.resolution)) return;
    await manager.query('UPDATE tracked_payments SET review_resolution = $2 WHERE payment_id = $1', [r.paymentId, r.resolution]);
    const evidence = tracked.resolution ? `${r.evidence} (resolved ${tracked.resolution} before)` : r.evidence;
    await appendToOutbox(manager, TOPICS.settlementEvents.name, createEnvelope({ type: 'PaymentReviewResolved', key: r.paymentId, data: { ...r, evidence }, producer: this.producer }));
  }

  /**
   * The settlement items that paid out a transaction the ledger did not have then, the first batch to come first
   * (as `paid_out_in` orders them): a batch that came later paid it out again, whatever its settlement time or id.
   */
  async paidOut(manager: EntityManager, kind: TransactionType, requestId: string): Promise<PaidOutItem[]> {
    const items: Array<{
      batch_id: string; part: number; line: number; merchant_id: string; transaction_id: string; currency: string; amount: string; settlement_currency: string; fee: string;
      ledger_transaction_id: string | null;
    }> =
      await manager.query(
        `SELECT i.batch_id, i.part, i.line, i.merchant_id, i.transaction_id, i.currency, i.amount::text AS amount, b.currency AS settlement_currency, i.fee::text AS fee,
           i.ledger_transaction_id
         FROM settlement_batch_items i JOIN settlement_batches b ON b.batch_id = i.batch_id
         WHERE i.kind = $1 AND i.transaction_request_id = $2 ORDER BY b.written_by, b.created_at, b.batch_id, i.part, i.line`,
        [kind, requestId],
      );
    return items.map((i) => ({
      settlementBatchId: i.batch_id, part: i.part, line: i.line, merchantId: i.merchant_id, transactionId: i.transaction_id, currency: i.currency, amount: BigInt(i.amount),
      settlementCurrency: i.settlement_currency, fee: BigInt(i.fee), ledgerTransactionId: i.ledger_transaction_id,
    }));
  }

  /**
   * Writes a transaction the ledger never had from the batch item that paid it out (finance resolving its
   * MISSING_IN_LEDGER discrepancy), and posts it in that batch as if it had been there (see `settleLate`).
   */
  async writePaidOut(manager: EntityManager, draft: LedgerTransactionDraft, payout: PaidOutItem): Promise<string> {
    const { id } = await this.write(manager, { ...draft, status: 'EXPECTED', reconciliation: 'MATCHED' });
    await this.settleLate(manager, id, payout);
    return id;
  }

  /**
   * Posts a transaction in the batch that paid it out before the ledger had it, as the batch would have had it
   * been there (see `itemMatched`).
   */
  async settleLate(manager: EntityManager, id: string, payout: PaidOutItem): Promise<void> {
    await this.post(manager, id, payout.settlementBatchId);
    await this.itemMatched(manager, payout.settlementBatchId, payout, id);
  }

  /**
   * A batch item now agrees with the ledger (a late transaction posted in its batch, or one adjusted to what the
   * item settled): it names the transaction and is MATCHED, and a batch all of whose items now match is
   * RECONCILED, with its payouts. The batch is locked first, so two such items of one batch see each other's.
   */
  async itemMatched(manager: EntityManager, batchId: string, item: { part: number; line: number }, id: string): Promise<void> {
    await manager.query('SELECT 1 FROM settlement_batches WHERE batch_id = $1 FOR UPDATE', [batchId]);
    await manager.query("UPDATE settlement_batch_items SET ledger_transaction_id = $4, result = 'MATCHED' WHERE batch_id = $1 AND part = $2 AND line = $3", [
      batchId, item.part, item.line, id,
    ]);
    const [reconciled] = (await manager.query(
      `UPDATE settlement_batches SET status = 'RECONCILED' WHERE batch_id = $1 AND status <> 'RECONCILED'
         AND NOT EXISTS (SELECT 1 FROM settlement_batch_items WHERE batch_id = $1 AND result <> 'MATCHED') RETURNING batch_id`,
      [batchId],
    )) as [unknown[], number];
    if (reconciled.length) await manager.query("UPDATE ledger_transactions SET reconciliation = 'MATCHED' WHERE kind = 'SETTLEMENT' AND settlement_batch_id = $1", [batchId]);
  }

  /**
   * Flags a batch item that paid out again a transaction an earlier batch paid out before the ledger had it, as
   * the item would have been flagged had the transaction been there: it names the transaction and is MISMATCHED,
   * with a discrepancy on `settlementBatchId` (both batches) for the money to recover from Alipay.
   */
  async flagRepeatedPayout(manager: EntityManager, t: LedgerTransactionRecord, first: PaidOutItem, again: PaidOutItem, businessDay: string): Promise<void> {
    await manager.query("UPDATE settlement_batch_items SET ledger_transaction_id = $4, result = 'MISMATCHED' WHERE batch_id = $1 AND part = $2 AND line = $3", [
      again.settlementBatchId, again.part, again.line, t.id,
    ]);
    await this.setReconciliation(manager, t.id, 'MISMATCHED');
    // the batch's items files were recorded in the order of their parts
    const [file]: Array<{ path: string }> = await manager.query(
      "SELECT path FROM report_files WHERE settlement_batch_id = $1 AND kind = 'settlementItems' AND status = 'INGESTED' ORDER BY path OFFSET $2 LIMIT 1",
      [again.settlementBatchId, again.part],
    );
    await this.recordDiscrepancy(manager, {
      type: 'MISMATCHED', kind: t.kind as TransactionType, fields: ['settlementBatchId'], transactionRequestId: t.request_id!, paymentId: t.payment_id, refundId: t.refund_id,
      merchantId: t.merchant_id, ledgerTransactionId: t.id, expected: { settlementBatchId: first.settlementBatchId }, actual: { settlementBatchId: again.settlementBatchId },
      reportFile: file?.path ?? again.settlementBatchId, businessDay, settled: true, repeatedIn: again.settlementBatchId,
    });
  }

  /** The ADJUSTMENT that wrote the transaction off (its MISSING_IN_REPORT discrepancy resolved with `adjust`), if finance wrote it off. */
  async writeOffOf(manager: EntityManager, id: string): Promise<{ id: string; amount: bigint; fee: bigint } | undefined> {
    const [row]: Array<{ id: string; amount: string; fee: string }> = await manager.query(
      `SELECT a.id, a.amount::text AS amount, a.fee::text AS fee FROM discrepancies d JOIN ledger_transactions a ON a.id = d.adjustment_transaction_id
       WHERE d.ledger_transaction_id = $1 AND d.type = 'MISSING_IN_REPORT'`,
      [id],
    );
    return row && { id: row.id, amount: BigInt(row.amount), fee: BigInt(row.fee) };
  }

  /**
   * Reverses a write-off that a settlement batch proved wrong (it paid the transaction out): an ADJUSTMENT
   * (origin RESOLUTION, POSTED in that batch, the transaction's business day) books the write-off's amount and
   * fee back, under `REVERSAL:<write-off id>`, so a write-off is reversed once whoever reverses it. The
   * transaction, posted without a batch when it was written off, is the batch's now, as if paid out as expected.
   * Answers the reversal's id.
   */
  async reverseWriteOff(manager: EntityManager, t: LedgerTransactionRecord, writeOffId: string, reversal: { amount: bigint; fee: bigint }, batchId: string): Promise<string> {
    const kind = t.kind as TransactionType;
    const { id } = await this.write(manager, {
      sourceKey: `REVERSAL:${writeOffId}`, kind: 'ADJUSTMENT', status: 'POSTED', merchantId: t.merchant_id, currency: t.currency, paymentId: t.payment_id, refundId: t.refund_id,
      alipayTransactionId: t.alipay_transaction_id, amount: reversal.amount, fee: reversal.fee, businessDay: t.business_day, origin: 'RESOLUTION', occurredAt: new Date(),
      settlementBatchId: batchId, postings: adjustmentPostings(kind, { merchantId: t.merchant_id, currency: t.currency, amount: reversal.amount, fee: reversal.fee }),
    });
    await manager.query('UPDATE ledger_transactions SET settlement_batch_id = $2 WHERE id = $1 AND settlement_batch_id IS NULL', [t.id, batchId]);
    return id;
  }

  /**
   * Records a disagreement, once per transaction and type: the settlement file finding what the transaction
   * file found is the same disagreement, and adds its fields to it. A batch paying the transaction out again
   * (`repeatedIn`) is a disagreement of its own, once per repeating batch. A settlement batch moves the money, so
   * when it disagrees about a discrepancy resolved without an adjustment (before the batch came), the
   * discrepancy opens again (its resolution kept among its previous ones), to be adjusted now that there is a
   * settlement to adjust to. Announced when new and when reopened.
   */
  async recordDiscrepancy(manager: EntityManager, d: DiscrepancyFinding): Promise<string> {
    const rows: Array<{ id: string; inserted: boolean; fields: string[]; expected: Record<string, string> | null; actual: Record<string, string> | null }> = await manager.query(
      `INSERT INTO discrepancies (id, type, kind, transaction_request_id, payment_id, refund_id, merchant_id, ledger_transaction_id, fields, expected, actual, report_file, business_day, status,
         repeated_in)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9::jsonb, $10::jsonb, $11::jsonb, $12, $13, 'OPEN', $14)
       ON CONFLICT (kind, transaction_request_id, type, repeated_in) DO UPDATE SET
         fields = COALESCE((SELECT jsonb_agg(DISTINCT f) FROM jsonb_array_elements_text(discrepancies.fields || EXCLUDED.fields) AS f), '[]'::jsonb),
         expected = COALESCE(discrepancies.expected, '{}'::jsonb) || COALESCE(EXCLUDED.expected, '{}'::jsonb),
         actual = COALESCE(discrepancies.actual, '{}'::jsonb) || COALESCE(EXCLUDED.actual, '{}'::jsonb)
       RETURNING id, (xmax = 0) AS inserted, fields, expected, actual`,
      [newId('dis'), d.type, d.kind, d.transactionRequestId, d.paymentId, d.refundId, d.merchantId, d.ledgerTransactionId, JSON.stringify(d.fields),
        d.expected ? JSON.stringify(d.expected) : null, d.actual ? JSON.stringify(d.actual) : null, d.reportFile, d.businessDay, d.repeatedIn ?? ''],
    );
    const { id, inserted, fields, expected, actual } = rows[0];
    const reopened = !inserted && d.settled && (await this.reopen(manager, id, d.reportFile));
    if (inserted || reopened) {
      const data: DiscrepancyDetectedV1 = {
        discrepancyId: id, type: d.type, kind: d.kind, fields, transactionRequestId: d.transactionRequestId,
        ...(d.paymentId ? { paymentId: d.paymentId } : {}), ...(d.refundId ? { refundId: d.refundId } : {}), ...(d.merchantId ? { merchantId: d.merchantId } : {}),
        ...(expected ? { expected } : {}), ...(actual ? { actual } : {}), reportFile: d.reportFile, businessDay: d.businessDay, ...(reopened ? { reopened } : {}),
        ...(d.repeatedIn ? { repeatedIn: d.repeatedIn } : {}),
      };
      await appendToOutbox(manager, TOPICS.settlementEvents.name, createEnvelope({ type: 'DiscrepancyDetected', key: d.paymentId ?? d.transactionRequestId, data, producer: this.producer }));
    }
    return id;
  }

  /**
   * Opens a discrepancy resolved without an adjustment again, without a resolution: the one it had joins its
   * previous resolutions, with when and by which file it was reopened. Answers whether it did.
   */
  private async reopen(manager: EntityManager, id: string, reportFile: string): Promise<boolean> {
    const [rows] = (await manager.query(
      `UPDATE discrepancies SET status = 'OPEN', resolved_by = NULL, resolution_note = NULL, resolved_at = NULL,
         previous_resolutions = previous_resolutions || jsonb_build_array(jsonb_build_object(
           'resolvedBy', resolved_by, 'resolutionNote', resolution_note, 'resolvedAt', resolved_at, 'reopenedAt', now(), 'reopenedBy', $2::text))
       WHERE id = $1 AND status = 'RESOLVED' AND adjustment_transaction_id IS NULL RETURNING id`,
      [id, reportFile],
    )) as [unknown[], number];
    return rows.length > 0;
  }

  private async announce(
    manager: EntityManager,
    t: { id: string; kind: LedgerKind; status: 'EXPECTED' | 'POSTED'; merchantId: string; currency: string; paymentId?: string | null; refundId?: string | null; settlementBatchId?: string | null },
    postings: readonly Posting[],
    at: Date,
  ): Promise<void> {
    const data: LedgerEntriesPostedV1 = {
      ledgerTransactionId: t.id,
      kind: t.kind,
      status: t.status,
      merchantId: t.merchantId,
      currency: t.currency,
      ...(t.paymentId ? { paymentId: t.paymentId } : {}),
      ...(t.refundId ? { refundId: t.refundId } : {}),
      ...(t.settlementBatchId ? { settlementBatchId: t.settlementBatchId } : {}),
      entries: postings.map((p) => ({ account: accountCode(p.accountType, p.merchantId, p.currency), accountType: p.accountType, direction: p.direction, amount: p.amount.toString() })),
      occurredAt: at.toISOString(),
    };
    const key = t.paymentId ?? t.settlementBatchId ?? t.id;
    await appendToOutbox(manager, TOPICS.settlementEvents.name, createEnvelope({ type: 'LedgerEntriesPosted', key, data, producer: this.producer }));
  }
}
