import { MigrationInterface, QueryRunner } from 'typeorm';

export class WebhookEndpointsAndDeliveries1764300000000 implements MigrationInterface {
  name = 'WebhookEndpointsAndDeliveries1764300000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE TABLE "webhook_endpoints" ("id" text NOT NULL, "merchant_id" text NOT NULL, "url" text NOT NULL, "event_types" jsonb NOT NULL,
      "description" text, "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), "deleted_at" TIMESTAMP WITH TIME ZONE,
      CONSTRAINT "PK_webhook_endpoints" PRIMARY KEY ("id"))`);
    await q.query(`CREATE INDEX "IDX_webhook_endpoints_merchant" ON "webhook_endpoints" ("merchant_id")`);
    await q.query(`CREATE TABLE "webhook_secrets" ("id" text NOT NULL, "endpoint_id" text NOT NULL, "secret" text NOT NULL,
      "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), "expires_at" TIMESTAMP WITH TIME ZONE,
      CONSTRAINT "PK_webhook_secrets" PRIMARY KEY ("id"))`);
    await q.query(`CREATE INDEX "IDX_webhook_secrets_endpoint" ON "webhook_secrets" ("endpoint_id")`);
    await q.query(`CREATE TABLE "webhook_deliveries" ("seq" BIGSERIAL NOT NULL, "id" text NOT NULL, "endpoint_id" text NOT NULL, "merchant_id" text NOT NULL,
      "event_id" text NOT NULL, "event_type" text NOT NULL, "payment_id" text NOT NULL, "sequence" integer NOT NULL, "body" text NOT NULL,
      "status" text NOT NULL, "attempts" integer NOT NULL DEFAULT 0, "next_attempt_at" TIMESTAMP WITH TIME ZONE NOT NULL,
      "give_up_at" TIMESTAMP WITH TIME ZONE NOT NULL, "leased_until" TIMESTAMP WITH TIME ZONE, "last_status_code" integer, "last_error" text,
      "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), "delivered_at" TIMESTAMP WITH TIME ZONE,
      CONSTRAINT "UQ_webhook_deliveries_endpoint_event" UNIQUE ("endpoint_id", "event_id"), CONSTRAINT "PK_webhook_deliveries" PRIMARY KEY ("seq"))`);
    await q.query(`CREATE UNIQUE INDEX "IDX_webhook_deliveries_id" ON "webhook_deliveries" ("id")`);
    await q.query(`CREATE INDEX "IDX_webhook_deliveries_due" ON "webhook_deliveries" ("status", "next_attempt_at")`);
    await q.query(`CREATE INDEX "IDX_webhook_deliveries_order" ON "webhook_deliveries" ("endpoint_id", "payment_id", "sequence")`);
    await q.query(`CREATE TABLE "webhook_attempts" ("id" BIGSERIAL NOT NULL, "delivery_id" text NOT NULL, "attempt" integer NOT NULL,
      "started_at" TIMESTAMP WITH TIME ZONE NOT NULL, "status_code" integer, "error" text, "latency_ms" integer NOT NULL,
      CONSTRAINT "PK_webhook_attempts" PRIMARY KEY ("id"))`);
    await q.query(`CREATE INDEX "IDX_webhook_attempts_delivery" ON "webhook_attempts" ("delivery_id")`);
  }

  async down(q: QueryRunner): Promise<void> {
    for (const table of ['webhook_attempts', 'webhook_deliveries', 'webhook_secrets', 'webhook_endpoints']) await q.query(`DROP TABLE "${table}"`);
  }
}

/** A re-delivery starts a fresh retry schedule: the back-off counts the attempts made since, while `attempts` keeps counting them all. */
export class WebhookRedeliverySchedule1764835200000 implements MigrationInterface {
  name = 'WebhookRedeliverySchedule1764835200000';

  async up(q: QueryRunner): Promise<void> {
    await q.query('ALTER TABLE "webhook_deliveries" ADD "redelivered_at_attempt" integer NOT NULL DEFAULT 0');
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('ALTER TABLE "webhook_deliveries" DROP COLUMN "redelivered_at_attempt"');
  }
}

/** A failed attempt records a stable code (delivery-failure.ts) beside its raw detail. */
export class WebhookDeliveryFailureCodes1764892800000 implements MigrationInterface {
  name = 'WebhookDeliveryFailureCodes1764892800000';

  async up(q: QueryRunner): Promise<void> {
    await q.query('ALTER TABLE "webhook_attempts" ADD "error_code" text');
    await q.query('ALTER TABLE "webhook_deliveries" ADD "last_error_code" text');
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('ALTER TABLE "webhook_deliveries" DROP COLUMN "last_error_code"');
    await q.query('ALTER TABLE "webhook_attempts" DROP COLUMN "error_code"');
  }
}

/**
 * Each endpoint's deliveries go out in streams (a payment's events; the settlement events about it) numbered 1, 2,
 * 3, … without gaps, so that a receiver can see a gap or a re-delivery; `payment_id` now holds the payment a
 * settlement event is about, not its stream, so the delivery log finds it by the payment. Deliveries written
 * before are numbered in the order they would have gone out; their bodies stay as they were.
 */
export class WebhookDeliveryStreams1764979200000 implements MigrationInterface {
  name = 'WebhookDeliveryStreams1764979200000';

  async up(q: QueryRunner): Promise<void> {
    await q.query('ALTER TABLE "webhook_deliveries" ADD "stream" text');
    await q.query('ALTER TABLE "webhook_deliveries" ADD "stream_sequence" integer');
    await q.query(`UPDATE "webhook_deliveries" d SET "stream" = d."payment_id", "stream_sequence" = n.rn
      FROM (SELECT "seq", row_number() OVER (PARTITION BY "endpoint_id", "payment_id" ORDER BY "sequence", "seq") AS rn FROM "webhook_deliveries") n
      WHERE n."seq" = d."seq"`);
    await q.query('ALTER TABLE "webhook_deliveries" ALTER COLUMN "stream" SET NOT NULL, ALTER COLUMN "stream_sequence" SET NOT NULL, ALTER COLUMN "payment_id" DROP NOT NULL');
    await q.query(`UPDATE "webhook_deliveries" SET "payment_id" = ("body"::jsonb -> 'data' ->> 'paymentId') WHERE "stream" LIKE 'settlement:%'`);
    await q.query('DROP INDEX "IDX_webhook_deliveries_order"');
    await q.query('ALTER TABLE "webhook_deliveries" ADD CONSTRAINT "UQ_webhook_deliveries_stream" UNIQUE ("endpoint_id", "stream", "stream_sequence")');
    await q.query('CREATE INDEX "IDX_webhook_deliveries_payment" ON "webhook_deliveries" ("endpoint_id", "payment_id")');
    await q.query(`CREATE TABLE "webhook_streams" ("endpoint_id" text NOT NULL, "stream" text NOT NULL, "last_sequence" integer NOT NULL,
      CONSTRAINT "PK_webhook_streams" PRIMARY KEY ("endpoint_id", "stream"))`);
    await q.query(`INSERT INTO "webhook_streams" ("endpoint_id", "stream", "last_sequence")
      SELECT "endpoint_id", "stream", max("stream_sequence") FROM "webhook_deliveries" GROUP BY "endpoint_id", "stream"`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP TABLE "webhook_streams"');
    await q.query('DROP INDEX "IDX_webhook_deliveries_payment"');
    await q.query('ALTER TABLE "webhook_deliveries" DROP CONSTRAINT "UQ_webhook_deliveries_stream"');
    await q.query('UPDATE "webhook_deliveries" SET "payment_id" = "stream"');
    await q.query('ALTER TABLE "webhook_deliveries" ALTER COLUMN "payment_id" SET NOT NULL, DROP COLUMN "stream_sequence", DROP COLUMN "stream"');
    await q.query('CREATE INDEX "IDX_webhook_deliveries_order" ON "webhook_deliveries" ("endpoint_id", "payment_id", "sequence")');
  }
}

/** A merchant can disable an endpoint for a while: its deliveries wait, and go out once it is enabled again. */
export class WebhookEndpointDisabling1765065600000 implements MigrationInterface {
  name = 'WebhookEndpointDisabling1765065600000';

  async up(q: QueryRunner): Promise<void> {
    await q.query('ALTER TABLE "webhook_endpoints" ADD "disabled_at" TIMESTAMP WITH TIME ZONE');
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('ALTER TABLE "webhook_endpoints" DROP COLUMN "disabled_at"');
  }
}

/**
 * The previous version keeps writing deliveries while a release rolls out (migrations run before its pods are
 * replaced, and after a rollback it runs on this schema for good): it knows no streams, so they may be empty. Such a
 * delivery goes out unordered and unnumbered, as that version sent it.
 */
export class WebhookDeliveryStreamsOptional1765152000000 implements MigrationInterface {
  name = 'WebhookDeliveryStreamsOptional1765152000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query('ALTER TABLE "webhook_deliveries" ALTER COLUMN "stream" DROP NOT NULL, ALTER COLUMN "stream_sequence" DROP NOT NULL');
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`UPDATE "webhook_deliveries" SET "stream" = coalesce("payment_id", ''), "stream_sequence" = -"seq" WHERE "stream" IS NULL OR "stream_sequence" IS NULL`);
    await q.query('ALTER TABLE "webhook_deliveries" ALTER COLUMN "stream" SET NOT NULL, ALTER COLUMN "stream_sequence" SET NOT NULL');
  }
}

/** The delivery log is pruned after a retention (WebhookLogRetention): both tables are read by the time that dates a row. */
export class WebhookLogRetention1765238400000 implements MigrationInterface {
  name = 'WebhookLogRetention1765238400000';

  async up(q: QueryRunner): Promise<void> {
    await q.query('CREATE INDEX "IDX_webhook_deliveries_give_up_at" ON "webhook_deliveries" ("give_up_at")');
    await q.query('CREATE INDEX "IDX_webhook_attempts_started_at" ON "webhook_attempts" ("started_at")');
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP INDEX "IDX_webhook_attempts_started_at"');
    await q.query('DROP INDEX "IDX_webhook_deliveries_give_up_at"');
  }
}

/** A stream's counter records when it was last used, so that one idle for longer than a refund window can go. */
export class WebhookStreamsUsedAt1765324800000 implements MigrationInterface {
  name = 'WebhookStreamsUsedAt1765324800000';

  async up(q: QueryRunner): Promise<void> {
    await q.query('ALTER TABLE "webhook_streams" ADD "used_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now()');
    await q.query('CREATE INDEX "IDX_webhook_streams_used_at" ON "webhook_streams" ("used_at")');
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP INDEX "IDX_webhook_streams_used_at"');
    await q.query('ALTER TABLE "webhook_streams" DROP COLUMN "used_at"');
  }
}

/**
 * The deliveries in flight to an endpoint are its rows whose claim has not lapsed: every claim counts them, on
 * every replica, so they are read by endpoint and lease (a short range: a recorded attempt clears its lease).
 */
export class WebhookDeliveryLeases1765411200000 implements MigrationInterface {
  name = 'WebhookDeliveryLeases1765411200000';

  async up(q: QueryRunner): Promise<void> {
    await q.query('CREATE INDEX "IDX_webhook_deliveries_leased" ON "webhook_deliveries" ("endpoint_id", "leased_until")');
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('DROP INDEX "IDX_webhook_deliveries_leased"');
  }
}

/**
 * An endpoint that fails again and again (timeouts, connection errors, 5xx) is held back (endpoint-backoff.ts): the
 * count and the hold live on its row, where every replica's claims read them, and survive a restart.
 */
export class WebhookEndpointBackoff1765497600000 implements MigrationInterface {
  name = 'WebhookEndpointBackoff1765497600000';

  async up(q: QueryRunner): Promise<void> {
    await q.query('ALTER TABLE "webhook_endpoints" ADD "consecutive_failures" integer NOT NULL DEFAULT 0, ADD "backoff_until" TIMESTAMP WITH TIME ZONE');
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query('ALTER TABLE "webhook_endpoints" DROP COLUMN "backoff_until", DROP COLUMN "consecutive_failures"');
  }
}
