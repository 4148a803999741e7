import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { ConfigError, loadConfig } from './app-config';

const JWT_SECRET = 'a-jwt-secret-that-is-long-enough-0123456789';
const MASTER_KEY = Buffer.alloc(32, 9).toString('base64');
const BLIND_INDEX_KEY = Buffer.alloc(32, 10).toString('base64');
const SIGNING_KEY = Buffer.alloc(32, 11).toString('base64');
const KEYS = { JWT_SECRET, MASTER_KEY, BLIND_INDEX_KEY, SIGNING_KEY };

function configError(env: NodeJS.ProcessEnv): ConfigError {
  try {
    loadConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error('expected loadConfig to throw a ConfigError');
}

describe('loadConfig', () => {
  let dataDir: string;
  beforeEach(() => (dataDir = mkdtempSync(join(tmpdir(), 'custodian-config-'))));
  afterEach(() => rmSync(dataDir, { recursive: true, force: true }));

  describe('refuses bad values', () => {
    it('names every bad variable at once, and only those', () => {
      const error = configError({
        DATA_DIR: dataDir,
        PORT: 'abc',
        JWT_SECRET: 'short',
        MASTER_KEY: 'not-base64',
        NODE_ENV: 'staging',
        LOG_LEVEL: 'loud',
        HOST: '127.0.0.1',
      });

      for (const name of ['PORT', 'JWT_SECRET', 'MASTER_KEY', 'NODE_ENV', 'LOG_LEVEL']) {
        expect(error.message).toContain(name);
        expect(error.problems.some((p) => p.startsWith(name))).toBe(true);
      }
      expect(error.message).not.toMatch(/HOST|DATA_DIR/);
      // Nothing is generated for a configuration that is refused.
      expect(existsSync(join(dataDir, 'secrets.json'))).toBe(false);
    });

    it.each([
      ['PORT', '80abc'],
      ['PORT', '3.5'],
      ['PORT', '70000'],
      ['DATABASE_URL', 'mysql://localhost/db'],
      ['DATABASE_POOL_SIZE', '0'],
      ['PURGE_RECLAIM_DUTY_PERCENT', '0'],
      ['PURGE_RECLAIM_DUTY_PERCENT', '101'],
      ['JWT_TTL_SECONDS', '10'],
      ['MASTER_KEY', Buffer.alloc(16, 1).toString('base64')],
      ['ADMIN_EMAIL', 'not-an-email'],
      ['ADMIN_PASSWORD', 'too-short'],
      ['BODY_LIMIT', 'huge'],
      ['MIGRATIONS_RUN', 'maybe'],
      ['MASTER_KEY_PREVIOUS', `${MASTER_KEY},short`],
      ['BLIND_INDEX_KEY', 'c2hvcnQ='],
      ['SIGNING_KEY', Buffer.alloc(31, 1).toString('base64')],
      ['RETENTION_MIN_DAYS', '-1'],
      ['PURGE_SCHEDULE', 'every five minutes'],
      ['PURGE_LAG_TARGET_SECONDS', '0'],
      ['INGEST_BODY_LIMIT', 'lots'],
      ['METRICS_TOKEN', 'short'],
    ])('%s=%s', (name, value) => {
      const error = configError({ DATA_DIR: dataDir, JWT_SECRET, MASTER_KEY, [name]: value });
      expect(error.problems).toHaveLength(error.problems.filter((p) => p.startsWith(name)).length);
      expect(error.problems.length).toBeGreaterThan(0);
    });

    it('in production requires DATABASE_URL, JWT_SECRET and the three keys, naming each', () => {
      const error = configError({ NODE_ENV: 'production', DATA_DIR: dataDir });
      for (const name of ['DATABASE_URL', 'JWT_SECRET', 'MASTER_KEY', 'BLIND_INDEX_KEY', 'SIGNING_KEY']) expect(error.message).toContain(name);
      expect(error.problems).toHaveLength(5);
      expect(existsSync(join(dataDir, 'secrets.json'))).toBe(false);
    });

    it('in production treats an empty value as missing and still reports other bad values', () => {
      const error = configError({ NODE_ENV: 'production', DATA_DIR: dataDir, DATABASE_URL: 'postgres://u:p@db/x', JWT_SECRET: '', PORT: 'x' });
      expect(error.message).toContain('JWT_SECRET');
      expect(error.message).toContain('MASTER_KEY');
      expect(error.message).toContain('PORT');
      expect(error.message).not.toContain('DATABASE_URL');
    });
  });

  describe('accepts good values', () => {
    it('parses them into the right types', () => {
      const config = loadConfig({
        NODE_ENV: 'production',
        PORT: '8080',
        HOST: '127.0.0.1',
        DATABASE_URL: 'postgresql://app:secret@db.internal:5432/custodian',
        DATABASE_POOL_SIZE: '25',
        DATA_DIR: dataDir,
        ...KEYS,
        JWT_TTL_SECONDS: '600',
        MASTER_KEY_PREVIOUS: `${BLIND_INDEX_KEY},${SIGNING_KEY}`,
        RETENTION_MIN_DAYS: '2',
        PURGE_SCHEDULE: '*/5 * * * *',
        ADMIN_EMAIL: 'root@example.test',
        ADMIN_PASSWORD: 'a long admin password',
        LOGIN_MAX_FAILURES_PER_ACCOUNT: '3',
        BODY_LIMIT: '10mb',
        LOG_LEVEL: 'warn',
        TRUST_PROXY_HOPS: '1',
        MIGRATIONS_RUN: 'false',
      });

      expect(config).toMatchObject({
        nodeEnv: 'production',
        port: 8080,
        host: '127.0.0.1',
        databaseUrl: 'postgresql://app:secret@db.internal:5432/custodian',
        databasePoolSize: 25,
        dataDir,
        jwtSecret: JWT_SECRET,
        jwtTtlSeconds: 600,
        admin: { email: 'root@example.test', password: 'a long admin password' },
        login: { maxFailuresPerAccount: 3, maxFailuresPerAddress: 20, windowSeconds: 900 },
        bodyLimit: '10mb',
        logLevel: 'warn',
        trustProxyHops: 1,
        runMigrations: false,
        retention: { minDays: 2, purgeSchedule: '*/5 * * * *', lagTargetSeconds: 600 },
      });
      expect(config.masterKey).toEqual(Buffer.alloc(32, 9));
      expect(config.previousMasterKeys).toEqual([Buffer.alloc(32, 10), Buffer.alloc(32, 11)]);
      expect(config.blindIndexKey).toEqual(Buffer.alloc(32, 10));
      expect(config.signingKey).toEqual(Buffer.alloc(32, 11));
      // Production never writes generated secrets.
      expect(existsSync(join(dataDir, 'secrets.json'))).toBe(false);
    });

    it('fills in the defaults', () => {
      const config = loadConfig(KEYS);
      expect(config).toMatchObject({
        nodeEnv: 'development',
        port: 3000,
        host: '0.0.0.0',
        databaseUrl: undefined,
        databasePoolSize: 20,
        dataDir: resolve('./var'),
        jwtTtlSeconds: 900,
        admin: { email: 'admin@custodian.local', password: undefined },
        login: { maxFailuresPerAccount: 5, maxFailuresPerAddress: 20, windowSeconds: 900 },
        bodyLimit: '1mb',
        logLevel: 'info',
        trustProxyHops: 0,
        runMigrations: true,
        previousMasterKeys: [],
        retention: { minDays: 1, purgeSchedule: '*/2 * * * *', lagTargetSeconds: 600 },
        ingestBodyLimit: '10mb',
        metricsToken: undefined,
      });
    });
  });

  describe('development secrets', () => {
    it('are generated once into DATA_DIR/secrets.json (mode 0600) and reused by the next load', () => {
      const first = loadConfig({ NODE_ENV: 'development', DATA_DIR: dataDir });
      const file = join(dataDir, 'secrets.json');

      expect(existsSync(file)).toBe(true);
      expect(statSync(file).mode & 0o777).toBe(0o600);
      expect(first.jwtSecret.length).toBeGreaterThanOrEqual(32);
      expect(first.masterKey).toHaveLength(32);
      const stored = readFileSync(file, 'utf8');

      const second = loadConfig({ NODE_ENV: 'development', DATA_DIR: dataDir });
      expect(second.jwtSecret).toBe(first.jwtSecret);
      expect(second.masterKey.equals(first.masterKey)).toBe(true);
      expect(readFileSync(file, 'utf8')).toBe(stored);
    });

    it('gain the newer keys when an older secrets.json lacks them, keeping the rest', () => {
      const file = join(dataDir, 'secrets.json');
      writeFileSync(file, JSON.stringify({ jwtSecret: JWT_SECRET, masterKey: MASTER_KEY }));
      const config = loadConfig({ DATA_DIR: dataDir });
      expect(config.jwtSecret).toBe(JWT_SECRET);
      expect(config.masterKey).toEqual(Buffer.alloc(32, 9));
      expect(config.blindIndexKey).toHaveLength(32);
      expect(config.signingKey).toHaveLength(32);
      const again = loadConfig({ DATA_DIR: dataDir });
      expect(again.blindIndexKey.equals(config.blindIndexKey)).toBe(true);
      expect(again.signingKey.equals(config.signingKey)).toBe(true);
    });

    it('differ between data folders', () => {
      const other = mkdtempSync(join(tmpdir(), 'custodian-config-'));
      try {
        const a = loadConfig({ DATA_DIR: dataDir });
        const b = loadConfig({ DATA_DIR: other });
        expect(a.jwtSecret).not.toBe(b.jwtSecret);
        expect(a.masterKey.equals(b.masterKey)).toBe(false);
      } finally {
        rmSync(other, { recursive: true, force: true });
      }
    });

    it('never override a secret that is given', () => {
      const config = loadConfig({ DATA_DIR: dataDir, JWT_SECRET });
      expect(config.jwtSecret).toBe(JWT_SECRET);
      expect(config.masterKey).toHaveLength(32);
      expect(loadConfig({ DATA_DIR: dataDir, JWT_SECRET }).masterKey.equals(config.masterKey)).toBe(true);
    });
  });
});
