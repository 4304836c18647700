import { Inject, Injectable } from '@nestjs/common';
import { DataSource, EntityManager } from 'typeorm';
import { fromMajorUnits, toCsvLine, toMajorUnits } from '@upm/contracts';
import { Metrics } from '@upm/shared-observability';
import { ApiError } from '@upm/shared-runtime';
import { adjustmentPostings, overClearedPostings, transactionPostings } from '../domain/ledger';
import { planAdjustment, planBooking, planWriteOff, planWriteOffReversal } from '../domain/matching';
import { shiftDay, TransactionType } from '../domain/report-files';
import { LedgerStore, LedgerTransactionRecord } from '../ledger/ledger.store';
import type { PreviousResolution } from '../settlement.entities';
import { PAGE_BOUNDS } from './schemas';

export interface BalanceQuery {
  merchantId?: string;
  currency?: string;
  /** balances as they stood at this instant */
  at?: Date;
  /** POSTED: only what Alipay's settlement confirmed; ALL: expected and posted */
  status: 'POSTED' | 'ALL';
}

const EXPORT_COLUMNS = [
  'ledgerTransactionId', 'kind', 'status', 'businessDay', 'occurredAt', 'postedAt', 'merchantId', 'paymentId', 'refundId', 'alipayTransactionId',
  'settlementBatchId', 'account', 'accountType', 'currency', 'debit', 'credit',
];

/** Which page of a listing: at most `limit` rows, after the row `before` names (the last of the page before). */
export interface PageQuery {
  /** the listing's bound (PAGE_BOUNDS) when not given */
  limit?: number;
  before?: string;
}

/**
 * The id to pass as `before` for the rest of a listing, from its rows read one past the page (`limit + 1`): the
 * page's last row's, or null when the listing ends with the page.
 */
function nextCursor(rows: ReadonlyArray<Record<string, unknown>>, limit: number, key: string): string | null {
  return rows.length > limit ? String(rows[limit - 1][key]) : null;
}

/**
 * Where the finance listings stop: below it, every transaction that can write the listed tables had ended when the
 * statement's snapshot was taken. It is the oldest transaction the snapshot saw running (its `xip`), leaving out
 * those another database's sessions run (they cannot write this database), or the snapshot's `xmax` when none runs.
 * A running transaction whose session has ended by the time `pg_stat_activity` is read counts as this database's:
 * the page then stops a little early, never late. A row not yet listed is written by a transaction at or above
 * the horizon, so it sorts after every row a page listed below it (`written_by` first): reading on from the last
 * row read misses none of them.
 */
const WRITTEN_BEFORE_HORIZON = `written_by < (
  SELECT coalesce(
    (SELECT min(x::text::bigint) FROM pg_snapshot_xip(s.snapshot) AS x
      WHERE NOT EXISTS (SELECT 1 FROM pg_stat_activity a WHERE a.backend_xid = xid(x) AND a.datname <> current_database())),
    pg_snapshot_xmax(s.snapshot)::text::bigint)
  FROM (SELECT pg_current_snapshot() AS snapshot) AS s)`;

/** A discrepancy as a resolution reads it. */
interface OpenDiscrepancy {
  type: string;
  kind: string;
  transaction_request_id: string;
  payment_id: string | null;
  refund_id: string | null;
  business_day: string;
  fields: string[];
  merchant_id: string | null;
  actual: Record<string, string> | null;
  ledger_transaction_id: string | null;
  report_file: string;
  status: string;
}

/** What a resolution with `adjust` booked: the transaction the discrepancy is about, and the one that booked the correction. */
interface Booked {
  ledgerTransactionId: string;
  adjustmentTransactionId: string;
}

/** What the finance API reads: straight from the ledger, nothing cached. */
@Injectable()
export class FinanceService {
  constructor(
    @Inject(DataSource) private readonly dataSource: DataSource,
    @Inject(LedgerStore) private readonly ledger: LedgerStore,
    @Inject(Metrics) metrics: Metrics,
  ) {
    // what an alert on unreconciled money watches: read from the database at each scrape
    const open = metrics.gauge('settlement_open_discrepancies', 'Discrepancies between the ledger and Alipay reports not yet resolved', ['type'], async () => {
      const rows: Array<{ type: string; count: number }> = await this.dataSource.query("SELECT type, count(*)::int AS count FROM discrepancies WHERE status = 'OPEN' GROUP BY type");
      open.reset();
      for (const type of ['MISMATCHED', 'MISSING_IN_REPORT', 'MISSING_IN_LEDGER', 'UNSUPPORTED_ROW']) open.set({ type }, rows.find((r) => r.type === type)?.count ?? 0);
    });
  }

  async balances(q: BalanceQuery) {
    const at = q.at ?? new Date();
    const rows: Array<{ account_code: string; account_type: string; merchant_id: string; currency: string; debits: string; credits: string }> = await this.dataSource.query(
      `SELECT e.account_code, e.account_type, e.merchant_id, e.currency,
              COALESCE(SUM(e.amount) FILTER (WHERE e.direction = 'DEBIT'), 0)::text AS debits,
              COALESCE(SUM(e.amount) FILTER (WHERE e.direction = 'CREDIT'), 0)::text AS credits
       FROM ledger_entries e JOIN ledger_transactions t ON t.id = e.transaction_id
       WHERE ($1::text IS NULL OR e.merchant_id = $1) AND ($2::text IS NULL OR e.currency = $2)
         AND (CASE WHEN $4 = 'POSTED' THEN t.posted_at IS NOT NULL AND t.posted_at <= $3 ELSE t.created_at <= $3 END)
       GROUP BY e.account_code, e.account_type, e.merchant_id, e.currency ORDER BY e.account_code`,
      [q.merchantId ?? null, q.currency ?? null, at, q.status],
    );
    const totals = new Map<string, { debits: bigint; credits: bigint }>();
    const accounts = rows.map((r) => {
      const t = totals.get(r.currency) ?? { debits: 0n, credits: 0n };
      t.debits += BigInt(r.debits);
      t.credits += BigInt(r.credits);
      totals.set(r.currency, t);
      return {
        account: r.account_code, type: r.account_type, merchantId: r.merchant_id, currency: r.currency,
        debits: r.debits, credits: r.credits, balance: (BigInt(r.debits) - BigInt(r.credits)).toString(),
        balanceMajor: toMajorUnits(BigInt(r.debits) - BigInt(r.credits), r.currency),
      };
    });
    return {
      at: at.toISOString(),
      status: q.status,
      accounts,
      /** per currency: debits equal credits in a sound ledger */
      totals: [...totals].map(([currency, t]) => ({ currency, debits: t.debits.toString(), credits: t.credits.toString(), balanced: t.debits === t.credits })),
    };
  }

  /** Newest first (then by id), a page at a time. */
  /**
   * Settlement batches, newest settlementTime first; with `order: 'asc'`, in the order they were written, below the
   * running writers as the other listings are, so a client can read on later for the batches that arrive since.
   */
  async batches(q: { currency?: string; status?: string; order?: 'asc' | 'desc' } & PageQuery) {
    const limit = q.limit ?? PAGE_BOUNDS.batches;
    await this.assertListed('settlement_batches', 'batch_id', q.before, 'SETTLEMENT.BATCH_NOT_FOUND', 'settlement batch');
    const rows = q.order === 'asc' ? await this.dataSource.query(
      `SELECT batch_id, customer_id, currency, gross::text, fees::text, net::text, settlement_time, transaction_count, fx, status, created_at
       FROM settlement_batches
       WHERE ($1::text IS NULL OR currency = $1) AND ($2::text IS NULL OR status = $2) AND ${WRITTEN_BEFORE_HORIZON}
         AND ($3::text IS NULL OR (written_by, created_at, batch_id) > (SELECT c.written_by, c.created_at, c.batch_id FROM settlement_batches c WHERE c.batch_id = $3))
       ORDER BY written_by, created_at, batch_id LIMIT $4`,
      [q.currency ?? null, q.status ?? null, q.before ?? null, limit + 1],
    ) : await this.dataSource.query(
      `SELECT batch_id, customer_id, currency, gross::text, fees::text, net::text, settlement_time, transaction_count, fx, status, created_at
       FROM settlement_batches b
       WHERE ($1::text IS NULL OR currency = $1) AND ($2::text IS NULL OR status = $2)
         AND ($3::text IS NULL OR (SELECT b.settlement_time < c.settlement_time OR (b.settlement_time = c.settlement_time AND b.batch_id > c.batch_id)
                                   FROM settlement_batches c WHERE c.batch_id = $3))
       ORDER BY settlement_time DESC, batch_id LIMIT $4`,
      [q.currency ?? null, q.status ?? null, q.before ?? null, limit + 1],
    );
    return { batches: rows.slice(0, limit).map(batchView), next: nextCursor(rows, limit, 'batch_id') };
  }

  /**
   * Refuses a `before` that names no row of the listing, as the webhook delivery log does: there is no page after
   * a row that does not exist.
   */
  private async assertListed(table: string, column: string, before: string | undefined, code: string, what: string): Promise<void> {
    if (before === undefined) return;
    const [row] = await this.dataSource.query(`SELECT 1 FROM ${table} WHERE ${column} = $1`, [before]);
    if (!row) throw new ApiError(404, code, `no ${what} ${before} to list the rows after`);
  }

  async batch(batchId: string) {
    const [row] = await this.dataSource.query(
      `SELECT batch_id, customer_id, currency, gross::text, fees::text, net::text, settlement_time, transaction_count, fx, status, created_at FROM settlement_batches WHERE batch_id = $1`,
      [batchId],
    );
    if (!row) throw new ApiError(404, 'SETTLEMENT.BATCH_NOT_FOUND', `no settlement batch ${batchId}`);
    const items: Array<Record<string, string | number | null>> = await this.dataSource.query(
      `SELECT part, line, kind, transaction_id, transaction_request_id, merchant_id, currency, amount::text, fee::text, settlement_amount::text, ledger_transaction_id, result
       FROM settlement_batch_items WHERE batch_id = $1 ORDER BY part, line`,
      [batchId],
    );
    return {
      ...batchView(row),
      items: items.map((i) => ({
        part: i.part, line: i.line, kind: i.kind, transactionId: i.transaction_id, transactionRequestId: i.transaction_request_id, merchantId: i.merchant_id,
        amount: { currency: i.currency, value: i.amount }, fee: { currency: row.currency, value: i.fee }, settlementAmount: { currency: row.currency, value: i.settlement_amount },
        ledgerTransactionId: i.ledger_transaction_id, result: i.result,
      })),
    };
  }

  /** Oldest first (in the order they were written, then by id), a page at a time. */
  async discrepancies(q: { status?: string; type?: string; paymentId?: string } & PageQuery) {
    const limit = q.limit ?? PAGE_BOUNDS.discrepancies;
    await this.assertListed('discrepancies', 'id', q.before, 'SETTLEMENT.DISCREPANCY_NOT_FOUND', 'discrepancy');
    const rows = await this.dataSource.query(
      `SELECT *, to_char(business_day, 'YYYY-MM-DD') AS day FROM discrepancies
       WHERE ($1::text IS NULL OR status = $1) AND ($2::text IS NULL OR type = $2) AND ($3::text IS NULL OR payment_id = $3) AND ${WRITTEN_BEFORE_HORIZON}
         AND ($4::text IS NULL OR (written_by, created_at, id) > (SELECT c.written_by, c.created_at, c.id FROM discrepancies c WHERE c.id = $4))
       ORDER BY written_by, created_at, id LIMIT $5`,
      [q.status ?? null, q.type ?? null, q.paymentId ?? null, q.before ?? null, limit + 1],
    );
    return { discrepancies: rows.slice(0, limit).map(discrepancyView), next: nextCursor(rows, limit, 'id') };
  }

  /**
   * Marks a discrepancy resolved, saying who and why. With `adjust`, it also books what Alipay settled, in
   * the batch that settled the transaction, so the receivable clears: for a MISMATCHED transaction the
   * difference (see planAdjustment) as an ADJUSTMENT, with the transaction itself posted; for one MISSING_IN_LEDGER,
   * the transaction as the batch paid it out (see planBooking). Booking holds the ledger as a report ingestion
   * does, and the discrepancy row is locked: of two resolutions at once, one books and the other gets 409.
   */
  async resolveDiscrepancy(id: string, resolution: { resolvedBy: string; note: string; adjust: boolean }) {
    return this.dataSource.transaction(async (manager) => {
      if (resolution.adjust) await this.ledger.lockForReport(manager);
      const [found]: OpenDiscrepancy[] = await manager.query(
        `SELECT type, kind, transaction_request_id, payment_id, refund_id, to_char(business_day, 'YYYY-MM-DD') AS business_day, fields, merchant_id, actual, ledger_transaction_id,
           report_file, status
         FROM discrepancies WHERE id = $1 FOR UPDATE`,
        [id],
      );
      if (!found) throw new ApiError(404, 'SETTLEMENT.DISCREPANCY_NOT_FOUND', `no discrepancy ${id}`);
      if (found.status !== 'OPEN') throw new ApiError(409, 'SETTLEMENT.ALREADY_RESOLVED', `discrepancy ${id} is already resolved`);
      const booked = resolution.adjust ? await this.book(manager, id, found) : null;
      const [rows] = (await manager.query(
        `UPDATE discrepancies SET status = 'RESOLVED', resolved_by = $2, resolution_note = $3, resolved_at = now(), adjustment_transaction_id = $4,
           ledger_transaction_id = COALESCE(ledger_transaction_id, $5)
         WHERE id = $1 RETURNING *, to_char(business_day, 'YYYY-MM-DD') AS day`,
        [id, resolution.resolvedBy, resolution.note, booked?.adjustmentTransactionId ?? null, booked?.ledgerTransactionId ?? null],
      )) as [Array<Record<string, unknown>>, number];
      return discrepancyView(rows[0]);
    });
  }

  /** What resolving with `adjust` books for each type of discrepancy. */
  private async book(manager: EntityManager, id: string, d: OpenDiscrepancy): Promise<Booked> {
    switch (d.type) {
      case 'MISSING_IN_LEDGER':
        return this.bookPaidOut(manager, id, d);
      case 'MISSING_IN_REPORT':
        return { ledgerTransactionId: d.ledger_transaction_id!, adjustmentTransactionId: await this.bookWriteOff(manager, id, d) };
      case 'UNSUPPORTED_ROW':
        // a row of a type the ledger has no rules for: finance settles it outside the ledger, and resolves it as a note
        throw new ApiError(422, 'SETTLEMENT.CANNOT_ADJUST', `discrepancy ${id} is about a report line of a type the ledger has no rules to book`);
      default: {
        const t = d.ledger_transaction_id ? await this.ledger.find(manager, d.ledger_transaction_id) : undefined;
        // the reports list a transaction finance wrote off: the adjustment to book is the write-off's reversal
        if (t?.written_off) return { ledgerTransactionId: t.id, adjustmentTransactionId: await this.bookWriteOffReversal(manager, d, t) };
        const adjustment = await this.bookAdjustment(manager, id, d);
        return { ledgerTransactionId: d.ledger_transaction_id ?? adjustment, adjustmentTransactionId: adjustment };
      }
    }
  }

  /**
   * Writes a transaction no report lists off as never made (see planWriteOff): the transaction is posted without
   * a batch, with an ADJUSTMENT (origin RESOLUTION, POSTED, its business day) that reverses its postings, so
   * nothing is owed for it, expected or posted; returns the adjustment's id.
   */
  private async bookWriteOff(manager: EntityManager, discrepancyId: string, d: OpenDiscrepancy): Promise<string> {
    // a MISSING_IN_REPORT discrepancy always names the ledger transaction the report lacks
    const t = (await this.ledger.find(manager, d.ledger_transaction_id!))!;
    // a batch that paid it out before the ledger had it counts too: its item names no transaction when the payment event disagreed with it
    const paidOut: Array<{ batch_id: string }> = await manager.query(
      `SELECT DISTINCT batch_id FROM settlement_batch_items
       WHERE kind = $2 AND transaction_request_id = $3 AND (ledger_transaction_id = $1 OR ledger_transaction_id IS NULL) ORDER BY batch_id`,
      [t.id, t.kind, t.request_id],
    );
    const [{ next }]: Array<{ next: boolean }> = await manager.query(
      "SELECT EXISTS (SELECT 1 FROM report_files WHERE kind = 'transactionItems' AND status = 'INGESTED' AND business_day = $1) AS next",
      [shiftDay(t.business_day, 1)],
    );
    const plan = planWriteOff({ amount: BigInt(t.amount), fee: BigInt(t.fee), status: t.status }, paidOut.map((p) => p.batch_id), next);
    if (!plan.ok) throw new ApiError(422, plan.code, plan.message);
    const kind = t.kind as TransactionType;
    await this.ledger.post(manager, t.id, null);
    const written = await this.ledger.write(manager, {
      sourceKey: `ADJUSTMENT:${discrepancyId}`, kind: 'ADJUSTMENT', status: 'POSTED', merchantId: t.merchant_id, currency: t.currency, paymentId: t.payment_id, refundId: t.refund_id,
      alipayTransactionId: t.alipay_transaction_id, amount: plan.amount, fee: plan.fee, businessDay: t.business_day, origin: 'RESOLUTION', occurredAt: new Date(),
      postings: adjustmentPostings(kind, { merchantId: t.merchant_id, currency: t.currency, amount: plan.amount, fee: plan.fee }),
    });
    return written.id;
  }

  /**
   * Reverses the write-off of a transaction a settlement batch paid out after all (see planWriteOffReversal):
   * an ADJUSTMENT that books the write-off's amount and fee back, POSTED in the first batch that paid it out (the
   * first to come: one that came later paid it out again), whose item now matches the ledger; returns the reversal's id.
   */
  private async bookWriteOffReversal(manager: EntityManager, d: { fields: string[] }, t: LedgerTransactionRecord): Promise<string> {
    // a transaction is written off only by resolving its MISSING_IN_REPORT discrepancy with an adjustment
    const writeOff = (await this.ledger.writeOffOf(manager, t.id))!;
    const [item]: Array<{ batch_id: string; part: number; line: number }> = await manager.query(
      `SELECT i.batch_id, i.part, i.line FROM settlement_batch_items i JOIN settlement_batches b ON b.batch_id = i.batch_id
       WHERE i.ledger_transaction_id = $1 ORDER BY b.written_by, b.created_at, b.batch_id, i.part, i.line LIMIT 1`,
      [t.id],
    );
    const plan = planWriteOffReversal(d, writeOff, item?.batch_id);
    if (!plan.ok) throw new ApiError(422, plan.code, plan.message);
    const reversal = await this.ledger.reverseWriteOff(manager, t, writeOff.id, plan, item.batch_id);
    await this.ledger.itemMatched(manager, item.batch_id, item, t.id);
    return reversal;
  }

  /**
   * Books a transaction a settlement batch paid out before the ledger had it, as if it had been there when the
   * batch came (see planBooking): written from the batch's item when the ledger never heard of it, posted in that
   * batch, the conversion's clearing corrected by an ADJUSTMENT when the payout was in another currency, or what the
   * payout settled otherwise than the ledger expects when it was in the transaction's, and a second payout flagged. A
   * MISSING_IN_REPORT the transaction raised closes as that batch would have closed it (`missingNoMore`), but for a
   * payout of another amount or fee. The discrepancy names the transaction, and the adjustment if one was booked (else the
   * transaction again).
   */
  private async bookPaidOut(manager: EntityManager, discrepancyId: string, d: OpenDiscrepancy): Promise<Booked> {
    const kind = d.kind as TransactionType;
    const requestId = d.transaction_request_id;
    const [held] = (await this.ledger.findByRequest(manager, [{ kind, requestId }])).values();
    const expectation = held && {
      ledgerTransactionId: held.id, kind, merchantId: held.merchant_id, currency: held.currency, amount: BigInt(held.amount), fee: BigInt(held.fee), alipayTransactionId: held.alipay_transaction_id,
    };
    const actual = d.actual as { amount: string; currency: string; transactionId: string };
    const plan = planBooking({ kind, transactionRequestId: requestId, merchantId: d.merchant_id, actual }, expectation, await this.ledger.paidOut(manager, kind, requestId));
    if (!plan.ok) throw new ApiError(422, plan.code, plan.message);
    const { payout, write } = plan;
    let transactionId: string;
    if (write) {
      const fact = { merchantId: payout.merchantId, currency: payout.currency, amount: write.amount, fee: write.fee };
      transactionId = await this.ledger.writePaidOut(manager, {
        sourceKey: `${kind}:${requestId}`, kind, status: 'EXPECTED', merchantId: payout.merchantId, currency: payout.currency, paymentId: d.payment_id,
        refundId: d.refund_id, requestId, alipayTransactionId: payout.transactionId, amount: write.amount, fee: write.fee, businessDay: d.business_day,
        origin: 'RESOLUTION', occurredAt: new Date(), postings: transactionPostings(kind, fact),
      }, payout);
    } else {
      transactionId = held.id;
      // paid out as the ledger expects it (a conversion's clearing aside): Alipay made it, whatever its transaction file
      // said, as the batch would have found had the transaction been there; one paid out with another amount or fee stays
      // missing from the report, as it does when the event comes first
      if (!plan.difference) await this.ledger.missingNoMore(manager, transactionId, { paidOutIn: payout.settlementBatchId });
      await this.ledger.setReconciliation(manager, transactionId, 'MATCHED', actual.transactionId);
      await this.ledger.settleLate(manager, transactionId, payout);
    }
    const t = (await this.ledger.find(manager, transactionId))!;
    // a conversion's clearing, or what the payout settled otherwise than the ledger expects: one ADJUSTMENT in the payout's batch
    const correction = plan.overCleared !== 0n
      ? { amount: plan.overCleared, fee: 0n, postings: overClearedPostings(t.merchant_id, t.currency, plan.overCleared) }
      : plan.difference && { ...plan.difference, postings: adjustmentPostings(kind, { merchantId: t.merchant_id, currency: t.currency, ...plan.difference }) };
    let adjustmentTransactionId = transactionId;
    if (correction) {
      ({ id: adjustmentTransactionId } = await this.ledger.write(manager, {
        sourceKey: `ADJUSTMENT:${discrepancyId}`, kind: 'ADJUSTMENT', status: 'POSTED', merchantId: t.merchant_id, currency: t.currency, paymentId: t.payment_id,
        refundId: t.refund_id, alipayTransactionId: t.alipay_transaction_id, businessDay: t.business_day, origin: 'RESOLUTION',
        occurredAt: new Date(), settlementBatchId: payout.settlementBatchId, ...correction,
      }));
    }
    for (const again of plan.repaid) await this.ledger.flagRepeatedPayout(manager, t, payout, again, d.business_day);
    // matched as the batch would have matched it had the transaction been there
    await this.ledger.announceReconciled(
      manager, { id: transactionId, kind, paymentId: t.payment_id ?? requestId, refundId: t.refund_id, merchantId: t.merchant_id },
      { transactionId: actual.transactionId, currency: actual.currency, amount: fromMajorUnits(actual.amount, actual.currency), fee: { currency: payout.settlementCurrency, value: payout.fee } },
      d.report_file,
    );
    return { ledgerTransactionId: transactionId, adjustmentTransactionId };
  }

  /** Posts the mismatched transaction in the batch that settled it, with an ADJUSTMENT for the difference; returns the adjustment's id. */
  private async bookAdjustment(manager: EntityManager, discrepancyId: string, d: { type: string; fields: string[]; ledger_transaction_id: string | null }): Promise<string> {
    const t = d.ledger_transaction_id ? await this.ledger.find(manager, d.ledger_transaction_id) : undefined;
    const kind = t?.kind as TransactionType;
    const [item]: Array<{ batch_id: string; part: number; line: number; amount: string; fee: string }> = t
      ? await manager.query(
        // the first batch to come that paid it out: one that came later paid it out again, a discrepancy of its own
        `SELECT i.batch_id, i.part, i.line, i.amount::text AS amount, i.fee::text AS fee FROM settlement_batch_items i JOIN settlement_batches b ON b.batch_id = i.batch_id
         WHERE i.ledger_transaction_id = $1 ORDER BY b.written_by, b.created_at, b.batch_id, i.part, i.line LIMIT 1`,
        [t.id],
      )
      : [];
    const plan = planAdjustment(
      d,
      t && { kind, amount: BigInt(t.amount), fee: BigInt(t.fee) },
      item && { amount: BigInt(item.amount), fee: BigInt(item.fee) },
    );
    if (!plan.ok) throw new ApiError(422, plan.code, plan.message);
    // a plan is only ok for a transaction the ledger holds and a batch settled
    const transaction = t!;
    const batchId = item!.batch_id;
    await this.ledger.post(manager, transaction.id, batchId);
    const written = await this.ledger.write(manager, {
      sourceKey: `ADJUSTMENT:${discrepancyId}`, kind: 'ADJUSTMENT', status: 'POSTED', merchantId: transaction.merchant_id, currency: transaction.currency,
      paymentId: transaction.payment_id, refundId: transaction.refund_id, alipayTransactionId: transaction.alipay_transaction_id, amount: plan.amount, fee: plan.fee,
      businessDay: transaction.business_day, origin: 'RESOLUTION', occurredAt: new Date(), settlementBatchId: batchId,
      postings: adjustmentPostings(kind, { merchantId: transaction.merchant_id, currency: transaction.currency, amount: plan.amount, fee: plan.fee }),
    });
    // with the adjustment, the ledger holds what the item settled
    await this.ledger.itemMatched(manager, batchId, item!, transaction.id);
    return written.id;
  }

  /** What settlement knows of one payment: its last state from payments.v1.events, a review's resolution, its ledger transactions. */
  async payment(paymentId: string) {
    const [row] = await this.dataSource.query(
      'SELECT payment_id, merchant_id, status, currency, amount::text, sequence, refunds, review_resolution FROM tracked_payments WHERE payment_id = $1',
      [paymentId],
    );
    if (!row) throw new ApiError(404, 'SETTLEMENT.PAYMENT_NOT_FOUND', `no payment ${paymentId} seen`);
    return {
      paymentId: row.payment_id, merchantId: row.merchant_id, status: row.status, amount: { currency: row.currency, value: row.amount }, sequence: row.sequence,
      refunds: row.refunds, reviewResolution: row.review_resolution, transactions: (await this.transactions({ paymentId }, true)).transactions,
    };
  }

  /** Oldest first (in the order they were written, then by path and id), a page at a time. */
  async files(q: PageQuery = {}) {
    const limit = q.limit ?? PAGE_BOUNDS.files;
    await this.assertListed('report_files', 'id', q.before, 'SETTLEMENT.FILE_NOT_FOUND', 'report file');
    const rows = await this.dataSource.query(
      `SELECT id, path, kind, status, reason, settlement_batch_id, to_char(business_day, 'YYYY-MM-DD') AS business_day, rows, created_at FROM report_files
       WHERE ${WRITTEN_BEFORE_HORIZON}
         AND ($1::text IS NULL OR (written_by, created_at, path, id) > (SELECT c.written_by, c.created_at, c.path, c.id FROM report_files c WHERE c.id = $1))
       ORDER BY written_by, created_at, path, id LIMIT $2`,
      [q.before ?? null, limit + 1],
    );
    return {
      files: rows.slice(0, limit).map((r: Record<string, unknown>) => ({
        id: r.id, path: r.path, kind: r.kind, status: r.status, reason: r.reason, settlementBatchId: r.settlement_batch_id, businessDay: r.business_day, rows: r.rows, receivedAt: r.created_at,
      })),
      next: nextCursor(rows, limit, 'id'),
    };
  }

  /**
   * Oldest first (in the order they were written, then by id), a page at a time. `unpaged` (a payment's view, read
   * whole) answers every committed transaction, those of writers still under way beside older ones too.
   */
  async transactions(q: { paymentId?: string; day?: string; batchId?: string } & PageQuery, unpaged = false) {
    const limit = q.limit ?? PAGE_BOUNDS.transactions;
    await this.assertListed('ledger_transactions', 'id', q.before, 'SETTLEMENT.TRANSACTION_NOT_FOUND', 'ledger transaction');
    const rows = await this.dataSource.query(
      `SELECT id, kind, status, merchant_id, currency, payment_id, refund_id, request_id, alipay_transaction_id, amount::text, fee::text,
              to_char(business_day, 'YYYY-MM-DD') AS business_day, origin, settlement_batch_id, reconciliation, occurred_at, created_at, posted_at,
              (SELECT jsonb_agg(jsonb_build_object('account', account_code, 'direction', direction, 'amount', amount::text) ORDER BY id) FROM ledger_entries WHERE transaction_id = t.id) AS entries
       FROM ledger_transactions t
       WHERE ($1::text IS NULL OR payment_id = $1) AND ($2::date IS NULL OR business_day = $2) AND ($3::text IS NULL OR settlement_batch_id = $3) AND ($6::boolean OR ${WRITTEN_BEFORE_HORIZON})
         AND ($4::text IS NULL OR (written_by, created_at, id) > (SELECT c.written_by, c.created_at, c.id FROM ledger_transactions c WHERE c.id = $4))
       ORDER BY written_by, created_at, id LIMIT $5`,
      [q.paymentId ?? null, q.day ?? null, q.batchId ?? null, q.before ?? null, limit + 1, unpaged],
    );
    return {
      transactions: rows.slice(0, limit).map((r: Record<string, unknown>) => ({
        ledgerTransactionId: r.id, kind: r.kind, status: r.status, merchantId: r.merchant_id, paymentId: r.payment_id, refundId: r.refund_id, requestId: r.request_id,
        alipayTransactionId: r.alipay_transaction_id, amount: { currency: r.currency, value: r.amount }, fee: { currency: r.currency, value: r.fee },
        businessDay: r.business_day, origin: r.origin, settlementBatchId: r.settlement_batch_id, reconciliation: r.reconciliation,
        occurredAt: r.occurred_at, createdAt: r.created_at, postedAt: r.posted_at, entries: r.entries,
      })),
      next: nextCursor(rows, limit, 'id'),
    };
  }

  /** The ledger lines of one report day (UTC+8) or one settlement batch, as CSV with major units. */
  async exportCsv(q: { day?: string; batchId?: string }): Promise<string> {
    if (!q.day === !q.batchId) throw new ApiError(400, 'VALIDATION_FAILED', 'give exactly one of day (YYYY-MM-DD) or batchId');
    const rows: Array<Record<string, string | Date | null>> = await this.dataSource.query(
      `SELECT t.id, t.kind, t.status, to_char(t.business_day, 'YYYY-MM-DD') AS business_day, t.occurred_at, t.posted_at, e.merchant_id, t.payment_id, t.refund_id,
              t.alipay_transaction_id, t.settlement_batch_id, e.account_code, e.account_type, e.currency, e.direction, e.amount::text AS amount
       FROM ledger_entries e JOIN ledger_transactions t ON t.id = e.transaction_id
       WHERE ($1::date IS NULL OR t.business_day = $1) AND ($2::text IS NULL OR t.settlement_batch_id = $2)
       ORDER BY t.created_at, t.id, e.id`,
      [q.day ?? null, q.batchId ?? null],
    );
    const iso = (v: string | Date | null) => (v instanceof Date ? v.toISOString() : (v ?? ''));
    const lines = rows.map((r) => {
      const amount = toMajorUnits(String(r.amount), String(r.currency));
      return toCsvLine([
        iso(r.id), iso(r.kind), iso(r.status), iso(r.business_day), iso(r.occurred_at), iso(r.posted_at), iso(r.merchant_id), iso(r.payment_id), iso(r.refund_id),
        iso(r.alipay_transaction_id), iso(r.settlement_batch_id), iso(r.account_code), iso(r.account_type), iso(r.currency),
        r.direction === 'DEBIT' ? amount : '', r.direction === 'CREDIT' ? amount : '',
      ]);
    });
    return `${[EXPORT_COLUMNS.join(','), ...lines].join('\n')}\n`;
  }
}

function batchView(r: Record<string, unknown>) {
  const money = (value: unknown) => ({ currency: r.currency, value });
  return {
    settlementBatchId: r.batch_id, customerId: r.customer_id, currency: r.currency, gross: money(r.gross), fees: money(r.fees), net: money(r.net),
    settlementTime: r.settlement_time, transactionCount: r.transaction_count, fx: r.fx, status: r.status, receivedAt: r.created_at,
  };
}

/** A discrepancy as the finance API answers it (openapi.ts `Discrepancy`). */
export function discrepancyView(r: Record<string, unknown>) {
  return {
    discrepancyId: r.id, type: r.type, kind: r.kind, fields: r.fields, transactionRequestId: r.transaction_request_id, paymentId: r.payment_id, refundId: r.refund_id,
    merchantId: r.merchant_id, ledgerTransactionId: r.ledger_transaction_id, expected: r.expected, actual: r.actual, reportFile: r.report_file,
    businessDay: r.day, status: r.status,
    // stored '' for every discrepancy but a repeated payout's
    repeatedIn: r.repeated_in || null,
    resolvedBy: r.resolved_by, resolutionNote: r.resolution_note, resolvedAt: r.resolved_at, detectedAt: r.created_at, adjustmentTransactionId: r.adjustment_transaction_id,
    previousResolutions: (r.previous_resolutions as PreviousResolution[]).map((p) => ({ ...p, resolvedAt: new Date(p.resolvedAt), reopenedAt: new Date(p.reopenedAt) })),
  };
}
