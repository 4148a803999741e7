import { MigrationInterface, QueryRunner } from 'typeorm';

/** Security incidents, their timeline and the customers they affect (issue 5, the breach workflow). */
export class Incidents1795744587979 implements MigrationInterface {
  name = 'Incidents1795744587979';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`CREATE TABLE "incidents" ("id" uuid NOT NULL DEFAULT gen_random_uuid(), "title" text NOT NULL, "description" text NOT NULL, "detected_at" TIMESTAMP(3) WITH TIME ZONE NOT NULL, "became_aware_at" TIMESTAMP(3) WITH TIME ZONE NOT NULL, "subprocessor_ids" uuid array NOT NULL DEFAULT '{}', "internal_systems" text array NOT NULL DEFAULT '{}', "window_from" TIMESTAMP(3) WITH TIME ZONE, "window_to" TIMESTAMP(3) WITH TIME ZONE, "data_categories" text array NOT NULL, "nature" text array NOT NULL, "malicious_intent" boolean NOT NULL, "status" text NOT NULL DEFAULT 'reported', "legal_hold_declined_reason" text, "reported_by" uuid, "reported_at" TIMESTAMP(3) WITH TIME ZONE NOT NULL, "updated_at" TIMESTAMP(3) WITH TIME ZONE NOT NULL, CONSTRAINT "incidents_something_affected" CHECK (cardinality(subprocessor_ids) + cardinality(internal_systems) > 0), CONSTRAINT "incidents_window_order" CHECK (window_from IS NULL OR window_to IS NULL OR window_from < window_to), CONSTRAINT "incidents_aware_after_detected" CHECK (became_aware_at >= detected_at), CONSTRAINT "incidents_status_check" CHECK (status IN ('reported', 'triage', 'confirmed_breach', 'dismissed', 'notifying', 'notified', 'closed')), CONSTRAINT "PK_ccb34c01719889017e2246469f9" PRIMARY KEY ("id"))`);
    await queryRunner.query(`CREATE INDEX "incidents_reported_idx" ON "incidents" ("reported_at", "id") `);
    await queryRunner.query(`CREATE TABLE "incident_events" ("id" uuid NOT NULL DEFAULT gen_random_uuid(), "incident_id" uuid NOT NULL, "seq" bigint GENERATED ALWAYS AS IDENTITY NOT NULL, "at" TIMESTAMP(3) WITH TIME ZONE NOT NULL, "kind" text NOT NULL, "from_status" text, "to_status" text, "text" text, "actor_id" uuid, CONSTRAINT "incident_events_kind_check" CHECK (kind IN ('reported', 'status_changed', 'comment', 'scoped', 'customer_included', 'customer_excluded')), CONSTRAINT "PK_1230e0a50df3503eed115634297" PRIMARY KEY ("id"))`);
    await queryRunner.query(`CREATE INDEX "incident_events_incident_idx" ON "incident_events" ("incident_id", "seq") `);
    await queryRunner.query(`CREATE TABLE "incident_customers" ("incident_id" uuid NOT NULL, "customer_id" uuid NOT NULL, "source" text NOT NULL, "included" boolean NOT NULL, "reason" text, "message_count" integer NOT NULL DEFAULT '0', "distinct_subjects" integer NOT NULL DEFAULT '0', "readable_categories" text array NOT NULL DEFAULT '{}', "destination_countries" text array NOT NULL DEFAULT '{}', "first_message_at" TIMESTAMP(3) WITH TIME ZONE, "last_message_at" TIMESTAMP(3) WITH TIME ZONE, "updated_at" TIMESTAMP(3) WITH TIME ZONE NOT NULL, CONSTRAINT "PK_7ab24f4f0770ff66861e0ef13b2" PRIMARY KEY ("incident_id", "customer_id"))`);
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE "incident_customers"`);
    await queryRunner.query(`DROP INDEX "public"."incident_events_incident_idx"`);
    await queryRunner.query(`DROP TABLE "incident_events"`);
    await queryRunner.query(`DROP INDEX "public"."incidents_reported_idx"`);
    await queryRunner.query(`DROP TABLE "incidents"`);
  }
}
