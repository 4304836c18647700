import { MigrationInterface, QueryRunner } from 'typeorm';

/** The cancels the orchestrator refused, by the CancelPayment command's id, for the POS requests waiting on them. */
export class GatewayCancelRefusals1764979200000 implements MigrationInterface {
  name = 'GatewayCancelRefusals1764979200000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE TABLE "cancel_refusals" ("command_id" text NOT NULL, "payment_id" text NOT NULL, "code" text NOT NULL, "message" text NOT NULL,
      "refused_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), CONSTRAINT "PK_cancel_refusals" PRIMARY KEY ("command_id"))`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE "cancel_refusals"`);
  }
}
