import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { plainToInstance, Transform } from 'class-transformer';
import { validate as cronValid } from 'node-cron';
import {
  IsBase64,
  IsEmail,
  IsIn,
  IsInt,
  IsOptional,
  IsString,
  Matches,
  Max,
  MaxLength,
  Min,
  MinLength,
  validateSync,
  ValidationError,
} from 'class-validator';

const toInt = ({ value }: { value: unknown }) =>
  typeof value === 'string' && /^-?\d+$/.test(value.trim()) ? Number(value) : value;
const toBool = ({ value }: { value: unknown }) =>
  value === 'true' || value === '1' ? true : value === 'false' || value === '0' ? false : value;

/**
 * Every environment variable the service reads. Validated once at boot; a bad value stops
 * the boot with every offending variable named. Defaults live here and nowhere else.
 */
export class EnvironmentVariables {
  @IsIn(['development', 'production', 'test'])
  NODE_ENV: 'development' | 'production' | 'test' = 'development';

  @Transform(toInt)
  @IsInt()
  @Min(0)
  @Max(65535)
  PORT = 3000;

  @IsString()
  HOST = '0.0.0.0';

  @IsOptional()
  @Matches(/^postgres(ql)?:\/\/\S+$/, { message: 'DATABASE_URL must be a postgres:// URL' })
  DATABASE_URL?: string;

  @Transform(toInt)
  @IsInt()
  @Min(1)
  @Max(200)
  DATABASE_POOL_SIZE = 20;

  /** Where the embedded PostgreSQL, generated development secrets and local mail live. */
  @IsString()
  DATA_DIR = './var';

  @IsOptional()
  @IsString()
  @MinLength(32, { message: 'JWT_SECRET must be at least 32 characters' })
  JWT_SECRET?: string;

  @Transform(toInt)
  @IsInt()
  @Min(60)
  @Max(86400)
  JWT_TTL_SECONDS = 900;

  /** 32 random bytes, base64: wraps every data key of the message store. */
  @IsOptional()
  @IsBase64()
  @Matches(/^[A-Za-z0-9+/]{43}=$/, { message: 'MASTER_KEY must be 32 bytes, base64-encoded' })
  MASTER_KEY?: string;

  /**
   * Earlier master keys, comma-separated base64, kept while `keys:rotate` re-wraps the data keys
   * they wrapped; remove them once it reports nothing left.
   */
  @IsOptional()
  @Matches(/^[A-Za-z0-9+/]{43}=(,[A-Za-z0-9+/]{43}=)*$/, { message: 'MASTER_KEY_PREVIOUS must be comma-separated 32-byte base64 keys' })
  MASTER_KEY_PREVIOUS?: string;

  /** 32 random bytes, base64: the HMAC key of the phone-number blind index. Never rotate it: lookups depend on it. */
  @IsOptional()
  @Matches(/^[A-Za-z0-9+/]{43}=$/, { message: 'BLIND_INDEX_KEY must be 32 bytes, base64-encoded' })
  BLIND_INDEX_KEY?: string;

  /** 32 random bytes, base64: the Ed25519 seed that signs deletion certificates. */
  @IsOptional()
  @Matches(/^[A-Za-z0-9+/]{43}=$/, { message: 'SIGNING_KEY must be 32 bytes, base64-encoded (an Ed25519 seed)' })
  SIGNING_KEY?: string;

  /** The shortest retention any policy may have, in days (operations need e.g. delivery reconciliation). */
  @Transform(toInt)
  @IsInt()
  @Min(0)
  @Max(3650)
  RETENTION_MIN_DAYS = 1;

  /** When the purge runs (node-cron, UTC). */
  @IsString()
  PURGE_SCHEDULE = '*/2 * * * *';

  /** Purge lag above this is reported as missing its target (status and metrics). */
  @Transform(toInt)
  @IsInt()
  @Min(1)
  PURGE_LAG_TARGET_SECONDS = 600;

  /** Rows per transaction when the purge re-encrypts held values, clears destroyed ciphertext and deletes expired messages. */
  @Transform(toInt)
  @IsInt()
  @Min(1)
  @Max(100000)
  PURGE_BATCH_SIZE = 5000;

  /**
   * How long one purge run may spend reclaiming storage and deleting expired messages before it
   * leaves the rest to the next run, so newly expired keys never wait behind a long backlog.
   * Destroying keys and certifying are never cut short.
   */
  @Transform(toInt)
  @IsInt()
  @Min(1)
  PURGE_TIME_BUDGET_SECONDS = 90;

  /**
   * The share of the time (percent) the purge's storage work — clearing destroyed ciphertext and
   * deleting expired messages — may keep the database busy: after each transaction it pauses for
   * the rest, so reads and ingestion keep their latency while it runs. 100 never pauses.
   * Destroying keys never pauses.
   */
  @Transform(toInt)
  @IsInt()
  @Min(1)
  @Max(100)
  PURGE_RECLAIM_DUTY_PERCENT = 50;

  /** Body limit of POST /api/v1/messages/batch only (everything else keeps BODY_LIMIT). */
  @Matches(/^\d+(b|kb|mb)$/i, { message: 'INGEST_BODY_LIMIT must look like 10mb' })
  INGEST_BODY_LIMIT = '10mb';

  /** When set, GET /metrics needs "Authorization: Bearer <METRICS_TOKEN>". */
  @IsOptional()
  @IsString()
  @MinLength(16, { message: 'METRICS_TOKEN must be at least 16 characters' })
  METRICS_TOKEN?: string;

  @IsEmail({ require_tld: false })
  ADMIN_EMAIL = 'admin@custodian.local';

  @IsOptional()
  @IsString()
  @MinLength(12, { message: 'ADMIN_PASSWORD must be at least 12 characters' })
  @MaxLength(256)
  ADMIN_PASSWORD?: string;

  @Transform(toInt)
  @IsInt()
  @Min(1)
  LOGIN_MAX_FAILURES_PER_ACCOUNT = 5;

  @Transform(toInt)
  @IsInt()
  @Min(1)
  LOGIN_MAX_FAILURES_PER_ADDRESS = 20;

  @Transform(toInt)
  @IsInt()
  @Min(1)
  LOGIN_THROTTLE_WINDOW_SECONDS = 900;

  @Matches(/^\d+(b|kb|mb)$/i, { message: 'BODY_LIMIT must look like 100kb or 10mb' })
  BODY_LIMIT = '1mb';

  @IsIn(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'])
  LOG_LEVEL = 'info';

  /** Express "trust proxy": how many proxies in front of us may set X-Forwarded-For. */
  @Transform(toInt)
  @IsInt()
  @Min(0)
  TRUST_PROXY_HOPS = 0;

  @Transform(toBool)
  @IsIn([true, false])
  MIGRATIONS_RUN = true;

  /** How people reach this service: the base of links in mail (object, confirm, unsubscribe). */
  @IsOptional()
  @Matches(/^https?:\/\/[^\s/]+(:\d+)?(\/[^\s]*)?$/, { message: 'PUBLIC_BASE_URL must be an http(s) URL' })
  PUBLIC_BASE_URL?: string;

  /** smtp://user:pass@host:port or smtps://…; without it mail is written as .eml files to DATA_DIR/mail. */
  @IsOptional()
  @Matches(/^smtps?:\/\/\S+$/, { message: 'SMTP_URL must be an smtp:// or smtps:// URL' })
  SMTP_URL?: string;

  @IsEmail({ require_tld: false })
  MAIL_FROM = 'custodian@localhost';

  /** Scheduled jobs (change notices taking effect, reminders) run in this instance. */
  @Transform(toBool)
  @IsIn([true, false])
  JOBS_ENABLED = true;

  /** The general description of security measures in the records of processing (Art. 30(2)(d)). */
  @IsString()
  @MaxLength(4000)
  SECURITY_MEASURES = 'Message phone numbers and bodies encrypted at rest (AES-256-GCM, per-customer daily keys under a master key); TLS in transit; role-based least-privilege access with audited PII reads; hash-chained audit log; automated retention and crypto-shredding purge.';

  /**
   * The contact point breach notifications name (Art. 33(3)(b)): the provider's DPO or whoever
   * answers customers' questions about a breach. Without it, drafts name MAIL_FROM.
   */
  @IsOptional()
  @IsString()
  @MinLength(3)
  @MaxLength(500)
  DPO_CONTACT?: string;

  /** How long the one-click acknowledgement link in a breach notification works (each reminder carries a fresh one). */
  @Transform(toInt)
  @IsInt()
  @Min(1)
  @Max(24 * 90)
  BREACH_ACK_LINK_TTL_HOURS = 168;

  /** A sent breach notification not yet acknowledged is reminded every this many hours… */
  @Transform(toInt)
  @IsInt()
  @Min(1)
  @Max(24 * 30)
  BREACH_ACK_REMINDER_HOURS = 24;

  /** …at most this many times. */
  @Transform(toInt)
  @IsInt()
  @Min(0)
  @Max(20)
  BREACH_ACK_MAX_REMINDERS = 3;
}

export interface AppConfig {
  nodeEnv: EnvironmentVariables['NODE_ENV'];
  port: number;
  host: string;
  dataDir: string;
  databaseUrl?: string;
  databasePoolSize: number;
  jwtSecret: string;
  jwtTtlSeconds: number;
  masterKey: Buffer;
  previousMasterKeys: Buffer[];
  blindIndexKey: Buffer;
  signingKey: Buffer;
  retention: { minDays: number; purgeSchedule: string; lagTargetSeconds: number; purgeBatchSize: number; purgeTimeBudgetSeconds: number; reclaimDutyPercent: number };
  ingestBodyLimit: string;
  metricsToken?: string;
  admin: { email: string; password?: string };
  login: { maxFailuresPerAccount: number; maxFailuresPerAddress: number; windowSeconds: number };
  bodyLimit: string;
  logLevel: string;
  trustProxyHops: number;
  runMigrations: boolean;
  publicBaseUrl: string;
  smtpUrl?: string;
  mailFrom: string;
  jobsEnabled: boolean;
  securityMeasures: string;
  breach: { dpoContact: string; ackLinkTtlHours: number; ackReminderHours: number; ackMaxReminders: number };
}

/** Injection token for the validated configuration. */
export const APP_CONFIG = Symbol('APP_CONFIG');

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
  }
}

function describe(errors: ValidationError[]): string[] {
  return errors.flatMap((e) =>
    Object.values(e.constraints ?? {}).map((message) =>
      message.startsWith(e.property) ? message : `${e.property}: ${message}`,
    ),
  );
}

interface DevSecrets {
  jwtSecret: string;
  masterKey: string;
  blindIndexKey: string;
  signingKey: string;
}

const isKey = (value: unknown) => typeof value === 'string' && Buffer.from(value, 'base64').length === 32;

/**
 * Development convenience: secrets are generated once and kept in DATA_DIR (never in the
 * repository), so tokens and encrypted data survive a restart.
 */
function devSecrets(dataDir: string): DevSecrets {
  const file = join(dataDir, 'secrets.json');
  if (existsSync(file)) {
    let secrets: Partial<DevSecrets> | undefined;
    try {
      secrets = JSON.parse(readFileSync(file, 'utf8')) as Partial<DevSecrets>;
    } catch {
      secrets = undefined;
    }
    const valid = typeof secrets?.jwtSecret === 'string' && secrets.jwtSecret.length >= 32 && isKey(secrets.masterKey) &&
      [secrets.blindIndexKey, secrets.signingKey].every((k) => k === undefined || isKey(k));
    if (!valid) {
      throw new ConfigError([`${file} does not hold a jwtSecret (32+ characters) and 32-byte base64 keys; restore it, or delete it to generate new development secrets (tokens and data encrypted under the old ones become unreadable)`]);
    }
    // Data folders from before the message store lack the newer keys: add them, keep the rest.
    if (secrets!.blindIndexKey && secrets!.signingKey) return secrets as DevSecrets;
    const completed = { ...secrets, blindIndexKey: secrets!.blindIndexKey ?? randomKey(), signingKey: secrets!.signingKey ?? randomKey() } as DevSecrets;
    writeFileSync(file, JSON.stringify(completed, null, 2), { mode: 0o600 });
    return completed;
  }
  mkdirSync(dataDir, { recursive: true });
  const secrets: DevSecrets = {
    jwtSecret: randomBytes(48).toString('base64url'),
    masterKey: randomKey(),
    blindIndexKey: randomKey(),
    signingKey: randomKey(),
  };
  writeFileSync(file, JSON.stringify(secrets, null, 2), { mode: 0o600 });
  return secrets;
}

const randomKey = () => randomBytes(32).toString('base64');

export function loadConfig(env: NodeJS.ProcessEnv = process.env): AppConfig {
  const present = Object.fromEntries(
    Object.keys(new EnvironmentVariables())
      .concat(['DATABASE_URL', 'JWT_SECRET', 'MASTER_KEY', 'MASTER_KEY_PREVIOUS', 'BLIND_INDEX_KEY', 'SIGNING_KEY', 'METRICS_TOKEN', 'ADMIN_PASSWORD', 'PUBLIC_BASE_URL', 'SMTP_URL'])
      .filter((key) => env[key] !== undefined && env[key] !== '')
      .map((key) => [key, env[key]]),
  );
  const vars = plainToInstance(EnvironmentVariables, present);
  const problems = describe(validateSync(vars, { forbidUnknownValues: true }));

  if (vars.NODE_ENV === 'production') {
    for (const key of ['DATABASE_URL', 'JWT_SECRET', 'MASTER_KEY', 'BLIND_INDEX_KEY', 'SIGNING_KEY'] as const) {
      if (!vars[key]) problems.push(`${key} is required when NODE_ENV=production`);
    }
  }
  if (!cronValid(vars.PURGE_SCHEDULE)) problems.push('PURGE_SCHEDULE must be a cron expression, e.g. */2 * * * *');
  if (problems.length > 0) throw new ConfigError(problems);

  const dataDir = resolve(vars.DATA_DIR);
  const generated = vars.JWT_SECRET && vars.MASTER_KEY && vars.BLIND_INDEX_KEY && vars.SIGNING_KEY ? undefined : devSecrets(dataDir);
  return {
    nodeEnv: vars.NODE_ENV,
    port: vars.PORT,
    host: vars.HOST,
    dataDir,
    databaseUrl: vars.DATABASE_URL,
    databasePoolSize: vars.DATABASE_POOL_SIZE,
    jwtSecret: vars.JWT_SECRET ?? generated!.jwtSecret,
    jwtTtlSeconds: vars.JWT_TTL_SECONDS,
    masterKey: Buffer.from(vars.MASTER_KEY ?? generated!.masterKey, 'base64'),
    previousMasterKeys: (vars.MASTER_KEY_PREVIOUS ?? '').split(',').filter(Boolean).map((k) => Buffer.from(k, 'base64')),
    blindIndexKey: Buffer.from(vars.BLIND_INDEX_KEY ?? generated!.blindIndexKey, 'base64'),
    signingKey: Buffer.from(vars.SIGNING_KEY ?? generated!.signingKey, 'base64'),
    retention: { minDays: vars.RETENTION_MIN_DAYS, purgeSchedule: vars.PURGE_SCHEDULE, lagTargetSeconds: vars.PURGE_LAG_TARGET_SECONDS, purgeBatchSize: vars.PURGE_BATCH_SIZE, purgeTimeBudgetSeconds: vars.PURGE_TIME_BUDGET_SECONDS, reclaimDutyPercent: vars.PURGE_RECLAIM_DUTY_PERCENT },
    ingestBodyLimit: vars.INGEST_BODY_LIMIT,
    metricsToken: vars.METRICS_TOKEN,
    admin: { email: vars.ADMIN_EMAIL, password: vars.ADMIN_PASSWORD },
    login: {
      maxFailuresPerAccount: vars.LOGIN_MAX_FAILURES_PER_ACCOUNT,
      maxFailuresPerAddress: vars.LOGIN_MAX_FAILURES_PER_ADDRESS,
      windowSeconds: vars.LOGIN_THROTTLE_WINDOW_SECONDS,
    },
    bodyLimit: vars.BODY_LIMIT,
    logLevel: vars.LOG_LEVEL,
    trustProxyHops: vars.TRUST_PROXY_HOPS,
    runMigrations: vars.MIGRATIONS_RUN,
    publicBaseUrl: (vars.PUBLIC_BASE_URL ?? `http://localhost:${vars.PORT}`).replace(/\/$/, ''),
    smtpUrl: vars.SMTP_URL,
    mailFrom: vars.MAIL_FROM,
    jobsEnabled: vars.JOBS_ENABLED,
    securityMeasures: vars.SECURITY_MEASURES,
    breach: {
      dpoContact: vars.DPO_CONTACT ?? `Data Protection Officer, ${vars.MAIL_FROM}`,
      ackLinkTtlHours: vars.BREACH_ACK_LINK_TTL_HOURS, ackReminderHours: vars.BREACH_ACK_REMINDER_HOURS, ackMaxReminders: vars.BREACH_ACK_MAX_REMINDERS,
    },
  };
}
