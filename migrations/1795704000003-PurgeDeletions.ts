import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * What each purge run deleted because delivery metadata expired, batch by batch, until certified;
 * and an index for the one question every run asks first: is a run still marked running?
 */
export class PurgeDeletions1795704000003 implements MigrationInterface {
  name = 'PurgeDeletions1795704000003';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`CREATE TABLE "purge_deletions" ("id" uuid NOT NULL DEFAULT gen_random_uuid(), "run_id" uuid NOT NULL, "customer_id" uuid NOT NULL, "from_day" date NOT NULL, "to_day" date NOT NULL, "message_count" integer NOT NULL, "deleted_at" TIMESTAMP(3) WITH TIME ZONE NOT NULL, "certificate_id" uuid, CONSTRAINT "PK_510fc053abe410121518b8585a4" PRIMARY KEY ("id"))`);
    await queryRunner.query(`CREATE INDEX "purge_deletions_uncertified_idx" ON "purge_deletions" ("run_id", "customer_id") WHERE certificate_id IS NULL`);
    await queryRunner.query(`CREATE INDEX "purge_runs_running_idx" ON "purge_runs" ("status") WHERE status = 'running'`);
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP INDEX "purge_runs_running_idx"`);
    await queryRunner.query(`DROP INDEX "purge_deletions_uncertified_idx"`);
    await queryRunner.query(`DROP TABLE "purge_deletions"`);
  }
}
