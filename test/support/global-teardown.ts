import { rmSync } from 'node:fs';
import { Client } from 'pg';
import { TEMPLATE_DB } from './database';

export default async function globalTeardown(): Promise<void> {
  const serverUrl = process.env.TEST_PG_SERVER_URL;
  if (serverUrl && process.env.DATABASE_URL) {
    const admin = new Client({ connectionString: serverUrl });
    await admin.connect();
    await admin.query(`DROP DATABASE IF EXISTS ${TEMPLATE_DB} WITH (FORCE)`);
    await admin.end();
  }
  const embedded = globalThis.__EMBEDDED_PG__;
  if (embedded) {
    await embedded.pg.stop();
    rmSync(embedded.folder, { recursive: true, force: true });
  }
}
