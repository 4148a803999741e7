import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The message PII store (messages, their route hops, data keys, route violations), retention
 * (policies with a seeded default, legal holds, purge runs, signed deletion certificates and their
 * public keys), data-subject requests, and the DPO's break-glass PII flag on users.
 */
export class MessageStore1795703345643 implements MigrationInterface {
  name = 'MessageStore1795703345643';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`CREATE TABLE "data_subject_requests" ("id" uuid NOT NULL DEFAULT gen_random_uuid(), "customer_id" uuid NOT NULL, "kind" text NOT NULL, "msisdn_hash" bytea NOT NULL, "reference" text, "requested_by" uuid NOT NULL, "requested_at" TIMESTAMP(3) WITH TIME ZONE NOT NULL, "completed_at" TIMESTAMP(3) WITH TIME ZONE, "message_count" integer NOT NULL DEFAULT '0', "held_count" integer NOT NULL DEFAULT '0', "certificate_id" uuid, CONSTRAINT "PK_7bd74287e894f1a89709e8fc120" PRIMARY KEY ("id"))`);
    await queryRunner.query(`CREATE INDEX "data_subject_requests_customer_idx" ON "data_subject_requests" ("customer_id", "requested_at", "id") `);
    await queryRunner.query(`CREATE TABLE "signing_keys" ("id" text NOT NULL, "algorithm" text NOT NULL DEFAULT 'Ed25519', "public_key" text NOT NULL, "first_used_at" TIMESTAMP(3) WITH TIME ZONE NOT NULL DEFAULT now(), CONSTRAINT "PK_ab7d78cf6e61dc3904133b4cd55" PRIMARY KEY ("id"))`);
    await queryRunner.query(`CREATE TABLE "retention_policies" ("id" uuid NOT NULL DEFAULT gen_random_uuid(), "customer_id" uuid, "category" text NOT NULL, "days" integer NOT NULL, "updated_at" TIMESTAMP(3) WITH TIME ZONE NOT NULL DEFAULT now(), CONSTRAINT "retention_policies_days" CHECK (days >= 0), CONSTRAINT "PK_c0f79bfde72a93e544c780a7470" PRIMARY KEY ("id"))`);
    await queryRunner.query(`CREATE UNIQUE INDEX "retention_policies_default_key" ON "retention_policies" ("category") WHERE customer_id IS NULL`);
    await queryRunner.query(`CREATE UNIQUE INDEX "retention_policies_customer_key" ON "retention_policies" ("customer_id", "category") WHERE customer_id IS NOT NULL`);
    await queryRunner.query(`CREATE TABLE "purge_runs" ("id" uuid NOT NULL DEFAULT gen_random_uuid(), "trigger" text NOT NULL, "status" text NOT NULL DEFAULT 'running', "started_at" TIMESTAMP(3) WITH TIME ZONE NOT NULL, "finished_at" TIMESTAMP(3) WITH TIME ZONE, "keys_destroyed" integer NOT NULL DEFAULT '0', "messages_destroyed" integer NOT NULL DEFAULT '0', "messages_rekeyed" integer NOT NULL DEFAULT '0', "messages_reclaimed" integer NOT NULL DEFAULT '0', "messages_deleted" integer NOT NULL DEFAULT '0', "certificates_issued" integer NOT NULL DEFAULT '0', "max_lag_ms" bigint, "error" text, CONSTRAINT "PK_fb2a694e66365814a5e1b915e38" PRIMARY KEY ("id"))`);
    await queryRunner.query(`CREATE INDEX "purge_runs_started_idx" ON "purge_runs" ("started_at", "id") `);
    await queryRunner.query(`CREATE TABLE "legal_holds" ("id" uuid NOT NULL DEFAULT gen_random_uuid(), "customer_id" uuid NOT NULL, "msisdn_hash" bytea, "from_at" TIMESTAMP(3) WITH TIME ZONE, "to_at" TIMESTAMP(3) WITH TIME ZONE, "reason" text NOT NULL, "incident_id" uuid, "placed_by" uuid, "placed_at" TIMESTAMP(3) WITH TIME ZONE NOT NULL DEFAULT now(), "released_at" TIMESTAMP(3) WITH TIME ZONE, "released_by" uuid, "release_reason" text, CONSTRAINT "PK_bbe3e0c98678909493a90442dfb" PRIMARY KEY ("id"))`);
    await queryRunner.query(`CREATE INDEX "legal_holds_active_idx" ON "legal_holds" ("customer_id") WHERE released_at IS NULL`);
    await queryRunner.query(`CREATE TABLE "deletion_certificates" ("id" uuid NOT NULL, "customer_id" uuid NOT NULL, "run_id" uuid, "request_id" uuid, "issued_at" TIMESTAMP(3) WITH TIME ZONE NOT NULL, "statement" text NOT NULL, "signature" text NOT NULL, "signing_key_id" text NOT NULL, CONSTRAINT "deletion_certificates_run_customer_key" UNIQUE ("run_id", "customer_id"), CONSTRAINT "PK_64b6497220533ec4d1d94d152aa" PRIMARY KEY ("id"))`);
    await queryRunner.query(`CREATE INDEX "deletion_certificates_customer_idx" ON "deletion_certificates" ("customer_id", "issued_at", "id") `);
    await queryRunner.query(`CREATE TABLE "route_violations" ("id" uuid NOT NULL DEFAULT gen_random_uuid(), "message_id" uuid NOT NULL, "customer_id" uuid NOT NULL, "subprocessor_id" uuid NOT NULL, "position" smallint NOT NULL, "reason" text NOT NULL, "submitted_at" TIMESTAMP(3) WITH TIME ZONE NOT NULL, "detected_at" TIMESTAMP(3) WITH TIME ZONE NOT NULL, "digested_at" TIMESTAMP(3) WITH TIME ZONE, CONSTRAINT "route_violations_message_position_key" UNIQUE ("message_id", "position"), CONSTRAINT "PK_a195fcea01c8062ddc245a34c08" PRIMARY KEY ("id"))`);
    await queryRunner.query(`CREATE INDEX "route_violations_undigested_idx" ON "route_violations" ("detected_at") WHERE digested_at IS NULL`);
    await queryRunner.query(`CREATE INDEX "route_violations_customer_idx" ON "route_violations" ("customer_id", "detected_at") `);
    await queryRunner.query(`CREATE INDEX "route_violations_detected_idx" ON "route_violations" ("detected_at", "id") `);
    await queryRunner.query(`CREATE TABLE "messages" ("id" uuid NOT NULL, "customer_id" uuid NOT NULL, "external_id" text NOT NULL, "direction" text NOT NULL, "sender" text NOT NULL, "destination_country" text NOT NULL, "status" text NOT NULL, "route" uuid array NOT NULL, "submitted_at" TIMESTAMP(3) WITH TIME ZONE NOT NULL, "received_at" TIMESTAMP(3) WITH TIME ZONE NOT NULL DEFAULT now(), "msisdn_hash" bytea, "msisdn_key_id" uuid, "msisdn_ciphertext" bytea, "body_key_id" uuid, "body_ciphertext" bytea, CONSTRAINT "messages_customer_external_id_key" UNIQUE ("customer_id", "external_id"), CONSTRAINT "PK_18325f38ae6de43878487eff986" PRIMARY KEY ("id"))`);
    await queryRunner.query(`CREATE INDEX "messages_customer_msisdn_hash_idx" ON "messages" ("customer_id", "msisdn_hash") WHERE msisdn_hash IS NOT NULL`);
    await queryRunner.query(`CREATE INDEX "messages_submitted_idx" ON "messages" ("submitted_at", "id") `);
    await queryRunner.query(`CREATE INDEX "messages_customer_submitted_idx" ON "messages" ("customer_id", "submitted_at", "id") `);
    await queryRunner.query(`CREATE TABLE "message_hops" ("message_id" uuid NOT NULL, "position" smallint NOT NULL, "subprocessor_id" uuid NOT NULL, "customer_id" uuid NOT NULL, "submitted_at" TIMESTAMP(3) WITH TIME ZONE NOT NULL, "subject" bigint, CONSTRAINT "PK_f7a458c34393acd7d012f039cbb" PRIMARY KEY ("message_id", "position"))`);
    await queryRunner.query(`CREATE INDEX "message_hops_scope_idx" ON "message_hops" ("subprocessor_id", "submitted_at", "customer_id", "subject") `);
    await queryRunner.query(`CREATE TABLE "data_keys" ("id" uuid NOT NULL, "customer_id" uuid NOT NULL, "day" date NOT NULL, "category" text NOT NULL, "kind" text NOT NULL DEFAULT 'day', "wrapped" bytea, "master_key_id" text, "created_at" TIMESTAMP(3) WITH TIME ZONE NOT NULL DEFAULT now(), "expired_at" TIMESTAMP(3) WITH TIME ZONE, "destroyed_at" TIMESTAMP(3) WITH TIME ZONE, "destroyed_by_run_id" uuid, "message_count" integer, "certificate_id" uuid, "reclaimed_at" TIMESTAMP(3) WITH TIME ZONE, CONSTRAINT "data_keys_destroyed_means_unwrapped" CHECK ((wrapped IS NULL) = (destroyed_at IS NOT NULL)), CONSTRAINT "PK_75e186bab00acc0d8f955b75cbb" PRIMARY KEY ("id"))`);
    await queryRunner.query(`CREATE INDEX "data_keys_customer_day_idx" ON "data_keys" ("customer_id", "day") `);
    await queryRunner.query(`CREATE UNIQUE INDEX "data_keys_day_key" ON "data_keys" ("customer_id", "day", "category") WHERE kind = 'day'`);
    // Room in each page for the purge's destroying UPDATE to stay heap-only (no index rewritten).
    await queryRunner.query(`ALTER TABLE "data_keys" SET (fillfactor = 70)`);
    await queryRunner.query(`ALTER TABLE "users" ADD "pii_access" boolean NOT NULL DEFAULT false`);
    await queryRunner.query(`ALTER TABLE "users" ADD CONSTRAINT "users_pii_access_dpo_only" CHECK (NOT pii_access OR role = 'dpo')`);
    // The default policy, for customers without their own (always capped by the active DPA's maximum).
    await queryRunner.query(`INSERT INTO "retention_policies" ("customer_id", "category", "days") VALUES (NULL, 'body', 30), (NULL, 'msisdn', 90), (NULL, 'delivery_metadata', 180)`);
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "users" DROP CONSTRAINT "users_pii_access_dpo_only"`);
    await queryRunner.query(`ALTER TABLE "users" DROP COLUMN "pii_access"`);
    await queryRunner.query(`DROP TABLE "data_keys"`);
    await queryRunner.query(`DROP TABLE "message_hops"`);
    await queryRunner.query(`DROP TABLE "messages"`);
    await queryRunner.query(`DROP TABLE "route_violations"`);
    await queryRunner.query(`DROP TABLE "deletion_certificates"`);
    await queryRunner.query(`DROP TABLE "legal_holds"`);
    await queryRunner.query(`DROP TABLE "purge_runs"`);
    await queryRunner.query(`DROP TABLE "retention_policies"`);
    await queryRunner.query(`DROP TABLE "signing_keys"`);
    await queryRunner.query(`DROP TABLE "data_subject_requests"`);
  }
}
