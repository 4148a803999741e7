import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';
import { EmbeddedPostgres } from '../../src/database/embedded-postgres';
import { runMigrations } from '../../src/database/migrate';
import { TEMPLATE_DB } from './database';

declare global {
  // eslint-disable-next-line no-var
  var __EMBEDDED_PG__: { pg: EmbeddedPostgres; folder: string } | undefined;
}

/**
 * One real PostgreSQL for the whole run: DATABASE_URL when given, otherwise an embedded server
 * in a temporary folder. Migrations are applied once to a template database; every test file
 * then clones its own database from it (fast, and files never see each other's rows).
 */
export default async function globalSetup(): Promise<void> {
  let serverUrl = process.env.DATABASE_URL;
  if (!serverUrl) {
    const folder = mkdtempSync(join(tmpdir(), 'custodian-test-'));
    const pg = new EmbeddedPostgres({ dataDir: join(folder, 'pg'), password: 'test-password' });
    serverUrl = await pg.start();
    globalThis.__EMBEDDED_PG__ = { pg, folder };
  }
  const admin = new Client({ connectionString: serverUrl });
  await admin.connect();
  await admin.query(`DROP DATABASE IF EXISTS ${TEMPLATE_DB} WITH (FORCE)`);
  await admin.query(`CREATE DATABASE ${TEMPLATE_DB}`);
  await admin.end();
  const url = new URL(serverUrl);
  url.pathname = `/${TEMPLATE_DB}`;
  await runMigrations(url.toString(), () => undefined);
  process.env.TEST_PG_SERVER_URL = serverUrl;
}
