import { MigrationInterface, QueryRunner } from 'typeorm';

/** Per-mail headers, e.g. List-Unsubscribe on mail to public subscribers. */
export class MailHeaders1795698200000 implements MigrationInterface {
  name = 'MailHeaders1795698200000';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "mails" ADD "headers" jsonb NOT NULL DEFAULT '{}'`);
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "mails" DROP COLUMN "headers"`);
  }
}
