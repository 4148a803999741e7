import { MigrationInterface, QueryRunner } from 'typeorm';

export class Registry1795697025370 implements MigrationInterface {
  name = 'Registry1795697025370';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`CREATE TABLE "subprocessors" ("id" uuid NOT NULL DEFAULT gen_random_uuid(), "legal_entity" text NOT NULL, "parent_company" text, "country" character(2) NOT NULL, "role" text NOT NULL, "services" text array NOT NULL, "purpose" text NOT NULL, "data_categories" text array NOT NULL, "carries_countries" text array NOT NULL DEFAULT '{}', "global" boolean NOT NULL DEFAULT false, "transfer_mechanism" text NOT NULL, "certifications" jsonb NOT NULL DEFAULT '[]', "last_security_review" date, "status" text NOT NULL DEFAULT 'proposed', "active_since" TIMESTAMP WITH TIME ZONE, "created_at" TIMESTAMP(3) WITH TIME ZONE NOT NULL DEFAULT now(), "updated_at" TIMESTAMP(3) WITH TIME ZONE NOT NULL DEFAULT now(), CONSTRAINT "PK_322a3af81caea57f2df06538599" PRIMARY KEY ("id"))`);
    await queryRunner.query(`CREATE TABLE "subprocessor_status_changes" ("id" uuid NOT NULL DEFAULT gen_random_uuid(), "subprocessor_id" uuid NOT NULL, "status" text NOT NULL, "at" TIMESTAMP WITH TIME ZONE NOT NULL, CONSTRAINT "PK_86aee8a6cb3cc32f2885e1b25b4" PRIMARY KEY ("id"))`);
    await queryRunner.query(`CREATE INDEX "subprocessor_status_changes_idx" ON "subprocessor_status_changes" ("subprocessor_id", "at") `);
    await queryRunner.query(`CREATE TABLE "public_subscribers" ("id" uuid NOT NULL DEFAULT gen_random_uuid(), "email" text NOT NULL, "confirmed_at" TIMESTAMP WITH TIME ZONE, "created_at" TIMESTAMP(3) WITH TIME ZONE NOT NULL DEFAULT now(), CONSTRAINT "PK_751f8084c86b294f8b2048afaf9" PRIMARY KEY ("id"))`);
    await queryRunner.query(`CREATE UNIQUE INDEX "public_subscribers_email_key" ON "public_subscribers" ("email") `);
    await queryRunner.query(`CREATE TABLE "mails" ("id" uuid NOT NULL DEFAULT gen_random_uuid(), "template" text NOT NULL, "recipients" text array NOT NULL, "subject" text NOT NULL, "text" text NOT NULL, "html" text NOT NULL, "customer_id" uuid, "subject_type" text, "subject_id" text, "status" text NOT NULL DEFAULT 'queued', "attempts" integer NOT NULL DEFAULT '0', "last_error" text, "created_at" TIMESTAMP(3) WITH TIME ZONE NOT NULL DEFAULT now(), "sent_at" TIMESTAMP WITH TIME ZONE, CONSTRAINT "PK_218248d7dfe1b739f06e2309349" PRIMARY KEY ("id"))`);
    await queryRunner.query(`CREATE INDEX "mails_customer_idx" ON "mails" ("customer_id", "created_at") `);
    await queryRunner.query(`CREATE INDEX "mails_status_idx" ON "mails" ("status", "created_at") `);
    await queryRunner.query(`CREATE TABLE "job_runs" ("id" uuid NOT NULL DEFAULT gen_random_uuid(), "job" text NOT NULL, "trigger" text NOT NULL, "tick" TIMESTAMP WITH TIME ZONE, "started_at" TIMESTAMP WITH TIME ZONE NOT NULL, "finished_at" TIMESTAMP WITH TIME ZONE, "outcome" text NOT NULL DEFAULT 'running', "counts" jsonb NOT NULL DEFAULT '{}', "error" text, "instance" text NOT NULL, "requested_by" uuid, CONSTRAINT "PK_4d0012c04fcfc287550b76be7e9" PRIMARY KEY ("id"))`);
    await queryRunner.query(`CREATE UNIQUE INDEX "job_runs_tick_key" ON "job_runs" ("job", "tick") WHERE tick IS NOT NULL`);
    await queryRunner.query(`CREATE INDEX "job_runs_job_idx" ON "job_runs" ("job", "started_at") `);
    await queryRunner.query(`CREATE TABLE "sent_reminders" ("key" text NOT NULL, "sent_at" TIMESTAMP WITH TIME ZONE NOT NULL, CONSTRAINT "PK_2047ef20bd7402948fc526bef6a" PRIMARY KEY ("key"))`);
    await queryRunner.query(`CREATE TABLE "customers" ("id" uuid NOT NULL DEFAULT gen_random_uuid(), "legal_name" text NOT NULL, "country" character(2) NOT NULL, "dpo_contact" jsonb NOT NULL, "breach_notification_emails" text array NOT NULL, "destination_countries" text array NOT NULL, "data_profile" jsonb NOT NULL, "created_at" TIMESTAMP(3) WITH TIME ZONE NOT NULL DEFAULT now(), "updated_at" TIMESTAMP(3) WITH TIME ZONE NOT NULL DEFAULT now(), CONSTRAINT "PK_133ec679a801fab5e070f73d3ea" PRIMARY KEY ("id"))`);
    await queryRunner.query(`CREATE TABLE "dpas" ("id" uuid NOT NULL DEFAULT gen_random_uuid(), "customer_id" uuid NOT NULL, "version" integer NOT NULL, "status" text NOT NULL DEFAULT 'draft', "breach_notice_hours" integer NOT NULL DEFAULT '24', "objection_window_days" integer NOT NULL DEFAULT '30', "authorisation" text NOT NULL DEFAULT 'general', "max_retention_days" jsonb NOT NULL, "transfer_mechanisms" text array NOT NULL, "data_categories" text array NOT NULL, "purposes" text array NOT NULL, "expires_at" TIMESTAMP WITH TIME ZONE, "signed_by_name" text, "signed_at" TIMESTAMP WITH TIME ZONE, "signature_recorded_by" uuid, "activated_at" TIMESTAMP WITH TIME ZONE, "ended_at" TIMESTAMP WITH TIME ZONE, "document_sha256" text, "document_size" integer, "document_name" text, "created_at" TIMESTAMP(3) WITH TIME ZONE NOT NULL DEFAULT now(), "updated_at" TIMESTAMP(3) WITH TIME ZONE NOT NULL DEFAULT now(), CONSTRAINT "dpas_customer_version_key" UNIQUE ("customer_id", "version"), CONSTRAINT "PK_ebdf48a2fdbe17b7f6f30fea77f" PRIMARY KEY ("id"))`);
    await queryRunner.query(`CREATE UNIQUE INDEX "dpas_one_active_per_customer" ON "dpas" ("customer_id") WHERE status = 'active'`);
    await queryRunner.query(`CREATE TABLE "dpa_documents" ("dpa_id" uuid NOT NULL, "content" bytea NOT NULL, CONSTRAINT "PK_394253d58aa9a97ae54f431a61b" PRIMARY KEY ("dpa_id"))`);
    await queryRunner.query(`CREATE TABLE "change_notices" ("id" uuid NOT NULL DEFAULT gen_random_uuid(), "subprocessor_id" uuid NOT NULL, "kind" text NOT NULL, "changes" jsonb NOT NULL, "reason" text NOT NULL, "status" text NOT NULL DEFAULT 'pending', "proposed_at" TIMESTAMP WITH TIME ZONE NOT NULL, "effective_at" TIMESTAMP WITH TIME ZONE NOT NULL, "applied_at" TIMESTAMP WITH TIME ZONE, "created_by" uuid NOT NULL, "created_at" TIMESTAMP(3) WITH TIME ZONE NOT NULL DEFAULT now(), CONSTRAINT "PK_89d21221e3c77e3a9bed1f07020" PRIMARY KEY ("id"))`);
    await queryRunner.query(`CREATE INDEX "change_notices_due_idx" ON "change_notices" ("status", "effective_at") `);
    await queryRunner.query(`CREATE TABLE "change_notice_recipients" ("notice_id" uuid NOT NULL, "customer_id" uuid NOT NULL, "dpa_id" uuid NOT NULL, "objection_deadline" TIMESTAMP WITH TIME ZONE NOT NULL, "approval_required" boolean NOT NULL, "approved_at" TIMESTAMP WITH TIME ZONE, "approved_by" uuid, CONSTRAINT "PK_741def36ed245f4c01b2195fa3b" PRIMARY KEY ("notice_id", "customer_id"))`);
    await queryRunner.query(`CREATE INDEX "change_notice_recipients_customer_idx" ON "change_notice_recipients" ("customer_id") `);
    await queryRunner.query(`CREATE TABLE "objections" ("id" uuid NOT NULL DEFAULT gen_random_uuid(), "notice_id" uuid NOT NULL, "customer_id" uuid NOT NULL, "subprocessor_id" uuid NOT NULL, "reason" text NOT NULL, "raised_by" uuid NOT NULL, "raised_at" TIMESTAMP WITH TIME ZONE NOT NULL, "resolution" text, "resolution_note" text, "resolved_by" uuid, "resolved_at" TIMESTAMP WITH TIME ZONE, CONSTRAINT "PK_6bb81f77d9eabef4f46e9c0934f" PRIMARY KEY ("id"))`);
    await queryRunner.query(`CREATE INDEX "objections_customer_subprocessor_idx" ON "objections" ("customer_id", "subprocessor_id") `);
    await queryRunner.query(`ALTER TABLE "subprocessor_status_changes" ADD CONSTRAINT "FK_5b170ecf994aeb993fed0bbb734" FOREIGN KEY ("subprocessor_id") REFERENCES "subprocessors"("id") ON DELETE RESTRICT ON UPDATE NO ACTION`);
    await queryRunner.query(`ALTER TABLE "dpas" ADD CONSTRAINT "FK_9a93dcdf1b971895a33189df1d7" FOREIGN KEY ("customer_id") REFERENCES "customers"("id") ON DELETE RESTRICT ON UPDATE NO ACTION`);
    await queryRunner.query(`ALTER TABLE "dpa_documents" ADD CONSTRAINT "FK_394253d58aa9a97ae54f431a61b" FOREIGN KEY ("dpa_id") REFERENCES "dpas"("id") ON DELETE CASCADE ON UPDATE NO ACTION`);
    await queryRunner.query(`ALTER TABLE "change_notices" ADD CONSTRAINT "FK_8d65d849c976ce897bf99437d7b" FOREIGN KEY ("subprocessor_id") REFERENCES "subprocessors"("id") ON DELETE RESTRICT ON UPDATE NO ACTION`);
    await queryRunner.query(`ALTER TABLE "change_notice_recipients" ADD CONSTRAINT "FK_52f6f96527dc1f980ff744a0d05" FOREIGN KEY ("notice_id") REFERENCES "change_notices"("id") ON DELETE CASCADE ON UPDATE NO ACTION`);
    await queryRunner.query(`ALTER TABLE "change_notice_recipients" ADD CONSTRAINT "FK_1bd88aed3630ef89652ac36b404" FOREIGN KEY ("customer_id") REFERENCES "customers"("id") ON DELETE RESTRICT ON UPDATE NO ACTION`);
    await queryRunner.query(`ALTER TABLE "objections" ADD CONSTRAINT "FK_ce0aba534a52ee06ffaa734f5e1" FOREIGN KEY ("notice_id") REFERENCES "change_notices"("id") ON DELETE RESTRICT ON UPDATE NO ACTION`);
    await queryRunner.query(`ALTER TABLE "users" ADD CONSTRAINT "FK_c7bc1ffb56c570f42053fa7503b" FOREIGN KEY ("customer_id") REFERENCES "customers"("id") ON DELETE RESTRICT ON UPDATE NO ACTION`);
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "users" DROP CONSTRAINT "FK_c7bc1ffb56c570f42053fa7503b"`);
    await queryRunner.query(`ALTER TABLE "objections" DROP CONSTRAINT "FK_ce0aba534a52ee06ffaa734f5e1"`);
    await queryRunner.query(`ALTER TABLE "change_notice_recipients" DROP CONSTRAINT "FK_1bd88aed3630ef89652ac36b404"`);
    await queryRunner.query(`ALTER TABLE "change_notice_recipients" DROP CONSTRAINT "FK_52f6f96527dc1f980ff744a0d05"`);
    await queryRunner.query(`ALTER TABLE "change_notices" DROP CONSTRAINT "FK_8d65d849c976ce897bf99437d7b"`);
    await queryRunner.query(`ALTER TABLE "dpa_documents" DROP CONSTRAINT "FK_394253d58aa9a97ae54f431a61b"`);
    await queryRunner.query(`ALTER TABLE "dpas" DROP CONSTRAINT "FK_9a93dcdf1b971895a33189df1d7"`);
    await queryRunner.query(`ALTER TABLE "subprocessor_status_changes" DROP CONSTRAINT "FK_5b170ecf994aeb993fed0bbb734"`);
    await queryRunner.query(`DROP INDEX "public"."objections_customer_subprocessor_idx"`);
    await queryRunner.query(`DROP TABLE "objections"`);
    await queryRunner.query(`DROP INDEX "public"."change_notice_recipients_customer_idx"`);
    await queryRunner.query(`DROP TABLE "change_notice_recipients"`);
    await queryRunner.query(`DROP INDEX "public"."change_notices_due_idx"`);
    await queryRunner.query(`DROP TABLE "change_notices"`);
    await queryRunner.query(`DROP TABLE "dpa_documents"`);
    await queryRunner.query(`DROP INDEX "public"."dpas_one_active_per_customer"`);
    await queryRunner.query(`DROP TABLE "dpas"`);
    await queryRunner.query(`DROP TABLE "customers"`);
    await queryRunner.query(`DROP TABLE "sent_reminders"`);
    await queryRunner.query(`DROP INDEX "public"."job_runs_job_idx"`);
    await queryRunner.query(`DROP INDEX "public"."job_runs_tick_key"`);
    await queryRunner.query(`DROP TABLE "job_runs"`);
    await queryRunner.query(`DROP INDEX "public"."mails_status_idx"`);
    await queryRunner.query(`DROP INDEX "public"."mails_customer_idx"`);
    await queryRunner.query(`DROP TABLE "mails"`);
    await queryRunner.query(`DROP INDEX "public"."public_subscribers_email_key"`);
    await queryRunner.query(`DROP TABLE "public_subscribers"`);
    await queryRunner.query(`DROP INDEX "public"."subprocessor_status_changes_idx"`);
    await queryRunner.query(`DROP TABLE "subprocessor_status_changes"`);
    await queryRunner.query(`DROP TABLE "subprocessors"`);
  }
}
