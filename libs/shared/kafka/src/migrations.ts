import { MigrationInterface, QueryRunner } from 'typeorm';

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

export const KAFKA_MIGRATIONS = [OutboxAndInbox1764201600000];
