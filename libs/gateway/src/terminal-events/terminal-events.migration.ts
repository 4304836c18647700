import { MigrationInterface, QueryRunner } from 'typeorm';

export class GatewayTerminalEvents1764303600000 implements MigrationInterface {
  name = 'GatewayTerminalEvents1764303600000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE TABLE "terminal_events" ("id" BIGSERIAL NOT NULL, "terminal_id" text NOT NULL, "merchant_id" text NOT NULL,
      "payment_id" text NOT NULL, "event_id" text NOT NULL, "type" text NOT NULL, "data" jsonb NOT NULL,
      "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), CONSTRAINT "PK_terminal_events" PRIMARY KEY ("id"))`);
    await q.query(`CREATE INDEX "IDX_terminal_events_terminal" ON "terminal_events" ("terminal_id", "id")`);
    await q.query(`CREATE INDEX "IDX_terminal_events_created_at" ON "terminal_events" ("created_at")`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE "terminal_events"`);
  }
}
