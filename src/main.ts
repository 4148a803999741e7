import 'reflect-metadata';
import { ConfigError, loadConfig } from './config/app-config';
import { createApp } from './app.setup';
import { DatabaseServer, openDatabaseServer } from './database/database-server';
import { runMigrations } from './database/migrate';

const say = (message: string) => process.stdout.write(`${JSON.stringify({ level: 30, time: Date.now(), msg: message })}\n`);

async function main() {
  let config;
  try {
    config = loadConfig();
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`${error.message}\n`);
      process.exit(78); // EX_CONFIG
    }
    throw error;
  }

  let db: DatabaseServer;
  try {
    db = await openDatabaseServer(config, say);
  } catch (error) {
    process.stderr.write(`cannot start the database: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  }
  let app: Awaited<ReturnType<typeof createApp>> | undefined;
  let stoppingSince = 0;
  // We own the shutdown order: stop taking requests, close the app, then stop the database.
  const shutdown = async (signal: string) => {
    if (stoppingSince) {
      // npm forwards the terminal's Ctrl-C a second time, milliseconds later: only a deliberate
      // second signal, after a grace period, cuts the shutdown short.
      if (Date.now() - stoppingSince < 2000) return;
      say(`${signal} again: exiting now`);
      process.exit(130);
    }
    stoppingSince = Date.now();
    say(`${signal}: shutting down`);
    await app?.close().catch(() => undefined);
    await db.stop().catch((e: Error) => say(`database stop failed: ${e.message}`));
    process.exit(0);
  };
  process.on('SIGINT', () => void shutdown('SIGINT'));
  process.on('SIGTERM', () => void shutdown('SIGTERM'));

  try {
    if (config.runMigrations) await runMigrations(db.url, say);
    app = await createApp(config, db.url);
    await app.listen(config.port, config.host);
    say(`Custodian listening on http://${config.host === '0.0.0.0' ? 'localhost' : config.host}:${config.port} (API under /api/v1, docs at /docs)`);
  } catch (error) {
    process.stderr.write(`boot failed: ${error instanceof Error ? error.message : String(error)}\n`);
    await app?.close().catch(() => undefined);
    await db.stop().catch(() => undefined);
    process.exit(1);
  }
}

void main();
