import { MigrationInterface, QueryRunner } from 'typeorm';

export class GatewayRegistryAndPayments1764205200000 implements MigrationInterface {
  name = 'GatewayRegistryAndPayments1764205200000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE TABLE "merchants" ("id" text NOT NULL, "name" text NOT NULL, "mcc" text NOT NULL,
      "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), CONSTRAINT "PK_merchants" PRIMARY KEY ("id"))`);
    await q.query(`CREATE TABLE "stores" ("id" text NOT NULL, "merchant_id" text NOT NULL, "name" text NOT NULL, "mcc" text NOT NULL,
      "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), CONSTRAINT "PK_stores" PRIMARY KEY ("id"))`);
    await q.query(`CREATE INDEX "IDX_stores_merchant" ON "stores" ("merchant_id")`);
    await q.query(`CREATE TABLE "terminals" ("id" text NOT NULL, "store_id" text NOT NULL, "merchant_id" text NOT NULL,
      "key_id" text NOT NULL, "key_hash" text NOT NULL, "status" text NOT NULL DEFAULT 'ACTIVE',
      "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), "key_rotated_at" TIMESTAMP WITH TIME ZONE,
      CONSTRAINT "PK_terminals" PRIMARY KEY ("id"))`);
    await q.query(`CREATE INDEX "IDX_terminals_store" ON "terminals" ("store_id")`);
    await q.query(`CREATE UNIQUE INDEX "IDX_terminals_key_id" ON "terminals" ("key_id")`);
    await q.query(`CREATE TABLE "payments" ("payment_id" text NOT NULL, "merchant_id" text NOT NULL, "merchant_order_id" text NOT NULL,
      "terminal_id" text NOT NULL, "request_hash" text NOT NULL, "status" text NOT NULL, "sequence" integer NOT NULL DEFAULT -1,
      "view" jsonb NOT NULL, CONSTRAINT "UQ_payments_merchant_order" UNIQUE ("merchant_id", "merchant_order_id"),
      CONSTRAINT "PK_payments" PRIMARY KEY ("payment_id"))`);
    await q.query(`CREATE INDEX "IDX_payments_terminal" ON "payments" ("terminal_id")`);
    await q.query(`CREATE TABLE "refunds" ("refund_id" text NOT NULL, "payment_id" text NOT NULL, "refund_request_id" text NOT NULL,
      "request_hash" text NOT NULL, "status" text NOT NULL, "view" jsonb NOT NULL,
      CONSTRAINT "UQ_refunds_payment_request" UNIQUE ("payment_id", "refund_request_id"), CONSTRAINT "PK_refunds" PRIMARY KEY ("refund_id"))`);
  }

  async down(q: QueryRunner): Promise<void> {
    for (const table of ['refunds', 'payments', 'terminals', 'stores', 'merchants']) await q.query(`DROP TABLE "${table}"`);
  }
}

/**
 * A terminal belongs to its store's merchant, held by the database: a terminal row naming another merchant than its
 * store's is refused. Terminals that already do (an import that raced another onboarding of their store) stop the
 * migration, named, for an operator to revoke and give back to their store's merchant first.
 */
export class GatewayTerminalsOfTheirStoresMerchant1795910400000 implements MigrationInterface {
  name = 'GatewayTerminalsOfTheirStoresMerchant1795910400000';

  async up(q: QueryRunner): Promise<void> {
    const strays: Array<{ id: string }> = await q.query(`SELECT t.id FROM terminals t LEFT JOIN stores s ON s.id = t.store_id
      WHERE s.merchant_id IS DISTINCT FROM t.merchant_id ORDER BY t.id LIMIT 100`);
    if (strays.length) {
      throw new Error(`terminals with another merchant than their store's: ${strays.map((t) => t.id).join(', ')}. Revoke each and give it its store's merchant `
        + `(UPDATE terminals t SET status = 'REVOKED', merchant_id = s.merchant_id FROM stores s WHERE s.id = t.store_id AND s.merchant_id <> t.merchant_id), then migrate again`);
    }
    await q.query(`ALTER TABLE "stores" ADD CONSTRAINT "UQ_stores_id_merchant" UNIQUE ("id", "merchant_id")`);
    await q.query(`ALTER TABLE "terminals" ADD CONSTRAINT "FK_terminals_store_merchant" FOREIGN KEY ("store_id", "merchant_id") REFERENCES "stores"("id", "merchant_id")`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE "terminals" DROP CONSTRAINT "FK_terminals_store_merchant"`);
    await q.query(`ALTER TABLE "stores" DROP CONSTRAINT "UQ_stores_id_merchant"`);
  }
}
