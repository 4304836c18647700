import { MigrationInterface, QueryRunner } from 'typeorm';

export class SagasAndTimers1764208800000 implements MigrationInterface {
  name = 'SagasAndTimers1764208800000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE TABLE "sagas" ("payment_id" text NOT NULL, "status" text NOT NULL, "state" jsonb NOT NULL,
      "updated_at" TIMESTAMP WITH TIME ZONE NOT NULL, CONSTRAINT "PK_sagas" PRIMARY KEY ("payment_id"))`);
    await q.query(`CREATE INDEX "IDX_sagas_status" ON "sagas" ("status")`);
    await q.query(`CREATE TABLE "timers" ("payment_id" text NOT NULL, "name" text NOT NULL, "attempt" integer NOT NULL,
      "due_at" TIMESTAMP WITH TIME ZONE NOT NULL, CONSTRAINT "PK_timers" PRIMARY KEY ("payment_id", "name"))`);
    await q.query(`CREATE INDEX "IDX_timers_due_at" ON "timers" ("due_at")`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE "timers"`);
    await q.query(`DROP TABLE "sagas"`);
  }
}
