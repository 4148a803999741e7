import { createDataSource } from './data-source';

const MIGRATION_LOCK = 0x4d49_4752; // "MIGR"

/**
 * Applies pending migrations. A session advisory lock makes instances that boot together take
 * turns, so each migration runs once; the others then find nothing pending.
 */
export async function runMigrations(url: string, log: (m: string) => void): Promise<void> {
  const ds = await createDataSource(url, 2).initialize();
  const runner = ds.createQueryRunner();
  try {
    await runner.connect();
    await runner.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK]);
    const applied = await ds.runMigrations();
    for (const m of applied) log(`applied migration ${m.name}`);
  } finally {
    await runner.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK]).catch(() => undefined);
    await runner.release();
    await ds.destroy();
  }
}
