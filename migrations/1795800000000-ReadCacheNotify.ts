import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The tables the per-instance read cache (src/common/read-cache.ts) keeps answers from: the
 * registry's, and who may sign in. Any
 * statement that changes one of them, from any connection (another instance, the CLI, psql):
 *  - notifies every listening instance on the channel custodian_cache, payload the group, when its
 *    transaction commits;
 *  - marks its own transaction (the setting custodian.changed lists the groups), so the instance
 *    that commits it drops its cached answers before its commit returns: a client reads its own
 *    writes at once.
 */
const GROUPS: Record<string, string[]> = {
  registry: ['customers', 'dpas', 'subprocessors', 'subprocessor_status_changes', 'change_notices', 'change_notice_recipients', 'objections'],
  access: ['users', 'api_keys'],
};

export class ReadCacheNotify1795800000000 implements MigrationInterface {
  name = 'ReadCacheNotify1795800000000';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`CREATE FUNCTION custodian_cache_changed() RETURNS trigger LANGUAGE plpgsql AS $$
      DECLARE
        changed text := coalesce(nullif(current_setting('custodian.changed', true), ''), ' ');
      BEGIN
        PERFORM pg_notify('custodian_cache', TG_ARGV[0]);
        IF position(' ' || TG_ARGV[0] || ' ' IN changed) = 0 THEN
          PERFORM set_config('custodian.changed', changed || TG_ARGV[0] || ' ', true);
        END IF;
        RETURN NULL;
      END $$`);
    for (const [group, tables] of Object.entries(GROUPS)) {
      for (const table of tables) {
        await queryRunner.query(`CREATE TRIGGER "${table}_cache_changed" AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON "${table}"
          FOR EACH STATEMENT EXECUTE FUNCTION custodian_cache_changed('${group}')`);
      }
    }
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    for (const tables of Object.values(GROUPS)) {
      for (const table of tables) {
        await queryRunner.query(`DROP TRIGGER "${table}_cache_changed" ON "${table}"`);
      }
    }
    await queryRunner.query(`DROP FUNCTION custodian_cache_changed()`);
  }
}
