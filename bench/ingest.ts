/**
 * Ingestion throughput (issue 4, "Numbers to reach"): BENCH_MESSAGES records (default 1,000,000)
 * through the real service's POST /api/v1/messages/batch — validation, envelope encryption, blind
 * index, idempotent insert, route checks against the registry, audit — against a raw COPY of
 * equivalent rows into a table of the same shape (columns, indexes, constraints) in the same
 * database, in the same run. Also the service's peak memory (VmHWM).
 *
 *  1. PostgreSQL: embedded in a temporary folder, or DATABASE_URL (a server where we may create and
 *     drop the database custodian_bench_ingest);
 *  2. migrations, then 50 customers with active DPAs, 6 active sub-processors (and one suspended,
 *     which about 1% of routes go through: those hops are recorded as violations);
 *  3. the built service (dist/src/main.js) as a child process, an ingest API key, then every batch
 *     of 10,000 records (generated before the clock starts) sent BENCH_CONCURRENCY (default 2) at a time;
 *  4. COPY … FROM STDIN (pg-copy-streams) of as many rows with random bytes for the ciphertexts and
 *     hashes into `CREATE TABLE … (LIKE messages INCLUDING ALL)` — the baseline of the ratio — and,
 *     for information, of their route hops into a copy of message_hops (ingestion writes both).
 *
 * Prints `RESULT <figure> <number>` lines.
 *
 *   npm run bench:ingest
 *   BENCH_MESSAGES=200000 npm run bench:ingest
 */
import { ChildProcess, spawn } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Client } from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { EmbeddedPostgres, freePort } from '../src/database/embedded-postgres';
import { runMigrations } from '../src/database/migrate';
import { messageId } from '../src/messages/message-id';
import { cpuSeconds, sleep, withDatabase } from './common';

const MESSAGES = Number(process.env.BENCH_MESSAGES ?? 1_000_000);
const BATCH = 10_000;
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 2);
const CUSTOMERS = 50;
const SUBPROCESSORS = 6;
const DB = 'custodian_bench_ingest';
const ADMIN = { email: 'admin@bench.test', password: 'bench admin password 123' };
const SECRETS = {
  JWT_SECRET: 'bench-jwt-secret-that-is-long-enough-0123456789',
  MASTER_KEY: Buffer.alloc(32, 7).toString('base64'),
  BLIND_INDEX_KEY: Buffer.alloc(32, 8).toString('base64'),
  SIGNING_KEY: Buffer.alloc(32, 9).toString('base64'),
};
const BODIES = [
  'Your verification code is 482913. It expires in 10 minutes. Do not share it with anyone.',
  'Hi! Your parcel 7F3K-22 is out for delivery today between 10:00 and 14:00. Track it at https://t.example/p/7F3K22',
  'Reminder: your appointment is tomorrow at 09:30. Reply C to confirm or R to reschedule.',
  'Ihr Bestätigungscode lautet 551207. Geben Sie ihn an niemanden weiter.',
];

const log = (message: string) => console.log(`[${new Date().toISOString().slice(11, 23)}] ${message}`);
const seconds = (t0: bigint) => Number(process.hrtime.bigint() - t0) / 1e9;
const pick = <T>(list: T[]) => list[Math.floor(Math.random() * list.length)];


interface Seeded {
  customers: string[];
  active: string[];
  suspended: string;
}

async function seed(db: Client): Promise<Seeded> {
  const customers: string[] = [];
  for (let i = 0; i < CUSTOMERS; i++) {
    const [{ id }] = (await db.query(
      `INSERT INTO customers (legal_name, country, dpo_contact, breach_notification_emails, destination_countries, data_profile)
       VALUES ($1, 'DE', '{"name":"DPO","email":"dpo@brand.test"}', '{security@brand.test}', '{DE,FR,AT}', '{"messageKinds":["otp"],"specialCategoryData":false}') RETURNING id`,
      [`Bench Brand ${i} GmbH`],
    )).rows as { id: string }[];
    await db.query(
      `INSERT INTO dpas (customer_id, version, status, authorisation, max_retention_days, transfer_mechanisms, data_categories, purposes, activated_at)
       VALUES ($1, 1, 'active', 'general', '{"body":30,"msisdn":90,"delivery_metadata":365}', '{adequacy,scc}', '{body,msisdn,delivery_metadata}', '{otp}', '2025-01-01T00:00:00Z')`,
      [id],
    );
    customers.push(id);
  }
  const sub = async (i: number, status: 'active' | 'suspended') => {
    const [{ id }] = (await db.query(
      `INSERT INTO subprocessors (legal_entity, country, role, services, purpose, data_categories, carries_countries, transfer_mechanism, status, active_since)
       VALUES ($1, 'DE', 'aggregator', '{sms}', 'SMS delivery', '{msisdn,body,delivery_metadata}', '{DE,FR,AT}', 'none', $2, '2025-03-01T00:00:00Z') RETURNING id`,
      [`Bench Carrier ${i} AG`, status],
    )).rows as { id: string }[];
    await db.query(`INSERT INTO subprocessor_status_changes (subprocessor_id, status, at) VALUES ($1, 'active', '2025-03-01T00:00:00Z')`, [id]);
    if (status === 'suspended') await db.query(`INSERT INTO subprocessor_status_changes (subprocessor_id, status, at) VALUES ($1, 'suspended', '2025-06-01T00:00:00Z')`, [id]);
    return id;
  };
  const active: string[] = [];
  for (let i = 0; i < SUBPROCESSORS; i++) active.push(await sub(i, 'active'));
  return { customers, active, suspended: await sub(SUBPROCESSORS, 'suspended') };
}

/** One record's fields, shared by the HTTP batches and the COPY rows. */
interface Fields {
  customerId: string;
  externalId: string;
  msisdn: string;
  body: string;
  route: string[];
  submittedAt: Date;
}

function fields(s: Seeded, i: number, now: number): Fields {
  const hops = 1 + Math.floor(Math.random() * 3);
  const route = Array.from({ length: hops }, () => pick(s.active));
  if (Math.random() < 0.01) route[route.length - 1] = s.suspended;
  return {
    customerId: s.customers[i % CUSTOMERS],
    externalId: `bench-${i}`,
    msisdn: `+4915${String(Math.floor(Math.random() * 1e9)).padStart(9, '0')}`,
    body: pick(BODIES),
    route,
    // The last 24 hours: two UTC days, so two data keys per customer and category.
    submittedAt: new Date(now - Math.floor(Math.random() * 86_400_000)),
  };
}

function batchBody(s: Seeded, from: number, count: number, now: number): Buffer {
  const parts: string[] = [];
  for (let i = from; i < from + count; i++) {
    const f = fields(s, i, now);
    parts.push(JSON.stringify({
      customerId: f.customerId, externalId: f.externalId, direction: 'mt', msisdn: f.msisdn, sender: 'ACME', body: f.body,
      route: f.route, destinationCountry: 'DE', status: 'delivered', submittedAt: f.submittedAt.toISOString(),
    }));
  }
  return Buffer.from(`{"records":[${parts.join(',')}]}`);
}

/**
 * COPY text rows of the messages table with random bytes where the service writes ciphertext and
 * hashes, and the route hops the service writes with them (for the second, informative baseline).
 */
function copyChunk(s: Seeded, from: number, count: number, now: number, pool: Buffer, hopCountry: boolean): { messages: Buffer; hops: Buffer } {
  const hex = (n: number) => {
    const at = Math.floor(Math.random() * (pool.length - n));
    return `\\\\x${pool.toString('hex', at, at + n)}`;
  };
  const keys = s.customers.map(() => [randomUUID(), randomUUID()]);
  const received = new Date(now).toISOString();
  let messages = '';
  let hops = '';
  for (let i = from; i < from + count; i++) {
    const f = fields(s, i, now);
    const [msisdnKey, bodyKey] = keys[i % CUSTOMERS];
    const id = messageId(f.submittedAt);
    const at = f.submittedAt.toISOString();
    const subject = pool.readBigInt64BE(Math.floor(Math.random() * (pool.length - 8)));
    messages += `${id}\t${f.customerId}\t${f.externalId}\tmt\tACME\tDE\tdelivered\t{${f.route.join(',')}}\t${at}\t${received}\t` +
      `${hex(32)}\t${msisdnKey}\t${hex(29 + Buffer.byteLength(f.msisdn))}\t${bodyKey}\t${hex(29 + Buffer.byteLength(f.body))}\n`;
    f.route.forEach((sub, position) => (hops += `${id}\t${position}\t${sub}\t${f.customerId}\t${at}\t${subject}${hopCountry ? '\tDE' : ''}\n`));
  }
  return { messages: Buffer.from(messages), hops: Buffer.from(hops) };
}

interface Service {
  child: ChildProcess;
  port: number;
  output: () => string;
}

async function startService(databaseUrl: string, dataDir: string): Promise<Service> {
  const port = await freePort();
  const env = {
    PATH: process.env.PATH, HOME: process.env.HOME, NODE_ENV: 'test', DATA_DIR: dataDir, PORT: String(port), HOST: '127.0.0.1',
    DATABASE_URL: databaseUrl, ...SECRETS, ADMIN_EMAIL: ADMIN.email, ADMIN_PASSWORD: ADMIN.password,
    LOG_LEVEL: 'warn', JOBS_ENABLED: 'false', JWT_TTL_SECONDS: '7200', MIGRATIONS_RUN: 'false',
  };
  const child = spawn(process.execPath, [...(process.env.BENCH_NODE_OPTIONS ?? '').split(' ').filter(Boolean), join(__dirname, '..', 'src', 'main.js')], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr!.on('data', (c: Buffer) => (out += c.toString()));
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) break;
    if (out.includes(`listening on http://127.0.0.1:${port}`)) {
      const ok = await fetch(`http://127.0.0.1:${port}/health/ready`).then((r) => r.ok, () => false);
      if (ok) return { child, port, output: () => out };
    }
    await sleep(100);
  }
  child.kill('SIGKILL');
  throw new Error(`the service did not start:\n${out.slice(-3000)}`);
}


function peakRssMb(pid: number): { hwm: number; rss: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? 0);
  return { hwm: kb('VmHWM') / 1024, rss: kb('VmRSS') / 1024 };
}

async function main() {
  let serverUrl = process.env.DATABASE_URL;
  const folder = mkdtempSync(join(tmpdir(), 'custodian-bench-ingest-'));
  const pg = serverUrl ? undefined : new EmbeddedPostgres({ dataDir: join(folder, 'pg'), password: 'bench' });
  if (pg) serverUrl = await pg.start();
  const admin = new Client({ connectionString: serverUrl });
  await admin.connect();
  await admin.query(`DROP DATABASE IF EXISTS ${DB} WITH (FORCE)`);
  await admin.query(`CREATE DATABASE ${DB}`);
  const url = withDatabase(serverUrl!, DB);
  let service: Service | undefined;
  const db = new Client({ connectionString: url });
  try {
    await runMigrations(url, () => undefined);
    await db.connect();
    const seeded = await seed(db);
    // Where the work goes: the service's CPU and the database's (the embedded server's processes).
    const postmaster = pg ? Number(readFileSync(join(folder, 'pg', 'postmaster.pid'), 'utf8').split('\n')[0]) : undefined;
    const dbCpu = () => (postmaster ? cpuSeconds(postmaster, true) : NaN);
    service = await startService(url, folder);
    const base = `http://127.0.0.1:${service.port}`;
    const login = (await (await fetch(`${base}/api/v1/auth/login`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(ADMIN) })).json()) as { accessToken: string };
    const created = (await (await fetch(`${base}/api/v1/api-keys`, {
      method: 'POST', headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${login.accessToken}` }, body: JSON.stringify({ name: 'bench', role: 'ingest' }),
    })).json()) as { key: string };

    const now = Date.now();
    log(`generating ${MESSAGES} records in batches of ${BATCH}`);
    const batches: Buffer[] = [];
    for (let from = 0; from < MESSAGES; from += BATCH) batches.push(batchBody(seeded, from, Math.min(BATCH, MESSAGES - from), now));
    log(`${batches.length} batches, ${(batches.reduce((n, b) => n + b.length, 0) / 1e6).toFixed(0)} MB of JSON; sending ${CONCURRENCY} at a time`);

    const agent = new Agent({ keepAlive: true, maxSockets: CONCURRENCY });
    const send = (body: Buffer) => new Promise<{ status: number; text: string }>((resolve, reject) => {
      const req = request(`${base}/api/v1/messages/batch`, {
        method: 'POST', agent, headers: { 'Content-Type': 'application/json', 'Content-Length': body.length, Authorization: `Bearer ${created.key}` },
      }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString() }));
      });
      req.on('error', reject);
      req.end(body);
    });
    let peak = peakRssMb(service.child.pid!);
    log(`service RSS before the first batch: ${peak.rss.toFixed(0)} MB (peak so far ${peak.hwm.toFixed(0)} MB)`);
    const sampler = setInterval(() => {
      const now2 = peakRssMb(service!.child.pid!);
      peak = { hwm: Math.max(peak.hwm, now2.hwm), rss: Math.max(peak.rss, now2.rss) };
    }, 250);
    let next = 0;
    let stored = 0;
    let violations = 0;
    const latencies: number[] = [];
    const cpuBefore = { service: cpuSeconds(service.child.pid!), db: dbCpu(), bench: process.cpuUsage() };
    const started = process.hrtime.bigint();
    await Promise.all(Array.from({ length: CONCURRENCY }, async () => {
      while (next < batches.length) {
        const i = next++;
        const t0 = process.hrtime.bigint();
        const res = await send(batches[i]);
        latencies.push(seconds(t0));
        batches[i] = Buffer.alloc(0);
        if (res.status !== 200) throw new Error(`batch ${i} answered ${res.status}: ${res.text.slice(0, 500)}`);
        const body = JSON.parse(res.text) as { counts: { stored: number; rejected: number; violations: number } };
        if (body.counts.rejected) throw new Error(`batch ${i}: ${body.counts.rejected} records rejected: ${res.text.slice(0, 1000)}`);
        stored += body.counts.stored;
        violations += body.counts.violations;
        if ((i + 1) % 10 === 0) log(`${i + 1} batches, ${(stored / seconds(started)).toFixed(0)} rows/s, RSS ${peakRssMb(service!.child.pid!).rss.toFixed(0)} MB`);
      }
    }));
    const ingestSeconds = seconds(started);
    const benchCpu = process.cpuUsage(cpuBefore.bench);
    log(`CPU during ingestion: service ${(cpuSeconds(service.child.pid!) - cpuBefore.service).toFixed(1)} s, database ${(dbCpu() - cpuBefore.db).toFixed(1)} s, this client ${((benchCpu.user + benchCpu.system) / 1e6).toFixed(1)} s, wall ${ingestSeconds.toFixed(1)} s`);
    clearInterval(sampler);
    peak = { hwm: Math.max(peak.hwm, peakRssMb(service.child.pid!).hwm), rss: peak.rss };
    agent.destroy();
    latencies.sort((a, b) => a - b);
    const ingestRate = stored / ingestSeconds;
    log(`ingested ${stored} records (${violations} violating hops) in ${ingestSeconds.toFixed(1)} s; batch latency p50 ${latencies[Math.floor(latencies.length / 2)].toFixed(2)} s, max ${latencies[latencies.length - 1].toFixed(2)} s`);
    const [{ n: rows }] = (await db.query('SELECT count(*)::int AS n FROM messages')).rows as { n: number }[];
    if (rows !== MESSAGES || stored !== MESSAGES) throw new Error(`expected ${MESSAGES} messages, the table holds ${rows} (${stored} reported stored)`);

    await db.query('CREATE TABLE bench_copy_messages (LIKE messages INCLUDING ALL)');
    await db.query('CREATE TABLE bench_copy_hops (LIKE message_hops INCLUDING ALL)');
    const hopCountry = ((await db.query(`SELECT 1 FROM information_schema.columns WHERE table_name = 'message_hops' AND column_name = 'destination_country'`)).rowCount ?? 0) > 0;
    const pool = randomBytes(1 << 20);
    log('generating the COPY rows');
    const chunks: { messages: Buffer; hops: Buffer }[] = [];
    for (let from = 0; from < MESSAGES; from += BATCH) chunks.push(copyChunk(seeded, from, Math.min(BATCH, MESSAGES - from), now, pool, hopCountry));
    log(`${(chunks.reduce((n, b) => n + b.messages.length, 0) / 1e6).toFixed(0)} MB of COPY text for messages, ${(chunks.reduce((n, b) => n + b.hops.length, 0) / 1e6).toFixed(0)} MB for hops; copying`);
    const copy = async (table: string, columns: string, data: Buffer[]) => {
      const cpu = dbCpu();
      const t0 = process.hrtime.bigint();
      await pipeline(Readable.from(data), db.query(copyFrom(`COPY ${table} (${columns}) FROM STDIN`)));
      const elapsed = seconds(t0);
      log(`COPY into ${table}: ${elapsed.toFixed(1)} s; database CPU ${(dbCpu() - cpu).toFixed(1)} s`);
      return elapsed;
    };
    const copySeconds = await copy('bench_copy_messages', `id, customer_id, external_id, direction, sender, destination_country, status, route, submitted_at, received_at,
      msisdn_hash, msisdn_key_id, msisdn_ciphertext, body_key_id, body_ciphertext`, chunks.map((c) => c.messages));
    const hopsSeconds = await copy('bench_copy_hops', `message_id, position, subprocessor_id, customer_id, submitted_at, subject${hopCountry ? ', destination_country' : ''}`, chunks.map((c) => c.hops));
    const copyRate = MESSAGES / copySeconds;

    console.log(`RESULT ingest_rows_per_s ${ingestRate.toFixed(0)}`);
    console.log(`RESULT copy_rows_per_s ${copyRate.toFixed(0)}`);
    console.log(`RESULT ingest_copy_ratio_pct ${((100 * ingestRate) / copyRate).toFixed(1)}`);
    console.log(`RESULT ingest_peak_rss_mb ${peak.hwm.toFixed(0)}`);
    // Informative: COPY of everything ingestion writes per message (the message and its route hops).
    console.log(`RESULT copy_with_hops_rows_per_s ${(MESSAGES / (copySeconds + hopsSeconds)).toFixed(0)}`);
  } finally {
    if (service && service.child.exitCode === null) {
      service.child.kill('SIGTERM');
      await new Promise((r) => service!.child.once('exit', r));
    }
    await db.end().catch(() => undefined);
    await admin.query(`DROP DATABASE IF EXISTS ${DB} WITH (FORCE)`).catch(() => undefined);
    await admin.end();
    await pg?.stop();
    rmSync(folder, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
