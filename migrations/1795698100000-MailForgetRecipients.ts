import { MigrationInterface, QueryRunner } from 'typeorm';

/** Public subscribers' addresses are dropped from the mail record once a mail is done. */
export class MailForgetRecipients1795698100000 implements MigrationInterface {
  name = 'MailForgetRecipients1795698100000';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "mails" ADD "forget_recipients" boolean NOT NULL DEFAULT false`);
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "mails" DROP COLUMN "forget_recipients"`);
  }
}
