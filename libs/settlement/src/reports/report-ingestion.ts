import { createHash } from 'node:crypto';
import type { DataSource, EntityManager } from 'typeorm';
import { createEnvelope, expectedFee, newId, toMajorUnits, TOPICS } from '@upm/contracts';
import type { FeeTerms, SettlementBatchSettledV1 } from '@upm/contracts';
import { appendToOutbox } from '@upm/shared-kafka';
import type { Logger, Metrics } from '@upm/shared-observability';
import { SettledAmount, settlementPostings } from '../domain/ledger';
import {
  compareRow, compareWithPayment, explainUnledgeredRow, feeFromReport, LedgerExpectation, notChargedReviews, partnerListedEarlier, paymentIdOfRow, PaymentFacts, ReportedFact,
  ReportedRow, rowKey, signedAmount, signedFee,
} from '../domain/matching';
import {
  BatchIncomplete, businessDayOf, listingKey, listOnceAcrossParts, parseReportFileName, parseSettlementBatch, parseTransactionItems, ReportFileName, ReportRejected, SettlementBatchReport, SettlementItemRow,
  shiftDay, summaryLineRequestId, summaryLinesByType, TransactionRow, TransactionType, UnsupportedRow,
} from '../domain/report-files';
import { LedgerStore, LedgerTransactionDraft, LedgerTransactionRecord } from '../ledger/ledger.store';
import type { ReportSource, ReportSourceFile } from './report-sources';

/** FAILED: not applied for a reason other than its content (the database, a defect); nothing of it is kept, and the next look tries it again */
export type IngestStatus = 'INGESTED' | 'REJECTED' | 'DUPLICATE' | 'PENDING' | 'FAILED';

export interface IngestResult {
  path: string;
  source: string;
  kind: string;
  status: IngestStatus;
  reason?: string;
  rows?: number;
  batchId?: string;
}

interface Candidate {
  file: ReportSourceFile;
  meta: ReportFileName;
  sha256: string;
  folder: string;
}

/** Transactions per SettlementBatchSettled message: their ids (two of at most 64 characters each) stay near a quarter of Kafka's 1 MB. */
const SETTLED_PER_MESSAGE = 2_000;

/** A report file recorded before, by its bytes ($1), at its path ($2) or else at any path ending in its name ($3). */
export const SEEN_FILE_QUERY = `SELECT status FROM report_files WHERE sha256 = $1 AND (path = $2 OR right(path, length($3)) = $3) ORDER BY path = $2 DESC LIMIT 1`;

/**
 * Ingests Alipay's report files: the day's transaction file is matched row by row against the ledger, and a
 * settlement batch (items + summary) posts what it confirms and pays out. A file is applied in one database
 * transaction or not at all; a rejected file is recorded with its reason; a file seen before (same path
 * and bytes) changes nothing.
 */
export class ReportIngestion {
  private running: Promise<IngestResult[]> = Promise.resolve([]);
  private readonly filesSeen?: ReturnType<Metrics['counter']>;

  constructor(
    private readonly dataSource: DataSource,
    private readonly ledger: LedgerStore,
    private readonly sources: readonly ReportSource[],
    /** Alipay's fee schedule: the fee of a transaction written from a row that does not give its own */
    private readonly fees: FeeTerms,
    private readonly producer: string,
    private readonly logger: Logger,
    metrics?: Metrics,
  ) {
    this.filesSeen = metrics?.counter('settlement_report_files_total', 'Report files looked at, by kind and outcome', ['kind', 'status']);
  }

  /** Looks at every source once; concurrent calls queue behind each other. */
  ingest(): Promise<IngestResult[]> {
    const next = this.running.catch(() => []).then(() => this.ingestOnce());
    this.running = next;
    return next;
  }

  private async ingestOnce(): Promise<IngestResult[]> {
    const results: IngestResult[] = [];
    for (const source of this.sources) {
      let files: ReportSourceFile[];
      try {
        files = await source.list();
      } catch (error) {
        // one source down (an SFTP outage) keeps none of the others' files out
        results.push(this.failed({ path: '', source: source.name, kind: 'source' }, error));
        continue;
      }
      const candidates: Candidate[] = [];
      for (const file of files) {
        const meta = parseReportFileName(file.name);
        if (!meta) continue;
        candidates.push({ file, meta, sha256: createHash('sha256').update(file.content).digest('hex'), folder: file.path.split('/').slice(0, -1).join('/') });
      }
      // transaction files first (they match the day), then the batches that post and pay out; a day's parts
      // (`_000`, `_001`…) present now are read together, in seq order
      const transactionFiles = candidates.filter((c) => c.meta.kind === 'transactionItems').sort((a, b) => a.file.path.localeCompare(b.file.path));
      for (const day of new Set(transactionFiles.map((c) => c.meta.day))) results.push(...(await this.ingestTransactionDay(transactionFiles.filter((c) => c.meta.day === day))));
      // a batch's items files (`_000`, `_001`…) are read together, with the summary of the same folder
      const batchOf = (c: Candidate) => `${c.folder}|${c.meta.currency}|${c.meta.batchId}`;
      const itemsFiles = candidates.filter((c) => c.meta.kind === 'settlementItems').sort((a, b) => a.file.path.localeCompare(b.file.path));
      for (const batch of new Set(itemsFiles.map(batchOf))) {
        const summary = candidates.find((c) => c.meta.kind === 'settlementSummary' && batchOf(c) === batch);
        results.push(await this.ingestBatch(itemsFiles.filter((c) => batchOf(c) === batch), summary));
      }
    }
    for (const r of results) {
      this.filesSeen?.inc({ kind: r.kind, status: r.status });
      if (r.status === 'REJECTED') this.logger.warn(r, 'report file rejected');
      else if (r.status === 'INGESTED') this.logger.info(r, 'report file ingested');
    }
    return results;
  }

  /**
   * The parts of one day's transaction details present at this look (new ones; `_000`, `_001`…) are read as one
   * report, in one database transaction: every row of every part is matched before anything of the day is
   * decided missing, so no part calls missing what a later part lists. A part whose content is refused is
   * rejected on its own and the others go in without it; one that fails for another reason takes the day's
   * other new parts with it, and the next look tries them again.
   */
  private async ingestTransactionDay(candidates: readonly Candidate[]): Promise<IngestResult[]> {
    const base = (c: Candidate) => ({ path: c.file.path, source: c.file.source, kind: c.meta.kind });
    const results = new Map<Candidate, IngestResult>();
    const parts: TransactionPart[] = [];
    const listed = await this.listedOn(candidates[0].meta.day);
    const read = new Set<string>();
    for (const c of candidates) {
      // a second copy found at this look (another folder of the source) is the same report, read once
      const copyOfRead = read.has(identityOf(c));
      read.add(identityOf(c));
      if (copyOfRead || (await this.seen(c))) {
        results.set(c, { ...base(c), status: 'DUPLICATE' });
        continue;
      }
      try {
        const { rows, unsupported } = parseTransactionItems(decode(c.file.content));
        listOnceAcrossParts(rows, c.file.name, listed);
        parts.push({ candidate: c, rows, unsupported });
      } catch (error) {
        if (!(error instanceof ReportRejected)) {
          results.set(c, this.failed(base(c), error));
          continue;
        }
        await this.dataSource.transaction((m) => this.recordFile(m, c, 'REJECTED', error.message, 0, { day: c.meta.day }));
        results.set(c, { ...base(c), status: 'REJECTED', reason: error.message });
      }
    }
    if (parts.length) {
      try {
        const applied = await this.inLock(async (manager) => {
          // another replica may have read some of them meanwhile
          const fresh: TransactionPart[] = [];
          for (const part of parts) if (!(await this.seen(part.candidate, manager))) fresh.push(part);
          const files: TransactionFile[] = [];
          for (const { candidate, rows, unsupported } of fresh) {
            const fileId = await this.recordFile(manager, candidate, 'INGESTED', null, rows.length + unsupported.length, { day: candidate.meta.day });
            files.push({ fileId, path: candidate.file.path, rows, unsupported });
          }
          if (files.length) await this.matchTransactionDay(manager, parts[0].candidate.meta.day ?? businessDayOf(new Date()), files);
          return fresh;
        });
        for (const part of parts) {
          results.set(part.candidate, applied.includes(part) ? { ...base(part.candidate), status: 'INGESTED', rows: part.rows.length + part.unsupported.length } : { ...base(part.candidate), status: 'DUPLICATE' });
        }
      } catch (error) {
        for (const part of parts) results.set(part.candidate, this.failed(base(part.candidate), error));
      }
    }
    return candidates.map((c) => results.get(c)!);
  }

  /** What the day's transaction files read before list, each transaction with the name of the part that lists it. */
  private async listedOn(day: string | undefined): Promise<Map<string, string>> {
    const rows: Array<{ type: TransactionType; transactionRequestId: string; path: string }> = await this.dataSource.query(
      `SELECT r.kind AS type, r.transaction_request_id AS "transactionRequestId", f.path FROM reconciliations r JOIN report_files f ON f.id = r.file_id
       WHERE f.kind = 'transactionItems' AND f.status = 'INGESTED' AND f.business_day = $1`,
      [day],
    );
    return new Map(rows.map((r) => [listingKey(r), r.path.split('/').pop() ?? r.path]));
  }

  /**
   * A file that failed for a reason other than its content: its database transaction kept nothing, so the next
   * look tries it again, while the files after it still go in rather than waiting behind it. So does a source
   * that could not be listed (kind `source`), while the other sources still go in.
   */
  private failed(base: Omit<IngestResult, 'status'>, error: unknown): IngestResult {
    this.logger.error({ err: error, path: base.path, source: base.source }, `report ${base.kind === 'source' ? 'source' : 'file'} failed; trying it again at the next look`);
    return { ...base, status: 'FAILED', reason: error instanceof Error ? error.message : String(error) };
  }

  /**
   * A batch is its items files read with its summary. It is tried again only when one of its files is new: a
   * complete items file rejected with a cut-off summary goes in once the whole summary arrives. A batch whose
   * items files hold fewer items than the summary counts waits for the rest (PENDING, nothing recorded).
   */
  private async ingestBatch(parts: readonly Candidate[], summary: Candidate | undefined): Promise<IngestResult> {
    const first = parts[0];
    const base = { path: first.file.path, source: first.file.source, kind: first.meta.kind, batchId: first.meta.batchId };
    const seenBefore = async (manager?: EntityManager) => {
      const seen = await Promise.all(parts.map((part) => this.seen(part, manager)));
      // a settled batch's summary may be gone from the source already
      if (seen.every((s) => s === 'INGESTED')) return true;
      return summary !== undefined && seen.every((s) => s !== undefined) && (await this.seen(summary, manager)) !== undefined;
    };
    if (await seenBefore()) return { ...base, status: 'DUPLICATE' };
    if (!summary) return { ...base, status: 'PENDING', reason: 'waiting for the batch summary file' };
    try {
      const texts = parts.map((part) => decode(part.file.content));
      const batch = parseSettlementBatch(texts, decode(summary.file.content), { batchId: first.meta.batchId ?? '', currency: first.meta.currency ?? '' });
      await this.inLock(async (manager) => {
        if (await seenBefore(manager)) throw new AlreadySeen();
        const [settled] = await manager.query('SELECT items_file_id FROM settlement_batches WHERE batch_id = $1', [batch.batchId]);
        if (settled) throw new ReportRejected(`batch ${batch.batchId} is already settled from another file`);
        const files: BatchFile[] = [];
        for (const [i, part] of parts.entries()) {
          const rows = [...batch.items, ...batch.unsupportedItems].filter((item) => item.part === i).length;
          files.push({ fileId: await this.recordFile(manager, part, 'INGESTED', null, rows, { batchId: batch.batchId }), path: part.file.path });
        }
        const summaryFile = { fileId: await this.recordFile(manager, summary, 'INGESTED', null, batch.summary.length, { batchId: batch.batchId }), path: summary.file.path };
        await this.settleBatch(manager, files, summaryFile, batch);
      });
      return { ...base, status: 'INGESTED', rows: batch.items.length };
    } catch (error) {
      if (error instanceof AlreadySeen) return { ...base, status: 'DUPLICATE' };
      if (error instanceof BatchIncomplete) return { ...base, status: 'PENDING', reason: `${error.message}: waiting for the rest` };
      if (!(error instanceof ReportRejected)) return this.failed(base, error);
      await this.dataSource.transaction(async (m) => {
        for (const part of parts) await this.recordFile(m, part, 'REJECTED', error.message, 0, { batchId: first.meta.batchId });
        await this.recordFile(m, summary, 'REJECTED', `rejected with its items file: ${error.message}`, 0, { batchId: first.meta.batchId });
      });
      return { ...base, status: 'REJECTED', reason: error.message };
    }
  }

  /**
   * Matches every row of the day's files read now, in seq order, as one report (a row's partner may sit in
   * another part), then flags what the day's ledger has and the files lack; decided after the last of them,
   * which the discrepancies and review resolutions name.
   */
  private async matchTransactionDay(manager: EntityManager, day: string, files: readonly TransactionFile[]): Promise<void> {
    const rows = files.flatMap((f) => f.rows);
    const ledger = await this.ledgerOf(manager, rows);
    const payments = await this.payments(manager, rows.map(paymentIdOfRow));
    const earlier = await this.ledger.listedOnTheirOwn(manager, rows.filter((r) => r.type !== 'REFUND').map(paymentIdOfRow));
    for (const file of files) {
      for (const row of file.rows) await this.reconcileRow(manager, { fileId: file.fileId, reportFile: file.path, day, row, rows, ledger, payments, earlier });
      for (const row of file.unsupported) {
        await this.unsupported(manager, {
          id: row.id, paymentId: row.paymentId, merchantId: row.merchantId, actual: row.fields,
          reportFile: file.path, businessDay: day, settled: false,
        });
      }
    }
    const reportFile = files[files.length - 1].path;

    // every transaction file so far counts, these included (their rows are recorded by now), and those of other days too
    await this.ledger.flagMissingInReport(manager, await this.ledger.findByDay(manager, day), day, reportFile);

    // these files complete the pair of days that decides the reviews of their own day, or of the day before; and
    // a review whose event came after both its days' files were in is decided at the next file
    const pending: Array<{ day: string }> = await manager.query(
      `SELECT DISTINCT to_char(business_day, 'YYYY-MM-DD') AS day FROM tracked_payments
       WHERE status = 'NEEDS_REVIEW' AND review_resolution IS NULL AND business_day < $1 ORDER BY day`,
      [shiftDay(day, -1)],
    );
    for (const reviewDay of [...pending.map((p) => p.day), shiftDay(day, -1), day]) await this.resolveUncharged(manager, reviewDay, reportFile);
  }

  /**
   * Resolves as NOT_CHARGED the payments of `day` in review that no report lists a PAYMENT or CANCEL for, once the
   * transaction files of the day and of the next are both in (a pay sent just before midnight is filed
   * under the day Alipay charged it).
   */
  private async resolveUncharged(manager: EntityManager, day: string, reportFile: string): Promise<void> {
    const next = shiftDay(day, 1);
    const [{ both }]: Array<{ both: boolean }> = await manager.query(
      `SELECT count(DISTINCT business_day) = 2 AS both FROM report_files WHERE kind = 'transactionItems' AND status = 'INGESTED' AND business_day IN ($1, $2)`,
      [day, next],
    );
    if (!both) return;
    const inReview: Array<{ paymentId: string; merchantId: string; currency: string }> = await manager.query(
      `SELECT payment_id AS "paymentId", merchant_id AS "merchantId", currency FROM tracked_payments
       WHERE status = 'NEEDS_REVIEW' AND review_resolution IS NULL AND business_day = $1`,
      [day],
    );
    if (!inReview.length) return;
    // a CANCEL row proves a charge as well as a PAYMENT row does, though that may not be listed yet
    const listed: Array<{ id: string }> = await manager.query(
      "SELECT DISTINCT transaction_request_id AS id FROM reconciliations WHERE kind IN ('PAYMENT', 'CANCEL') AND transaction_request_id = ANY($1)",
      [inReview.map((p) => p.paymentId)],
    );
    for (const p of notChargedReviews(inReview, new Set(listed.map((r) => r.id)))) {
      await this.ledger.resolveReview(manager, {
        paymentId: p.paymentId, merchantId: p.merchantId, resolution: 'NOT_CHARGED', amount: { currency: p.currency, value: '0' },
        evidence: `no PAYMENT row for the payment in the transaction reports of ${day} and ${next}`, reportFile,
      });
    }
  }

  private async reconcileRow(
    manager: EntityManager,
    ctx: {
      fileId: string; reportFile: string; day: string; row: TransactionRow; rows: readonly TransactionRow[]; ledger: Map<string, LedgerTransactionRecord>; payments: Map<string, PaymentFacts>;
      earlier: Map<string, ReportedRow>; batchId?: string;
    },
  ): Promise<{ result: string; ledgerTransactionId: string | null; merchantId: string }> {
    const { row, fileId, reportFile, day } = ctx;
    const paymentId = paymentIdOfRow(row);
    const payment = ctx.payments.get(paymentId);
    const existing = ctx.ledger.get(rowKey(row.type, row.transactionRequestId));
    const settlement = 'fee' in row ? (row as SettlementItemRow) : undefined;
    const record = async (result: string, ledgerTransactionId: string | null, discrepancyId: string | null) => {
      await manager.query(
        `INSERT INTO reconciliations (file_id, line, kind, transaction_request_id, transaction_id, result, ledger_transaction_id, discrepancy_id)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
        [fileId, row.line, row.type, row.transactionRequestId, row.transactionId, result, ledgerTransactionId, discrepancyId],
      );
    };
    const reconciled = (t: { id: string; merchantId: string; refundId: string | null }, fromReport: boolean) =>
      this.ledger.announceReconciled(
        manager, { ...t, kind: row.type, paymentId },
        { transactionId: row.transactionId, currency: row.currency, amount: row.amount, fee: settlement && { currency: settlement.feeCurrency, value: settlement.fee } },
        reportFile, fromReport,
      );

    if (existing) {
      const expectation: LedgerExpectation = {
        ledgerTransactionId: existing.id, kind: existing.kind as TransactionType, merchantId: existing.merchant_id, currency: existing.currency,
        amount: BigInt(existing.amount), fee: BigInt(existing.fee), alipayTransactionId: existing.alipay_transaction_id, settlementBatchId: existing.paid_out_in,
        writtenOff: existing.written_off,
      };
      const verdict = compareRow(row, expectation);
      // listed, whether or not it agrees: what it disagrees on is a discrepancy of its own
      if (!ctx.batchId) await this.ledger.missingNoMore(manager, existing.id, { listedBy: reportFile });
      if (verdict.result === 'MATCHED') {
        // paid out as the ledger expects it: Alipay made it, whatever its transaction file said
        if (ctx.batchId) await this.ledger.missingNoMore(manager, existing.id, { paidOutIn: ctx.batchId });
        await this.ledger.setReconciliation(manager, existing.id, 'MATCHED', row.transactionId);
        if (ctx.batchId) await this.ledger.post(manager, existing.id, ctx.batchId);
        await record('MATCHED', existing.id, null);
        await reconciled({ id: existing.id, merchantId: existing.merchant_id, refundId: existing.refund_id }, false);
        return { result: 'MATCHED', ledgerTransactionId: existing.id, merchantId: existing.merchant_id };
      }
      await this.ledger.setReconciliation(manager, existing.id, 'MISMATCHED');
      // an earlier batch paid it out already: this payout is money moved twice, a discrepancy of its own whatever became of the first's
      const repeatedIn = verdict.fields.includes('settlementBatchId') ? ctx.batchId : undefined;
      const discrepancyId = await this.ledger.recordDiscrepancy(manager, {
        type: 'MISMATCHED', kind: row.type, fields: verdict.fields, transactionRequestId: row.transactionRequestId, paymentId, refundId: existing.refund_id,
        merchantId: existing.merchant_id, ledgerTransactionId: existing.id, expected: verdict.expected, actual: verdict.actual, reportFile, businessDay: day,
        settled: ctx.batchId !== undefined, ...(repeatedIn ? { repeatedIn } : {}),
      });
      await record('MISMATCHED', existing.id, discrepancyId);
      return { result: 'MISMATCHED', ledgerTransactionId: existing.id, merchantId: existing.merchant_id };
    }

    const inLedger = (kind: TransactionType) => ctx.ledger.has(rowKey(kind, paymentId));
    const inReport = (kind: TransactionType) => ctx.rows.some((r) => r.type === kind && paymentIdOfRow(r) === paymentId);
    // its partner (a charge, or its cancel) an earlier file listed while the ledger had neither: written with this row when the two net to nothing
    const partnerKind = row.type === 'PAYMENT' ? 'CANCEL' : 'PAYMENT';
    const partner = row.type === 'REFUND' || inLedger(partnerKind) || inReport(partnerKind) ? undefined : partnerListedEarlier(row, ctx.earlier.get(rowKey(partnerKind, paymentId)));
    const listed = (kind: TransactionType) => inLedger(kind) || inReport(kind) || partner?.kind === kind;
    const verdict = explainUnledgeredRow(row, payment, { hasPayment: listed('PAYMENT'), hasCancel: listed('CANCEL') });
    const merchantId = payment?.merchantId ?? (row.referenceMerchantId || `customer-${row.customerId}`);
    if (verdict.result === 'FROM_REPORT' && payment) {
      // a cancel gives back the fee its payment was booked with, whatever the fee schedule says now
      const charge = row.type === 'CANCEL' ? ctx.ledger.get(rowKey('PAYMENT', paymentId)) : undefined;
      const scheduled = charge ? BigInt(charge.fee) : expectedFee(this.fees, row.currency, row.amount);
      const own: ReportedFact = {
        kind: row.type, requestId: row.transactionRequestId, transactionId: row.transactionId, currency: row.currency, amount: row.amount, fee: feeFromReport(row, scheduled),
        time: row.paymentTime, businessDay: businessDayOf(row.paymentTime), reportFile,
      };
      // the charge before its cancel, as they happened
      if (partner?.kind === 'PAYMENT') await this.writeListedEarlier(manager, ctx, payment, partner, row.type);
      const { id: written } = await this.writeFromReport(manager, ctx, payment, own, { status: ctx.batchId ? 'POSTED' : 'EXPECTED', settlementBatchId: ctx.batchId ?? null, reconciliation: 'MATCHED' });
      if (partner?.kind === 'CANCEL') await this.writeListedEarlier(manager, ctx, payment, partner, row.type);
      const asked = verdict.resolution === 'CHARGED' ? compareWithPayment(row, payment) : undefined;
      if (asked?.result === 'MISMATCHED') {
        await this.ledger.setReconciliation(manager, written, 'MISMATCHED');
        await this.ledger.recordDiscrepancy(manager, {
          type: 'MISMATCHED', kind: row.type, fields: asked.fields, transactionRequestId: row.transactionRequestId, paymentId, refundId: null, merchantId: payment.merchantId,
          ledgerTransactionId: written, expected: asked.expected, actual: asked.actual, reportFile, businessDay: day, settled: ctx.batchId !== undefined,
        });
      }
      if (verdict.resolution) {
        await this.ledger.resolveReview(manager, {
          paymentId, merchantId: payment.merchantId, resolution: verdict.resolution,
          amount: { currency: row.currency, value: verdict.resolution === 'CHARGED' ? signedAmount(row.type, row.amount).toString() : '0' }, evidence: verdict.evidence, reportFile,
        });
      }
      await record('MATCHED', written, null);
      await reconciled({ id: written, merchantId: payment.merchantId, refundId: row.type === 'REFUND' ? row.transactionRequestId : null }, true);
      return { result: 'MATCHED', ledgerTransactionId: written, merchantId: payment.merchantId };
    }
    const type = verdict.result === 'MISMATCHED' ? 'MISMATCHED' : 'MISSING_IN_LEDGER';
    const discrepancyId = await this.ledger.recordDiscrepancy(manager, {
      type, kind: row.type, fields: verdict.result === 'MISMATCHED' ? verdict.fields : [], transactionRequestId: row.transactionRequestId, paymentId,
      refundId: row.type === 'REFUND' ? row.transactionRequestId : null, merchantId: payment?.merchantId ?? (row.referenceMerchantId || null), ledgerTransactionId: null,
      expected: verdict.result === 'MISMATCHED' ? verdict.expected : null,
      actual: {
        ...(verdict.result === 'MISMATCHED' ? verdict.actual : {}), amount: toMajorUnits(row.amount, row.currency), currency: row.currency, transactionId: row.transactionId,
        paymentTime: row.paymentTime,
      },
      reportFile, businessDay: day, settled: ctx.batchId !== undefined,
    });
    await record(type, null, discrepancyId);
    return { result: type, ledgerTransactionId: null, merchantId };
  }

  /**
   * A transaction row or a summary line of a type settlement does not book (REFUND_REVERSAL, SETTLEMENT_FEE…): an
   * open UNSUPPORTED_ROW discrepancy with what the file says of it, for finance to settle by hand; the rest of
   * its file goes in.
   */
  private async unsupported(
    manager: EntityManager,
    d: { id: string; paymentId: string | null; merchantId: string | null; actual: Record<string, string>; reportFile: string; businessDay: string; settled: boolean },
  ): Promise<void> {
    await this.ledger.recordDiscrepancy(manager, {
      type: 'UNSUPPORTED_ROW', kind: 'OTHER', fields: [], transactionRequestId: d.id, paymentId: d.paymentId, refundId: null, merchantId: d.merchantId, ledgerTransactionId: null,
      expected: null, actual: d.actual, reportFile: d.reportFile, businessDay: d.businessDay, settled: d.settled,
    });
  }

  /** Writes a transaction Alipay's report proves and the ledger lacks, for a payment we know, and keeps it among the rows' ledger. */
  private async writeFromReport(
    manager: EntityManager,
    ctx: { ledger: Map<string, LedgerTransactionRecord> },
    payment: PaymentFacts,
    fact: ReportedFact,
    state: Pick<LedgerTransactionDraft, 'status' | 'settlementBatchId' | 'reconciliation'>,
  ): Promise<{ id: string; draft: LedgerTransactionDraft }> {
    const { id, draft } = await this.ledger.writeReported(manager, payment, fact, state);
    ctx.ledger.set(rowKey(fact.kind, fact.requestId), {
      id, kind: fact.kind, status: draft.status, merchant_id: draft.merchantId, currency: draft.currency, payment_id: payment.paymentId, refund_id: draft.refundId ?? null,
      request_id: fact.requestId, alipay_transaction_id: fact.transactionId, amount: draft.amount.toString(), fee: draft.fee.toString(), business_day: draft.businessDay,
      settlement_batch_id: draft.settlementBatchId ?? null, reconciliation: draft.reconciliation ?? null, written_off: false,
      paid_out_in: draft.settlementBatchId ?? null,
    });
    return { id, draft };
  }

  /**
   * Writes the charge or cancel an earlier file listed on its own, now that its partner nets it to nothing, and
   * closes the status discrepancy it raised as a lagging payment event would (posted in the batch that paid it
   * out, if one did).
   */
  private async writeListedEarlier(
    manager: EntityManager,
    ctx: { ledger: Map<string, LedgerTransactionRecord>; reportFile: string },
    payment: PaymentFacts,
    earlier: ReportedRow,
    partner: TransactionType,
  ): Promise<void> {
    const { id, draft } = await this.writeFromReport(manager, ctx, payment, { ...earlier, requestId: payment.paymentId, fee: expectedFee(this.fees, earlier.currency, earlier.amount) }, { status: 'EXPECTED' });
    await this.ledger.closeMissingInLedger(manager, id, draft, `written from ${ctx.reportFile} with the ${partner} it nets to nothing with`);
  }

  /** Posts what the batch confirms, records its items N:1, and books the payout per merchant. */
  private async settleBatch(manager: EntityManager, files: readonly BatchFile[], summaryFile: BatchFile, batch: SettlementBatchReport): Promise<void> {
    const ledger = await this.ledgerOf(manager, batch.items);
    const payments = await this.payments(manager, batch.items.map(paymentIdOfRow));
    const earlier = await this.ledger.listedOnTheirOwn(manager, batch.items.filter((r) => r.type !== 'REFUND').map(paymentIdOfRow));
    const settlementDay = businessDayOf(batch.settlementTime);
    const perMerchant = new Map<string, SettledAmount[]>();
    let allMatched = true;
    for (const item of batch.items) {
      const { fileId, path: reportFile } = files[item.part];
      const verdict = await this.reconcileRow(manager, { fileId, reportFile, day: businessDayOf(item.paymentTime), row: item, rows: batch.items, ledger, payments, earlier, batchId: batch.batchId });
      allMatched &&= verdict.result === 'MATCHED';
      await manager.query(
        `INSERT INTO settlement_batch_items (batch_id, part, line, kind, transaction_id, transaction_request_id, merchant_id, currency, amount, fee, settlement_amount, ledger_transaction_id, result)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)`,
        [batch.batchId, item.part, item.line, item.type, item.transactionId, item.transactionRequestId, verdict.merchantId, item.currency, item.amount.toString(), item.fee.toString(), item.settlementAmount.toString(), verdict.ledgerTransactionId, verdict.result],
      );
      const expected = verdict.ledgerTransactionId ? ledger.get(rowKey(item.type, item.transactionRequestId)) : undefined;
      const transactionNet = item.currency === item.settlementCurrency ? item.settlementAmount : item.amount + (expected ? signedFee(item.type, BigInt(expected.fee)) : 0n);
      const amounts = perMerchant.get(verdict.merchantId) ?? [];
      amounts.push({ transactionCurrency: item.currency, transactionNet, settlementCurrency: item.settlementCurrency, settlementNet: item.settlementAmount });
      perMerchant.set(verdict.merchantId, amounts);
    }
    // what the payout holds beside the items it books (an item of another type, a settlement fee, a reserve): finance sees it
    for (const line of summaryLinesByType(batch.otherLines)) {
      const money = (value: bigint) => toMajorUnits(value, line.settlementCurrency);
      await this.unsupported(manager, {
        id: summaryLineRequestId(batch.batchId, line.summaryType), paymentId: null, merchantId: null, reportFile: summaryFile.path, businessDay: settlementDay, settled: true,
        actual: {
          settlementBatchId: batch.batchId, summaryType: line.summaryType, count: String(line.count), settlementAmountValue: money(line.settlementAmount),
          settlementCurrency: line.settlementCurrency, feeAmountValue: money(line.fee), feeCurrency: line.settlementCurrency, settlementTime: line.settlementTime,
        },
      });
    }
    for (const item of batch.unsupportedItems) {
      await this.unsupported(manager, {
        id: item.id, paymentId: item.paymentId, merchantId: item.merchantId, actual: item.fields,
        reportFile: files[item.part].path, businessDay: settlementDay, settled: true,
      });
    }
    allMatched &&= batch.otherLines.length === 0 && batch.unsupportedItems.length === 0;
    for (const [merchantId, amounts] of perMerchant) {
      const postings = settlementPostings(merchantId, merge(amounts));
      if (postings.length < 2) continue; // the merchant's items net to nothing (a payment and its cancel)
      const net = amounts.reduce((sum, a) => sum + a.settlementNet, 0n);
      await this.ledger.write(manager, {
        sourceKey: `SETTLEMENT:${batch.batchId}:${merchantId}`, kind: 'SETTLEMENT', status: 'POSTED', merchantId, currency: batch.currency,
        amount: net < 0n ? -net : net, fee: 0n, businessDay: settlementDay, origin: 'SETTLEMENT', occurredAt: new Date(batch.settlementTime),
        settlementBatchId: batch.batchId, reconciliation: allMatched ? 'MATCHED' : 'MISMATCHED', postings,
      });
    }
    await manager.query(
      `INSERT INTO settlement_batches (batch_id, customer_id, currency, gross, fees, net, settlement_time, transaction_count, fx, status, items_file_id, summary_file_id)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9::jsonb, $10, $11, $12)`,
      [batch.batchId, batch.customerId, batch.currency, batch.gross.toString(), batch.fees.toString(), batch.net.toString(), new Date(batch.settlementTime), batch.items.length,
        batch.fx ? JSON.stringify(batch.fx) : null, allMatched ? 'RECONCILED' : 'DISCREPANCIES', files[0].fileId, summaryFile.fileId],
    );
    await this.announceSettled(manager, batch);
  }

  /**
   * SettlementBatchSettled, in parts of at most SETTLED_PER_MESSAGE transactions: a large chain's daily batch
   * lists more ids than Kafka takes in one message (1 MB by default), and a message the broker refuses would
   * hold up every later event of the outbox. Every part repeats the batch's totals.
   */
  private async announceSettled(manager: EntityManager, batch: SettlementBatchReport): Promise<void> {
    const money = (value: bigint) => ({ currency: batch.currency, value: value.toString() });
    const parts = Math.max(1, Math.ceil(batch.items.length / SETTLED_PER_MESSAGE));
    const envelopes = Array.from({ length: parts }, (_, n) => {
      const items = batch.items.slice(n * SETTLED_PER_MESSAGE, (n + 1) * SETTLED_PER_MESSAGE);
      const ids = (type: TransactionType) => [...new Set(items.filter((i) => i.type === type || (type === 'PAYMENT' && i.type === 'CANCEL')).map((i) => (i.type === 'REFUND' ? i.transactionRequestId : paymentIdOfRow(i))))];
      const data: SettlementBatchSettledV1 = {
        settlementBatchId: batch.batchId, customerId: batch.customerId, currency: batch.currency, gross: money(batch.gross), fees: money(batch.fees), net: money(batch.net),
        settlementTime: new Date(batch.settlementTime).toISOString(), fx: batch.fx, transactionCount: batch.items.length,
        transactionIds: items.map((i) => i.transactionId), paymentIds: ids('PAYMENT'), refundIds: ids('REFUND'), part: n + 1, parts,
      };
      return createEnvelope({ type: 'SettlementBatchSettled', key: batch.batchId, data, producer: this.producer });
    });
    await appendToOutbox(manager, TOPICS.settlementEvents.name, ...envelopes);
  }

  /**
   * The ledger transactions the rows name, and the charge and cancel of each payment a PAYMENT or CANCEL row
   * names: a row without its own transaction is explained by its partner in the ledger as by one in the same
   * file (a pay just before midnight is charged in one day's file and cancelled in the next one's).
   */
  private ledgerOf(manager: EntityManager, rows: readonly TransactionRow[]): Promise<Map<string, LedgerTransactionRecord>> {
    return this.ledger.findByRequest(manager, rows.flatMap((r) => [
      { kind: r.type, requestId: r.transactionRequestId },
      ...(r.type === 'REFUND' ? [] : (['PAYMENT', 'CANCEL'] as const).map((kind) => ({ kind, requestId: paymentIdOfRow(r) }))),
    ]));
  }

  private async payments(manager: EntityManager, ids: readonly string[]): Promise<Map<string, PaymentFacts>> {
    if (!ids.length) return new Map();
    const rows: Array<{
      payment_id: string; merchant_id: string; status: PaymentFacts['status']; currency: string; amount: string; refunds: PaymentFacts['refunds']; review_resolution: PaymentFacts['reviewResolution'];
    }> = await manager.query(
      'SELECT payment_id, merchant_id, status, currency, amount::text AS amount, refunds, review_resolution FROM tracked_payments WHERE payment_id = ANY($1)',
      [[...new Set(ids)]],
    );
    return new Map(rows.map((r) => [r.payment_id, {
      paymentId: r.payment_id, merchantId: r.merchant_id, status: r.status, currency: r.currency, amount: BigInt(r.amount), refunds: r.refunds, reviewResolution: r.review_resolution,
    }]));
  }

  /**
   * How this file was recorded before, if it was: at its path with its bytes, or else a copy of it (its name and
   * bytes) at another path. The same file delivered by a second source, or again to another folder, is the same
   * report: read again, its rows would be matched and announced twice.
   */
  private async seen(c: Candidate, manager: EntityManager | DataSource = this.dataSource): Promise<'INGESTED' | 'REJECTED' | undefined> {
    const [row]: Array<{ status: 'INGESTED' | 'REJECTED' }> = await manager.query(SEEN_FILE_QUERY, [c.sha256, c.file.path, `/${c.file.name}`]);
    return row?.status;
  }

  private async recordFile(manager: EntityManager, c: Candidate, status: 'INGESTED' | 'REJECTED', reason: string | null, rows: number, at: { day?: string; batchId?: string }): Promise<string> {
    const [row] = await manager.query(
      `INSERT INTO report_files (id, sha256, path, kind, status, reason, settlement_batch_id, business_day, rows) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
       ON CONFLICT (path, sha256) DO UPDATE SET status = EXCLUDED.status, reason = EXCLUDED.reason, rows = EXCLUDED.rows
         WHERE report_files.status = 'REJECTED' AND EXCLUDED.status = 'INGESTED'
       RETURNING id`,
      [newId('rpf'), c.sha256, c.file.path, c.meta.kind, status, reason, at.batchId ?? null, at.day ?? null, rows],
    );
    return row?.id ?? '';
  }

  /** One ingestion at a time across replicas, and no payment event in between: files are applied in order, each in one transaction. */
  private inLock<T>(work: (manager: EntityManager) => Promise<T>): Promise<T> {
    return this.dataSource.transaction(async (manager) => {
      await this.ledger.lockForReport(manager);
      return work(manager);
    });
  }
}

class AlreadySeen extends Error {}

/** A part of a day's transaction details, read and not yet applied. */
interface TransactionPart {
  candidate: Candidate;
  rows: TransactionRow[];
  unsupported: UnsupportedRow[];
}

/** A part of a day's transaction details as recorded: where its rows' reconciliations point. */
interface TransactionFile {
  fileId: string;
  path: string;
  rows: readonly TransactionRow[];
  unsupported: readonly UnsupportedRow[];
}

/** One items file of a batch as recorded: where its rows' reconciliations point. */
interface BatchFile {
  fileId: string;
  path: string;
}

/** What makes a report file the same file wherever it is found: its name and bytes. */
function identityOf(c: Candidate): string {
  return `${c.file.name}|${c.sha256}`;
}

/** UTF-8, as the spec says; a byte-order mark is dropped by the CSV reader. */
function decode(content: Buffer): string {
  return content.toString('utf8');
}

/** One settlement leg per currency pair. */
function merge(amounts: readonly SettledAmount[]): SettledAmount[] {
  const out = new Map<string, SettledAmount>();
  for (const a of amounts) {
    const key = `${a.transactionCurrency}>${a.settlementCurrency}`;
    const m = out.get(key);
    out.set(key, m ? { ...m, transactionNet: m.transactionNet + a.transactionNet, settlementNet: m.settlementNet + a.settlementNet } : { ...a });
  }
  return [...out.values()];
}

