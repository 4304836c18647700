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

/**
 * Remembers, per terminal, the newest of its events ever deleted, in the statement that deletes them (the
 * retention's or anyone's): a POS resuming from an older id has missed events the stream can no longer replay.
 * The rows are upserted in terminal order, so two replicas' pruners never deadlock on them.
 */
export class GatewayTerminalEventHorizons1764864000000 implements MigrationInterface {
  name = 'GatewayTerminalEventHorizons1764864000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE TABLE "terminal_event_horizons" ("terminal_id" text NOT NULL, "pruned_through" bigint NOT NULL,
      CONSTRAINT "PK_terminal_event_horizons" PRIMARY KEY ("terminal_id"))`);
    await q.query(`CREATE FUNCTION "terminal_events_deleted"() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        INSERT INTO terminal_event_horizons (terminal_id, pruned_through)
          SELECT terminal_id, max(id) FROM deleted GROUP BY terminal_id ORDER BY terminal_id
          ON CONFLICT (terminal_id) DO UPDATE SET pruned_through = GREATEST(terminal_event_horizons.pruned_through, EXCLUDED.pruned_through);
        RETURN NULL;
      END $$`);
    await q.query(`CREATE TRIGGER "terminal_events_horizon" AFTER DELETE ON "terminal_events" REFERENCING OLD TABLE AS deleted
      FOR EACH STATEMENT EXECUTE FUNCTION "terminal_events_deleted"()`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TRIGGER "terminal_events_horizon" ON "terminal_events"`);
    await q.query(`DROP FUNCTION "terminal_events_deleted"()`);
    await q.query(`DROP TABLE "terminal_event_horizons"`);
  }
}
