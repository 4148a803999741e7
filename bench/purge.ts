/**
 * Purge and impact scoping (issue 4, "Numbers to reach"). One run:
 *
 *  1. loads BENCH_MESSAGES messages (default 5,000,000) over 100 days for 50 customers with
 *     retention of 30, 90 or 365 days, routed through 1–3 of 20 sub-processors, straight into
 *     PostgreSQL with SQL (random ciphertext, real data keys wrapped by the real KeyRing, real blind
 *     indexes of a pool of phone numbers), then VACUUM ANALYZE;
 *  2. times the impact-scoping query for the busiest carrier over the last 7 days;
 *  3. copies the database for the baseline;
 *  4. starts the real service on the original database, measures the idle p99 of
 *     GET /api/v1/messages/:id, then loads that route at a fixed rate and, under that load, times
 *     the baseline on the copy — DELETE of the same expired rows, per customer, in batches of
 *     10,000 — and then the purge (POST /api/v1/jobs/purge/run): how long until every expired data
 *     key is destroyed, how long the storage reclaim takes, and the p99 latency during purge and
 *     reclaim.
 *
 * Prints `RESULT <figure> <number>` lines; the log lines carry the machine's load average.
 *
 *   npm run bench:purge                               # embedded PostgreSQL in a temporary folder
 *   BENCH_MESSAGES=200000 npm run bench:purge         # CI-sized
 *   DATABASE_URL=… npm run bench:purge                # an existing server (superuser; a database is created and dropped)
 *
 * Also: BENCH_GET_RPS (50) and BENCH_GET_CONNECTIONS (8) for the read load, BENCH_IDLE_SECONDS
 * (15) for the idle measurement, BENCH_STOP_AFTER=load|scope to stop early and
 * BENCH_KEEP=1 to leave the database (and the embedded server) running for inspection.
 */
import { ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';
import { loadConfig } from '../src/config/app-config';
import { createDataSource } from '../src/database/data-source';
import { EmbeddedPostgres, freePort } from '../src/database/embedded-postgres';
import { runMigrations } from '../src/database/migrate';
import { cleanups, fmt, log, quantile, sleep, withDatabase } from './common';
import { impactScope } from '../src/messages/impact-scope';
import { KeyRing } from '../src/messages/key-ring';
import { subjectTag } from '../src/messages/message-store';
import { expiredKeysSql } from '../src/retention/retention-sql';

const MESSAGES = Number(process.env.BENCH_MESSAGES ?? 5_000_000);
const DAYS = 100;
const CUSTOMERS = 50;
const SUBPROCESSORS = 20;
const RETENTIONS = [30, 90, 365];
/** Distinct phone numbers per customer (about ten messages each at the default size). */
const PHONES = Math.max(1000, Math.round(MESSAGES / CUSTOMERS / 10));
const BATCH = 10_000;
const GET_RPS = Number(process.env.BENCH_GET_RPS ?? 50);
const GET_CONNECTIONS = Number(process.env.BENCH_GET_CONNECTIONS ?? 8);
const IDLE_SECONDS = Number(process.env.BENCH_IDLE_SECONDS ?? 15);
const SCOPE_RUNS = 15;
const DB = 'custodian_bench_purge';
const COPY = `${DB}_copy`;
/** How often the bench looks whether every expired key is destroyed yet. */
const POLL_MS = 5;

/** The same secrets as test/support/app.ts's testEnv: the service reads the keys the loader wrapped. */
const SECRETS = {
  JWT_SECRET: 'bench-jwt-secret-that-is-long-enough-0123456789',
  MASTER_KEY: Buffer.alloc(32, 7).toString('base64'),
  BLIND_INDEX_KEY: Buffer.alloc(32, 8).toString('base64'),
  SIGNING_KEY: Buffer.alloc(32, 9).toString('base64'),
};
const ADMIN = { email: 'admin@bench.test', password: 'bench admin password 123' };
const DPO = { email: 'dpo@bench.test', password: 'bench dpo password 1234' };

/** The service's environment, as test/support/app.ts's testEnv has it (jobs off: the bench triggers the purge). */
const serviceEnv = (databaseUrl: string): Record<string, string> => ({
  NODE_ENV: 'test', DATABASE_URL: databaseUrl, ...SECRETS, ADMIN_EMAIL: ADMIN.email, ADMIN_PASSWORD: ADMIN.password,
  LOG_LEVEL: 'silent', JOBS_ENABLED: 'false', JWT_TTL_SECONDS: '7200',
});


const ms = (t0: bigint) => Number(process.hrtime.bigint() - t0) / 1e6;


async function connect(url: string): Promise<Client> {
  const client = new Client({ connectionString: url });
  await client.connect();
  return client;
}

interface Dataset {
  now: Date;
  customerIds: string[];
  subprocessorIds: string[];
  busiest: string;
  /** customer id → first instant whose PII has not expired (everything before it has). */
  cutoffs: Map<string, Date>;
  expiredKeyIds: string[];
  /** One expired key per customer that has any: polled cheaply while the purge runs. */
  sentinelKeyIds: string[];
  expiredMessages: number;
}

// ---------------------------------------------------------------------------------------------
// 1. Loading

/**
 * Registry rows, retention policies, data keys and the phone-number pool, then the messages and
 * their hops with INSERT … SELECT over generate_series (two ranges in parallel, indexes dropped
 * first and rebuilt after).
 */
async function load(url: string): Promise<Dataset> {
  const db = await connect(url);
  const now = new Date();
  const today = Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate());
  const firstDay = today - (DAYS - 1) * 86_400_000;

  const customerIds = (await db.query<{ id: string }>(
    `INSERT INTO customers (legal_name, country, dpo_contact, breach_notification_emails, destination_countries, data_profile)
     SELECT 'Bench customer ' || i, 'DE', '{"name":"Dana Protector","email":"dpo@customer.bench.test"}', '{breach@customer.bench.test}',
            '{DE,FR,NL}', '{"messageKinds":["otp"],"specialCategoryData":false}'
       FROM generate_series(1, $1) i ORDER BY i RETURNING id`,
    [CUSTOMERS],
  )).rows.map((r) => r.id);
  const retention = customerIds.map((_, i) => RETENTIONS[i % RETENTIONS.length]);
  await db.query(
    `INSERT INTO dpas (customer_id, version, status, max_retention_days, transfer_mechanisms, data_categories, purposes, activated_at)
     SELECT id, 1, 'active', '{"body":365,"msisdn":365,"delivery_metadata":365}', '{adequacy,scc}', '{body,msisdn,delivery_metadata}',
            '{"Delivering one-time passwords"}', '2020-01-01' FROM unnest($1::uuid[]) id`,
    [customerIds],
  );
  // PII (phone number, body) lives for the customer's retention; delivery metadata for a year, so
  // the rows outlive their PII and the purge's work is the PII alone.
  await db.query(
    `INSERT INTO retention_policies (customer_id, category, days)
     SELECT c.id, cat, CASE WHEN cat = 'delivery_metadata' THEN 365 ELSE c.days END
       FROM unnest($1::uuid[], $2::int[]) AS c(id, days) CROSS JOIN unnest('{body,msisdn,delivery_metadata}'::text[]) cat`,
    [customerIds, retention],
  );
  const subprocessorIds = (await db.query<{ id: string }>(
    `INSERT INTO subprocessors (legal_entity, country, role, services, purpose, data_categories, carries_countries, transfer_mechanism, status, active_since)
     SELECT 'Bench carrier ' || i, 'DE', CASE WHEN i <= 5 THEN 'aggregator' ELSE 'mobile_operator' END, '{sms termination}',
            'Delivering SMS', '{msisdn,body,delivery_metadata}', '{DE,FR,NL}', 'adequacy', 'active', '2020-01-01'
       FROM generate_series(1, $1) i ORDER BY i RETURNING id`,
    [SUBPROCESSORS],
  )).rows.map((r) => r.id);
  await db.query(`INSERT INTO subprocessor_status_changes (subprocessor_id, status, at) SELECT id, 'active', '2020-01-01' FROM unnest($1::uuid[]) id`, [subprocessorIds]);

  // Routes of 1–3 distinct hops; the first carrier is on about a third of them (the busy one).
  const routes: string[][] = [];
  let seed = 42;
  const rand = () => ((seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31);
  for (let r = 0; r < 240; r++) {
    const hops = new Set<number>();
    const length = 1 + (r % 3);
    if (rand() < 0.3) hops.add(0);
    while (hops.size < length) hops.add(1 + Math.floor(rand() * (SUBPROCESSORS - 1)));
    routes.push([...hops].map((i) => subprocessorIds[i]));
  }
  await db.query('CREATE UNLOGGED TABLE bench_routes (r int PRIMARY KEY, route uuid[] NOT NULL)');
  await db.query('INSERT INTO bench_routes SELECT ord - 1, string_to_array(route, \',\')::uuid[] FROM unnest($1::text[]) WITH ORDINALITY AS t(route, ord)', [
    routes.map((r) => r.join(',')),
  ]);

  // One data key per customer, day and category, created and wrapped by the application's KeyRing.
  const t0 = process.hrtime.bigint();
  const keyRing = new KeyRing(loadConfig(serviceEnv(url)));
  const ds = await createDataSource(url, 1).initialize();
  const dayOf = (d: number) => new Date(firstDay + d * 86_400_000).toISOString().slice(0, 10);
  const slots = customerIds.flatMap((customerId) =>
    Array.from({ length: DAYS }, (_, d) => dayOf(d)).flatMap((day) => (['msisdn', 'body'] as const).map((category) => ({ customerId, day, category }))),
  );
  await ds.transaction((em) => keyRing.dayKeys(em, slots));
  await ds.destroy();
  // Key ids in one array indexed by (customer, day, category), for the generator to pick from.
  const keyIds = (await db.query<{ id: string }>(
    `SELECT k.id FROM unnest($1::uuid[]) WITH ORDINALITY AS c(id, ci)
       CROSS JOIN generate_series(0, $2 - 1) d CROSS JOIN (VALUES (0, 'msisdn'), (1, 'body')) AS cat(ci, name)
       JOIN data_keys k ON k.customer_id = c.id AND k.day = $3::date + d AND k.category = cat.name AND k.kind = 'day'
      ORDER BY c.ci, d, cat.ci`,
    [customerIds, DAYS, dayOf(0)],
  )).rows.map((r) => r.id);
  if (keyIds.length !== CUSTOMERS * DAYS * 2) throw new Error(`expected ${CUSTOMERS * DAYS * 2} data keys, found ${keyIds.length}`);

  // The phone-number pool: real blind indexes under each customer's index key, 32 bytes each, one
  // after the other (customer c's phone n at (c * PHONES + n) * 32), passed to the generator whole.
  const phones = Buffer.concat(customerIds.flatMap((customerId, c) =>
    Array.from({ length: PHONES }, (_, n) => keyRing.blindIndex(customerId, `+4917${String(c * PHONES + n).padStart(9, '0')}`))));
  log(`registry, ${keyIds.length} data keys and ${CUSTOMERS * PHONES} phone numbers in ${fmt(ms(t0))} ms`);

  // Bulk load without indexes, then rebuild them exactly as the migrations defined them.
  const indexes = (await db.query<{ tbl: string; name: string; def: string; constraint: boolean }>(
    `SELECT i.indrelid::regclass::text AS tbl, quote_ident(c.relname) AS name,
            COALESCE('ALTER TABLE ' || i.indrelid::regclass || ' ADD CONSTRAINT ' || quote_ident(con.conname) || ' ' || pg_get_constraintdef(con.oid),
                     pg_get_indexdef(i.indexrelid)) AS def, con.oid IS NOT NULL AS "constraint"
       FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid LEFT JOIN pg_constraint con ON con.conindid = i.indexrelid
      WHERE i.indrelid IN ('messages'::regclass, 'message_hops'::regclass)`,
  )).rows;
  for (const ix of indexes) await db.query(ix.constraint ? `ALTER TABLE ${ix.tbl} DROP CONSTRAINT ${ix.name}` : `DROP INDEX ${ix.name}`);

  const t1 = process.hrtime.bigint();
  const startMs = firstDay;
  const spanMs = Math.min(now.getTime(), today + 86_400_000) - 1 - firstDay;
  // Two connections take consecutive slices in turn, so the heap stays in (roughly) time order.
  const slice = 200_000;
  let next = 0;
  await Promise.all(
    Array.from({ length: 2 }, async () => {
      const client = await connect(url);
      try {
        await client.query(`SET synchronous_commit = off`);
        for (let lo = next; lo < MESSAGES; lo = next) {
          next += slice;
          await client.query(generateSql, [lo, Math.min(MESSAGES, lo + slice), MESSAGES, startMs, spanMs, CUSTOMERS, PHONES, routes.length, keyIds, randomBytes(4096), customerIds, phones]);
        }
      } finally {
        await client.end();
      }
    }),
  );
  log(`${MESSAGES} messages and their hops inserted in ${fmt(ms(t1))} ms`);

  const t2 = process.hrtime.bigint();
  const queue = [...indexes];
  await Promise.all(
    Array.from({ length: 2 }, async () => {
      const client = await connect(url);
      try {
        await client.query(`SET maintenance_work_mem = '2GB'`);
        for (let ix = queue.shift(); ix; ix = queue.shift()) {
          const started = process.hrtime.bigint();
          await client.query(ix.def);
          log(`  ${ix.name} in ${fmt(ms(started))} ms`);
        }
      } finally {
        await client.end();
      }
    }),
  );
  log(`${indexes.length} indexes rebuilt in ${fmt(ms(t2))} ms`);
  const t3 = process.hrtime.bigint();
  await db.query('DROP TABLE bench_routes');
  await Promise.all(['messages', 'message_hops', 'data_keys'].map(async (table) => {
    const client = await connect(url);
    await client.query(`VACUUM ANALYZE ${table}`).finally(() => client.end());
  }));
  // Written out now, so that no checkpoint of the load runs under the measurements that follow.
  await db.query('CHECKPOINT');
  log(`VACUUM ANALYZE and CHECKPOINT in ${fmt(ms(t3))} ms`);

  const expired = (await db.query<{ id: string; customer_id: string; day: string }>(expiredKeysSql('$1'), [now])).rows;
  const cutoffs = new Map(customerIds.map((id, i) => [id, new Date(today - retention[i] * 86_400_000)]));
  const byCutoff = expired.filter((k) => Date.parse(k.day) < cutoffs.get(k.customer_id)!.getTime()).length;
  if (byCutoff !== expired.length || expired.length !== [...cutoffs.values()].reduce((sum, c) => sum + 2 * Math.max(0, (c.getTime() - firstDay) / 86_400_000), 0)) {
    throw new Error('the expired keys are not the days before each customer\'s cutoff');
  }
  const [{ n }] = (await db.query<{ n: string }>(
    `SELECT count(*) AS n FROM messages m JOIN unnest($1::uuid[], $2::timestamptz[]) AS c(id, cutoff) ON m.customer_id = c.id AND m.submitted_at < c.cutoff`,
    [[...cutoffs.keys()], [...cutoffs.values()]],
  )).rows;
  const [{ busiest }] = (await db.query<{ busiest: string }>(
    `SELECT subprocessor_id AS busiest FROM message_hops WHERE submitted_at >= $1 GROUP BY 1 ORDER BY count(*) DESC LIMIT 1`,
    [new Date(now.getTime() - 7 * 86_400_000)],
  )).rows;
  // The hops' subject tags were derived in SQL: they must be what the application derives.
  const [sample] = (await db.query<{ hash: Buffer; subject: string }>(
    'SELECT m.msisdn_hash AS hash, h.subject FROM message_hops h JOIN messages m ON m.id = h.message_id LIMIT 1')).rows;
  if (subjectTag(sample.hash) !== sample.subject) throw new Error('the generated subject tags differ from subjectTag()');
  await db.end();
  return { now, customerIds, subprocessorIds, busiest, cutoffs, expiredKeyIds: expired.map((k) => k.id),
    sentinelKeyIds: [...new Map(expired.map((k) => [k.customer_id, k.id])).values()], expiredMessages: Number(n) };
}

/** The version byte and 16 fresh random bytes (where a sealed value has its IV and tag). */
const IV = `'\\x01'::bytea || int8send((random() * 9e18)::bigint) || int8send((random() * 9e18)::bigint)`;

/**
 * Message i of n: submitted at an even pace over the span (so the heap is in time order, as
 * ingestion leaves it), a UUIDv7 id carrying that time, a random customer and phone number of
 * that customer's pool, a route from the pool, ciphertext of realistic length (fresh random bytes
 * where the IV and tag are, then random bytes), and the data keys of its customer and UTC day. Its
 * hops come from the same statement. random() rather than gen_random_uuid(): the latter draws
 * from the kernel and is most of the cost.
 */
const generateSql = `
  WITH src AS (
    SELECT i, t.at, c, floor(random() * $7::int)::int AS p, floor(random() * $8)::int AS r,
           floor(extract(epoch FROM t.at - to_timestamp($4::bigint / 1000.0)) / 86400)::int AS d
      FROM generate_series($1::int, $2::int - 1) i,
           LATERAL (SELECT to_timestamp(($4::bigint + floor(i::numeric * $5 / $3))::numeric / 1000) AS at, floor(random() * $6)::int AS c) t
  ), ins AS (
    INSERT INTO messages (id, customer_id, external_id, direction, sender, destination_country, status, route, submitted_at, received_at,
                          msisdn_hash, msisdn_key_id, msisdn_ciphertext, body_key_id, body_ciphertext)
    SELECT encode(int8send(((extract(epoch FROM s.at) * 1000)::bigint << 16) | 28672 | (random() * 4095)::int)
                  || int8send(-9223372036854775808 | (random() * 4611686018427387903)::bigint), 'hex')::uuid,
           ($11::uuid[])[1 + s.c], 'bench-' || s.i, CASE WHEN s.i % 10 = 0 THEN 'mo' ELSE 'mt' END, 'BENCH',
           (ARRAY['DE','FR','NL','AT','BE','PL'])[1 + (s.c + (s.i % 7 = 0)::int) % 6], 'delivered', rt.route, s.at, s.at + interval '1 second',
           substring($12::bytea FROM (s.c * $7::int + s.p) * 32 + 1 FOR 32), ($9::uuid[])[1 + (s.c * ${DAYS} + s.d) * 2], ${IV} || substring($10::bytea FROM 1 + (s.i * 7) % 4000 FOR 26),
           ($9::uuid[])[2 + (s.c * ${DAYS} + s.d) * 2], ${IV} || substring($10::bytea FROM 1 + (s.i * 13) % 3900 FOR 40 + (s.i % 120))
      FROM src s
      JOIN bench_routes rt ON rt.r = s.r
    RETURNING id, customer_id, submitted_at, route, msisdn_hash, destination_country
  )
  INSERT INTO message_hops (message_id, position, subprocessor_id, customer_id, submitted_at, subject, destination_country)
  SELECT ins.id, h.ord - 1, h.sp, ins.customer_id, ins.submitted_at, ('x' || encode(substring(ins.msisdn_hash FROM 1 FOR 8), 'hex'))::bit(64)::bigint,
         ins.destination_country
    FROM ins CROSS JOIN LATERAL unnest(ins.route) WITH ORDINALITY AS h(sp, ord)`;

// ---------------------------------------------------------------------------------------------
// 2. Impact scoping

/** The scoping query for the busiest carrier over the last 7 days: median and max after warm-up. */
async function scopeBench(url: string, data: Dataset): Promise<{ p50: number; max: number }> {
  const ds = await createDataSource(url, 1).initialize();
  try {
    const query = { subprocessorIds: [data.busiest], from: new Date(data.now.getTime() - 7 * 86_400_000), to: data.now };
    const first = await impactScope(ds.manager, query);
    log(`scope of the busiest carrier over 7 days: ${first.totals.customers} customers, ${first.totals.messageCount} messages, ${first.totals.distinctSubjects} people`);
    for (let i = 0; i < 3; i++) await impactScope(ds.manager, query);
    const times: number[] = [];
    for (let i = 0; i < SCOPE_RUNS; i++) {
      const t0 = process.hrtime.bigint();
      await impactScope(ds.manager, query);
      times.push(ms(t0));
    }
    times.sort((a, b) => a - b);
    return { p50: quantile(times, 0.5), max: times[times.length - 1] };
  } finally {
    await ds.destroy();
  }
}

// ---------------------------------------------------------------------------------------------
// 3. Baseline: deleting the same expired rows

/** A file copy of the loaded database, made before the service connects (a template must be idle). */
async function copyDatabase(serverUrl: string): Promise<string> {
  const admin = await connect(serverUrl);
  try {
    const t0 = process.hrtime.bigint();
    await admin.query(`DROP DATABASE IF EXISTS ${COPY} WITH (FORCE)`);
    await admin.query(`CREATE DATABASE ${COPY} TEMPLATE ${DB} STRATEGY = FILE_COPY`);
    await admin.query('CHECKPOINT');
    log(`copied the database in ${fmt(ms(t0))} ms`);
    return withDatabase(serverUrl, COPY);
  } finally {
    await admin.end();
  }
}

/**
 * On the copy: per customer, DELETE of its expired messages in batches of 10,000 (each its own
 * transaction) until none are left. Only the messages rows: the hops are left alone, which
 * flatters the baseline.
 */
async function deleteBaseline(copyUrl: string, data: Dataset): Promise<number> {
  const db = await connect(copyUrl);
  try {
    // Like the original, the copy's table and indexes start in memory.
    await db.query('CREATE EXTENSION IF NOT EXISTS pg_prewarm').then(
      () => db.query(`SELECT pg_prewarm(c.oid) FROM pg_class c WHERE c.relname IN ('messages') OR c.oid IN (SELECT indexrelid FROM pg_index WHERE indrelid = 'messages'::regclass)`),
      () => log('pg_prewarm is not available: the baseline starts from the OS cache'),
    );
    let deleted = 0;
    const t1 = process.hrtime.bigint();
    for (const [customerId, cutoff] of data.cutoffs) {
      for (;;) {
        const result = await db.query(
          `DELETE FROM messages WHERE ctid = ANY(ARRAY(SELECT ctid FROM messages WHERE customer_id = $1 AND submitted_at < $2 LIMIT ${BATCH}))`,
          [customerId, cutoff],
        );
        deleted += result.rowCount ?? 0;
        if (!result.rowCount) break;
      }
    }
    const elapsed = ms(t1);
    log(`baseline deleted ${deleted} expired messages in ${fmt(elapsed)} ms, under the same read load`);
    if (deleted !== data.expiredMessages) throw new Error(`the baseline deleted ${deleted} messages, expected ${data.expiredMessages}`);
    return elapsed;
  } finally {
    await db.end();
  }
}

// ---------------------------------------------------------------------------------------------
// 4. The purge in the running service, under read load

interface Service {
  child: ChildProcess;
  base: string;
  output(): string;
  stop(): Promise<void>;
}

async function startService(url: string, dataDir: string): Promise<Service> {
  const port = await freePort();
  const child = spawn(process.execPath, [join(__dirname, '..', 'src', 'main.js')], {
    env: { PATH: process.env.PATH, HOME: process.env.HOME, DATA_DIR: dataDir, PORT: String(port), HOST: '127.0.0.1', ...serviceEnv(url) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (chunk: Buffer) => (out = (out + chunk.toString()).slice(-20_000)));
  child.stderr!.on('data', (chunk: Buffer) => (out = (out + chunk.toString()).slice(-20_000)));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const base = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`the service exited:\n${out}`);
    if (Date.now() > deadline) throw new Error(`the service did not get ready:\n${out}`);
    const ok = await fetch(`${base}/health/ready`).then((r) => r.ok, () => false);
    if (ok && out.includes(`listening on http://127.0.0.1:${port}`)) break;
    await sleep(100);
  }
  const stop = async () => {
    if (child.exitCode === null) child.kill('SIGINT');
    await Promise.race([exited, sleep(15_000).then(() => child.kill('SIGKILL'))]);
  };
  cleanups.push(stop);
  return { child, base, output: () => out, stop };
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

/**
 * GET /api/v1/messages/:id for random ids at a fixed rate over GET_CONNECTIONS keep-alive
 * connections (one per worker), until `until` resolves. Each request has its scheduled time, and
 * its latency counts from then, so a request held up behind a slow one is charged for the wait (no
 * coordinated omission). A request whose connection breaks is sent again on a new one, and the
 * wait counts; one that fails twice, or answers other than 200, fails the bench.
 */
async function readLoad(base: string, token: string, ids: string[], until: Promise<unknown>): Promise<{ at: number; ms: number }[]> {
  const samples: { at: number; ms: number }[] = [];
  let stopped = false;
  void until.finally(() => (stopped = true));
  const spacing = 1000 / GET_RPS;
  const start = performance.now();
  const get = (agent: Agent, id: string) => new Promise<void>((resolve, reject) => {
    const req = request(`${base}/api/v1/messages/${id}`, { agent, headers: { authorization: `Bearer ${token}` } }, (res) => {
      res.resume();
      res.on('end', () => (res.statusCode === 200 ? resolve() : reject(new Error(`GET /api/v1/messages/:id answered ${res.statusCode}`))));
    });
    req.on('error', reject);
    req.end();
  });
  await Promise.all(Array.from({ length: GET_CONNECTIONS }, async (_, worker) => {
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    try {
      for (let i = 0; !stopped; i++) {
        const scheduled = start + (worker + i * GET_CONNECTIONS) * spacing;
        const wait = scheduled - performance.now();
        if (wait > 0) await sleep(wait);
        if (stopped) break;
        const id = ids[Math.floor(Math.random() * ids.length)];
        await get(agent, id).catch((error: NodeJS.ErrnoException) => {
          if (!error.code) throw error;
          return get(agent, id);
        });
        samples.push({ at: scheduled, ms: performance.now() - scheduled });
      }
    } finally {
      agent.destroy();
    }
  }));
  return samples;
}

const p99 = (samples: { ms: number }[]) => quantile(samples.map((s) => s.ms).sort((a, b) => a - b), 0.99);

interface ServiceFigures {
  baselineMs: number;
  unreadableMs: number;
  reclaimMs: number;
  p99Idle: number;
  p99Purge: number;
  counts: Record<string, number>;
}

async function serviceBench(url: string, data: Dataset, dataDir: string, baseline: () => Promise<number>): Promise<ServiceFigures> {
  const service = await startService(url, dataDir);
  const db = await connect(url);
  try {
    const admin = (await api<{ accessToken: string }>(service.base, 'POST', '/api/v1/auth/login', undefined, ADMIN)).accessToken;
    await api(service.base, 'POST', '/api/v1/users', admin, { ...DPO, role: 'dpo' });
    const dpo = (await api<{ accessToken: string }>(service.base, 'POST', '/api/v1/auth/login', undefined, DPO)).accessToken;
    const ids = (await db.query<{ id: string }>(`SELECT id FROM messages TABLESAMPLE BERNOULLI(${Math.min(100, (100 * 20_000) / MESSAGES)})`)).rows.map((r) => r.id);

    await readLoad(service.base, dpo, ids, sleep(3000)); // warm-up
    const idle = await readLoad(service.base, dpo, ids, sleep(IDLE_SECONDS * 1000));
    log(`idle: ${idle.length} GETs, p50 ${fmt(quantile(idle.map((s) => s.ms).sort((a, b) => a - b), 0.5))} ms, p99 ${fmt(p99(idle))} ms`);

    // The baseline, then the purge, under the same read load: like is compared with like. The
    // first purge run destroys every expired key: the moment none is left is watched from outside.
    // Runs follow until the storage of every destroyed key is reclaimed (a run reclaims for at
    // most PURGE_TIME_BUDGET_SECONDS, as scheduled runs would).
    let release!: () => void;
    const load = readLoad(service.base, dpo, ids, new Promise<void>((resolve) => (release = resolve)));
    load.catch(() => undefined); // awaited (and so reported) below, once the purge is over
    await sleep(2000);
    const baselineMs = await baseline();
    await sleep(2000);
    const watcher = await connect(url);
    // Every expired key still readable: a scan of all keys, too heavy to repeat every few
    // milliseconds on two cores. So one expired key per customer is polled (every POLL_MS, a
    // prepared statement: the watcher must not take the CPU the purge needs), and when none of
    // those is left, the full count confirms that every one was gone by the moment they were seen
    // gone (the purge destroys a customer's keys in one transaction; the count would catch it if
    // not). The moment is overstated by up to POLL_MS, never understated.
    const left = (name: string, text: string, values: unknown[]) => async () => (await watcher.query<{ n: number }>({ name, text, values })).rows[0].n;
    const sentinelsLeft = left('sentinels-left', 'SELECT count(*)::int AS n FROM data_keys WHERE id = ANY($1::uuid[]) AND destroyed_at IS NULL', [data.sentinelKeyIds]);
    const expiredLeft = left('expired-left',
      `SELECT count(*)::int AS n FROM data_keys k JOIN unnest($1::uuid[], $2::timestamptz[]) AS c(customer_id, cutoff)
          ON k.customer_id = c.customer_id AND k.day < (c.cutoff AT TIME ZONE 'UTC')::date WHERE k.destroyed_at IS NULL`,
      [[...data.cutoffs.keys()], [...data.cutoffs.values()]],
    );
    const purge = () => api<{ outcome: string; counts: Record<string, number>; error: string | null }>(service.base, 'POST', '/api/v1/jobs/purge/run', admin)
      .then((run) => {
        if (run.outcome !== 'succeeded') throw new Error(`the purge ${run.outcome}: ${run.error}`);
        return run.counts;
      });
    const purgeStart = performance.now();
    let firstDone = false;
    const first = purge().finally(() => (firstDone = true));
    let unreadableAt = 0;
    while (!unreadableAt) {
      const checkedAt = performance.now();
      if ((await sentinelsLeft()) === 0) {
        const confirmedAt = performance.now();
        const n = await expiredLeft();
        if (n === 0) unreadableAt = confirmedAt;
        else if (firstDone) throw new Error(`the purge finished with ${n} expired data keys left`);
      } else if (firstDone) {
        throw new Error('the purge finished with expired data keys left');
      } else {
        await sleep(Math.max(0, POLL_MS - (performance.now() - checkedAt)));
      }
    }
    const runs = [await first];
    const unreclaimed = async () => (await watcher.query<{ n: number }>(
      'SELECT count(*)::int AS n FROM data_keys WHERE destroyed_at IS NOT NULL AND reclaimed_at IS NULL')).rows[0].n;
    while ((await unreclaimed()) > 0 && runs.length < 100) runs.push(await purge());
    const purgeEnd = performance.now();
    // The service's own timeline: from the start of the job to the destruction of the last key.
    const [timeline] = (await watcher.query<{ destroy_ms: number }>(
      `SELECT extract(epoch FROM (SELECT max(destroyed_at) FROM data_keys) - (SELECT min(started_at) FROM job_runs WHERE job = 'purge')) * 1000 AS destroy_ms`,
    )).rows;
    await watcher.end();
    await sleep(1000);
    release();
    const samples = await load;
    const during = samples.filter((s) => s.at >= purgeStart && s.at <= purgeEnd);
    const destroying = samples.filter((s) => s.at >= purgeStart && s.at <= unreadableAt);
    const total = (key: string) => runs.reduce((sum, counts) => sum + (counts[key] ?? 0), 0);
    log(`first purge run: ${JSON.stringify(runs[0])}`);
    log(`${runs.length} purge runs: ${total('keysDestroyed')} keys destroyed, ${total('messagesReclaimed')} of ${total('messagesDestroyed')} values reclaimed; ` +
      `destroy ${fmt(total('destroyMs'))} ms, certify ${fmt(total('certifyMs'))} ms, reclaim ${fmt(total('reclaimMs'))} ms, delete ${fmt(total('deleteMs'))} ms; ` +
      `${fmt(purgeEnd - purgeStart)} ms in all`);
    log(`every expired key destroyed ${fmt(unreadableAt - purgeStart)} ms after the request, ${fmt(Number(timeline.destroy_ms))} ms after the job started (service clock)`);
    log(`GETs while keys were being destroyed: ${destroying.length}, slowest ${fmt(Math.max(0, ...destroying.map((s) => s.ms)))} ms; ` +
      `during purge and reclaim: ${during.length}, p50 ${fmt(quantile(during.map((s) => s.ms).sort((a, b) => a - b), 0.5))} ms, p99 ${fmt(p99(during))} ms`);
    return {
      baselineMs,
      unreadableMs: unreadableAt - purgeStart,
      reclaimMs: total('reclaimMs'),
      p99Idle: p99(idle),
      p99Purge: p99(during),
      counts: { ...runs[0], runs: runs.length },
    };
  } finally {
    await db.end();
    await service.stop();
  }
}

// ---------------------------------------------------------------------------------------------

async function main() {
  const keep = process.env.BENCH_KEEP === '1';
  let serverUrl = process.env.DATABASE_URL;
  const folder = mkdtempSync(join(tmpdir(), 'custodian-bench-purge-'));
  const pg = serverUrl ? undefined : new EmbeddedPostgres({ dataDir: join(folder, 'pg'), password: 'bench' });
  cleanups.push(async () => {
    await pg?.stop();
    rmSync(folder, { recursive: true, force: true });
  });
  if (pg) {
    serverUrl = await pg.start();
    // What a dedicated database server would have: the data set in memory, no checkpoints mid-load.
    const admin = await connect(serverUrl);
    const sharedBuffersMb = Math.min(4096, Math.floor(totalmem() / 4 / 2 ** 20));
    for (const setting of [`shared_buffers = '${sharedBuffersMb}MB'`, `max_wal_size = '16GB'`, `checkpoint_timeout = '30min'`]) {
      await admin.query(`ALTER SYSTEM SET ${setting}`);
    }
    await admin.end();
    await pg.stop();
    serverUrl = await pg.start();
  }
  const admin = await connect(serverUrl!);
  await admin.query(`DROP DATABASE IF EXISTS ${DB} WITH (FORCE)`);
  await admin.query(`CREATE DATABASE ${DB}`);
  const url = withDatabase(serverUrl!, DB);
  try {
    await runMigrations(url, () => undefined);
    const t0 = process.hrtime.bigint();
    const data = await load(url);
    const loadSeconds = ms(t0) / 1000;
    log(`loaded in ${fmt(loadSeconds)} s: ${data.expiredMessages} messages with expired PII under ${data.expiredKeyIds.length} expired data keys`);
    if (process.env.BENCH_STOP_AFTER === 'load') return;

    const scope = await scopeBench(url, data);
    log(`scope query: p50 ${fmt(scope.p50)} ms, max ${fmt(scope.max)} ms`);
    if (process.env.BENCH_STOP_AFTER === 'scope') return;

    const copyUrl = await copyDatabase(serverUrl!);
    const service = await serviceBench(url, data, join(folder, 'app'), () => deleteBaseline(copyUrl, data));
    const baselineMs = service.baselineMs;

    console.log(`RESULT load_messages_per_s ${(MESSAGES / loadSeconds).toFixed(0)}`);
    console.log(`RESULT scope_query_ms ${fmt(scope.p50)}`);
    console.log(`RESULT scope_query_max_ms ${fmt(scope.max)}`);
    console.log(`RESULT delete_baseline_ms ${fmt(baselineMs)}`);
    console.log(`RESULT purge_unreadable_ms ${fmt(service.unreadableMs)}`);
    console.log(`RESULT purge_destroy_ms ${fmt(service.counts.destroyMs ?? NaN)}`);
    console.log(`RESULT purge_speedup ${fmt(baselineMs / service.unreadableMs)}`);
    console.log(`RESULT reclaim_ms ${fmt(service.reclaimMs)}`);
    console.log(`RESULT get_p99_idle_ms ${fmt(service.p99Idle)}`);
    console.log(`RESULT get_p99_during_purge_ms ${fmt(service.p99Purge)}`);
    console.log(`RESULT get_p99_ratio ${(service.p99Purge / service.p99Idle).toFixed(2)}`);
  } finally {
    if (keep) {
      log(`kept: ${url} (folder ${folder})`);
      await admin.end();
    } else {
      await admin.query(`DROP DATABASE IF EXISTS ${COPY} WITH (FORCE)`).catch(() => undefined);
      await admin.query(`DROP DATABASE IF EXISTS ${DB} WITH (FORCE)`).catch(() => undefined);
      await admin.end();
      await pg?.stop();
      rmSync(folder, { recursive: true, force: true });
    }
  }
}

void main().catch((error) => {
  console.error(error);
  process.exit(1);
});
