import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Impact scoping reads message_hops alone, in one index-only scan (see impact-scope.ts): each hop
 * also carries its message's destination country, and the scope index is ordered by customer,
 * sub-processor and message id — the id is a UUIDv7 whose prefix is submitted-at, so a time window
 * is an id range, and rows arrive grouped by customer with a message's hops next to each other.
 */
export class ImpactScope1795704000005 implements MigrationInterface {
  name = 'ImpactScope1795704000005';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP INDEX "public"."message_hops_scope_idx"`);
    await queryRunner.query(`ALTER TABLE "message_hops" ADD "destination_country" text`);
    await queryRunner.query(`UPDATE "message_hops" h SET "destination_country" = m."destination_country" FROM "messages" m WHERE m."id" = h."message_id"`);
    await queryRunner.query(`CREATE INDEX "message_hops_scope_idx" ON "message_hops" ("customer_id", "subprocessor_id", "message_id", "subject", "destination_country") `);
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP INDEX "public"."message_hops_scope_idx"`);
    await queryRunner.query(`ALTER TABLE "message_hops" DROP COLUMN "destination_country"`);
    await queryRunner.query(`CREATE INDEX "message_hops_scope_idx" ON "message_hops" ("subprocessor_id", "submitted_at", "customer_id", "subject") `);
  }
}
