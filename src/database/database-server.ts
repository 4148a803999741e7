import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
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
  const pg = new EmbeddedPostgres({ dataDir: join(config.dataDir, 'pg'), password: embeddedPassword(config.dataDir), log });
  let url: string;
  try {
    url = await pg.start();
  } catch (error) {
    release();
    throw error;
  }
  writeFileSync(ownerFile, JSON.stringify({ pid: process.pid, url } satisfies Owner), { mode: 0o600 });
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
 * moment cannot both take the other's new server for an orphan. Exclusive creation decides who
 * wins; a claim left by a dead process is taken over. Returns the live owner when there is one.
 */
function claim(file: string): Owner | undefined {
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      writeFileSync(file, JSON.stringify({ pid: process.pid, url: null }), { flag: 'wx', mode: 0o600 });
      return undefined;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    const owner = readOwner(file);
    if (owner && isAlive(owner.pid)) return owner;
    rmSync(file, { force: true });
  }
  throw new Error(`could not claim ${file}; another process keeps taking it`);
}

interface Owner {
  pid: number;
  url: string | null;
}

function readOwner(file: string): Owner | undefined {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as Owner;
  } catch {
    return undefined;
  }
}

/** A live Node process with that pid; a pid reused by something else after a crash does not count. */
function isAlive(pid: number): boolean {
  if (pid === process.pid) return false;
  try {
    process.kill(pid, 0);
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('node');
  } catch {
    return false;
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
