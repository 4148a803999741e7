/**
 * Registry reads under load (issue 6, "Load"). One run:
 *
 *  1. PostgreSQL: embedded in a temporary folder, or DATABASE_URL (a server where we may create and
 *     drop the database custodian_bench_api);
 *  2. migrations, then the registry straight into SQL: 50 customers with active DPAs, 20 active
 *     sub-processors;
 *  3. the built service (dist/src/main.js) as a child process, jobs off (the bench runs the purge),
 *     its log at LOG_LEVEL info as in production (one line per API request) written to a file; a
 *     DPO, a legal user and five customer users created through the API; BENCH_EXPIRED_MESSAGES
 *     messages (default 16,000 per second of one phase) of ten customers ingested through the batch
 *     API, submitted 3 to 9 days ago, then those customers' retention cut to one day: all of them
 *     have expired;
 *  4. BENCH_CONNECTIONS (100) keep-alive connections (autocannon), BENCH_SECONDS (30) per phase,
 *     after a warm-up of each kind of request:
 *       - health: GET /health, the bare liveness endpoint (no authentication, no database, no log
 *         line), closed loop: each connection sends its next request as soon as it has its answer;
 *       - api-idle, for information: authenticated, access-checked reads of the registry with
 *         bearer JWTs — the DPO's sub-processor and customer lists, legal's DPAs of a customer and
 *         one DPA, a customer user's authorised sub-processors and DPAs of its own customer —
 *         picked at random per request, closed loop, nothing else running. The same few reads
 *         come back with the same tokens, as from dashboards polling the registry: after the
 *         first answer to a token and URL, the service replays it (src/access/reply-memo.ts),
 *         still authenticating the token and checking the read cache on every request, without
 *         running the route;
 *       - api: the same while the purge runs (POST /api/v1/jobs/purge/run, again as soon as a run
 *         ends: key destruction, certificates, deletion of the expired messages);
 *       - api-paced: the same reads and purge, at a fixed BENCH_PACED_PERCENT (50) of the rate the
 *         api phase reached: latency under load rather than at saturation (closed loop, the mean
 *         latency is just connections ÷ throughput);
 *       - alternating, for information: still under the purge, closed loop, six slices of /health
 *         and six of the reads, one after the other (SECONDS ÷ 6 each): both under the same purge
 *         and the same host at the same time, so their ratio shows what the read itself costs
 *         against /health when the purge shares the machine with both;
 *  5. the service's peak memory over the measured phases (VmHWM, reset before them), and the CPU
 *     the service, the database and the load generator used per request in each phase.
 *
 * Every answer must be a 200 (any other status or a connection error fails the bench). Latency is
 * from sending a request to the end of its answer; in the paced phase, from when it was due.
 *
 * Prints `RESULT <figure> <number>` lines; the log lines carry the machine's load average: on a
 * 2-core machine the service, PostgreSQL and the load generator compete for the cores.
 *
 *   npm run bench:api
 *   BENCH_SECONDS=5 npm run bench:api               # a quick check that it works
 *
 * Also: BENCH_CONNECTIONS (100), BENCH_WARMUP_SECONDS (5), BENCH_PACED_PERCENT (50),
 * BENCH_EXPIRED_MESSAGES, BENCH_LOG_LEVEL (info), BENCH_POOL_SIZE (the service's
 * DATABASE_POOL_SIZE; its default when unset), BENCH_NODE_OPTIONS (for the service, e.g.
 * --cpu-prof --cpu-prof-dir=/tmp/prof), BENCH_SERVICE_LOG (a file that keeps the service's output,
 * e.g. with --trace-gc; by default it goes to the temporary folder and is removed), BENCH_TIMELINE
 * (set: each phase also logged second by second, to see when slow answers come).
 */
import { ChildProcess, spawn } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';
import { EmbeddedPostgres, freePort } from '../src/database/embedded-postgres';
import { runMigrations } from '../src/database/migrate';
import { cleanups, cpuSeconds, fmt, log, quantile, sleep, withDatabase } from './common';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 30);
const WARMUP_SECONDS = Number(process.env.BENCH_WARMUP_SECONDS ?? Math.min(5, SECONDS));
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 100);
const PACED_PERCENT = Number(process.env.BENCH_PACED_PERCENT ?? 50);
/** The purge got through up to about 8,000 expired messages a second in trial runs: enough for the three phases it runs under (the log says if not). */
const EXPIRED_MESSAGES = Number(process.env.BENCH_EXPIRED_MESSAGES ?? 8000 * 3 * SECONDS);
const LOG_LEVEL = process.env.BENCH_LOG_LEVEL ?? 'info';
const TIMELINE = Boolean(process.env.BENCH_TIMELINE);
const CUSTOMERS = 50;
const EXPIRING_CUSTOMERS = 10;
const SUBPROCESSORS = 20;
const CUSTOMER_USERS = 5;
const INGEST_BATCH = 2000;
const DB = 'custodian_bench_api';
const ADMIN = { email: 'admin@bench.test', password: 'bench admin password 123' };
const PASSWORD = 'bench user password 1234';
/** The same secrets as the other benches. */
const SECRETS = {
  JWT_SECRET: 'bench-jwt-secret-that-is-long-enough-0123456789',
  MASTER_KEY: Buffer.alloc(32, 7).toString('base64'),
  BLIND_INDEX_KEY: Buffer.alloc(32, 8).toString('base64'),
  SIGNING_KEY: Buffer.alloc(32, 9).toString('base64'),
};

// autocannon ships no types: the part of its API used here.
interface CannonRequest { method?: string; path?: string; headers?: Record<string, string>; setupRequest?: (req: CannonRequest, context: Record<string, string>) => CannonRequest }
interface CannonOptions { url: string; connections: number; duration: number; requests: CannonRequest[] }
interface CannonResult { statusCodeStats: Record<string, { count: number }>; errors: number; timeouts: number; duration: number }
interface CannonClient { requestIterator: { context: Record<string, string | undefined> } }
interface CannonInstance { on(event: 'response', listener: (client: CannonClient, status: number, bytes: number, ms: number) => void): void }
type Autocannon = (options: CannonOptions, done: (error: Error | null, result: CannonResult) => void) => CannonInstance;
const autocannon = require('autocannon') as Autocannon;


const pick = <T>(list: T[]) => list[Math.floor(Math.random() * list.length)];


// ---------------------------------------------------------------------------------------------
// The registry and its users

interface Registry {
  customers: string[];
  dpas: string[];
  expiring: string[];
  /** Sub-processors every customer has authorised: the routes of the ingested messages. */
  carriers: string[];
}

async function seedRegistry(db: Client): Promise<Registry> {
  const customers = (await db.query<{ id: string }>(
    `INSERT INTO customers (legal_name, country, dpo_contact, breach_notification_emails, destination_countries, data_profile)
     SELECT 'Bench Brand ' || i || ' GmbH', 'DE', '{"name":"Dana Protector","email":"dpo@brand.bench.test"}', '{security@brand.bench.test}',
            '{DE,FR,AT}', '{"messageKinds":["otp"],"specialCategoryData":false}'
       FROM generate_series(1, $1) i ORDER BY i RETURNING id`,
    [CUSTOMERS],
  )).rows.map((r) => r.id);
  const dpas = (await db.query<{ id: string }>(
    `INSERT INTO dpas (customer_id, version, status, authorisation, max_retention_days, transfer_mechanisms, data_categories, purposes, activated_at)
     SELECT id, 1, 'active', 'general', '{"body":365,"msisdn":365,"delivery_metadata":365}', '{adequacy,scc}', '{body,msisdn,delivery_metadata}',
            '{"Delivering one-time passwords"}', '2025-01-01T00:00:00Z' FROM unnest($1::uuid[]) WITH ORDINALITY AS c(id, ord) ORDER BY ord RETURNING id`,
    [customers],
  )).rows.map((r) => r.id);
  const subprocessors = (await db.query<{ id: string }>(
    `INSERT INTO subprocessors (legal_entity, country, role, services, purpose, data_categories, carries_countries, transfer_mechanism, status, active_since)
     SELECT 'Bench Carrier ' || i || ' AG', CASE WHEN i % 4 = 0 THEN 'US' ELSE 'DE' END, CASE WHEN i <= 5 THEN 'aggregator' ELSE 'mobile_operator' END,
            '{sms termination}', 'Delivering SMS', '{msisdn,body,delivery_metadata}', '{DE,FR,AT}', CASE WHEN i % 4 = 0 THEN 'scc' ELSE 'adequacy' END,
            'active', '2025-03-01T00:00:00Z'
       FROM generate_series(1, $1) i ORDER BY i RETURNING id`,
    [SUBPROCESSORS],
  )).rows.map((r) => r.id);
  await db.query(`INSERT INTO subprocessor_status_changes (subprocessor_id, status, at) SELECT id, 'active', '2025-03-01T00:00:00Z' FROM unnest($1::uuid[]) id`, [subprocessors]);
  return { customers, dpas, expiring: customers.slice(0, EXPIRING_CUSTOMERS), carriers: subprocessors.filter((_, i) => (i + 1) % 4 !== 0) };
}

// ---------------------------------------------------------------------------------------------
// The service

interface Service {
  child: ChildProcess;
  base: string;
  logFile: string;
  stop(): Promise<void>;
}

async function startService(url: string, folder: string): Promise<Service> {
  const port = await freePort();
  const logFile = process.env.BENCH_SERVICE_LOG ?? join(folder, 'service.log');
  const out = openSync(logFile, 'a');
  const env = {
    PATH: process.env.PATH, HOME: process.env.HOME, NODE_ENV: 'test', DATA_DIR: join(folder, 'app'), PORT: String(port), HOST: '127.0.0.1',
    DATABASE_URL: url, ...SECRETS, ADMIN_EMAIL: ADMIN.email, ADMIN_PASSWORD: ADMIN.password, LOG_LEVEL, JOBS_ENABLED: 'false',
    JWT_TTL_SECONDS: '7200', MIGRATIONS_RUN: 'false', ...(process.env.BENCH_POOL_SIZE ? { DATABASE_POOL_SIZE: process.env.BENCH_POOL_SIZE } : {}),
  };
  const nodeOptions = (process.env.BENCH_NODE_OPTIONS ?? '').split(' ').filter(Boolean);
  const child = spawn(process.execPath, [...nodeOptions, join(__dirname, '..', 'src', 'main.js')], { env, stdio: ['ignore', out, out] });
  closeSync(out);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const base = `http://127.0.0.1:${port}`;
  const tail = () => readFileSync(logFile, 'utf8').slice(-3000);
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`the service exited:\n${tail()}`);
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`the service did not get ready:\n${tail()}`);
    }
    if (await fetch(`${base}/health/ready`).then((r) => r.ok, () => false)) break;
    await sleep(100);
  }
  const stop = async () => {
    if (child.exitCode === null) child.kill('SIGINT');
    await Promise.race([exited, sleep(15_000).then(() => child.kill('SIGKILL'))]);
  };
  cleanups.push(stop);
  return { child, base, logFile, stop };
}

async function api<T>(base: string, method: string, path: string, token?: string, body?: unknown): Promise<T> {
  const res = await fetch(`${base}${path}`, {
    method, headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${path} answered ${res.status}: ${text.slice(0, 500)}`);
  return (text ? JSON.parse(text) : undefined) as T;
}

const login = async (base: string, email: string, password: string) =>
  (await api<{ accessToken: string }>(base, 'POST', '/api/v1/auth/login', undefined, { email, password })).accessToken;

async function user(base: string, admin: string, email: string, role: string, customerId?: string): Promise<string> {
  await api(base, 'POST', '/api/v1/users', admin, { email, password: PASSWORD, role, ...(customerId ? { customerId } : {}) });
  return login(base, email, PASSWORD);
}

/** Messages of the expiring customers, through the batch API, two batches at a time. */
async function ingestExpiring(base: string, admin: string, registry: Registry): Promise<void> {
  const { key } = await api<{ key: string }>(base, 'POST', '/api/v1/api-keys', admin, { name: 'bench', role: 'ingest' });
  const now = Date.now();
  const started = performance.now();
  let next = 0;
  await Promise.all(Array.from({ length: 2 }, async () => {
    while (next < EXPIRED_MESSAGES) {
      const from = next;
      next += INGEST_BATCH;
      const records = Array.from({ length: Math.min(INGEST_BATCH, EXPIRED_MESSAGES - from) }, (_, k) => {
        const i = from + k;
        return {
          customerId: registry.expiring[i % EXPIRING_CUSTOMERS], externalId: `bench-${i}`, direction: 'mt',
          msisdn: `+4915${String(100_000_000 + i).padStart(9, '0')}`, sender: 'ACME',
          body: `Your verification code is ${String(100_000 + (i % 900_000))}. It expires in 10 minutes. Do not share it with anyone.`,
          route: [registry.carriers[i % registry.carriers.length]], destinationCountry: 'DE', status: 'delivered',
          // 3 to 9 days ago: six or seven UTC days, as many data keys per customer and category.
          submittedAt: new Date(now - 3 * 86_400_000 - Math.floor(Math.random() * 6 * 86_400_000)).toISOString(),
        };
      });
      const result = await api<{ counts: { rejected: number }; rejected: unknown[] }>(base, 'POST', '/api/v1/messages/batch', key, { records });
      if (result.counts.rejected) throw new Error(`ingestion rejected ${result.counts.rejected} records, the first: ${JSON.stringify(result.rejected[0])}`);
    }
  }));
  log(`${EXPIRED_MESSAGES} messages ingested in ${fmt((performance.now() - started) / 1000)} s`);
}

/**
 * A day of retention for everything of the expiring customers: all the messages ingested have
 * expired. (Ingestion refuses a record whose retention has already ended, so this comes after.)
 */
async function expire(db: Client, registry: Registry): Promise<void> {
  await db.query(
    `INSERT INTO retention_policies (customer_id, category, days)
     SELECT c, cat, 1 FROM unnest($1::uuid[]) c CROSS JOIN unnest('{body,msisdn,delivery_metadata}'::text[]) cat`,
    [registry.expiring],
  );
}

// ---------------------------------------------------------------------------------------------
// Measuring


const memoryMb = (pid: number, field: 'VmHWM' | 'VmRSS') =>
  Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? NaN) / 1024;

interface CpuTimes {
  service: number;
  database: number;
  generator: number;
}

/** One kind of request of a phase: what it is called in the log, and a fresh request of that kind. */
interface Read {
  kind: string;
  request(): { path: string; headers: Record<string, string> };
}

interface Phase {
  requests: number;
  rps: number;
  p50: number;
  p99: number;
}


interface Sample {
  kind: string;
  ms: number;
  /** performance.now() when the answer came in. */
  at: number;
}

/** Per second of the phase (BENCH_TIMELINE): answers, p50, p99 and the slowest, to see when slow answers come. */
function timeline(samples: Sample[]): void {
  const start = samples[0]?.at ?? 0;
  const seconds = new Map<number, number[]>();
  for (const s of samples) {
    const second = Math.floor((s.at - start) / 1000);
    const answers = seconds.get(second);
    if (answers) answers.push(s.ms);
    else seconds.set(second, [s.ms]);
  }
  for (const [second, all] of seconds) {
    all.sort((a, b) => a - b);
    log(`    second ${second}: ${all.length} answers, p50 ${fmt(quantile(all, 0.5))} ms, p99 ${fmt(quantile(all, 0.99))} ms, max ${fmt(all[all.length - 1])} ms`);
  }
}

/** The phase's figures, logged overall and per kind of request, with the CPU each process used per request. */
function summarise(name: string, samples: Sample[], seconds: number, before: CpuTimes, after: CpuTimes, quiet = false): Phase {
  const all = samples.map((s) => s.ms).sort((a, b) => a - b);
  const phase = { requests: all.length, rps: all.length / seconds, p50: quantile(all, 0.5), p99: quantile(all, 0.99) };
  if (quiet) return phase;
  const used = (key: keyof CpuTimes) => `${(after[key] - before[key]).toFixed(1)} s (${fmt((1000 * (after[key] - before[key])) / all.length)} ms per request)`;
  log(`${name}: ${all.length} requests in ${fmt(seconds)} s, ${fmt(phase.rps)}/s, p50 ${fmt(phase.p50)} ms, p99 ${fmt(phase.p99)} ms, max ${fmt(all[all.length - 1])} ms; ` +
    `CPU: service ${used('service')}, database ${used('database')}, load generator ${used('generator')}`);
  const kinds = [...new Set(samples.map((s) => s.kind))];
  if (kinds.length > 1) {
    for (const kind of kinds) {
      const mine = samples.filter((s) => s.kind === kind).map((s) => s.ms).sort((a, b) => a - b);
      log(`  ${kind}: ${mine.length}, p50 ${fmt(quantile(mine, 0.5))} ms, p99 ${fmt(quantile(mine, 0.99))} ms`);
    }
  }
  if (TIMELINE) timeline(samples);
  return phase;
}

/**
 * Closed loop, `slices` slices of `seconds` ÷ slices of /health, then of the reads, in turn: the
 * throughput of each over all its slices.
 */
async function alternate(name: string, base: string, health: Read[], reads: Read[], seconds: number, slices: number, cpu: () => CpuTimes): Promise<{ health: number; reads: number }> {
  const totals = { health: { requests: 0, seconds: 0 }, reads: { requests: 0, seconds: 0 } };
  for (let i = 0; i < slices; i++) {
    for (const kind of ['health', 'reads'] as const) {
      const slice = await saturate(`${name}, ${kind} slice ${i + 1}`, base, kind === 'health' ? health : reads, seconds / slices, cpu, true);
      totals[kind].requests += slice.requests;
      totals[kind].seconds += slice.requests / slice.rps;
    }
  }
  const rates = { health: totals.health.requests / totals.health.seconds, reads: totals.reads.requests / totals.reads.seconds };
  log(`${name}: /health ${fmt(rates.health)}/s, reads ${fmt(rates.reads)}/s (${(rates.reads / rates.health).toFixed(2)}), over ${slices} slices of ${fmt(seconds / slices)} s each`);
  return rates;
}

/**
 * Closed loop: CONNECTIONS connections for `seconds`, each sending its next request as soon as the
 * answer to the last one is in (autocannon), every answer a 200. The latencies are kept here,
 * exactly (autocannon's own histogram keeps whole milliseconds), with the kind of each request:
 * autocannon builds a connection's next request only after reporting the last answer, so the
 * connection's context still names the kind of the request answered.
 */
function saturate(name: string, base: string, reads: Read[], seconds: number, cpu: () => CpuTimes, quiet = false): Promise<Phase> {
  return new Promise((resolve, reject) => {
    const samples: Sample[] = [];
    const before = cpu();
    const requests: CannonRequest[] = [{
      setupRequest: (req, context) => {
        const read = pick(reads);
        context.kind = read.kind;
        return { ...req, method: 'GET', ...read.request() };
      },
    }];
    const instance = autocannon({ url: base, connections: CONNECTIONS, duration: seconds, requests }, (error, result) => {
      if (error) return reject(error);
      const wrong = Object.keys(result.statusCodeStats).filter((status) => status !== '200');
      if (wrong.length || result.errors || result.timeouts) {
        return reject(new Error(`${name}: answers ${JSON.stringify(result.statusCodeStats)}, ${result.errors} connection errors, ${result.timeouts} time-outs`));
      }
      resolve(summarise(name, samples, result.duration, before, cpu(), quiet));
    });
    instance.on('response', (client, _status, _bytes, ms) => samples.push({ kind: client.requestIterator.context.kind ?? '?', ms, at: performance.now() }));
  });
}

/**
 * Open loop: `rate` requests a second in all, spread evenly over CONNECTIONS keep-alive
 * connections (connection w sends its i-th request at start + (w + i × CONNECTIONS) / rate). A
 * request's latency counts from when it was due, so one held up behind a slow answer on its
 * connection is charged for the wait (no coordinated omission). Every answer must be a 200.
 */
async function pace(name: string, base: string, reads: Read[], seconds: number, rate: number, cpu: () => CpuTimes): Promise<Phase> {
  const samples: Sample[] = [];
  const spacing = 1000 / rate;
  const before = cpu();
  const start = performance.now();
  const end = start + seconds * 1000;
  const get = (agent: Agent, path: string, headers: Record<string, string>) => new Promise<number>((resolve, reject) => {
    const req = request(`${base}${path}`, { agent, headers }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.end();
  });
  await Promise.all(Array.from({ length: CONNECTIONS }, async (_, worker) => {
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    try {
      for (let i = 0; ; i++) {
        const due = start + (worker + i * CONNECTIONS) * spacing;
        if (due >= end) break;
        const wait = due - performance.now();
        if (wait > 0) await sleep(wait);
        const read = pick(reads);
        const { path, headers } = read.request();
        const status = await get(agent, path, headers);
        if (status !== 200) throw new Error(`${name}: GET ${path} answered ${status}`);
        const at = performance.now();
        samples.push({ kind: read.kind, ms: at - due, at });
      }
    } finally {
      agent.destroy();
    }
  }));
  return summarise(name, samples, (performance.now() - start) / 1000, before, cpu());
}

/** Purge runs, one after the other, until `until` resolves; the share of [from, to] during which one was at work. */
async function purgeWhile(base: string, token: string, until: Promise<unknown>): Promise<{ runs: number; totals: Record<string, number>; coverage(from: number, to: number): number }> {
  let stopped = false;
  void until.finally(() => (stopped = true));
  const spans: [number, number][] = [];
  const totals: Record<string, number> = {};
  while (!stopped) {
    const started = performance.now();
    const run = await api<{ outcome: string; counts: Record<string, number>; error: string | null }>(base, 'POST', '/api/v1/jobs/purge/run', token);
    if (run.outcome !== 'succeeded') throw new Error(`the purge ${run.outcome}: ${run.error}`);
    for (const [key, n] of Object.entries(run.counts)) totals[key] = (totals[key] ?? 0) + n;
    // A run that found nothing left to do is no purge running.
    const { keysDestroyed = 0, messagesRekeyed = 0, messagesReclaimed = 0, messagesDeleted = 0 } = run.counts;
    if (keysDestroyed + messagesRekeyed + messagesReclaimed + messagesDeleted > 0) spans.push([started, performance.now()]);
    else await sleep(100);
  }
  return {
    runs: spans.length, totals,
    coverage: (from, to) => spans.reduce((sum, [a, b]) => sum + Math.max(0, Math.min(b, to) - Math.max(a, from)), 0) / (to - from),
  };
}

// ---------------------------------------------------------------------------------------------

async function main() {
  let serverUrl = process.env.DATABASE_URL;
  const folder = mkdtempSync(join(tmpdir(), 'custodian-bench-api-'));
  const pg = serverUrl ? undefined : new EmbeddedPostgres({ dataDir: join(folder, 'pg'), password: 'bench' });
  cleanups.push(async () => {
    await pg?.stop();
    rmSync(folder, { recursive: true, force: true });
  });
  if (pg) serverUrl = await pg.start();
  const admin = new Client({ connectionString: serverUrl });
  await admin.connect();
  await admin.query(`DROP DATABASE IF EXISTS ${DB} WITH (FORCE)`);
  await admin.query(`CREATE DATABASE ${DB}`);
  const url = withDatabase(serverUrl!, DB);
  let service: Service | undefined;
  const db = new Client({ connectionString: url });
  // After a failure, DROP DATABASE … WITH (FORCE) below cuts it off: not a second failure.
  db.on('error', () => undefined);
  try {
    await runMigrations(url, () => undefined);
    await db.connect();
    const registry = await seedRegistry(db);
    service = await startService(url, folder);
    let base = service.base;
    const adminToken = await login(base, ADMIN.email, ADMIN.password);
    const dpo = await user(base, adminToken, 'dpo@bench.test', 'dpo');
    const legal = await user(base, adminToken, 'legal@bench.test', 'legal');
    const customerUsers = await Promise.all(registry.customers.slice(-CUSTOMER_USERS).map(async (customerId, i) =>
      ({ customerId, token: await user(base, adminToken, `customer${i}@bench.test`, 'customer', customerId) })));
    log(`registry: ${CUSTOMERS} customers with active DPAs, ${SUBPROCESSORS} sub-processors; users: DPO, legal, ${CUSTOMER_USERS} customer users`);
    await ingestExpiring(base, adminToken, registry);
    await expire(db, registry);
    await db.end();
    // A fresh process for the measurements: the heap that ingestion grew is not part of them.
    await service.stop();
    service = await startService(url, folder);
    base = service.base;

    // The reads, each once by hand first: a 200 with content, and a customer user refused another customer's data.
    const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
    const asCustomer = (path: (customerId: string) => string) => () => {
      const c = pick(customerUsers);
      return { path: path(c.customerId), headers: bearer(c.token) };
    };
    const reads: Read[] = [
      { kind: 'dpo GET /subprocessors', request: () => ({ path: '/api/v1/subprocessors', headers: bearer(dpo) }) },
      { kind: 'dpo GET /customers?limit=20', request: () => ({ path: '/api/v1/customers?limit=20', headers: bearer(dpo) }) },
      { kind: 'legal GET /customers/:id/dpas', request: () => ({ path: `/api/v1/customers/${pick(registry.customers)}/dpas`, headers: bearer(legal) }) },
      { kind: 'legal GET /dpas/:id', request: () => ({ path: `/api/v1/dpas/${pick(registry.dpas)}`, headers: bearer(legal) }) },
      { kind: 'customer GET /customers/:own/authorised-subprocessors', request: asCustomer((id) => `/api/v1/customers/${id}/authorised-subprocessors`) },
      { kind: 'customer GET /customers/:own/dpas', request: asCustomer((id) => `/api/v1/customers/${id}/dpas`) },
    ];
    for (const read of reads) {
      const { path, headers } = read.request();
      const res = await fetch(`${base}${path}`, { headers });
      const body = await res.text();
      if (res.status !== 200 || body.length < 100) throw new Error(`GET ${path} answered ${res.status}: ${body.slice(0, 300)}`);
    }
    const [c0, c1] = customerUsers;
    const refused = await fetch(`${base}/api/v1/customers/${c1.customerId}/authorised-subprocessors`, { headers: bearer(c0.token) });
    if (refused.status !== 404) throw new Error(`a customer user reading another customer's authorised sub-processors got ${refused.status}, not 404`);
    const health: Read[] = [{ kind: 'GET /health', request: () => ({ path: '/health', headers: {} }) }];

    const pid = service.child.pid!;
    const postmaster = pg ? Number(readFileSync(join(folder, 'pg', 'postmaster.pid'), 'utf8').split('\n')[0]) : undefined;
    const cpu = (): CpuTimes => {
      const own = process.cpuUsage();
      return { service: cpuSeconds(pid), database: postmaster ? cpuSeconds(postmaster, true) : NaN, generator: (own.user + own.system) / 1e6 };
    };

    log(`warm-up: ${WARMUP_SECONDS} s of each`);
    await saturate('warm-up health', base, health, WARMUP_SECONDS, cpu);
    await saturate('warm-up api', base, reads, WARMUP_SECONDS, cpu);
    // Peak memory from here on: "5" to clear_refs resets VmHWM (Linux).
    try {
      writeFileSync(`/proc/${pid}/clear_refs`, '5');
    } catch {
      log('could not reset the peak RSS: it includes the seeding');
    }
    let peakRss = memoryMb(pid, 'VmRSS');
    log(`service RSS before the measured phases: ${fmt(peakRss)} MB`);
    const sampler = setInterval(() => (peakRss = Math.max(peakRss, memoryMb(pid, 'VmRSS'))), 100);

    const bare = await saturate('health', base, health, SECONDS, cpu);
    const idle = await saturate('api-idle', base, reads, SECONDS, cpu);

    // The purge gets going first (its first statement destroys every expired key), then the load
    // starts: as many reads as the connections can get answered, then the same connections at a
    // fixed rate (PACED_PERCENT of that), both while the purge runs.
    let release!: () => void;
    const purging = purgeWhile(base, dpo, new Promise<void>((resolve) => (release = resolve)));
    purging.catch(() => undefined); // awaited below
    await sleep(500);
    const from = performance.now();
    let underPurge: Phase;
    let paced: Phase;
    let alternating: { health: number; reads: number };
    try {
      underPurge = await saturate('api', base, reads, SECONDS, cpu);
      const rate = Math.max(1, Math.round((underPurge.rps * PACED_PERCENT) / 100));
      paced = await pace(`api-paced (${PACED_PERCENT}%: ${rate}/s)`, base, reads, SECONDS, rate, cpu);
      alternating = await alternate('alternating under purge', base, health, reads, SECONDS, 6, cpu);
    } finally {
      release();
    }
    const to = performance.now();
    const purge = await purging;
    clearInterval(sampler);
    const peak = Math.max(memoryMb(pid, 'VmHWM'), peakRss);
    const coverage = purge.coverage(from, to);
    log(`purge: ${purge.runs} runs, in flight ${(100 * coverage).toFixed(0)}% of the three phases under purge; ${JSON.stringify(purge.totals)}`);
    if (coverage < 0.95) log(`WARNING: the purge ran out of work before the end: raise BENCH_EXPIRED_MESSAGES (now ${EXPIRED_MESSAGES})`);
    log(`service memory over the measured phases: peak RSS ${fmt(peak)} MB`);

    console.log(`RESULT health_rps ${bare.rps.toFixed(0)}`);
    console.log(`RESULT health_p99_ms ${fmt(bare.p99)}`);
    console.log(`RESULT api_idle_rps ${idle.rps.toFixed(0)}`);
    console.log(`RESULT api_idle_p99_ms ${fmt(idle.p99)}`);
    console.log(`RESULT api_rps ${underPurge.rps.toFixed(0)}`);
    console.log(`RESULT api_p50_ms ${fmt(underPurge.p50)}`);
    console.log(`RESULT api_p99_ms ${fmt(underPurge.p99)}`);
    console.log(`RESULT api_throughput_ratio ${(underPurge.rps / bare.rps).toFixed(2)}`);
    console.log(`RESULT api_paced_rps ${paced.rps.toFixed(0)}`);
    console.log(`RESULT api_paced_p50_ms ${fmt(paced.p50)}`);
    console.log(`RESULT api_paced_p99_ms ${fmt(paced.p99)}`);
    console.log(`RESULT api_peak_rss_mb ${peak.toFixed(0)}`);
    console.log(`RESULT alternating_health_rps ${alternating.health.toFixed(0)}`);
    console.log(`RESULT alternating_api_rps ${alternating.reads.toFixed(0)}`);
    console.log(`RESULT alternating_ratio ${(alternating.reads / alternating.health).toFixed(2)}`);
  } finally {
    await service?.stop();
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
