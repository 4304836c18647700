import { MigrationInterface, QueryRunner } from 'typeorm';

export class AmsAuditAndRefundRoutes1764212400000 implements MigrationInterface {
  name = 'AmsAuditAndRefundRoutes1764212400000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE TABLE "ams_exchanges" ("id" BIGSERIAL NOT NULL, "payment_id" text NOT NULL, "api" text NOT NULL, "attempt" integer NOT NULL,
      "client_id" text NOT NULL, "outcome" text NOT NULL, "result_code" text NOT NULL, "http_status" integer, "duration_ms" integer NOT NULL,
      "request_body" text NOT NULL, "response_body" text, "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(),
      CONSTRAINT "PK_ams_exchanges" PRIMARY KEY ("id"))`);
    await q.query(`CREATE INDEX "IDX_ams_exchanges_payment" ON "ams_exchanges" ("payment_id")`);
    await q.query(`CREATE TABLE "refund_routes" ("refund_id" text NOT NULL, "payment_id" text NOT NULL, "refund_request_id" text NOT NULL,
      CONSTRAINT "PK_refund_routes" PRIMARY KEY ("refund_id"))`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE "refund_routes"`);
    await q.query(`DROP TABLE "ams_exchanges"`);
  }
}

export class UnparsableNotifications1765584000000 implements MigrationInterface {
  name = 'UnparsableNotifications1765584000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE TABLE "unparsable_notifications" ("id" BIGSERIAL NOT NULL, "body_sha256" text NOT NULL, "client_id" text NOT NULL, "path" text NOT NULL,
      "headers" jsonb NOT NULL, "body" bytea NOT NULL, "problem" text NOT NULL, "attempts" integer NOT NULL DEFAULT 1,
      "first_received_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), "last_received_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(),
      CONSTRAINT "PK_unparsable_notifications" PRIMARY KEY ("id"))`);
    await q.query(`CREATE UNIQUE INDEX "UQ_unparsable_notifications_body" ON "unparsable_notifications" ("body_sha256")`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE "unparsable_notifications"`);
  }
}

/** When an operator replayed a kept notification and the connector took it (NULL until then). */
export class UnparsableNotificationsReplayed1765670400000 implements MigrationInterface {
  name = 'UnparsableNotificationsReplayed1765670400000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE "unparsable_notifications" ADD "replayed_at" TIMESTAMP WITH TIME ZONE`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE "unparsable_notifications" DROP COLUMN "replayed_at"`);
  }
}

/** The retention deletes kept notifications by when Alipay last sent them. */
export class UnparsableNotificationsRetention1765756800000 implements MigrationInterface {
  name = 'UnparsableNotificationsRetention1765756800000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE INDEX "IDX_unparsable_notifications_last_received_at" ON "unparsable_notifications" ("last_received_at")`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX "IDX_unparsable_notifications_last_received_at"`);
  }
}

/**
 * When a kept notification's signature verified on receipt, shown to an operator (a replay verifies it again).
 * Every row kept so far was kept only once its signature verified (the webhook checks the signature before the
 * body), with the headers of its latest attempt: those verified when it was last received.
 */
export class UnparsableNotificationsVerified1795910400000 implements MigrationInterface {
  name = 'UnparsableNotificationsVerified1795910400000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE "unparsable_notifications" ADD "verified_at" TIMESTAMP WITH TIME ZONE`);
    await q.query(`UPDATE "unparsable_notifications" SET "verified_at" = "last_received_at"`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE "unparsable_notifications" DROP COLUMN "verified_at"`);
  }
}
