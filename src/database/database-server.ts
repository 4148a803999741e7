import { randomBytes } from 'node:crypto';
import { existsSync, linkSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { AppConfig } from '../config/app-config';
import { EmbeddedPostgres } from './embedded-postgres';

export interface DatabaseServer {
  url: string;
  /** Stops the embedded server this process started; a no-op otherwise. */
  stop(): Promise<void>;
}

/**
 * DATABASE_URL when given; otherwise an embedded PostgreSQL in DATA_DIR/pg that keeps its data
 * between runs. The process that starts it records itself in DATA_DIR/embedded.json: a second
 * service on the same folder is refused, while the CLI (`attach`) uses the running server.
 */
export async function openDatabaseServer(config: AppConfig, log: (m: string) => void, mode: 'own' | 'attach' = 'own'): Promise<DatabaseServer> {
  if (config.databaseUrl) return { url: config.databaseUrl, stop: async () => undefined };
  mkdirSync(config.dataDir, { recursive: true });
  const ownerFile = join(config.dataDir, 'embedded.json');
  const owner = claim(ownerFile);
  if (owner) {
    if (mode === 'attach' && owner.url) return { url: owner.url, stop: async () => undefined };
    throw new Error(`another Custodian process (pid ${owner.pid}) is using the embedded database in ${config.dataDir}; stop it first, or set DATABASE_URL`);
  }
  const release = () => rmSync(ownerFile, { force: true });
  // Not on the app's own port: it is free until the app listens, after the database has started.
  const pg = new EmbeddedPostgres({ dataDir: join(config.dataDir, 'pg'), password: embeddedPassword(config.dataDir), log, avoidPorts: [config.port] });
  let url: string;
  try {
    url = await pg.start();
  } catch (error) {
    release();
    throw error;
  }
  writeFileSync(ownerFile, JSON.stringify({ pid: process.pid, started: startTime(process.pid), url } satisfies Owner), { mode: 0o600 });
  return {
    url,
    stop: async () => {
      await pg.stop();
      release();
    },
  };
}

/**
 * Claims the data folder before PostgreSQL is touched, so two processes starting at the same
 * moment cannot both take the other's new server for an orphan. The claim is written to a file
 * of our own and linked into place, so it appears whole or not at all, and only once. A claim
 * left by a dead process is moved aside under a unique name (one taker wins) before we retry.
 * Returns the live owner when there is one.
 */
function claim(file: string): Owner | undefined {
  const mine = `${file}.${process.pid}.${randomBytes(4).toString('hex')}`;
  writeFileSync(mine, JSON.stringify({ pid: process.pid, started: startTime(process.pid), url: null } satisfies Owner), { mode: 0o600 });
  try {
    for (let attempt = 0; attempt < 5; attempt++) {
      try {
        linkSync(mine, file);
        return undefined;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      }
      const owner = readOwner(file);
      if (owner && isAlive(owner)) return owner;
      const aside = `${file}.stale.${randomBytes(4).toString('hex')}`;
      try {
        renameSync(file, aside);
        rmSync(aside, { force: true });
      } catch {
        // another process moved it first; try again
      }
    }
    throw new Error(`could not claim ${file}; another process keeps taking it`);
  } finally {
    rmSync(mine, { force: true });
  }
}

interface Owner {
  pid: number;
  /** The owner's start time (from /proc), so a pid reused by another process is not taken for it. */
  started: string | null;
  url: string | null;
}

function readOwner(file: string): Owner | undefined {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as Owner;
  } catch {
    return undefined;
  }
}

function isAlive(owner: Owner): boolean {
  if (owner.pid === process.pid) return false;
  try {
    process.kill(owner.pid, 0);
  } catch {
    return false;
  }
  return owner.started === null || startTime(owner.pid) === owner.started;
}

/** Field 22 of /proc/<pid>/stat: when the process started, in clock ticks since boot. */
function startTime(pid: number): string | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19] ?? null;
  } catch {
    return null;
  }
}

function embeddedPassword(dataDir: string): string {
  const file = join(dataDir, 'pg-password');
  if (existsSync(file)) return readFileSync(file, 'utf8').trim();
  mkdirSync(dataDir, { recursive: true });
  const password = randomBytes(24).toString('base64url');
  writeFileSync(file, password, { mode: 0o600 });
  return password;
}
