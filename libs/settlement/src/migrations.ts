import { MigrationInterface, QueryRunner } from 'typeorm';

const TS = 'TIMESTAMP WITH TIME ZONE';

export class SettlementLedger1764288000000 implements MigrationInterface {
  name = 'SettlementLedger1764288000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE TABLE "ledger_accounts" ("code" text NOT NULL, "type" text NOT NULL, "merchant_id" text NOT NULL, "currency" text NOT NULL,
      "created_at" ${TS} NOT NULL DEFAULT now(), CONSTRAINT "PK_ledger_accounts" PRIMARY KEY ("code"))`);
    await q.query(`CREATE INDEX "IDX_ledger_accounts_merchant" ON "ledger_accounts" ("merchant_id", "currency")`);

    await q.query(`CREATE TABLE "ledger_transactions" ("id" text NOT NULL, "source_key" text NOT NULL, "kind" text NOT NULL, "status" text NOT NULL,
      "merchant_id" text NOT NULL, "currency" text NOT NULL, "payment_id" text, "refund_id" text, "request_id" text, "alipay_transaction_id" text,
      "amount" bigint NOT NULL, "fee" bigint NOT NULL, "business_day" date NOT NULL, "origin" text NOT NULL, "source_event_id" text,
      "source_event_type" text, "source_sequence" integer, "settlement_batch_id" text, "reconciliation" text, "occurred_at" ${TS} NOT NULL,
      "created_at" ${TS} NOT NULL DEFAULT now(), "posted_at" ${TS},
      CONSTRAINT "UQ_ledger_transactions_source" UNIQUE ("source_key"), CONSTRAINT "PK_ledger_transactions" PRIMARY KEY ("id"))`);
    await q.query(`CREATE INDEX "IDX_ledger_transactions_request" ON "ledger_transactions" ("kind", "request_id")`);
    await q.query(`CREATE INDEX "IDX_ledger_transactions_day" ON "ledger_transactions" ("business_day")`);
    await q.query(`CREATE INDEX "IDX_ledger_transactions_batch" ON "ledger_transactions" ("settlement_batch_id")`);
    await q.query(`CREATE INDEX "IDX_ledger_transactions_payment" ON "ledger_transactions" ("payment_id")`);

    await q.query(`CREATE TABLE "ledger_entries" ("id" BIGSERIAL NOT NULL, "transaction_id" text NOT NULL, "account_code" text NOT NULL,
      "account_type" text NOT NULL, "merchant_id" text NOT NULL, "currency" text NOT NULL, "direction" text NOT NULL, "amount" bigint NOT NULL,
      "created_at" ${TS} NOT NULL DEFAULT now(), CONSTRAINT "PK_ledger_entries" PRIMARY KEY ("id"))`);
    await q.query(`CREATE INDEX "IDX_ledger_entries_transaction" ON "ledger_entries" ("transaction_id")`);
    await q.query(`CREATE INDEX "IDX_ledger_entries_account" ON "ledger_entries" ("account_code")`);
    // Entries are facts: a correction is a new transaction, never an edit.
    await q.query(`CREATE FUNCTION ledger_entries_immutable() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN RAISE EXCEPTION 'ledger entries are immutable (% refused)', TG_OP; END $$`);
    await q.query(`CREATE TRIGGER "ledger_entries_immutable" BEFORE UPDATE OR DELETE ON "ledger_entries"
      FOR EACH ROW EXECUTE FUNCTION ledger_entries_immutable()`);
    // A transaction's facts never change; only EXPECTED → POSTED (with its batch and time) and the reconciliation verdict may.
    await q.query(`CREATE FUNCTION ledger_transactions_guard() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF TG_OP = 'DELETE' THEN RAISE EXCEPTION 'ledger transactions are immutable (DELETE refused)'; END IF;
        IF (NEW.id, NEW.source_key, NEW.kind, NEW.merchant_id, NEW.currency, NEW.amount, NEW.fee, NEW.business_day, NEW.occurred_at)
           IS DISTINCT FROM (OLD.id, OLD.source_key, OLD.kind, OLD.merchant_id, OLD.currency, OLD.amount, OLD.fee, OLD.business_day, OLD.occurred_at)
        THEN RAISE EXCEPTION 'ledger transaction % is immutable', OLD.id; END IF;
        IF OLD.status = 'POSTED' AND NEW.status <> 'POSTED' THEN RAISE EXCEPTION 'ledger transaction % is already posted', OLD.id; END IF;
        RETURN NEW;
      END $$`);
    await q.query(`CREATE TRIGGER "ledger_transactions_guard" BEFORE UPDATE OR DELETE ON "ledger_transactions"
      FOR EACH ROW EXECUTE FUNCTION ledger_transactions_guard()`);

    await q.query(`CREATE TABLE "tracked_payments" ("payment_id" text NOT NULL, "merchant_id" text NOT NULL, "status" text NOT NULL,
      "currency" text NOT NULL, "amount" bigint NOT NULL, "sequence" integer NOT NULL, "business_day" date NOT NULL,
      "refunds" jsonb NOT NULL DEFAULT '{}', "review_resolution" text, "view" jsonb NOT NULL, "updated_at" ${TS} NOT NULL,
      CONSTRAINT "PK_tracked_payments" PRIMARY KEY ("payment_id"))`);
    await q.query(`CREATE INDEX "IDX_tracked_payments_status" ON "tracked_payments" ("status")`);

    await q.query(`CREATE TABLE "report_files" ("id" text NOT NULL, "sha256" text NOT NULL, "path" text NOT NULL, "kind" text NOT NULL,
      "status" text NOT NULL, "reason" text, "settlement_batch_id" text, "business_day" date, "rows" integer NOT NULL,
      "created_at" ${TS} NOT NULL DEFAULT now(), CONSTRAINT "UQ_report_files_sha256" UNIQUE ("sha256"), CONSTRAINT "PK_report_files" PRIMARY KEY ("id"))`);

    await q.query(`CREATE TABLE "reconciliations" ("id" BIGSERIAL NOT NULL, "file_id" text NOT NULL, "line" integer NOT NULL, "kind" text NOT NULL,
      "transaction_request_id" text NOT NULL, "transaction_id" text, "result" text NOT NULL, "ledger_transaction_id" text, "discrepancy_id" text,
      "created_at" ${TS} NOT NULL DEFAULT now(), CONSTRAINT "PK_reconciliations" PRIMARY KEY ("id"))`);
    await q.query(`CREATE INDEX "IDX_reconciliations_file" ON "reconciliations" ("file_id")`);
    await q.query(`CREATE INDEX "IDX_reconciliations_request" ON "reconciliations" ("kind", "transaction_request_id")`);

    await q.query(`CREATE TABLE "discrepancies" ("id" text NOT NULL, "type" text NOT NULL, "kind" text NOT NULL, "transaction_request_id" text NOT NULL,
      "payment_id" text, "refund_id" text, "merchant_id" text, "ledger_transaction_id" text, "fields" jsonb NOT NULL, "expected" jsonb, "actual" jsonb,
      "report_file" text, "business_day" date NOT NULL, "status" text NOT NULL, "resolved_by" text, "resolution_note" text, "resolved_at" ${TS},
      "created_at" ${TS} NOT NULL DEFAULT now(), CONSTRAINT "UQ_discrepancies_transaction_type" UNIQUE ("kind", "transaction_request_id", "type"),
      CONSTRAINT "PK_discrepancies" PRIMARY KEY ("id"))`);
    await q.query(`CREATE INDEX "IDX_discrepancies_status" ON "discrepancies" ("status")`);

    await q.query(`CREATE TABLE "settlement_batches" ("batch_id" text NOT NULL, "customer_id" text NOT NULL, "currency" text NOT NULL,
      "gross" bigint NOT NULL, "fees" bigint NOT NULL, "net" bigint NOT NULL, "settlement_time" ${TS} NOT NULL, "transaction_count" integer NOT NULL,
      "fx" jsonb, "status" text NOT NULL, "items_file_id" text NOT NULL, "summary_file_id" text NOT NULL, "created_at" ${TS} NOT NULL DEFAULT now(),
      CONSTRAINT "PK_settlement_batches" PRIMARY KEY ("batch_id"))`);
    await q.query(`CREATE TABLE "settlement_batch_items" ("batch_id" text NOT NULL, "line" integer NOT NULL, "kind" text NOT NULL,
      "transaction_id" text NOT NULL, "transaction_request_id" text NOT NULL, "merchant_id" text NOT NULL, "currency" text NOT NULL,
      "amount" bigint NOT NULL, "fee" bigint NOT NULL, "settlement_amount" bigint NOT NULL, "ledger_transaction_id" text, "result" text NOT NULL,
      CONSTRAINT "PK_settlement_batch_items" PRIMARY KEY ("batch_id", "line"))`);
    await q.query(`CREATE INDEX "IDX_settlement_batch_items_ledger" ON "settlement_batch_items" ("ledger_transaction_id")`);
  }

  async down(q: QueryRunner): Promise<void> {
    for (const table of ['settlement_batch_items', 'settlement_batches', 'discrepancies', 'reconciliations', 'report_files', 'tracked_payments', 'ledger_entries', 'ledger_transactions', 'ledger_accounts']) {
      await q.query(`DROP TABLE "${table}"`);
    }
    await q.query('DROP FUNCTION ledger_entries_immutable()');
    await q.query('DROP FUNCTION ledger_transactions_guard()');
  }
}

/** A discrepancy resolved with an adjustment names the ledger transaction that booked it. */
export class DiscrepancyAdjustments1764576000000 implements MigrationInterface {
  name = 'DiscrepancyAdjustments1764576000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query('ALTER TABLE "discrepancies" ADD "adjustment_transaction_id" text');
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('ALTER TABLE "discrepancies" DROP COLUMN "adjustment_transaction_id"');
  }
}

/**
 * A report file is where it lies (`<customerId>/<yyyymmdd>/<name>`) and its bytes: an empty day's file has
 * the same bytes as every other empty day's, or another customer's, and must not pass for one seen before.
 */
export class ReportFilePaths1764662400000 implements MigrationInterface {
  name = 'ReportFilePaths1764662400000';

  async up(q: QueryRunner): Promise<void> {
    await q.query('ALTER TABLE "report_files" DROP CONSTRAINT "UQ_report_files_sha256"');
    await q.query('ALTER TABLE "report_files" ADD CONSTRAINT "UQ_report_files_path_sha256" UNIQUE ("path", "sha256")');
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('ALTER TABLE "report_files" DROP CONSTRAINT "UQ_report_files_path_sha256"');
    await q.query('ALTER TABLE "report_files" ADD CONSTRAINT "UQ_report_files_sha256" UNIQUE ("sha256")');
  }
}

/** Alipay may split a batch's items over several files (`_000`, `_001`…): an item is its file's index and its line there. */
export class BatchItemParts1764748800000 implements MigrationInterface {
  name = 'BatchItemParts1764748800000';

  async up(q: QueryRunner): Promise<void> {
    await q.query('ALTER TABLE "settlement_batch_items" ADD "part" integer NOT NULL DEFAULT 0');
    await q.query('ALTER TABLE "settlement_batch_items" ALTER COLUMN "part" DROP DEFAULT');
    await q.query('ALTER TABLE "settlement_batch_items" DROP CONSTRAINT "PK_settlement_batch_items"');
    await q.query('ALTER TABLE "settlement_batch_items" ADD CONSTRAINT "PK_settlement_batch_items" PRIMARY KEY ("batch_id", "part", "line")');
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('ALTER TABLE "settlement_batch_items" DROP CONSTRAINT "PK_settlement_batch_items"');
    await q.query('ALTER TABLE "settlement_batch_items" ADD CONSTRAINT "PK_settlement_batch_items" PRIMARY KEY ("batch_id", "line")');
    await q.query('ALTER TABLE "settlement_batch_items" DROP COLUMN "part"');
  }
}

/**
 * A cancel applied before the charge it reverses (the charge's event went through the retry topic) waits for
 * it here, with what the cancel's ledger transaction needs, and is booked when the charge arrives.
 */
export class PendingCancels1764835200000 implements MigrationInterface {
  name = 'PendingCancels1764835200000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE TABLE "pending_cancels" ("payment_id" text NOT NULL, "event_id" text NOT NULL, "sequence" integer NOT NULL,
      "occurred_at" ${TS} NOT NULL, "payment" jsonb NOT NULL, "created_at" ${TS} NOT NULL DEFAULT now(),
      CONSTRAINT "PK_pending_cancels" PRIMARY KEY ("payment_id"))`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP TABLE "pending_cancels"');
  }
}

/**
 * A discrepancy a settlement batch opens again starts without a resolution: the one it had moves here, with
 * when and by which report file it was reopened, so the record of who resolved it and why is kept.
 */
export class DiscrepancyResolutionHistory1764921600000 implements MigrationInterface {
  name = 'DiscrepancyResolutionHistory1764921600000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE "discrepancies" ADD "previous_resolutions" jsonb NOT NULL DEFAULT '[]'`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('ALTER TABLE "discrepancies" DROP COLUMN "previous_resolutions"');
  }
}

/** A late payment event looks up the batch items that paid its transaction out (`LedgerStore.closeMissingInLedger`). */
export class BatchItemsByTransaction1765008000000 implements MigrationInterface {
  name = 'BatchItemsByTransaction1765008000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query('CREATE INDEX "IDX_settlement_batch_items_transaction" ON "settlement_batch_items" ("kind", "transaction_request_id")');
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP INDEX "IDX_settlement_batch_items_transaction"');
  }
}

/**
 * The finance listings page in the order their rows were written, not by `created_at` alone: each row of a paged
 * listing keeps the id of the database transaction that wrote it (`written_by`), and a page lists only rows of
 * transactions that had ended when it was read, so a row a transaction still under way writes cannot land behind
 * a page already read (docs/settlement.md, "Listings come a page at a time"). Rows written before are 0: they
 * all were committed, and keep their `created_at` order.
 */
export class ListingWriteOrder1765094400000 implements MigrationInterface {
  name = 'ListingWriteOrder1765094400000';

  async up(q: QueryRunner): Promise<void> {
    // the id of the (top-level) database transaction writing the row, the same number pg_current_snapshot() speaks of
    await q.query(`CREATE FUNCTION writing_transaction_id() RETURNS bigint LANGUAGE sql VOLATILE AS 'SELECT pg_current_xact_id()::text::bigint'`);
    for (const [table, key] of LISTED_TABLES) {
      await q.query(`ALTER TABLE "${table}" ADD "written_by" bigint NOT NULL DEFAULT 0`);
      await q.query(`ALTER TABLE "${table}" ALTER COLUMN "written_by" SET DEFAULT writing_transaction_id()`);
      await q.query(`CREATE INDEX "IDX_${table}_listing" ON "${table}" (${key})`);
    }
  }

  async down(q: QueryRunner): Promise<void> {
    for (const [table] of LISTED_TABLES) {
      await q.query(`DROP INDEX "IDX_${table}_listing"`);
      await q.query(`ALTER TABLE "${table}" DROP COLUMN "written_by"`);
    }
    await q.query('DROP FUNCTION writing_transaction_id()');
  }
}

/**
 * Settlement batches listed in the order they were written too, on request (`order=asc`): a client reading on
 * for the batches that arrive later cannot follow `settlement_time`, which a late batch may have earlier than one
 * already read. Their `written_by` is kept as the other listings keep theirs (ListingWriteOrder); batches written
 * before are 0 and keep their `created_at` order.
 */
export class BatchListingWriteOrder1765180800000 implements MigrationInterface {
  name = 'BatchListingWriteOrder1765180800000';

  async up(q: QueryRunner): Promise<void> {
    await q.query('ALTER TABLE "settlement_batches" ADD "written_by" bigint NOT NULL DEFAULT 0');
    await q.query('ALTER TABLE "settlement_batches" ALTER COLUMN "written_by" SET DEFAULT writing_transaction_id()');
    await q.query('CREATE INDEX "IDX_settlement_batches_listing" ON "settlement_batches" ("written_by", "created_at", "batch_id")');
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP INDEX "IDX_settlement_batches_listing"');
    await q.query('ALTER TABLE "settlement_batches" DROP COLUMN "written_by"');
  }
}

/**
 * A settlement batch paying out again a transaction an earlier batch paid out is a discrepancy of its own, one per
 * batch that repeats the payout (`repeated_in`, the repeating batch; '' for every other discrepancy): Alipay moved the
 * money twice, which finance must see even when the transaction's own discrepancy was resolved (with an
 * adjustment, or a write-off's reversal) before the repeat came.
 */
export class RepeatedPayouts1765267200000 implements MigrationInterface {
  name = 'RepeatedPayouts1765267200000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE "discrepancies" ADD "repeated_in" text NOT NULL DEFAULT ''`);
    await q.query('ALTER TABLE "discrepancies" DROP CONSTRAINT "UQ_discrepancies_transaction_type"');
    await q.query('ALTER TABLE "discrepancies" ADD CONSTRAINT "UQ_discrepancies_transaction_type" UNIQUE ("kind", "transaction_request_id", "type", "repeated_in")');
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DELETE FROM "discrepancies" WHERE "repeated_in" <> ''`);
    await q.query('ALTER TABLE "discrepancies" DROP CONSTRAINT "UQ_discrepancies_transaction_type"');
    await q.query('ALTER TABLE "discrepancies" ADD CONSTRAINT "UQ_discrepancies_transaction_type" UNIQUE ("kind", "transaction_request_id", "type")');
    await q.query('ALTER TABLE "discrepancies" DROP COLUMN "repeated_in"');
  }
}

/**
 * A report file is known by its name and bytes (`ReportIngestion.seen`): each file a source lists is looked up by its
 * sha256, at its path or at any path ending in its name. The unique (path, sha256) constraint leads with the path,
 * so that lookup read every row of report_files, a few more each day, at every poll.
 */
export class ReportFilesBySha2561765353600000 implements MigrationInterface {
  name = 'ReportFilesBySha2561765353600000';

  async up(q: QueryRunner): Promise<void> {
    await q.query('CREATE INDEX "IDX_report_files_sha256" ON "report_files" ("sha256")');
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP INDEX "IDX_report_files_sha256"');
  }
}

/**
 * Every ledger transaction a payment event books asks for the transaction file of its business day read last
 * (`LedgerStore.checkBookedAfterReport`): by an index, not by reading every report file recorded.
 */
export class ReportFilesByDay1765440000000 implements MigrationInterface {
  name = 'ReportFilesByDay1765440000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query('CREATE INDEX "IDX_report_files_day" ON "report_files" ("kind", "business_day")');
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP INDEX "IDX_report_files_day"');
  }
}

/** The tables the finance API lists oldest first, and each listing's order. */
const LISTED_TABLES = [
  ['ledger_transactions', '"written_by", "created_at", "id"'],
  ['report_files', '"written_by", "created_at", "path", "id"'],
  ['discrepancies', '"written_by", "created_at", "id"'],
] as const;
