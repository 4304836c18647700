import { Column, CreateDateColumn, Entity, Index, PrimaryColumn, PrimaryGeneratedColumn, Unique } from 'typeorm';

/** One account per type, merchant and currency, created on first use. */
@Entity({ name: 'ledger_accounts' })
@Index('IDX_ledger_accounts_merchant', ['merchantId', 'currency'])
export class LedgerAccountRow {
  @PrimaryColumn({ type: 'text' })
  code!: string;

  @Column({ type: 'text' })
  type!: string;

  @Column({ type: 'text', name: 'merchant_id' })
  merchantId!: string;

  @Column({ type: 'text' })
  currency!: string;

  @CreateDateColumn({ type: 'timestamptz', name: 'created_at' })
  createdAt!: Date;
}

/**
 * A balanced ledger transaction. Its entries never change; its status moves once, from EXPECTED (what a
 * payment event says) to POSTED (what Alipay's settlement confirmed). `source_key` makes it idempotent on
 * the fact it records: `PAYMENT:<paymentId>`, `REFUND:<refundId>`, `CANCEL:<paymentId>`, `SETTLEMENT:<batch>:<merchant>`.
 */
@Entity({ name: 'ledger_transactions' })
@Unique('UQ_ledger_transactions_source', ['sourceKey'])
@Index('IDX_ledger_transactions_request', ['kind', 'requestId'])
@Index('IDX_ledger_transactions_day', ['businessDay'])
@Index('IDX_ledger_transactions_batch', ['settlementBatchId'])
@Index('IDX_ledger_transactions_payment', ['paymentId'])
@Index('IDX_ledger_transactions_listing', ['writtenBy', 'createdAt', 'id'])
export class LedgerTransactionRow {
  @PrimaryColumn({ type: 'text' })
  id!: string;

  @Column({ type: 'text', name: 'source_key' })
  sourceKey!: string;

  @Column({ type: 'text' })
  kind!: string;

  @Column({ type: 'text' })
  status!: string;

  @Column({ type: 'text', name: 'merchant_id' })
  merchantId!: string;

  @Column({ type: 'text' })
  currency!: string;

  @Column({ type: 'text', name: 'payment_id', nullable: true })
  paymentId!: string | null;

  @Column({ type: 'text', name: 'refund_id', nullable: true })
  refundId!: string | null;

  /** Alipay's request id of the transaction: our paymentId, or our refundId for a refund */
  @Column({ type: 'text', name: 'request_id', nullable: true })
  requestId!: string | null;

  @Column({ type: 'text', name: 'alipay_transaction_id', nullable: true })
  alipayTransactionId!: string | null;

  @Column({ type: 'bigint' })
  amount!: string;

  @Column({ type: 'bigint' })
  fee!: string;

  @Column({ type: 'date', name: 'business_day' })
  businessDay!: string;

  /** EVENT, REPORT or SETTLEMENT */
  @Column({ type: 'text' })
  origin!: string;

  @Column({ type: 'text', name: 'source_event_id', nullable: true })
  sourceEventId!: string | null;

  @Column({ type: 'text', name: 'source_event_type', nullable: true })
  sourceEventType!: string | null;

  @Column({ type: 'integer', name: 'source_sequence', nullable: true })
  sourceSequence!: number | null;

  @Column({ type: 'text', name: 'settlement_batch_id', nullable: true })
  settlementBatchId!: string | null;

  /** the last reconciliation result: MATCHED, MISMATCHED, MISSING_IN_REPORT */
  @Column({ type: 'text', nullable: true })
  reconciliation!: string | null;

  @Column({ type: 'timestamptz', name: 'occurred_at' })
  occurredAt!: Date;

  @CreateDateColumn({ type: 'timestamptz', name: 'created_at' })
  createdAt!: Date;

  /**
   * the database transaction that wrote the row: the finance listings page in this order, and list a row only once
   * that transaction has ended (docs/settlement.md)
   */
  @Column({ type: 'bigint', name: 'written_by', default: () => 'writing_transaction_id()', insert: false, update: false })
  writtenBy!: string;

  @Column({ type: 'timestamptz', name: 'posted_at', nullable: true })
  postedAt!: Date | null;
}

/** One side of a ledger transaction. A trigger refuses UPDATE and DELETE. */
@Entity({ name: 'ledger_entries' })
@Index('IDX_ledger_entries_transaction', ['transactionId'])
@Index('IDX_ledger_entries_account', ['accountCode'])
export class LedgerEntryRow {
  @PrimaryGeneratedColumn({ type: 'bigint' })
  id!: string;

  @Column({ type: 'text', name: 'transaction_id' })
  transactionId!: string;

  @Column({ type: 'text', name: 'account_code' })
  accountCode!: string;

  @Column({ type: 'text', name: 'account_type' })
  accountType!: string;

  @Column({ type: 'text', name: 'merchant_id' })
  merchantId!: string;

  @Column({ type: 'text' })
  currency!: string;

  @Column({ type: 'text' })
  direction!: string;

  @Column({ type: 'bigint' })
  amount!: string;

  @CreateDateColumn({ type: 'timestamptz', name: 'created_at' })
  createdAt!: Date;
}

/** What settlement knows of each payment from payments.v1.events; `sequence` drops stale events. */
@Entity({ name: 'tracked_payments' })
@Index('IDX_tracked_payments_status', ['status'])
export class TrackedPaymentRow {
  @PrimaryColumn({ type: 'text', name: 'payment_id' })
  paymentId!: string;

  @Column({ type: 'text', name: 'merchant_id' })
  merchantId!: string;

  @Column({ type: 'text' })
  status!: string;

  @Column({ type: 'text' })
  currency!: string;

  @Column({ type: 'bigint' })
  amount!: string;

  @Column({ type: 'integer' })
  sequence!: number;

  @Column({ type: 'date', name: 'business_day' })
  businessDay!: string;

  @Column({ type: 'jsonb', default: () => "'{}'" })
  refunds!: Record<string, 'PROCESSING' | 'SUCCEEDED' | 'FAILED'>;

  @Column({ type: 'text', name: 'review_resolution', nullable: true })
  reviewResolution!: string | null;

  @Column({ type: 'jsonb' })
  view!: unknown;

  @Column({ type: 'timestamptz', name: 'updated_at' })
  updatedAt!: Date;
}

/** A cancel applied before the charge it reverses, waiting for it: the cancel's event and the payment as it told it. */
@Entity({ name: 'pending_cancels' })
export class PendingCancelRow {
  @PrimaryColumn({ type: 'text', name: 'payment_id' })
  paymentId!: string;

  @Column({ type: 'text', name: 'event_id' })
  eventId!: string;

  @Column({ type: 'integer' })
  sequence!: number;

  @Column({ type: 'timestamptz', name: 'occurred_at' })
  occurredAt!: Date;

  @Column({ type: 'jsonb' })
  payment!: unknown;

  @CreateDateColumn({ type: 'timestamptz', name: 'created_at' })
  createdAt!: Date;
}

/** Every report file seen, by path and content hash: the same file twice is applied once. */
@Entity({ name: 'report_files' })
@Unique('UQ_report_files_path_sha256', ['path', 'sha256'])
@Index('IDX_report_files_listing', ['writtenBy', 'createdAt', 'path', 'id'])
@Index('IDX_report_files_sha256', ['sha256'])
@Index('IDX_report_files_day', ['kind', 'businessDay'])
export class ReportFileRow {
  @PrimaryColumn({ type: 'text' })
  id!: string;

  @Column({ type: 'text' })
  sha256!: string;

  /** below the report root: `<customerId>/<yyyymmdd>/<name>` */
  @Column({ type: 'text' })
  path!: string;

  @Column({ type: 'text' })
  kind!: string;

  /** INGESTED or REJECTED */
  @Column({ type: 'text' })
  status!: string;

  @Column({ type: 'text', nullable: true })
  reason!: string | null;

  @Column({ type: 'text', name: 'settlement_batch_id', nullable: true })
  settlementBatchId!: string | null;

  @Column({ type: 'date', name: 'business_day', nullable: true })
  businessDay!: string | null;

  @Column({ type: 'integer' })
  rows!: number;

  @CreateDateColumn({ type: 'timestamptz', name: 'created_at' })
  createdAt!: Date;

  /**
   * the database transaction that wrote the row: the finance listings page in this order, and list a row only once
   * that transaction has ended (docs/settlement.md)
   */
  @Column({ type: 'bigint', name: 'written_by', default: () => 'writing_transaction_id()', insert: false, update: false })
  writtenBy!: string;
}

/** The verdict on each report row: the audit trail of matching. */
@Entity({ name: 'reconciliations' })
@Index('IDX_reconciliations_file', ['fileId'])
@Index('IDX_reconciliations_request', ['kind', 'transactionRequestId'])
export class ReconciliationRow {
  @PrimaryGeneratedColumn({ type: 'bigint' })
  id!: string;

  @Column({ type: 'text', name: 'file_id' })
  fileId!: string;

  @Column({ type: 'integer' })
  line!: number;

  @Column({ type: 'text' })
  kind!: string;

  @Column({ type: 'text', name: 'transaction_request_id' })
  transactionRequestId!: string;

  @Column({ type: 'text', name: 'transaction_id', nullable: true })
  transactionId!: string | null;

  @Column({ type: 'text' })
  result!: string;

  @Column({ type: 'text', name: 'ledger_transaction_id', nullable: true })
  ledgerTransactionId!: string | null;

  @Column({ type: 'text', name: 'discrepancy_id', nullable: true })
  discrepancyId!: string | null;

  @CreateDateColumn({ type: 'timestamptz', name: 'created_at' })
  createdAt!: Date;
}

/** A resolution a discrepancy had until a settlement batch disagreed and opened it again. */
export interface PreviousResolution {
  resolvedBy: string;
  resolutionNote: string;
  resolvedAt: string;
  reopenedAt: string;
  /** the settlement items file that disagreed */
  reopenedBy: string;
}

/** A disagreement between the ledger and Alipay's report, open until someone resolves it. */
@Entity({ name: 'discrepancies' })
@Unique('UQ_discrepancies_transaction_type', ['kind', 'transactionRequestId', 'type', 'repeatedIn'])
@Index('IDX_discrepancies_status', ['status'])
@Index('IDX_discrepancies_listing', ['writtenBy', 'createdAt', 'id'])
export class DiscrepancyRow {
  @PrimaryColumn({ type: 'text' })
  id!: string;

  @Column({ type: 'text' })
  type!: string;

  @Column({ type: 'text' })
  kind!: string;

  @Column({ type: 'text', name: 'transaction_request_id' })
  transactionRequestId!: string;

  @Column({ type: 'text', name: 'payment_id', nullable: true })
  paymentId!: string | null;

  @Column({ type: 'text', name: 'refund_id', nullable: true })
  refundId!: string | null;

  @Column({ type: 'text', name: 'merchant_id', nullable: true })
  merchantId!: string | null;

  @Column({ type: 'text', name: 'ledger_transaction_id', nullable: true })
  ledgerTransactionId!: string | null;

  @Column({ type: 'jsonb' })
  fields!: string[];

  @Column({ type: 'jsonb', nullable: true })
  expected!: Record<string, string> | null;

  @Column({ type: 'jsonb', nullable: true })
  actual!: Record<string, string> | null;

  @Column({ type: 'text', name: 'report_file', nullable: true })
  reportFile!: string | null;

  @Column({ type: 'date', name: 'business_day' })
  businessDay!: string;

  /** OPEN or RESOLVED */
  @Column({ type: 'text' })
  status!: string;

  @Column({ type: 'text', name: 'resolved_by', nullable: true })
  resolvedBy!: string | null;

  @Column({ type: 'text', name: 'resolution_note', nullable: true })
  resolutionNote!: string | null;

  @Column({ type: 'timestamptz', name: 'resolved_at', nullable: true })
  resolvedAt!: Date | null;

  /** the ADJUSTMENT ledger transaction booked when it was resolved, if one was */
  @Column({ type: 'text', name: 'adjustment_transaction_id', nullable: true })
  adjustmentTransactionId!: string | null;

  /** the settlement batch that paid the transaction out again, for a repeated payout's discrepancy; '' for any other */
  @Column({ type: 'text', name: 'repeated_in', default: () => "''" })
  repeatedIn!: string;

  /** the resolutions it had before a settlement batch opened it again, oldest first */
  @Column({ type: 'jsonb', name: 'previous_resolutions', default: () => "'[]'" })
  previousResolutions!: PreviousResolution[];

  @CreateDateColumn({ type: 'timestamptz', name: 'created_at' })
  createdAt!: Date;

  /**
   * the database transaction that wrote the row: the finance listings page in this order, and list a row only once
   * that transaction has ended (docs/settlement.md)
   */
  @Column({ type: 'bigint', name: 'written_by', default: () => 'writing_transaction_id()', insert: false, update: false })
  writtenBy!: string;
}

/** A settlement batch Alipay paid out, with its totals from the summary. */
@Entity({ name: 'settlement_batches' })
@Index('IDX_settlement_batches_listing', ['writtenBy', 'createdAt', 'batchId'])
export class SettlementBatchRow {
  @PrimaryColumn({ type: 'text', name: 'batch_id' })
  batchId!: string;

  @Column({ type: 'text', name: 'customer_id' })
  customerId!: string;

  @Column({ type: 'text' })
  currency!: string;

  @Column({ type: 'bigint' })
  gross!: string;

  @Column({ type: 'bigint' })
  fees!: string;

  @Column({ type: 'bigint' })
  net!: string;

  @Column({ type: 'timestamptz', name: 'settlement_time' })
  settlementTime!: Date;

  @Column({ type: 'integer', name: 'transaction_count' })
  transactionCount!: number;

  @Column({ type: 'jsonb', nullable: true })
  fx!: { quoteCurrencyPair: string; quotePrice: string } | null;

  /** RECONCILED when every item matched the ledger, else DISCREPANCIES */
  @Column({ type: 'text' })
  status!: string;

  @Column({ type: 'text', name: 'items_file_id' })
  itemsFileId!: string;

  @Column({ type: 'text', name: 'summary_file_id' })
  summaryFileId!: string;

  @CreateDateColumn({ type: 'timestamptz', name: 'created_at' })
  createdAt!: Date;

  /**
   * the id of the database transaction that wrote it (PostgreSQL's pg_current_xact_id()): the listing in the
   * order batches were written (`order=asc`) pages by it, and lists a batch only once that transaction has ended
   */
  @Column({ type: 'bigint', name: 'written_by', default: () => 'writing_transaction_id()', insert: false, update: false })
  writtenBy!: string;
}

/** The items of a batch, N:1, each with the ledger transaction it settled. */
@Entity({ name: 'settlement_batch_items' })
@Index('IDX_settlement_batch_items_ledger', ['ledgerTransactionId'])
@Index('IDX_settlement_batch_items_transaction', ['kind', 'transactionRequestId'])
export class SettlementBatchItemRow {
  @PrimaryColumn({ type: 'text', name: 'batch_id' })
  batchId!: string;

  /** which of the batch's items files holds the item (`_000` is 0) */
  @PrimaryColumn({ type: 'integer' })
  part!: number;

  @PrimaryColumn({ type: 'integer' })
  line!: number;

  @Column({ type: 'text' })
  kind!: string;

  @Column({ type: 'text', name: 'transaction_id' })
  transactionId!: string;

  @Column({ type: 'text', name: 'transaction_request_id' })
  transactionRequestId!: string;

  @Column({ type: 'text', name: 'merchant_id' })
  merchantId!: string;

  @Column({ type: 'text' })
  currency!: string;

  @Column({ type: 'bigint' })
  amount!: string;

  @Column({ type: 'bigint' })
  fee!: string;

  @Column({ type: 'bigint', name: 'settlement_amount' })
  settlementAmount!: string;

  @Column({ type: 'text', name: 'ledger_transaction_id', nullable: true })
  ledgerTransactionId!: string | null;

  @Column({ type: 'text' })
  result!: string;
}

export const SETTLEMENT_ENTITIES = [
  LedgerAccountRow, LedgerTransactionRow, LedgerEntryRow, TrackedPaymentRow, PendingCancelRow, ReportFileRow, ReconciliationRow, DiscrepancyRow,
  SettlementBatchRow, SettlementBatchItemRow,
];
