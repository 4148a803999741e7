import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The audit hash covers `at` to the millisecond; storing microseconds let an edit below a
 * millisecond pass verification. Existing values were written from JavaScript dates, so they
 * already are whole milliseconds and the conversion changes none of them. The append-only
 * triggers fire on row changes, not on this type change.
 */
export class AuditTimeMilliseconds1795698000000 implements MigrationInterface {
  name = 'AuditTimeMilliseconds1795698000000';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "audit_log" ALTER COLUMN "at" TYPE TIMESTAMP(3) WITH TIME ZONE`);
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "audit_log" ALTER COLUMN "at" TYPE TIMESTAMP WITH TIME ZONE`);
  }
}
