import { MigrationInterface, QueryRunner } from 'typeorm';

/** the channel the outbox relay LISTENs on */
export const OUTBOX_CHANNEL = 'outbox';

export class OutboxAndInbox1764201600000 implements MigrationInterface {
  name = 'OutboxAndInbox1764201600000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE TABLE "outbox" (
      "seq" BIGSERIAL NOT NULL, "id" uuid NOT NULL, "topic" text NOT NULL, "key" text NOT NULL, "type" text NOT NULL,
      "payload" jsonb NOT NULL, "headers" jsonb NOT NULL DEFAULT '{}', "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(),
      CONSTRAINT "PK_outbox" PRIMARY KEY ("seq"))`);
    await q.query(`CREATE UNIQUE INDEX "IDX_outbox_id" ON "outbox" ("id")`);
    await q.query(`CREATE TABLE "inbox" (
      "consumer_group" text NOT NULL, "message_id" text NOT NULL, "topic" text NOT NULL,
      "processed_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(),
      CONSTRAINT "PK_inbox" PRIMARY KEY ("consumer_group", "message_id"))`);
    await q.query(`CREATE INDEX "IDX_inbox_processed_at" ON "inbox" ("processed_at")`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE "inbox"`);
    await q.query(`DROP TABLE "outbox"`);
  }
}

/**
 * Wakes the outbox relay from the database itself: one NOTIFY per inserting statement, delivered on commit,
 * instead of a NOTIFY statement (a round trip) after every insert.
 */
export class OutboxNotifyTrigger1764489600000 implements MigrationInterface {
  name = 'OutboxNotifyTrigger1764489600000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE FUNCTION "outbox_notify"() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN PERFORM pg_notify('${OUTBOX_CHANNEL}', ''); RETURN NULL; END $$`);
    await q.query(`CREATE TRIGGER "outbox_notify" AFTER INSERT ON "outbox" FOR EACH STATEMENT EXECUTE FUNCTION "outbox_notify"()`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TRIGGER "outbox_notify" ON "outbox"`);
    await q.query(`DROP FUNCTION "outbox_notify"()`);
  }
}

/** Keys whose messages wait behind one in the retry topic (see IdempotentConsumer): one row per group and key. */
export class ParkedKeys1765094400000 implements MigrationInterface {
  name = 'ParkedKeys1765094400000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE TABLE "parked_keys" ("consumer_group" text NOT NULL, "key" text NOT NULL, "last_message_id" text NOT NULL,
      "parked_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), CONSTRAINT "PK_parked_keys" PRIMARY KEY ("consumer_group", "key"))`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE "parked_keys"`);
  }
}

export const KAFKA_MIGRATIONS = [OutboxAndInbox1764201600000, OutboxNotifyTrigger1764489600000, ParkedKeys1765094400000];
