/**
 * Audit log throughput: every change (and later every PII read) appends an entry under one
 * advisory lock, so this is the ceiling on audited writes per second across all instances.
 * Prints `RESULT <figure> <number>` lines.
 *
 *   npm run bench:audit            # embedded PostgreSQL in a temporary folder
 *   DATABASE_URL=… npm run bench:audit   # an existing, empty, migrated database
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AuditService, verifyAuditChain } from '../src/audit/audit.service';
import { Clock } from '../src/common/clock';
import { createDataSource } from '../src/database/data-source';
import { EmbeddedPostgres } from '../src/database/embedded-postgres';
import { runMigrations } from '../src/database/migrate';

const ENTRIES = Number(process.env.BENCH_ENTRIES ?? 20000);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 16);

async function main() {
  let url = process.env.DATABASE_URL;
  const folder = url ? undefined : mkdtempSync(join(tmpdir(), 'custodian-bench-'));
  const pg = folder ? new EmbeddedPostgres({ dataDir: join(folder, 'pg'), password: 'bench' }) : undefined;
  if (pg) url = await pg.start();
  await runMigrations(url!, () => undefined);
  const ds = await createDataSource(url!, CONCURRENCY + 2).initialize();
  const audit = new AuditService(ds, new Clock());
  try {
    let next = 0;
    const started = process.hrtime.bigint();
    const latencies: number[] = [];
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        while (next < ENTRIES) {
          const i = next++;
          const t0 = process.hrtime.bigint();
          await ds.transaction((em) =>
            audit.record(em, null, { action: 'bench.appended', subjectType: 'Bench', subjectId: String(i), changes: { i, note: 'x'.repeat(64) } }),
          );
          latencies.push(Number(process.hrtime.bigint() - t0) / 1e6);
        }
      }),
    );
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    latencies.sort((a, b) => a - b);
    const verifyStart = process.hrtime.bigint();
    const verified = await verifyAuditChain(ds.manager);
    const verifySeconds = Number(process.hrtime.bigint() - verifyStart) / 1e9;
    console.log(`appended ${ENTRIES} entries with ${CONCURRENCY} concurrent writers in ${seconds.toFixed(2)} s; chain ok=${verified.ok}`);
    console.log(`RESULT audit_appends_per_s ${(ENTRIES / seconds).toFixed(0)}`);
    console.log(`RESULT audit_append_p50_ms ${latencies[Math.floor(latencies.length * 0.5)].toFixed(2)}`);
    console.log(`RESULT audit_append_p99_ms ${latencies[Math.floor(latencies.length * 0.99)].toFixed(2)}`);
    console.log(`RESULT audit_verify_entries_per_s ${(verified.checked / verifySeconds).toFixed(0)}`);
    if (!verified.ok) process.exitCode = 1;
  } finally {
    await ds.destroy();
    await pg?.stop();
    if (folder) rmSync(folder, { recursive: true, force: true });
  }
}

void main();
