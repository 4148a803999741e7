import { MigrationInterface, QueryRunner } from 'typeorm';

export class BreachNotifications1795749650953 implements MigrationInterface {
  name = 'BreachNotifications1795749650953';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`CREATE TABLE "incident_evidence" ("id" uuid NOT NULL DEFAULT gen_random_uuid(), "incident_id" uuid NOT NULL, "file_name" text NOT NULL, "content_type" text NOT NULL, "size" integer NOT NULL, "sha256" text NOT NULL, "content" bytea NOT NULL, "uploaded_by" uuid, "uploaded_at" TIMESTAMP(3) WITH TIME ZONE NOT NULL, CONSTRAINT "PK_1057fd62a207902829c9602a55f" PRIMARY KEY ("id"))`);
    await queryRunner.query(`CREATE INDEX "incident_evidence_incident_idx" ON "incident_evidence" ("incident_id", "uploaded_at") `);
    await queryRunner.query(`CREATE TABLE "incident_escalations" ("incident_id" uuid NOT NULL, "customer_id" uuid NOT NULL, "escalation" text NOT NULL, "at" TIMESTAMP(3) WITH TIME ZONE NOT NULL, "mail_id" uuid, CONSTRAINT "PK_1c30813130f07c5bf0f156921cf" PRIMARY KEY ("incident_id", "customer_id", "escalation"))`);
    await queryRunner.query(`CREATE TABLE "breach_notifications" ("id" uuid NOT NULL DEFAULT gen_random_uuid(), "incident_id" uuid NOT NULL, "customer_id" uuid NOT NULL, "kind" text NOT NULL, "follow_up_of" uuid, "status" text NOT NULL DEFAULT 'draft', "sections" jsonb NOT NULL, "authors" uuid array NOT NULL DEFAULT '{}', "created_at" TIMESTAMP(3) WITH TIME ZONE NOT NULL, "updated_at" TIMESTAMP(3) WITH TIME ZONE NOT NULL, "approved_by" uuid, "approved_at" TIMESTAMP(3) WITH TIME ZONE, "mail_id" uuid, "recipients" text array NOT NULL DEFAULT '{}', "sent_at" TIMESTAMP(3) WITH TIME ZONE, "acknowledged_at" TIMESTAMP(3) WITH TIME ZONE, "acknowledged_by" uuid, "acknowledged_via" text, "reminders_sent" integer NOT NULL DEFAULT '0', CONSTRAINT "breach_notifications_ack_via_check" CHECK (acknowledged_via IS NULL OR acknowledged_via IN ('api', 'link')), CONSTRAINT "breach_notifications_follow_up_linked" CHECK ((kind = 'follow_up') = (follow_up_of IS NOT NULL)), CONSTRAINT "breach_notifications_status_check" CHECK (status IN ('draft', 'approved')), CONSTRAINT "breach_notifications_kind_check" CHECK (kind IN ('initial', 'follow_up')), CONSTRAINT "PK_513908114207c2eed7e16dd10d0" PRIMARY KEY ("id"))`);
    await queryRunner.query(`CREATE UNIQUE INDEX "breach_notifications_one_initial" ON "breach_notifications" ("incident_id", "customer_id") WHERE kind = 'initial'`);
    await queryRunner.query(`CREATE INDEX "breach_notifications_customer_idx" ON "breach_notifications" ("customer_id", "created_at") `);
    await queryRunner.query(`CREATE INDEX "breach_notifications_incident_idx" ON "breach_notifications" ("incident_id", "customer_id", "created_at") `);
    await queryRunner.query(`ALTER TABLE "incident_events" DROP CONSTRAINT "incident_events_kind_check"`);
    await queryRunner.query(`ALTER TABLE "incident_events" ADD CONSTRAINT "incident_events_kind_check" CHECK (kind IN ('reported', 'status_changed', 'facts_changed', 'comment', 'scoped', 'customer_included', 'customer_excluded', 'evidence_added', 'severity_overridden', 'notification_drafted', 'notification_edited', 'notification_approved', 'notification_resent', 'notification_sent', 'notification_acknowledged', 'reminder_sent', 'escalated'))`);
    await queryRunner.query(`ALTER TABLE "incident_events" ADD "customer_id" uuid`);
    await queryRunner.query(`ALTER TABLE "incident_events" ADD "notification_id" uuid`);
    await queryRunner.query(`ALTER TABLE "incident_customers" ADD "severity_overrides" jsonb NOT NULL DEFAULT '{}'`);
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "incident_customers" DROP COLUMN "severity_overrides"`);
    await queryRunner.query(`ALTER TABLE "incident_events" DROP COLUMN "notification_id"`);
    await queryRunner.query(`ALTER TABLE "incident_events" DROP COLUMN "customer_id"`);
    await queryRunner.query(`ALTER TABLE "incident_events" DROP CONSTRAINT "incident_events_kind_check"`);
    await queryRunner.query(`ALTER TABLE "incident_events" ADD CONSTRAINT "incident_events_kind_check" CHECK (kind IN ('reported', 'status_changed', 'comment', 'scoped', 'customer_included', 'customer_excluded'))`);
    await queryRunner.query(`DROP INDEX "public"."breach_notifications_incident_idx"`);
    await queryRunner.query(`DROP INDEX "public"."breach_notifications_customer_idx"`);
    await queryRunner.query(`DROP INDEX "public"."breach_notifications_one_initial"`);
    await queryRunner.query(`DROP TABLE "breach_notifications"`);
    await queryRunner.query(`DROP TABLE "incident_escalations"`);
    await queryRunner.query(`DROP INDEX "public"."incident_evidence_incident_idx"`);
    await queryRunner.query(`DROP TABLE "incident_evidence"`);
  }
}
