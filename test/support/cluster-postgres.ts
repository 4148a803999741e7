import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { arch, platform, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { Client } from 'pg';
import type { TestDatabase } from './database';
import { killPostgres } from './processes';

const EMBEDDED_JS = resolve(__dirname, '..', '..', 'dist', 'src', 'database', 'embedded-postgres.js');

/**
 * A PostgreSQL server of the test's own (the embedded binaries, in a temporary folder) that the
 * test may stop and start again on the same port, as an operator restarting the database would.
 * The suite's shared server is never touched: other test files use it at the same time.
 */
export interface OwnPostgres {
  /** Superuser URL of the `postgres` database. */
  url: string;
  /**
   * A new, empty database on this server (the service applies the migrations as it boots).
   * Each superuser() call has its own connection, so a restart of the server breaks none.
   */
  createDatabase(name: string): Promise<TestDatabase>;
  /** pg_ctl stop -m fast: sessions are terminated, new connections refused. */
  stop(): Promise<void>;
  /** Starts it again on the same port. */
  start(): Promise<void>;
  /** Stops it for good and removes its folder. */
  destroy(): Promise<void>;
}

export async function startOwnPostgres(): Promise<OwnPostgres> {
  const folder = mkdtempSync(join(tmpdir(), 'custodian-own-pg-'));
  const dataDir = join(folder, 'pg');
  let url: string;
  try {
    url = await firstStart(dataDir, 'own-test-password');
  } catch (error) {
    await killPostgres(dataDir);
    rmSync(folder, { recursive: true, force: true });
    throw error;
  }
  const port = new URL(url).port;
  const pgCtlPath = join(dirname(require.resolve(`@embedded-postgres/${platform()}-${arch()}`)), '..', 'native', 'bin', 'pg_ctl');
  // As root, EmbeddedPostgres runs the server as the `postgres` user, who owns the data folder.
  const owner = statSync(dataDir);
  const pgCtl = (args: string[]) => new Promise<void>((resolve, reject) => {
    const child = spawn(pgCtlPath, args, { uid: owner.uid, gid: owner.gid, stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, LC_ALL: 'C' } });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`pg_ctl ${args[0]} exited with ${code}: ${stderr.trim()}`))));
  });
  return {
    url,
    createDatabase: async (name) => {
      await query(url, `CREATE DATABASE ${name}`);
      const u = new URL(url);
      u.pathname = `/${name}`;
      const dbUrl = u.toString();
      return { url: dbUrl, superuser: <T>(sql: string, params?: unknown[]) => query<T>(dbUrl, sql, params), drop: async () => undefined };
    },
    stop: () => pgCtl(['stop', '--wait', '--mode=fast', '--silent', `--pgdata=${dataDir}`]),
    start: () => pgCtl([
      'start', '--wait', '--timeout=60', '--silent', `--pgdata=${dataDir}`, `--log=${join(dataDir, 'server.log')}`,
      `--options=-p ${port} -c listen_addresses=127.0.0.1 -c unix_socket_directories=`,
    ]),
    destroy: async () => {
      await pgCtl(['stop', '--wait', '--mode=immediate', '--silent', `--pgdata=${dataDir}`]).catch(() => killPostgres(dataDir));
      rmSync(folder, { recursive: true, force: true });
    },
  };
}

async function query<T = Record<string, unknown>>(url: string, sql: string, params?: unknown[]): Promise<T[]> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query(sql, params)).rows as T[];
  } finally {
    await client.end();
  }
}

/**
 * initdb and the first start, by the service's own EmbeddedPostgres (compiled), in a child
 * process: it loads the binaries' package with a dynamic import, which jest's module sandbox
 * does not allow. The server outlives the child (pg_ctl puts it in a session of its own).
 */
function firstStart(dataDir: string, password: string): Promise<string> {
  const script = `const { EmbeddedPostgres } = require(${JSON.stringify(EMBEDDED_JS)});
    new EmbeddedPostgres({ dataDir: process.argv[1], password: process.argv[2] }).start()
      .then((url) => process.stdout.write(url), (error) => { process.stderr.write(String(error?.stack ?? error)); process.exit(1); });`;
  return new Promise((resolve, reject) => {
    execFile(process.execPath, ['-e', script, dataDir, password], { timeout: 90_000 }, (error, stdout, stderr) =>
      error ? reject(new Error(`embedded PostgreSQL did not start: ${error.message}\n${stderr}`)) : resolve(stdout.trim()));
  });
}
